"""Step curves reduced to pixel columns, and many such curves rasterised at once.

With many visible writes a value plot cannot afford Qt's lines: Qt's raster
engine draws ~0.3 µs per line segment, and 64 curves of ~1,600 segments each
cost ~40 ms a frame (``tests/bench``: ``render``). What shows of a step curve
in one pixel column is the range of values it holds there, so:

* ``step_columns`` gives per column the lowest and highest value a step curve
  holds in it (the value in effect at the column's left edge and every write
  inside it; neighbouring columns share a value, so the curve stays connected).
  The columns are anchored to multiples of their width in data units, not to
  the view's left edge, so a view that scrolls with a live run does not make
  every column's extremes shimmer.
* ``rasterise`` paints the columns of every curve, in z order, into one image:
  each curve's column is a vertical run of pixels, thickened to its pen's width.
  Its cost is the number of painted pixels (≈ curves × columns × pen width),
  not the number of writes.
"""

from __future__ import annotations

import math

import numpy as np


class ColumnGrid:
    """Columns ``first`` … ``first + count - 1``; column c covers [c·width, (c + 1)·width) in data units."""

    def __init__(self, x0: float, x1: float, pixels: float):
        width = max((x1 - x0) / max(pixels, 1.0), 1e-12)
        # 9 significant digits: a view scrolled by whole pixels keeps exactly the same columns, whatever
        # the last bits of x1 - x0 (StepColumnCache reuses columns only of the same width)
        self.width = round(width, 8 - math.floor(math.log10(width)))
        self.first = math.floor(x0 / self.width)
        self.count = max(1, math.ceil(x1 / self.width) - self.first)

    @classmethod
    def covering(cls, x0: float, x1: float, width: float) -> ColumnGrid:
        """Columns ``width`` wide (rounded as in ``__init__``) covering [x0, x1]."""
        grid = cls.__new__(cls)
        width = max(width, 1e-12)
        grid.width = round(width, 8 - math.floor(math.log10(width)))
        grid.first = math.floor(x0 / grid.width)
        grid.count = max(1, math.ceil(x1 / grid.width) - grid.first)
        return grid

    def part(self, first: int) -> ColumnGrid:
        """The columns from ``first`` (absolute) to this grid's end."""
        grid = ColumnGrid.__new__(ColumnGrid)
        grid.width, grid.first = self.width, first
        grid.count = self.first + self.count - first
        return grid

    def column_of(self, x: float) -> int:
        return math.floor(x / self.width)

    def lefts(self) -> np.ndarray:
        return (self.first + np.arange(self.count)) * self.width

    def centers(self) -> np.ndarray:
        return self.lefts() + self.width / 2

    def key(self) -> tuple:
        return (self.width, self.first, self.count)


STEP_POINTS = 1 << 18  # writes reduced at a time: each costs ~50 bytes of temporaries


def step_columns(curves: list[tuple], grid: ColumnGrid) -> tuple[np.ndarray, np.ndarray]:
    """Per curve and column of ``grid``: the lowest and highest value the step curve holds there.

    Many writes (a replay's whole run) are reduced a run of columns at a time, each of ~``STEP_POINTS``
    writes if they are spread evenly: a column's extremes depend only on the writes up to its right
    edge, and 1.3M writes at once cost ~60 MB of temporaries for a moment.
    """
    parts = min(grid.count, -(-sum(len(curve[0]) for curve in curves) // STEP_POINTS))
    if parts <= 1:
        return _step_columns(curves, grid)
    low = np.empty((len(curves), grid.count))
    high = np.empty((len(curves), grid.count))
    bounds = np.linspace(0, grid.count, parts + 1).astype(np.int64).tolist()
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if b > a:
            part = grid.part(grid.first + a)
            part.count = b - a
            low[:, a:b], high[:, a:b] = _step_columns(curves, part)
    return low, high


def _step_columns(curves: list[tuple], grid: ColumnGrid) -> tuple[np.ndarray, np.ndarray]:
    """``step_columns`` of all the writes at once.

    ``curves``: (x, y, x_start, y_start, x_end) per curve — it holds ``y[i]`` from
    ``x[i]`` (sorted) to ``x[i + 1]``, begins at (``x_start``, ``y_start``) when
    given, and its last value holds until ``x_end``. Returns two (curves,
    columns) arrays; NaN where a curve shows nothing. All curves at once: a
    frame with 64 curves pays a few numpy calls, not a few per curve.
    """
    n, count = len(curves), grid.count
    lefts = grid.lefts()
    a, b = float(lefts[0]), float(lefts[-1]) + grid.width
    carried = np.full((n, count + 1), np.nan)  # carried[k, c]: the value curve k holds at column c's left edge
    begin = np.full(n, np.inf)
    end = np.full(n, -np.inf)
    xs, ys, owners, sizes = [], [], [], []
    for k, (x, y, x_start, y_start, x_end) in enumerate(curves):
        # the start (x_start, y_start) is a write before the first one; it is not prepended to x (a copy
        # of the whole series at every frame), only looked at where it matters
        size = len(x)
        started = x_start is not None and y_start is not None and (not size or x_start <= x[0])
        if not size and not started:
            continue
        last = float(x[-1]) if size else None
        begin[k] = x_start if started else x[0]
        end[k] = max(x_end, last) if size else max(x_end, x_start)
        # x[first - 1] is held at the first column's left edge; the columns hold x[first:stop]. A live
        # frame's columns are at the end: then stop is the size, without a search (128 curves a frame)
        first = int(x.searchsorted(a, side="right")) if size else 0
        stop = size if not size or last < b else int(x.searchsorted(b, side="left"))
        if first:
            carried[k, 0] = y[first - 1]
        elif started and x_start <= a:
            carried[k, 0] = y_start
        elif started and x_start < b:  # the start lies inside the columns: one more "write"
            xs.append(np.array([x_start]))
            ys.append(np.array([float(y_start)]))
            owners.append(k)
            sizes.append(1)
        if stop > first:
            xs.append(x[first:stop])
            ys.append(y[first:stop])
            owners.append(k)
            sizes.append(stop - first)
    low = np.full((n, count), np.nan)
    high = np.full((n, count), np.nan)
    if xs:
        y = np.concatenate(ys).astype(np.float64, copy=False)
        column = np.floor(np.concatenate(xs) / grid.width).astype(np.int64) - grid.first
        np.clip(column, 0, count - 1, out=column)
        # curve-major, then column: sorted, as each curve's x is
        key = np.repeat(np.array(owners, dtype=np.int64) * count, sizes) + column
        starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
        where = key[starts]
        low.flat[where] = np.minimum.reduceat(y, starts)
        high.flat[where] = np.maximum.reduceat(y, starts)
        # the last write of a column is what the next column's left edge holds
        curve_of = where // count
        carried[curve_of, where % count + 1] = y[np.append(starts[1:], len(y)) - 1]
    # columns without a write hold what the last column with one left (forward fill along each curve)
    known = ~np.isnan(carried)
    index = np.where(known, np.arange(count + 1), 0)
    np.maximum.accumulate(index, axis=1, out=index)
    carried = np.take_along_axis(carried, index, axis=1)[:, :count]
    low = np.fmin(low, carried)  # fmin/fmax: NaN (no write, or nothing held) gives way to a number
    high = np.fmax(high, carried)
    outside = (lefts[None, :] >= end[:, None]) | (lefts[None, :] + grid.width <= begin[:, None])
    low[outside] = np.nan
    high[outside] = np.nan
    return low, high


def keep_columns(new: np.ndarray, grid: ColumnGrid, old: np.ndarray | None, old_first: int, redo: float) -> int:
    """Copy into ``new`` (columns on its last axis, ``grid``'s) the columns of ``old`` (the previous frame's,
    starting at absolute column ``old_first``) that lie before absolute column ``redo``: they are still
    right. Returns how many were copied; the caller computes the others."""
    if old is None or old_first > grid.first:
        return 0
    keep = int(max(0, min(redo, old_first + old.shape[-1], grid.first + grid.count) - grid.first))
    if keep:
        offset = grid.first - old_first
        new[..., :keep] = old[..., offset:offset + keep]
    return keep


class StepColumnCache:
    """``step_columns`` for a view that scrolls with a live run: columns nothing new can reach are kept.

    A column can change only if a write lands in it (``changed_from``: the
    earliest time written since the last frame — processes' batches arrive out of
    order) or if it lies at or after the previous frame's end (the last values
    hold until "now"). With the columns anchored to multiples of their width, a
    frame recomputes the few columns at the live edge, not a 1M-write history
    (``tests/bench``: ``render_1m``).
    """

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self._key: tuple | None = None
        self._first = 0
        self._low = self._high = np.empty((0, 0))
        self._end = -math.inf
        self.redone_from = -math.inf  # the first column the last call computed (the ones before: kept)

    def columns(self, key: tuple, curves: list[tuple], grid: ColumnGrid, changed_from: float | None,
                end: float) -> tuple[np.ndarray, np.ndarray]:
        """``step_columns(curves, grid)``; ``key`` names the curves (a new key computes everything)."""
        key = (key, grid.width, len(curves))
        redo = -math.inf
        if key == self._key:
            redo = grid.column_of(self._end)
            if changed_from is not None:
                redo = min(redo, grid.column_of(changed_from))
        low = np.full((len(curves), grid.count), np.nan)
        high = np.full((len(curves), grid.count), np.nan)
        kept = keep_columns(low, grid, self._low, self._first, redo)
        keep_columns(high, grid, self._high, self._first, redo)
        last = min(grid.count, grid.column_of(end) - grid.first + 1)  # past the end nothing is held
        if kept < last:
            part = grid.part(grid.first + kept)
            part.count = last - kept
            low[:, kept:last], high[:, kept:last] = step_columns(curves, part)
        self._key, self._first, self._low, self._high, self._end = key, grid.first, low, high, end
        self.redone_from = grid.first + kept
        return low, high


def column_bounds(grid: ColumnGrid, low: np.ndarray, high: np.ndarray) -> list:
    """Per curve (row): (x0, x1, y0, y1) of the columns it shows, or None — for all curves at once."""
    shown = ~np.isnan(low)
    has = shown.any(axis=1)
    first = np.argmax(shown, axis=1)
    last = shown.shape[1] - 1 - np.argmax(shown[:, ::-1], axis=1)
    lows = np.min(np.where(shown, low, np.inf), axis=1)
    highs = np.max(np.where(shown, high, -np.inf), axis=1)
    x0 = (grid.first + first) * grid.width
    x1 = (grid.first + last + 1) * grid.width
    return [(float(a), float(b), float(c), float(d)) if ok else None
            for ok, a, b, c, d in zip(has.tolist(), x0.tolist(), x1.tolist(), lows.tolist(), highs.tolist(),
                                      strict=True)]


def column_points(grid: ColumnGrid, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The columns as a polyline (each column's low then high at its centre) — for vector output."""
    shown = ~np.isnan(low)
    xs = np.repeat(grid.centers()[shown], 2)
    ys = np.empty(len(xs), dtype=np.float64)
    ys[0::2] = low[shown]
    ys[1::2] = high[shown]
    return xs, ys


def rasterise(top: np.ndarray, bottom: np.ndarray, pens: list[tuple[float, bool]], first: int,
              height: int) -> np.ndarray:
    """Paint every curve's columns into a (height, columns) image of curve numbers (0: nothing; k + 1: curve k).

    ``top``/``bottom``: (curves, columns) rows in image pixels (NaN: nothing in
    that column); ``pens[k]`` = (width in pixels, dashed); ``first``: the grid's
    first column number (dashes stay put while the view scrolls). A later curve
    is drawn over an earlier one where they cross.
    """
    n, count = top.shape
    image = np.zeros(height * count, dtype=np.uint16)
    shown = ~np.isnan(top)
    width = np.array([max(1, int(w + 0.5)) for w, _dashed in pens], dtype=np.int64)
    for k, (_w, is_dashed) in enumerate(pens):
        if is_dashed:  # Qt's dash pattern: 4 pen widths on, 2 off
            shown[k] &= ((first + np.arange(count)) // width[k]) % 6 < 4
    top = np.where(shown, np.rint(top), 0).astype(np.int64) - ((width - 1) // 2)[:, None]
    bottom = np.where(shown, np.rint(bottom), 0).astype(np.int64) + (width // 2)[:, None]
    # pens from 2 px: each column also covers its left neighbour's rows, so a jump is as wide as a line is tall
    join = shown[:, 1:] & shown[:, :-1] & (width >= 2)[:, None]
    top[:, 1:] = np.where(join, np.minimum(top[:, 1:], top[:, :-1]), top[:, 1:])
    bottom[:, 1:] = np.where(join, np.maximum(bottom[:, 1:], bottom[:, :-1]), bottom[:, 1:])
    np.clip(top, 0, height - 1, out=top)
    np.clip(bottom, 0, height - 1, out=bottom)
    shown &= bottom >= top
    curve, column = np.nonzero(shown)  # curve-major: z order
    if not len(curve):
        return image.reshape(height, count)
    run_top = top[curve, column]
    length = bottom[curve, column] - run_top + 1
    # pixel p of run r sits at row run_top[r] + (p - the first pixel of r), in column[r]
    run_start = np.cumsum(length) - length
    rows = np.arange(int(length.sum()), dtype=np.int64) - np.repeat(run_start - run_top, length)
    pixels = rows * count + np.repeat(column, length)
    np.maximum.at(image, pixels, np.repeat((curve + 1).astype(np.uint16), length))  # the later curve wins
    return image.reshape(height, count)
