"""The latest record of one kind per process, kept up to date incrementally.

The process table needs each process's current state and its latest psutil
sample. Scanning every record at every refresh would cost O(trace) per frame;
the trace only grows by appending to ``records``, so during a live run only
the new tail is folded in. With a cursor (replay) the answer is computed from
the records at or before the cursor instead.
"""

from __future__ import annotations

import numpy as np

CHUNK = 1 << 18  # records scanned at a time: a replay's millions at once would cost ~80 MB of temporaries


def latest_per_index(records: np.ndarray, kind: int, until_ns: int | None = None) -> dict[int, tuple[int, int, int]]:
    """``{process index: (t_ns, a, b)}`` of the last record of ``kind`` per process (the latest in time; of
    equal times, the last one).

    Works on columns and positions (copying whole rows of a large array is what costs), a block of records
    at a time.
    """
    latest: dict[int, tuple[int, int, int]] = {}
    for start in range(0, len(records), CHUNK):
        for index, rec in _latest_in(records[start:start + CHUNK], kind, until_ns).items():
            old = latest.get(index)
            if old is None or rec[0] >= old[0]:
                latest[index] = rec
    return latest


def _latest_in(records: np.ndarray, kind: int, until_ns: int | None) -> dict[int, tuple[int, int, int]]:
    pos = np.flatnonzero(records[:, 2] == kind)
    times = records[pos, 0]
    if until_ns is not None:
        keep = times <= until_ns
        pos, times = pos[keep], times[keep]
    if not len(pos):
        return {}
    index = records[pos, 1]
    small = index.min() >= np.iinfo(np.int16).min and index.max() <= np.iinfo(np.int16).max
    order = np.argsort(index.astype(np.int16) if small else index, kind="stable")  # int16: radix sort, O(n)
    by_index, by_time = index[order], times[order]
    same = by_index[1:] == by_index[:-1]
    if not np.all(by_time[1:][same] >= by_time[:-1][same]):  # a process's records out of time order
        order = np.lexsort((times, index))  # by process, then time
        by_index = index[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = by_index[1:] != by_index[:-1]
    rows = records[pos[order[last]]]
    return {int(r[1]): (int(r[0]), int(r[3]), int(r[4])) for r in rows.tolist()}


class LatestRecords:
    """Folds the tail of a growing record array into "latest per process" for one kind."""

    def __init__(self, kind: int):
        self.kind = kind
        self._seen = 0
        self._latest: dict[int, tuple[int, int, int]] = {}

    def reset(self) -> None:
        self._seen = 0
        self._latest = {}

    def update(self, records: np.ndarray) -> dict[int, tuple[int, int, int]]:
        """Everything up to the end of ``records`` (which only ever grew since the last call)."""
        if len(records) < self._seen:  # not the same growing array: start over
            self.reset()
        if len(records) > self._seen:
            for index, rec in latest_per_index(records[self._seen:], self.kind).items():
                old = self._latest.get(index)
                if old is None or rec[0] >= old[0]:
                    self._latest[index] = rec
            self._seen = len(records)
        return self._latest

    def at(self, records: np.ndarray, until_ns: int | None) -> dict[int, tuple[int, int, int]]:
        """Live (no cursor): incremental; at a cursor: computed from the records up to it."""
        if until_ns is None:
            return self.update(records)
        return latest_per_index(records, self.kind, until_ns)
