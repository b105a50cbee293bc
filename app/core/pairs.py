"""A long list of integer pairs in one numpy array: the counter's reads and writes of every worker.

A 64-worker counter run of 10,000 updates each lists 640k ``[read, wrote]`` pairs in its summary; as
Python lists they take ~80 MB (a list and two ints a pair), as one ``(n, 2)`` int64 array 10 MB. ``IntPairs``
reads as the list it stands for (``len``, iteration and indexing give ``[a, b]`` lists, ``==`` compares with
a list); ``json.dump`` writes it with ``default=plain``.
"""

from __future__ import annotations

import numpy as np

_INT32 = (-(2**31), 2**31 - 1)


class IntPairs:
    """``[[a, b], ...]`` held as an ``(n, 2)`` int64 array (int32 when every value fits), read-only."""

    __slots__ = ("_array",)

    def __init__(self, array: np.ndarray):
        self._array = array
        self._array.flags.writeable = False

    @classmethod
    def of(cls, pairs):
        """``pairs`` as an ``IntPairs`` if it is a list of integer pairs, else unchanged."""
        if not isinstance(pairs, list) or not all(type(p) is list and len(p) == 2 for p in pairs):
            return pairs
        if not all(type(v) is int for p in pairs for v in p):  # a bool or a float stays what it is
            return pairs
        try:
            array = np.array(pairs, dtype=np.int64).reshape(-1, 2)
        except OverflowError:
            return pairs
        if len(array) and _INT32[0] <= array.min() and array.max() <= _INT32[1]:
            array = array.astype(np.int32)  # a counter's values: half the memory, the same list
        return cls(array)

    def tolist(self) -> list[list[int]]:
        return self._array.tolist()

    def __len__(self) -> int:
        return len(self._array)

    def __iter__(self):
        for start in range(0, len(self._array), 4096):
            yield from self._array[start:start + 4096].tolist()

    def __getitem__(self, key):
        return self._array[key].tolist()

    def __eq__(self, other) -> bool:
        if isinstance(other, IntPairs):
            return np.array_equal(self._array, other._array)
        if isinstance(other, (list, tuple)):
            return len(other) == len(self) and self.tolist() == [list(p) if isinstance(p, tuple) else p
                                                                 for p in other]
        return NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        head = self._array[:3].tolist()
        return f"IntPairs({head}{'…' if len(self) > 3 else ''}, {len(self)} pairs)"


def plain(obj):
    """``json.dump``'s ``default``: an ``IntPairs`` as the list it stands for."""
    if isinstance(obj, IntPairs):
        return obj.tolist()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")
