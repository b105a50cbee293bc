"""Many curves and their dots drawn by one graphics item, and a y range that fits what is visible.

pyqtgraph spends ~0.4 ms per ``PlotCurveItem`` per frame before drawing a
single line (bounds, pixel vectors, ``setData`` bookkeeping), and ~0.2 ms per
``ScatterPlotItem.setData``; 64 value curves or 64 processes' CPU curves
scrolling with a live run cost 30–60 ms a frame that way (``tests/bench``:
``render``, ``latency``). So the plots keep one plain ``CurveData`` per curve
(the pen, the points, the visibility a legend entry toggles) and one
``DotsData`` per set of dots, and one ``CurvesItem`` draws them all: one
``drawLines`` per curve (pyqtgraph's own fast path for wide pens), then every
dot, one ``drawPoints`` of round points per colour.

``paint`` never raises (an exception escaping a Python ``paint()`` override
crashes PySide6 6.11): it logs instead.
"""

from __future__ import annotations

import logging
import math
import weakref

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui
from pyqtgraph.Qt.internals import PrimitiveArray

from app.gui.plots._columns import ColumnGrid, column_points, keep_columns, rasterise

_log = logging.getLogger(__name__)
_EMPTY = np.empty(0)


class CurveData:
    """One curve as ``CurvesItem`` draws it: ``opts["pen"]``, the points (``getData``), visibility.

    Duck-types what a legend sample reads of a ``PlotCurveItem`` (``opts``,
    ``isVisible``, ``setVisible`` — clicking a legend entry hides the curve).
    A plain object, not a graphics item: nothing of Qt's to own or to delete.
    """

    def __init__(self, pen):
        self.opts = {"pen": pg.mkPen(pen), "antialias": False}
        self._x, self._y = _EMPTY, _EMPTY
        self._segments: np.ndarray | None = None
        self.columns: tuple[ColumnGrid, np.ndarray, np.ndarray] | None = None  # (grid, low, high): see set_columns
        self._visible = True
        self.on_change: weakref.WeakMethod | None = None  # the owner's redraw

    def set_points(self, x: np.ndarray, y: np.ndarray) -> bool:
        """New points; False (and nothing to redraw) if they are the ones already held."""
        if (self.columns is None and len(x) == len(self._x) and np.array_equal(x, self._x)
                and np.array_equal(y, self._y)):
            return False
        self._x, self._y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        self._segments = None
        self.columns = None
        return True

    def set_columns(self, grid: ColumnGrid, low: np.ndarray, high: np.ndarray,
                    bounds: tuple[float, float, float, float] | None) -> None:
        """The curve as its lowest and highest value per pixel column (``_columns``): rasterised when drawn.

        ``bounds``: what ``bounds()`` returns for these columns (the plot computes it for all curves at once).
        """
        self.columns = (grid, low, high)
        self._column_bounds = bounds
        self._x = self._y = None  # the points, made only if asked for (vector export, tests)
        self._segments = None

    def getData(self):  # noqa: N802 - pyqtgraph's name
        if self._x is None:
            self._x, self._y = column_points(*self.columns)
        return self._x, self._y

    def isVisible(self) -> bool:  # noqa: N802 - Qt's name
        return self._visible

    def setVisible(self, visible: bool) -> None:  # noqa: N802 - Qt's name
        self._visible = bool(visible)
        redraw = self.on_change() if self.on_change is not None else None
        if redraw is not None:
            redraw()

    def segments(self) -> np.ndarray | None:
        """Consecutive points joined: (n - 1, 4) x0, y0, x1, y1 in data coordinates (built once per change)."""
        x, y = self.getData()
        if self._segments is None and len(x) > 1:
            self._segments = np.column_stack([x[:-1], y[:-1], x[1:], y[1:]])
        return self._segments

    def bounds(self) -> tuple[float, float, float, float] | None:
        if self.columns is not None:
            return self._column_bounds
        if not len(self._x):
            return None
        return float(self._x[0]), float(self._x[-1]), float(self._y.min()), float(self._y.max())


def _pen_look(curve: CurveData) -> tuple[float, bool, int]:
    """(width, dashed, opaque ARGB) of the curve's pen, read from Qt once per pen (128 curves: ~400 calls)."""
    pen = curve.opts["pen"]
    cached = curve.__dict__.get("_pen_look")
    if cached is None or cached[0] is not pen:
        look = (pen.widthF(), pen.style() != QtCore.Qt.PenStyle.SolidLine, 0xFF000000 | (pen.color().rgb() & 0xFFFFFF))
        cached = curve.__dict__["_pen_look"] = (pen, look)
    return cached[1]


def _buffer(spare: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    """A (rows, columns) uint32 array in ``spare``'s memory if it is large enough, else new."""
    size = shape[0] * shape[1]
    if spare is None or spare.size < size:
        return np.empty(shape, dtype=np.uint32)
    return spare.reshape(-1)[:size].reshape(shape)


class Spot:
    """One dot, as ``ScatterPlotItem.points()`` would give it: ``pos``, ``brush``, ``data``."""

    def __init__(self, x: float, y: float, brush, data):
        self._pos, self._brush, self._data = QtCore.QPointF(x, y), brush, data

    def pos(self) -> QtCore.QPointF:
        return self._pos

    def brush(self):
        return self._brush

    def data(self):
        return self._data


class DotsData:
    """One slot's dots (its writes, in the writer's colour) as ``CurvesItem`` draws them."""

    def __init__(self):
        self.x, self.y, self.who = _EMPTY, _EMPTY, np.empty(0, dtype=np.int64)
        self._brush_of = None

    def set_points(self, x: np.ndarray, y: np.ndarray, who: np.ndarray, brush_of) -> None:
        self.x, self.y, self.who, self._brush_of = x, y, who, brush_of

    def getData(self):  # noqa: N802 - pyqtgraph's name
        return self.x, self.y

    def points(self) -> list[Spot]:
        return [Spot(x, y, self._brush_of(w), w)
                for x, y, w in zip(self.x.tolist(), self.y.tolist(), self.who.tolist(), strict=True)]



class CurvesItem(pg.GraphicsObject):
    """Draws ``curves`` (CurveData, bottom first) and then ``dots`` (DotsData) in ``color_of(writer)``."""

    def __init__(self, dot_size: int, color_of, dot_rim: str = "#FFFFFF"):
        super().__init__()
        self.curves: list[CurveData] = []
        self.dots: list[DotsData] = []
        self._color_of = color_of
        self._dot_size = dot_size
        self._rim = QtGui.QPen(QtGui.QColor(dot_rim), dot_size + 2)
        self._rim.setCosmetic(True)
        self._rim.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
        self._dot_pens: dict[str, QtGui.QPen] = {}
        self._bounds = QtCore.QRectF()
        self._rasters: dict = {}  # column width → (signature, first column, pixels, buffer) of the last paint
        self._spare: dict = {}  # column width → the buffer of the paint before (written by the next paint)
        self._redo = -math.inf  # the first column whose pixels must be drawn again (-inf: all)
        self.last_stats: dict = {}

    def set_items(self, curves: list[CurveData], dots: list[DotsData]) -> None:
        redraw = weakref.WeakMethod(self.redraw)  # weak: no reference cycle through a Qt object
        for item in curves:
            item.on_change = redraw  # the legend hides and shows curves
        self.curves, self.dots = list(curves), list(dots)
        self._redo = -math.inf
        self.changed()

    def redraw(self) -> None:
        self.update()

    def changed(self) -> None:
        """Some curve's or dot's points changed: new bounds, and draw again."""
        boxes = [b for b in (c.bounds() for c in self.curves) if b is not None]
        boxes += [(float(d.x.min()), float(d.x.max()), float(d.y.min()), float(d.y.max()))
                  for d in self.dots if len(d.x)]
        if boxes:
            x0, x1 = min(b[0] for b in boxes), max(b[1] for b in boxes)
            y0, y1 = min(b[2] for b in boxes), max(b[3] for b in boxes)
            bounds = QtCore.QRectF(x0, y0, max(x1 - x0, 0.0), max(y1 - y0, 0.0))
        else:
            bounds = QtCore.QRectF()
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds
        self.update()

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 - Qt's name
        if self._bounds.isNull():
            return QtCore.QRectF()
        # room for the pens and the dots: a few pixels, in data units
        px, py = self.pixelVectors()
        pad_x = abs(px.x()) * (self._dot_size + 4) if px is not None else 0.0
        pad_y = abs(py.y()) * (self._dot_size + 4) if py is not None else 0.0
        return self._bounds.adjusted(-pad_x, -pad_y, pad_x, pad_y)

    def paint(self, p: QtGui.QPainter, *_args) -> None:
        self.last_stats = {"curves": 0, "segments": 0, "dots": 0}
        try:
            self._paint(p)
        except Exception as exc:  # noqa: BLE001 - an exception escaping a paint() override crashes PySide6
            self.last_stats["error"] = repr(exc)
            _log.exception("drawing the curves failed")

    def _paint(self, p: QtGui.QPainter) -> None:
        # Draw in device coordinates: Qt transforms each point of a line slowly (2.6× the cost of the
        # drawing itself); numpy transforms them all at once. The view's clip stays as it is.
        t = p.transform()
        vector = self._exportOpts is not False  # SVG, printing, image export: lines, never a screen raster
        if t.type().value > QtGui.QTransform.TransformationType.TxScale.value:  # never in a plot: rotated, sheared
            p.save()
            self._paint_curves(p, lambda data, out: np.copyto(out, data), self.curves)
            self._paint_dots(p, (1.0, 1.0), (0.0, 0.0))
            p.restore()
            return
        sx, sy, dx, dy = t.m11(), t.m22(), t.dx(), t.dy()

        def to_device(data, out):
            np.multiply(data, (sx, sy, sx, sy), out=out)
            out += (dx, dy, dx, dy)

        columns = [] if vector else [c for c in self.curves if c.columns is not None and c.isVisible()]
        view = self.viewRect()
        p.save()
        p.resetTransform()
        if columns and view is not None:
            self._paint_columns(p, columns, (sx, sy, dx, dy), view)
        self._paint_curves(p, to_device, [c for c in self.curves if vector or c.columns is None])
        edges = None if view is None else tuple(sorted((view.left() * sx + dx, view.right() * sx + dx)))
        self._paint_dots(p, (sx, sy), (dx, dy), edges)
        p.restore()

    def _paint_curves(self, p: QtGui.QPainter, place, curves: list[CurveData]) -> None:
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        lines = PrimitiveArray(QtCore.QLineF, 4)
        for curve in curves:
            data = curve.segments() if curve.isVisible() else None
            if data is None:
                continue
            lines.resize(len(data))
            place(data, lines.ndarray())
            p.setPen(curve.opts["pen"])
            p.drawLines(*lines.drawargs())
            self.last_stats["curves"] += 1
            self.last_stats["segments"] += len(data)

    def columns_changed(self, first_column: int) -> None:
        """The curves' columns changed from absolute column ``first_column`` on (the ones before are
        as they were): the next paint rasterises only those again."""
        self._redo = min(self._redo, first_column)

    def _paint_columns(self, p: QtGui.QPainter, curves: list[CurveData], transform, view: QtCore.QRectF) -> None:
        """Curves given as pixel columns: one image per column grid (normally one), curves in z order.

        The image of the previous paint is kept: while a live run scrolls, its columns
        left of the first changed one (``columns_changed``) are copied, not drawn again.
        """
        sx, sy, dx, dy = transform
        top = math.floor(min(view.top() * sy, view.bottom() * sy) + dy)
        height = max(1, math.ceil(abs(view.height() * sy)) + 1)
        groups: dict[tuple, list[CurveData]] = {}
        for curve in curves:
            groups.setdefault(curve.columns[0].key(), []).append(curve)
        rasters = {}
        for members in groups.values():
            grid = members[0].columns[0]
            looks = [_pen_look(c) for c in members]
            pens = [(width, dashed) for width, dashed, _color in looks]
            colors = [0] + [color for _width, _dashed, color in looks]
            # what the image's rows and colours depend on: the same → the kept columns are still right
            signature = (height, sy, dy - top, tuple(map(id, members)), tuple(looks))
            keep = 0
            cached = self._rasters.get(grid.width)
            # two buffers, one per frame in turn: the kept columns are copied from the other, and no
            # megabyte array is allocated (and page-faulted) at every frame
            spare = self._spare.get(grid.width)
            pixels = _buffer(spare, (height, grid.count))
            if cached is not None and cached[0] == signature:
                keep = keep_columns(pixels, grid, cached[2], cached[1], self._redo)
            if keep < grid.count:
                start = max(keep - 1, 0)  # one kept column more: a thick pen joins each column to its left one
                low = np.vstack([c.columns[1][start:] for c in members]) * sy + (dy - top)
                high = np.vstack([c.columns[2][start:] for c in members]) * sy + (dy - top)
                numbers = rasterise(np.fmin(low, high), np.fmax(low, high), pens, grid.first + start, height)
                pixels[:, keep:] = np.asarray(colors, dtype=np.uint32)[numbers[:, keep - start:]]
            rasters[grid.width] = (signature, grid.first, pixels)  # also keeps the image's memory alive
            if cached is not None:
                self._spare[grid.width] = cached[3]
            rasters[grid.width] += (pixels.base if pixels.base is not None else pixels,)
            # premultiplied: every pixel is opaque or empty (the same numbers), and Qt blends it as it is
            image = QtGui.QImage(pixels.data, grid.count, height, grid.count * 4,
                                 QtGui.QImage.Format.Format_ARGB32_Premultiplied)
            left = grid.first * grid.width * sx + dx
            target = QtCore.QRectF(left, top, grid.count * grid.width * sx, height)
            p.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, False)
            p.drawImage(target, image)
            self.last_stats["curves"] += len(members)
            self.last_stats["columns"] = self.last_stats.get("columns", 0) + grid.count
            self.last_stats["columns_drawn"] = self.last_stats.get("columns_drawn", 0) + grid.count - keep
        self._rasters = rasters
        self._redo = math.inf  # until the columns change again

    def _paint_dots(self, p: QtGui.QPainter, scale, shift, edges: tuple[float, float] | None = None) -> None:
        shown = [d for d in self.dots if len(d.x)]
        if not shown:
            return
        who = np.concatenate([d.who for d in shown])
        points = PrimitiveArray(QtCore.QPointF, 2)
        points.resize(len(who))
        memory = points.ndarray()
        memory[:, 0] = np.concatenate([spread(d.x * scale[0] + shift[0], self._dot_size + 1, edges) for d in shown])
        memory[:, 1] = np.concatenate([d.y for d in shown]) * scale[1] + shift[1]
        p.setPen(self._rim)
        p.drawPoints(*points.drawargs())
        order = np.argsort(who, kind="stable")
        starts = np.flatnonzero(np.concatenate([[True], who[order][1:] != who[order][:-1]]))
        bounds = [*starts.tolist(), len(order)]
        group = PrimitiveArray(QtCore.QPointF, 2)
        for k, start in enumerate(starts.tolist()):
            group.resize(bounds[k + 1] - start)
            group.ndarray()[:] = memory[order[start:bounds[k + 1]]]
            p.setPen(self._dot_pen(self._color_of(int(who[order[start]]))))
            p.drawPoints(*group.drawargs())
        self.last_stats["dots"] = len(who)

    def _dot_pen(self, color: str) -> QtGui.QPen:
        pen = self._dot_pens.get(color)
        if pen is None:
            pen = self._dot_pens[color] = QtGui.QPen(QtGui.QColor(color), self._dot_size)
            pen.setCosmetic(True)
            pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
        return pen


def spread(x: np.ndarray, gap: float, edges: tuple[float, float] | None = None) -> np.ndarray:
    """Device x of one slot's dots (in write order), moved apart so that no two touch.

    Writes closer than a dot (six workers writing within 5 ms at the end of a one-second hold) would draw one
    blot: each run of such dots is laid out ``gap`` apart around its centre, and kept inside ``edges`` (the
    view's left and right) so the last ones are not cut off at the end of the run. Dots far enough apart
    stay where their time puts them."""
    if len(x) < 2:
        return x
    order = np.argsort(x, kind="stable")
    xs = x[order]
    cluster = np.concatenate([[0], np.cumsum(np.diff(xs) >= gap)])  # a new run where the gap is wide enough
    counts = np.bincount(cluster)
    if counts.max() == 1:
        return x
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(xs)) - starts[cluster]
    centre = np.bincount(cluster, weights=xs) / counts
    placed = centre[cluster] + (rank - (counts[cluster] - 1) / 2) * gap
    if edges is not None:
        left = centre - (counts - 1) / 2 * gap  # each run's first and last dot
        right = centre + (counts - 1) / 2 * gap
        low, high = edges[0] + gap / 2, edges[1] - gap / 2
        shift = np.where(right > high, high - right, 0.0)
        shift = np.where(left + shift < low, low - left, shift)
        placed = placed + shift[cluster]
    out = np.empty_like(x, dtype=float)
    out[order] = placed
    return out


class FitY:
    """A y range that fits the visible values (with pyqtgraph's padding) until the user moves it.

    pyqtgraph's auto-range asks every item for its bounds at every frame; the
    plots know the visible values already (they clipped and decimated them).
    """

    def __init__(self, view: pg.ViewBox):
        self._view = weakref.ref(view)  # weak: a strong one kept the ViewBox's wrapper past its plot (a crash)
        self.active = True
        self._setting = False
        self._fitted: tuple[float, float] | None = None
        view.enableAutoRange(y=False)
        view.sigYRangeChanged.connect(self._on_range)

    def reset(self) -> None:
        """Fit again (a new run, another metric)."""
        self.active = True
        self._fitted = None

    def fit(self, low: float | None, high: float | None) -> None:
        if not self.active or low is None or high is None or (low, high) == self._fitted:
            return
        self._fitted = (low, high)
        if high - low < 1e-12:
            low, high = low - 0.5, high + 0.5
        view = self._view()
        if view is None:
            return
        self._setting = True
        try:
            view.setYRange(low, high, padding=view.suggestPadding(1))
        finally:
            self._setting = False

    def _on_range(self, *_args) -> None:
        if not self._setting:
            self.active = False  # the user zoomed or panned the values: leave the range to them
