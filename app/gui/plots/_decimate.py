"""Clip-to-view decimation of the series that ``app.core.folds`` folds from the trace.

``decimate`` keeps a curve at ~``max_points`` whatever the run's length: the
points inside the visible x range only, and above the limit the min and max
of each pixel-wide bin (peak decimation), so no spike is lost.
"""

from __future__ import annotations

import numpy as np

MAX_POINTS = 3000  # points per curve on screen, about one per pixel column and a half
MIN_POINTS = 400  # a plot narrower than 200 px still gets this many


def curve_points(width_px: float) -> int:
    """Points per curve for a plot ``width_px`` wide: a min and a max per pixel column, no more.

    Each point costs a frame ~0.3 µs of drawing; 64 curves at ``MAX_POINTS``
    each were most of a frame (``tests/bench``: ``render``), and more than a
    min and a max per column draws nothing that shows.
    """
    return int(min(MAX_POINTS, max(MIN_POINTS, 2 * width_px)))


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
