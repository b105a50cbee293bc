"""Time series folded incrementally from a growing trace, and their clip-to-view decimation.

The value and resource plots read only the records appended since their last
frame (the trace only grows). Each series is kept sorted by time: batches from
different processes arrive out of time order, so an out-of-order tail is
merged with one stable sort — the same order ``Trace.values`` gives.

``decimate`` keeps a curve at ~``max_points`` whatever the run's length: the
points inside the visible x range only, and above the limit the min and max
of each pixel-wide bin (peak decimation), so no spike is lost.
"""

from __future__ import annotations

import numpy as np

from app.core import events as ev
from app.core.trace import Trace
from app.gui.plots._lanes_data import Grow

MAX_POINTS = 3000  # points per curve on screen, about one per pixel column and a half
MIN_POINTS = 400  # a plot narrower than 200 px still gets this many


def curve_points(width_px: float) -> int:
    """Points per curve for a plot ``width_px`` wide: a min and a max per pixel column, no more.

    Each point costs a frame ~0.3 µs of drawing; 64 curves at ``MAX_POINTS``
    each were most of a frame (``tests/bench``: ``render``), and more than a
    min and a max per column draws nothing that shows.
    """
    return int(min(MAX_POINTS, max(MIN_POINTS, 2 * width_px)))


class Series:
    """One growable series kept sorted by time: t_ns and float columns (v1, v2, seconds since the run's t0)."""

    def __init__(self):
        self.t = Grow(np.int64)
        self.v = Grow(np.float64, 3)

    def extend(self, t: np.ndarray, v: np.ndarray) -> None:
        unsorted = bool(self.t.n and t[0] < self.t.view()[0, -1]) or (len(t) > 1 and bool((np.diff(t) < 0).any()))
        self.t.extend(t[:, None])
        self.v.extend(v)
        if unsorted:
            t_all, v_all = self.t.view()[0], self.v.view()
            order = np.argsort(t_all, kind="stable")
            t_all[:] = t_all[order]
            v_all[:] = v_all[:, order]

    def times(self) -> np.ndarray:
        return self.t.view()[0]

    def column(self, k: int) -> np.ndarray:
        return self.v.view()[k]

    def seconds(self) -> np.ndarray:
        """Times in seconds since the run's t0 (kept, not recomputed for every frame)."""
        return self.v.view()[2]

    def __len__(self) -> int:
        return self.t.n


class SeriesStore:
    """Per-key series of one family of records (VALUE writes by slot, SAMPLEs by process)."""

    def __init__(self, kinds: tuple[int, ...], key_column: int):
        self.kinds = kinds
        self.key_column = key_column
        self.reset(None)

    def reset(self, trace: Trace | None) -> None:
        self.trace = trace
        self.series: dict[int, Series] = {}
        self._seen = 0
        self._kept = 0
        self.latest_ns: int | None = None
        self.changed_from_ns: int | None = None  # the earliest time any series changed at since ``take_changed``

    def take_changed(self) -> int | None:
        """The earliest time a series changed at since the last call (None: nothing changed)."""
        changed, self.changed_from_ns = self.changed_from_ns, None
        return changed

    @property
    def folded(self) -> int:
        """How many of the trace's records have been folded (grows with every update that saw news)."""
        return self._seen

    @property
    def kept(self) -> int:
        """How many records of this family the series hold (grows only when one of them grew)."""
        return self._kept

    def update(self, trace: Trace) -> bool:
        """Fold the records appended since the last call; True if any series grew."""
        if trace is not self.trace:
            self.reset(trace)
        records = trace.records
        new = records[self._seen :]
        self._seen = len(records)
        if not len(new):
            return False
        latest = int(new[:, 0].max())
        self.latest_ns = latest if self.latest_ns is None else max(self.latest_ns, latest)
        mine = new[np.isin(new[:, 2], self.kinds)]
        if not len(mine):
            return False
        order = np.argsort(mine[:, self.key_column], kind="stable")
        mine = mine[order]
        self._kept += len(mine)
        earliest = int(mine[:, 0].min())
        self.changed_from_ns = earliest if self.changed_from_ns is None else min(self.changed_from_ns, earliest)
        keys = mine[:, self.key_column]
        first = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))  # sorted by key above
        bounds = [*first.tolist(), len(mine)]
        t = mine[:, 0]
        columns = np.empty((len(mine), 3), dtype=np.float64)  # every key's columns at once, then split
        columns[:, :2] = self.values_of(mine)
        columns[:, 2] = (t - trace.t0_ns) / 1e9
        for k, key in enumerate(keys[first].tolist()):
            a, b = bounds[k], bounds[k + 1]
            self.series.setdefault(key, Series()).extend(t[a:b], columns[a:b])
        return True

    def values_of(self, part: np.ndarray) -> np.ndarray:
        """(n, 2) float columns of a key's new records."""
        raise NotImplementedError


class ValueWrites(SeriesStore):
    """Writes to shared values by slot: value (float) and writer process index."""

    def __init__(self):
        super().__init__((ev.VALUE, ev.VALUE_F), 3)

    def values_of(self, part: np.ndarray) -> np.ndarray:
        vals = part[:, 4].astype(np.float64)
        floats = part[:, 2] == ev.VALUE_F
        if floats.any():
            vals[floats] = part[floats, 4].view(np.float64)
        return np.column_stack([vals, part[:, 1].astype(np.float64)])


class Samples(SeriesStore):
    """psutil samples by process: CPU % and resident memory in MB."""

    def __init__(self):
        super().__init__((ev.SAMPLE,), 1)

    def values_of(self, part: np.ndarray) -> np.ndarray:
        return np.column_stack([part[:, 3] / 100.0, part[:, 4] / 1e6])


def visible_steps(x: np.ndarray, y: np.ndarray, x_start: float | None, y_start: float | None, x_end: float,
                  x0: float, x1: float, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """The part of a step curve (see ``steps``) that shows in [x0, x1], decimated."""
    n = len(x)
    first = int(np.searchsorted(x, x0, side="right")) - 1  # the write in effect at x0
    stop = min(int(np.searchsorted(x, x1, side="right")) + 1, n)  # and one past x1
    if first < 0:
        first = 0
    else:
        x_start = y_start = None  # the start lies left of the view
    end = x_end if stop >= n else float(x[stop - 1])
    xs, ys = steps(x[first:stop], y[first:stop], x_start, y_start, end)
    return decimate(xs, ys, x0, x1, max_points)


def steps(x: np.ndarray, y: np.ndarray, x_start: float | None, y_start: float | None,
          x_end: float) -> tuple[np.ndarray, np.ndarray]:
    """A piecewise-constant curve: each value holds until the next; from (x_start, y_start) to x_end."""
    if y_start is not None and x_start is not None:
        x = np.concatenate([[x_start], x])
        y = np.concatenate([[y_start], y])
    if not len(x):
        return x, y
    xs = np.empty(2 * len(x), dtype=np.float64)
    ys = np.empty(2 * len(x), dtype=np.float64)
    xs[0::2] = x
    xs[1:-1:2] = x[1:]
    xs[-1] = max(x_end, x[-1])
    ys[0::2] = y
    ys[1::2] = y
    return xs, ys


def decimate(x: np.ndarray, y: np.ndarray, x0: float, x1: float,
             max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """The points of a curve (sorted by x) that matter inside [x0, x1], at most ~``max_points``.

    One point on each side of the range is kept so that lines run to the edges.
    Above the limit each of ``max_points / 2`` bins contributes its min and max.
    """
    n = len(x)
    if n == 0 or x1 <= x0:
        return x, y
    first = max(int(np.searchsorted(x, x0, side="left")) - 1, 0)
    stop = min(int(np.searchsorted(x, x1, side="right")) + 1, n)
    x, y = x[first:stop], y[first:stop]
    if len(x) <= max_points:
        return x, y
    bins = max(max_points // 2, 1)
    width = (x1 - x0) / bins
    index = np.clip(((x - x0) / width).astype(np.int64), -1, bins)  # -1 and bins: the two edge points
    starts = np.flatnonzero(np.concatenate([[True], index[1:] != index[:-1]]))
    lows = np.minimum.reduceat(y, starts)
    highs = np.maximum.reduceat(y, starts)
    xs = np.repeat(x[starts], 2)
    ys = np.empty(2 * len(starts), dtype=np.float64)
    ys[0::2] = lows
    ys[1::2] = highs
    return xs, ys


def set_curve(curve, x: np.ndarray, y: np.ndarray) -> None:
    """``curve.setData(x, y)`` unless it already shows exactly that (setData costs a path rebuild)."""
    old_x, old_y = curve.getData()
    if (old_x is not None and old_y is not None and len(old_x) == len(x)
            and np.array_equal(old_x, x) and np.array_equal(old_y, y)):
        return
    curve.setData(x, y)
