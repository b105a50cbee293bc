"""A run's text events in columns: the drop-in for a list of ``(t_ns, index, kind, payload)`` tuples.

A long run prints at every step (the counter: 640k lines for 64 workers × 10,000 updates) and its
results list every read and write; as Python tuples, ints and strings that cost ~170 bytes an event,
several times the numeric records. Here times, lanes and kinds are numpy columns and the payloads one
byte buffer: a text as its UTF-8, anything else as its JSON (``json.dumps`` with the default separators,
what the CSV and the console print), each followed by a 0 byte (a run of texts is decoded with one
``split``), ~40 bytes an event. Readers get the same tuples as before
(``len``, iteration, indexing, slicing, ``==`` with a list); the hot ones select by column instead
(``times``, ``kinds``, ``indexes``, ``where``, ``take``) and decode only what they show.

A payload JSON cannot encode (a live object that is not data) is kept as it is, beside the columns.
Appends come from any thread, under a lock; a slice is a frozen view of the events so far (the columns
only grow, and a grown column is a copy), so a reader never sees half an append.
"""

from __future__ import annotations

import json
import threading

import numpy as np

TEXT, JSON, OBJECT = 0, 1, 2  # how a payload is stored
CHUNK = 4096  # events decoded at a time while iterating
COUNT_BLOCK = 1 << 16  # events whose bytes ``byte_counts`` scans at a time
SPAN = 1 << 16  # bytes: payloads this close together are copied out of the buffer in one piece
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode  # the CSV's and the console's form of a payload
_DECODE = json.JSONDecoder().decode
_COLUMNS = (("_t", np.int64), ("_index", np.int32), ("_kind", np.int32), ("_how", np.uint8))


class TextLog:
    """Text events, appended (``extend``, ``append``) and read as tuples or as columns."""

    def __init__(self, items=()):
        self._lock = threading.Lock()
        self._frozen = False
        self._n = 0
        self._t = np.empty(0, np.int64)
        self._index = np.empty(0, np.int32)
        self._kind = np.empty(0, np.int32)
        self._how = np.empty(0, np.uint8)
        self._ends = np.zeros(1, np.int64)  # payload k is _blob[_ends[k]:_ends[k + 1] - 1], then a 0 byte
        self._blob = np.empty(0, np.uint8)
        self._objects: dict[int, object] = {}  # OBJECT payloads by absolute position
        self._first = 0  # absolute position of this log's first event (a slice's)
        if items:
            self.extend(items)

    # --- appending ---------------------------------------------------------------------------
    def append(self, item) -> None:
        self.extend([item])

    def extend(self, items) -> None:
        items = items if isinstance(items, list) else list(items)
        if not items:
            return
        times, indexes, kinds, payloads = zip(*items, strict=True)
        count = len(items)
        self.extend_columns(np.fromiter(times, np.int64, count), np.fromiter(indexes, np.int32, count),
                            np.fromiter(kinds, np.int32, count), payloads)

    def extend_columns(self, t: np.ndarray, index: np.ndarray, kind: np.ndarray, payloads) -> None:
        """Append events given as columns: times, lanes, kinds (arrays of one length) and the payloads."""
        if self._frozen:
            raise TypeError("a slice of a TextLog is read-only")
        count = len(t)
        if not count:
            return
        pieces, sizes, how, objects = _encode(payloads)
        with self._lock:
            n, used = self._n, int(self._ends[self._n])
            self._reserve(n + count, used + int(sizes.sum()))
            self._t[n:n + count] = t
            self._index[n:n + count] = index
            self._kind[n:n + count] = kind
            self._how[n:n + count] = how
            np.cumsum(sizes, out=self._ends[n + 1:n + count + 1])
            self._ends[n + 1:n + count + 1] += used
            at = used
            for piece in pieces:
                self._blob[at:at + len(piece)] = np.frombuffer(piece, np.uint8)
                at += len(piece)
            for k, obj in objects.items():
                self._objects[self._first + n + k] = obj
            self._n = n + count  # last: a reader that saw the new count sees the events

    def _reserve(self, events: int, size: int) -> None:
        # A column that grows by doubling: an append costs the batch; a grown column is a new array, so a
        # slice taken before keeps reading the old one
        if events > len(self._t):
            capacity = max(events, 2 * len(self._t), 256)
            for name, dtype in _COLUMNS:
                grown = np.empty(capacity, dtype)
                grown[:self._n] = getattr(self, name)[:self._n]
                setattr(self, name, grown)
            ends = np.empty(capacity + 1, np.int64)
            ends[:self._n + 1] = self._ends[:self._n + 1]
            self._ends = ends
        if size > len(self._blob):
            grown = np.empty(max(size, 2 * len(self._blob), 4096), np.uint8)
            used = int(self._ends[self._n])
            grown[:used] = self._blob[:used]
            self._blob = grown

    # --- columns -------------------------------------------------------------------------------
    def _view(self):
        with self._lock:
            n = self._n
            return n, self._t, self._index, self._kind, self._how, self._ends, self._blob

    def times(self) -> np.ndarray:
        """Every event's time (ns), read-only."""
        n, t, *_ = self._view()
        return _readonly(t[:n])

    def indexes(self) -> np.ndarray:
        """Every event's lane (the parent: -1), read-only."""
        n, _t, index, *_ = self._view()
        return _readonly(index[:n])

    def kinds(self) -> np.ndarray:
        """Every event's kind, read-only."""
        n, _t, _i, kind, *_ = self._view()
        return _readonly(kind[:n])

    def where(self, kinds=None, index=None) -> np.ndarray:
        """Positions of the events of these kinds (one or several) and of this lane, in order."""
        n, _t, lanes, kind, *_ = self._view()
        mask = np.ones(n, dtype=bool)
        if kinds is not None:
            mask &= np.isin(kind[:n], np.atleast_1d(np.asarray(kinds, dtype=np.int64)))
        if index is not None:
            mask &= lanes[:n] == index
        return np.flatnonzero(mask)

    def select(self, kinds=None, index=None) -> list[tuple]:
        """The events of these kinds and this lane, as tuples, in order."""
        return self.take(self.where(kinds, index))

    def take(self, positions) -> list[tuple]:
        """The events at these positions, as tuples."""
        view = self._view()
        positions = np.asarray(positions, dtype=np.int64)
        if len(positions) and (positions.min() < 0 or positions.max() >= view[0]):
            raise IndexError("TextLog position out of range")
        out = []
        for start in range(0, len(positions), CHUNK):
            out += self._decode(view, positions[start:start + CHUNK])
        return out

    def payloads(self, positions) -> list:
        """The payloads at these positions."""
        return [item[3] for item in self.take(positions)]

    def byte_counts(self, positions, byte: bytes) -> np.ndarray:
        """How often ``byte`` occurs in the stored form (UTF-8 or JSON) of each payload at ``positions``."""
        _n, *_cols, ends, blob = self._view()
        positions = np.asarray(positions, dtype=np.int64)
        out = np.zeros(len(positions), np.int64)
        for start in range(0, len(positions), COUNT_BLOCK):  # a block's bytes at a time: not 20 MB of masks
            part = positions[start:start + COUNT_BLOCK]
            lo, hi = int(ends[part.min()]), int(ends[part.max() + 1])
            found = np.flatnonzero(blob[lo:hi] == ord(byte)) + lo
            out[start:start + len(part)] = (np.searchsorted(found, ends[part + 1] - 1)
                                            - np.searchsorted(found, ends[part]))
        return out

    def _decode(self, view, positions: np.ndarray) -> list[tuple]:
        _n, t, index, kind, how, ends, blob = view
        if not len(positions):
            return []
        count = len(positions)
        hows = how[positions]
        if count == positions[-1] - positions[0] + 1 and not hows.any():  # a run of texts: split at the 0 bytes
            raw = blob[ends[positions[0]]:ends[positions[-1] + 1]].tobytes()
            if raw.isascii():
                payloads = raw.decode("ascii").split("\0")
                if len(payloads) == count + 1:  # no text of their own holds a 0
                    del payloads[-1]
                    return list(zip(t[positions].tolist(), index[positions].tolist(), kind[positions].tolist(),
                                    payloads, strict=True))
        starts, stops = ends[positions].tolist(), (ends[positions + 1] - 1).tolist()
        lo, hi = min(starts), max(stops)
        near = hi - lo <= max(SPAN, 4 * (int(ends[positions + 1].sum()) - int(ends[positions].sum())))
        raw = blob[lo:hi].tobytes() if near else None  # one copy of the span, unless it is mostly other events
        if raw is not None and not hows.any() and raw.isascii():  # all plain ASCII text: one decode, then slices
            text = raw.decode("ascii")
            payloads = [text[a - lo:b - lo] for a, b in zip(starts, stops, strict=True)]
        else:
            payloads = []
            for k, (a, b, h) in enumerate(zip(starts, stops, hows.tolist(), strict=True)):
                data = raw[a - lo:b - lo] if raw is not None else blob[a:b].tobytes()
                if h == TEXT:
                    payloads.append(data.decode("utf-8", "surrogatepass"))
                elif h == JSON:
                    payloads.append(_DECODE(data.decode("utf-8", "surrogatepass")))
                else:
                    payloads.append(self._objects[self._first + int(positions[k])])
        return list(zip(t[positions].tolist(), index[positions].tolist(), kind[positions].tolist(), payloads,
                        strict=True))

    # --- the list protocol -----------------------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    def __iter__(self):
        view = self._view()
        for start in range(0, view[0], CHUNK):
            yield from self._decode(view, np.arange(start, min(start + CHUNK, view[0])))

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, step = key.indices(self._n)
            if step != 1:
                return self.take(np.arange(start, stop, step))
            return self._slice(start, max(start, stop))
        position = int(key)
        if position < 0:
            position += self._n
        if not 0 <= position < self._n:
            raise IndexError("TextLog index out of range")
        return self._decode(self._view(), np.array([position]))[0]

    def _slice(self, start: int, stop: int) -> TextLog:
        n, t, index, kind, how, ends, blob = self._view()
        stop = min(stop, n)
        part = TextLog.__new__(TextLog)
        part._lock = threading.Lock()
        part._frozen = True
        part._n = stop - start
        part._t, part._index, part._kind, part._how = t[start:stop], index[start:stop], kind[start:stop], how[
            start:stop]
        part._ends = ends[start:stop + 1]
        part._blob = blob
        part._objects = self._objects
        part._first = self._first + start
        return part

    def __eq__(self, other) -> bool:
        if not isinstance(other, (TextLog, list, tuple)):
            return NotImplemented
        if len(self) != len(other):
            return False
        return all(tuple(a) == tuple(b) for a, b in zip(self, other, strict=True))

    __hash__ = None  # mutable, like the list it replaces

    def __repr__(self) -> str:
        return f"TextLog({len(self)} events)"

    # --- files -------------------------------------------------------------------------------------
    def json_chunks(self, batch: int):
        """The events as a JSON list's items (``[t, index, kind, payload]``), ``batch`` at a time: each chunk is
        the items' text, comma-separated. A JSON payload is written as stored: no decode, no encode."""
        n, t, index, kind, how, ends, blob = self._view()
        for start in range(0, n, batch):
            stop = min(start + batch, n)
            lo = int(ends[start])
            raw = blob[lo:int(ends[stop])].tobytes()
            cuts = (ends[start:stop + 1] - lo).tolist()
            text = raw.decode("ascii") if raw.isascii() else None  # then byte offsets are character offsets
            heads = zip(t[start:stop].tolist(), index[start:stop].tolist(), kind[start:stop].tolist(),
                        how[start:stop].tolist(), strict=True)
            items = []
            for k, (t_ns, lane, what, h) in enumerate(heads):
                a, b = cuts[k], cuts[k + 1] - 1
                if h == OBJECT:
                    payload = _ENCODE(self._objects[self._first + start + k])  # raises as json.dumps did
                else:
                    stored = text[a:b] if text is not None else raw[a:b].decode("utf-8", "surrogatepass")
                    payload = stored if h == JSON else _ENCODE(stored)
                items.append(f"[{t_ns}, {lane}, {what}, {payload}]")
            yield ", ".join(items)


def _readonly(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


def _encode(payloads) -> tuple[list[bytes], np.ndarray, np.ndarray, dict[int, object]]:
    """The payloads' stored forms: byte pieces (in order), each payload's size, how each is stored, and the
    payloads kept as objects (by position in the batch)."""
    count = len(payloads)
    how = np.zeros(count, np.uint8)
    if list(map(type, payloads)).count(str) == count:  # the common batch: prints only
        joined = "\0".join(payloads)
        if joined.isascii():
            sizes = np.fromiter(map(len, payloads), np.int64, count) + 1
            return [joined.encode("ascii") + b"\0"], sizes, how, {}
        pieces = [p.encode("utf-8", "surrogatepass") + b"\0" for p in payloads]
        return pieces, np.fromiter(map(len, pieces), np.int64, count), how, {}
    pieces, objects = [], {}
    for k, payload in enumerate(payloads):
        if isinstance(payload, str):
            pieces.append(str(payload).encode("utf-8", "surrogatepass") + b"\0")
            continue
        try:
            pieces.append(_ENCODE(payload).encode("utf-8", "surrogatepass") + b"\0")
            how[k] = JSON
        except (TypeError, ValueError, RecursionError):  # not data: kept as the object it is
            pieces.append(b"\0")
            how[k] = OBJECT
            objects[k] = payload
    return pieces, np.fromiter(map(len, pieces), np.int64, count), how, objects
