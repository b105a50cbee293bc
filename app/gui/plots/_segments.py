"""One graphics item that draws every state segment of every lane.

Measured: one item per segment costs seconds; ``QPainter.drawRects``
from numpy arrays, one call per colour, costs ~6 ms at 10k segments. So this
item keeps each lane's interval array (a view, never copied) and at paint time:

* clips every lane to the visible x range (two binary searches per lane);
* if few segments are visible, draws them exactly: one ``drawRects`` per state
  colour through pyqtgraph's ``PrimitiveArray`` (the fast path BarGraphItem uses);
* if many are visible, switches to a level of detail: per lane and per pixel
  column the state the lane is in at the column's right edge (the last one in
  that column) — computed with one ``searchsorted`` per lane — painted as one
  scaled image row per lane. Its cost depends on the plot's width, not on the
  number of segments, so nothing is ever cut from history. While exporting
  (SVG, printing) the same columns are drawn as vector rectangles instead, one
  per run of equal columns — at most lanes × columns of them.

Hue alone does not survive a projector or a greyscale print, so some states also
carry a pattern (``colors.state_pattern``: hatching drawn over the fill, one more
``drawRects`` per such state, in device units, with a brush made of a ``Qt.BrushStyle``) and the
near-white idle state an outline (``colors.state_outline``). The level of detail
draws them over its image from the runs of equal columns of those states only.

``paint`` never raises: an exception escaping a Python ``paint()`` override
crashes PySide6 6.11 (shiboken's error path segfaults), so it is logged instead.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui
from pyqtgraph.Qt.internals import PrimitiveArray

from app.core import events as ev
from app.gui.colors import state_color, state_outline, state_pattern_brush
from app.gui.plots._columns import ColumnGrid, keep_columns
from app.gui.plots._lane_image import Look, compose

LANE_HEIGHT = 0.8  # of a lane's unit band: the rest is the gap between lanes
EXACT_LIMIT = 12_000  # more visible segments than this: draw the per-pixel level of detail
MAX_COLUMNS = 16_384  # widest level-of-detail image (pixels)
TAIL_COLUMNS = 32  # up to this many new columns (a live frame's few) are computed for all lanes at once
TAIL_INTERVALS = 6  # of each lane, this many last intervals are looked at first for those columns

_log = logging.getLogger(__name__)
STATE_COUNT = len(ev.STATE_NAMES)
TOLD_PX = 3  # the narrowest a working or lock-holding segment is drawn (exact mode), in pixels
_TOLD = np.array([ev.WORKING, ev.HOLDING], dtype=np.int64)
_PATTERNS = {code: brush for code in range(STATE_COUNT) if (brush := state_pattern_brush(code)) is not None}
_OUTLINES = {code: color for code in range(STATE_COUNT) if (color := state_outline(code)) is not None}
_MARKED = np.array(sorted(set(_PATTERNS) | set(_OUTLINES)), dtype=np.int64)  # states drawn with more than a fill
_ARGB = np.array([0xFF000000 | int(state_color(code)[1:], 16) for code in range(STATE_COUNT)], dtype=np.uint32)
COMPOSE = True  # the level of detail on screen as one device image composed by numpy (``_lane_image``)


def _tile(brush: QtGui.QBrush) -> np.ndarray:
    image = brush.textureImage().convertToFormat(QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    return np.frombuffer(image.constBits(), dtype=np.uint32, count=64).reshape(8, 8).copy()


_LOOK = Look(_ARGB, {code: _tile(brush) for code, brush in _PATTERNS.items()},
             {code: 0xFF000000 | int(color[1:], 16) for code, color in _OUTLINES.items()})


def _tail_codes(slices, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``_column_codes`` for a few columns [left, right) (ns) — the live edge — of every lane at once.

    Per lane only the intervals that reach into those columns matter (one or a
    few); gathered from all lanes, one comparison with every column picks, per
    lane and column, the last interval that starts before the column's right edge
    and is still going on inside it — what the per-lane search gives, without its
    per-lane cost.
    """
    codes = np.full((len(slices), len(left)), -1, dtype=np.int64)
    parts, owner = [], []
    first_left = int(left[0])
    for k, (_row, iv, first, stop) in enumerate(slices):
        # usually the lane's last few intervals are all that reach the live edge: take them without a
        # search (an interval too many is harmless: the comparison below leaves it out)
        a = max(first, stop - TAIL_INTERVALS)
        if a > first and iv[1, a - 1] > first_left:  # more reach into the columns: search for the first
            a = first + int(np.searchsorted(iv[1, first:stop], first_left, side="right"))
        b = stop
        if b > a:
            parts.append(iv[:, a:b])
            owner.append(np.full(b - a, k))
    if not parts:
        return codes
    cand = np.concatenate(parts, axis=1)
    lane = np.concatenate(owner)
    valid = (cand[0][:, None] <= right[None, :]) & (cand[1][:, None] > left[None, :])
    index = np.where(valid, np.arange(len(lane))[:, None], -1)
    groups = np.flatnonzero(np.concatenate([[True], lane[1:] != lane[:-1]]))
    best = np.maximum.reduceat(index, groups, axis=0)  # per lane: the last valid interval (-1: none)
    codes[lane[groups]] = np.where(best >= 0, np.clip(cand[2][np.maximum(best, 0)], 0, STATE_COUNT - 1), -1)
    return codes


class SegmentsItem(pg.GraphicsObject):
    """All lanes' segments; ``set_lanes`` gives it the data, ``paint`` decides how to draw."""

    def __init__(self):
        super().__init__()
        self._lanes: list[tuple[int, np.ndarray]] = []  # (row, intervals (4, n) int64: start, end, state, detail)
        self._t0 = 0
        self._clip_ns: int | None = None
        self._bounds = QtCore.QRectF()
        self._brushes = [QtGui.QBrush(QtGui.QColor(state_color(code))) for code in range(STATE_COUNT)]
        self._rects = [PrimitiveArray(QtCore.QRectF, 4) for _ in range(STATE_COUNT)]
        self._outline_pens = {code: _cosmetic_pen(color) for code, color in _OUTLINES.items()}
        self._image: QtGui.QImage | None = None
        self._pixels: np.ndarray | None = None
        self._scratch: dict = {}  # the composed level of detail's buffers (``_lane_image.compose``)
        self._compose_from = -math.inf  # the first (absolute) column whose codes changed since the last image
        self._generation = None  # see set_lanes
        self._ends: dict[int, tuple[int, int]] = {}  # per row at the last set_lanes: intervals, last end_ns
        self._changed_ns = -math.inf  # the earliest time drawn lanes may have changed at since the last paint
        self._codes: tuple | None = None  # (key, first column, codes) of the last level-of-detail paint
        self.last_stats: dict = {}  # what the last paint drew: mode, visible, rects, by_code, columns

    # --- data ----------------------------------------------------------------------------
    def set_lanes(self, lanes: list[tuple[int, np.ndarray]], t0_ns: int, rows: int,
                  clip_ns: int | None = None, generation=None) -> None:
        """``lanes``: (row, intervals) with intervals' rows start_ns, end_ns, state, detail (each contiguous).

        ``generation``: while it stays the same, each lane only grew at its end since
        the last call (its last interval may have changed, the ones before may not): the
        level of detail then recomputes only the columns from there on. None: not known.
        """
        # one pass over the lanes: each one's size, first start and last end (what follows needs only those)
        shown = [(row, iv, iv.shape[1]) for row, iv in lanes if iv.shape[1]]
        firsts = [int(iv[0, 0]) for _row, iv, _n in shown]
        ends = [int(iv[1, n - 1]) for _row, iv, n in shown]
        changed = -math.inf
        if generation is not None and generation == self._generation and clip_ns is None and self._clip_ns is None:
            # what was drawn holds up to where each lane's last interval ended then, and up to where
            # that interval ends now (a state that arrived late closed it before the old end)
            changed = math.inf
            old = self._ends
            for (row, iv, n), end in zip(shown, ends, strict=True):
                last = old.get(row)
                if last is None:  # a lane new since then: all of it
                    changed = -math.inf
                    break
                changed = min(changed, last[1], end if last[0] >= n else int(iv[1, last[0] - 1]))
        self._changed_ns = min(self._changed_ns, changed)
        self._ends = {row: (n, end) for (row, _iv, n), end in zip(shown, ends, strict=True)}
        self._generation = generation
        self._lanes = lanes
        self._t0 = t0_ns
        self._clip_ns = clip_ns
        x0 = min(0.0, (min(firsts) - t0_ns) / 1e9) if firsts else 0.0
        x1 = (max(ends) - t0_ns) / 1e9 if ends else 0.0
        if clip_ns is not None:
            x1 = min(x1, (clip_ns - t0_ns) / 1e9)
        bounds = QtCore.QRectF(x0, -0.5, max(x1 - x0, 0.0), max(rows, 0))
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds
        self.update()

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 - Qt's name
        return QtCore.QRectF(self._bounds)

    def visible_slices(self, x0: float, x1: float) -> list[tuple[int, np.ndarray, int, int]]:
        """Per lane: (row, intervals, first, stop) of the segments overlapping [x0, x1] seconds."""
        a_ns = self._t0 + math.floor(x0 * 1e9)
        b_ns = self._t0 + math.ceil(x1 * 1e9)
        if self._clip_ns is not None:
            b_ns = min(b_ns, self._clip_ns)
        out = []
        for row, iv in self._lanes:
            n = iv.shape[1]
            if not n:
                continue
            # a live view usually holds all of a lane: then no search (two per lane were most of this)
            first = 0 if iv[1, 0] > a_ns else int(np.searchsorted(iv[1], a_ns, side="right"))
            stop = n if iv[0, n - 1] < b_ns else int(np.searchsorted(iv[0], b_ns, side="left"))
            if stop > first:
                out.append((row, iv, first, stop))
        return out

    # --- drawing -------------------------------------------------------------------------
    def paint(self, p: QtGui.QPainter, *_args) -> None:
        self.last_stats = {"mode": "none", "visible": 0, "rects": 0, "by_code": {}, "columns": 0}
        try:
            self._paint(p)
        except Exception as exc:  # noqa: BLE001 - an exception escaping a paint() override crashes PySide6
            self.last_stats["error"] = repr(exc)
            _log.exception("drawing the activity lanes failed")

    def _paint(self, p: QtGui.QPainter) -> None:
        view = self.viewRect()
        scale = abs(p.transform().m11())
        if view is None or not self._lanes or scale <= 0:
            return
        x0, x1 = view.left(), view.right()
        if self._clip_ns is not None:
            x1 = min(x1, (self._clip_ns - self._t0) / 1e9)
        x0 = max(x0, self._bounds.left())
        x1 = min(x1, self._bounds.right())
        if x1 <= x0:
            return
        slices = self.visible_slices(x0, x1)
        if not slices:
            return
        visible = sum(stop - first for _row, _iv, first, stop in slices)
        self.last_stats["visible"] = visible
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        if visible <= EXACT_LIMIT:
            self._paint_exact(p, slices, x0, x1, 1.0 / scale)
        else:
            self._paint_columns(p, slices, x0, x1, scale)

    def _paint_exact(self, p, slices, x0: float, x1: float, pixel: float) -> None:
        part = np.concatenate([iv[:, first:stop] for _row, iv, first, stop in slices], axis=1)
        rows = np.repeat([row for row, *_rest in slices], [stop - first for _r, _iv, first, stop in slices])
        end_ns = part[1] if self._clip_ns is None else np.minimum(part[1], self._clip_ns)
        x = np.maximum((part[0] - self._t0) / 1e9, x0 - pixel)  # no huge off-screen coordinates
        end = np.minimum((end_ns - self._t0) / 1e9, x1 + pixel)
        w = np.maximum(end - x, pixel)  # a short state still shows as one pixel
        # what a process did (its work, its hold of a lock) is the lesson's point: a burst of 0.1 ms among
        # 50 ms of start-up still shows as a mark a class can see, not a 1 px sliver
        told = np.isin(part[2], _TOLD)
        w[told] = np.maximum(w[told], TOLD_PX * pixel)
        y = rows - LANE_HEIGHT / 2
        code = np.clip(part[2], 0, STATE_COUNT - 1)
        by_code = {}
        for value in np.unique(code).tolist():
            sel = code == value
            by_code[value] = self._draw_state(p, value, x[sel], y[sel], w[sel])
        self.last_stats.update(mode="exact", rects=len(x), by_code=by_code)

    def _draw_state(self, p, code: int, x: np.ndarray, y: np.ndarray, w: np.ndarray, fill: bool = True) -> int:
        """One state's rectangles: its fill (one ``drawRects``), then its pattern and outline if it has them."""
        n = len(x)
        rects = self._rects[code]
        rects.resize(n)
        memory = rects.ndarray()
        memory[:, 0] = x
        memory[:, 1] = y
        memory[:, 2] = w
        memory[:, 3] = LANE_HEIGHT
        outline = self._outline_pens.get(code)
        if fill or outline is not None:
            p.setPen(outline if outline is not None else QtCore.Qt.PenStyle.NoPen)
            p.setBrush(self._brushes[code] if fill else QtCore.Qt.BrushStyle.NoBrush)
            p.drawRects(*rects.drawargs())
        pattern = _PATTERNS.get(code)
        if pattern is not None:
            p.setPen(QtCore.Qt.PenStyle.NoPen)
            p.setBrush(pattern)
            t = p.transform()
            if t.m12() == 0 and t.m21() == 0 and not t.isIdentity():
                # in device units: a texture follows the painter's transform, and here 8 of our units are
                # 8 seconds (the view's scale): the tile would be far wider than the plot
                memory[:, 0] = memory[:, 0] * t.m11() + t.dx()
                memory[:, 2] = memory[:, 2] * t.m11()
                memory[:, 1] = memory[:, 1] * t.m22() + t.dy()
                memory[:, 3] = memory[:, 3] * t.m22()
                p.save()
                p.resetTransform()
                p.drawRects(*rects.drawargs())
                p.restore()
            else:
                p.drawRects(*rects.drawargs())
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        return n

    def _column_codes(self, slices, x0: float, x1: float, scale: float) -> tuple[np.ndarray, ColumnGrid]:
        """Per lane and pixel column the state shown there (-1: none), and the columns.

        The columns are anchored to multiples of their width (``_columns.ColumnGrid``),
        so while a live run scrolls the codes of the columns before the earliest change
        (``set_lanes``) are kept from the last paint; only the newest ones are computed.
        """
        grid = ColumnGrid.covering(x0, x1, 1.0 / scale)
        if grid.count > MAX_COLUMNS:
            grid = ColumnGrid(x0, x1, MAX_COLUMNS)
        rows = tuple(row for row, *_rest in slices)
        key = (grid.width, rows, self._generation, self._clip_ns, self._t0)
        codes = np.full((len(slices), grid.count), -1, dtype=np.int64)
        keep = 0
        if self._codes is not None and self._codes[0] == key:
            changed = self._changed_ns  # ±inf: nothing / everything may have changed
            redo = grid.column_of((changed - self._t0) / 1e9) if math.isfinite(changed) else changed
            keep = keep_columns(codes, grid, self._codes[2], self._codes[1], redo)
        if keep < grid.count:
            lefts = grid.lefts()[keep:]
            edges = self._t0 + np.round(np.append(lefts, lefts[-1] + grid.width) * 1e9).astype(np.int64)
            if self._clip_ns is not None:
                edges = np.minimum(edges, self._clip_ns)
            left, right = edges[:-1], edges[1:]
            if len(left) <= TAIL_COLUMNS:
                codes[:, keep:] = _tail_codes(slices, left, right)
            else:
                for k, (_row, iv, first, stop) in enumerate(slices):
                    # the last segment that starts before the column's right edge ...
                    idx = np.searchsorted(iv[0, first:stop], right, side="right") - 1
                    ok = idx >= 0
                    idx = np.maximum(idx, 0) + first
                    # ... if it is still going on inside the column
                    ok &= iv[1, idx] > left
                    codes[k, keep:] = np.where(ok, np.clip(iv[2, idx], 0, STATE_COUNT - 1), -1)
        self._codes = (key, grid.first, codes)
        self._compose_from = min(self._compose_from, grid.first + keep)
        self._changed_ns = math.inf
        self.last_stats["columns_computed"] = grid.count - keep
        return codes, grid

    def _paint_columns(self, p, slices, x0: float, x1: float, scale: float) -> None:
        codes, grid = self._column_codes(slices, x0, x1, scale)
        x0, pixel = grid.first * grid.width, grid.width  # the columns' own left edge (a column's multiple)
        rows, columns = codes.shape
        drawn = codes >= 0
        counts = np.bincount(codes[drawn], minlength=STATE_COUNT)
        by_code = {code: int(n) for code, n in enumerate(counts.tolist()) if n}
        if self._exportOpts is not False:
            # exporting (SVG, printing): vector rectangles, one per run of equal columns
            self._paint_runs(p, slices, codes, x0, pixel)
            self.last_stats.update(mode="lod-runs", by_code=by_code, columns=columns)
            return
        if COMPOSE and self._paint_composed(p, slices, codes, x0, pixel, grid.first):
            self.last_stats.update(mode="lod", rects=0, by_code=by_code, columns=columns, images=1)
            return
        pixels = np.where(drawn, _ARGB[np.maximum(codes, 0)], np.uint32(0))
        self._pixels = pixels  # the image points into this buffer: keep it alive while drawn
        image = QtGui.QImage(pixels.data, columns, rows, columns * 4, QtGui.QImage.Format.Format_ARGB32)
        self._image = image
        p.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, False)
        width = pixel * columns
        for k, (row, _iv, _first, _stop) in enumerate(slices):
            target = QtCore.QRectF(x0, row - LANE_HEIGHT / 2, width, LANE_HEIGHT)
            p.drawImage(target, image, QtCore.QRectF(0, k, columns, 1))
        marked = np.isin(codes, _MARKED)
        overlays = 0
        if marked.any():  # patterns and outlines over the image: the runs of those states only
            overlays = self._paint_runs(p, slices, np.where(marked, codes, -1), x0, pixel, fill=False)
        self.last_stats.update(mode="lod", rects=0, by_code=by_code, columns=columns, images=rows,
                               overlays=overlays)

    def _paint_composed(self, p, slices, codes: np.ndarray, x0: float, pixel: float, first: int) -> bool:
        """The columns, their hatching and outlines as one image in device pixels (``_lane_image``); False
        (nothing drawn) where that would not give Qt's own pixels: then the caller draws them with Qt."""
        kept = int(max(0, min(codes.shape[1], self._compose_from - first)))
        self._compose_from = math.inf
        last = self._scratch.pop("last", None)  # the last image: kept only if this call composes one
        t = p.transform()
        device = p.device()
        if (t.type().value > QtGui.QTransform.TransformationType.TxScale.value or device is None
                or device.devicePixelRatioF() != 1.0):
            return False  # a high-DPI device scales what is drawn: the pixels would not be Qt's
        rows = np.array([row for row, *_rest in slices], dtype=np.float64)
        p.save()
        try:
            p.resetTransform()
            clip = QtCore.QRectF(0, 0, device.width(), device.height())
            if p.hasClipping():
                clip = clip.intersected(p.clipBoundingRect())
            if last is not None:
                self._scratch["last"] = last
            out = compose(codes, rows, x0, pixel, (t.m11(), t.m22(), t.dx(), t.dy()), _LOOK, LANE_HEIGHT,
                          (clip.left(), clip.top(), clip.right(), clip.bottom()), self._scratch, kept)
            if out is None:
                self._scratch.pop("last", None)
                return False
            pixels, left, top, edge = out
            self.last_stats["columns_composed"] = codes.shape[1] - self._scratch.get("first", 0)
            height, width = pixels.shape
            self._pixels = pixels  # the image points into this buffer: keep it alive while drawn
            self._image = QtGui.QImage(pixels.data, width, height, width * 4,
                                       QtGui.QImage.Format.Format_ARGB32_Premultiplied)  # opaque or empty
            p.drawImage(QtCore.QPointF(left, top), self._image)
            # the outlines that cross the clip's edge, as they were drawn: Qt's rectangles in device units
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            for code, rects in edge.items():
                array = self._rects[code]
                array.resize(len(rects))
                array.ndarray()[:] = rects
                p.setPen(self._outline_pens[code])
                p.drawRects(*array.drawargs())
            self.last_stats["overlays"] = sum(len(r) for r in edge.values())
        finally:
            p.restore()
        return True

    def _paint_runs(self, p, slices, codes: np.ndarray, x0: float, pixel: float, fill: bool = True) -> int:
        """The per-column states as rectangles: each run of equal columns of a lane is one (``fill`` False:
        only their patterns and outlines, over the image); how many rectangles."""
        rows, columns = codes.shape
        change = np.ones((rows, columns), dtype=bool)
        change[:, 1:] = codes[:, 1:] != codes[:, :-1]
        lane, start = np.nonzero(change)  # row-major: runs in lane order, left to right
        stop = np.append(start[1:], columns)
        stop[np.append(lane[1:] != lane[:-1], True)] = columns  # a lane's last run ends at the right edge
        code = codes[lane, start]
        keep = code >= 0
        lane, start, stop, code = lane[keep], start[keep], stop[keep], code[keep]
        y = np.array([row for row, *_rest in slices], dtype=np.float64)[lane] - LANE_HEIGHT / 2
        total = 0
        for value in np.unique(code).tolist():
            sel = code == value
            total += self._draw_state(p, value, x0 + start[sel] * pixel, y[sel], (stop[sel] - start[sel]) * pixel,
                                      fill)
        if fill:
            self.last_stats["rects"] = total
        return total


def _cosmetic_pen(color: str) -> QtGui.QPen:
    pen = QtGui.QPen(QtGui.QColor(color), 1)
    pen.setCosmetic(True)  # one pixel whatever the zoom (the view's x scale is pixels per second)
    return pen
