"""Shared look of the plots: white background and black axes (good for slides), legends."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from pyqtgraph.graphicsItems.LegendItem import ItemSample
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

FOREGROUND = "#000000"
BACKGROUND = "w"
BACKGROUND_RGB = (255, 255, 255)  # BACKGROUND as RGB: the colour translucent grid lines are blended with
LEGEND_BRUSH = (255, 255, 255, 210)
AXIS_Z = -200  # below the view box (-100): grid lines lie behind the data, not across it


class OpaqueGridAxis(pg.AxisItem):
    """An axis whose grid lines are opaque, in the colour the translucent ones have on the background.

    Qt's raster engine draws a translucent line about nine times slower than an
    opaque one (80 lines across 1000 px: 6.4 ms against 0.7 ms), and during a
    live run the time axis scrolls, so every plot's grid is redrawn at every
    frame: translucent, the grids alone took most of a frame (``tests/bench``:
    ``latency``, ``render``). On the plain background they look the same.
    """

    _pens: dict = {}
    integer = False  # counts (processes, tasks, workers): ticks at whole numbers only, never 0.5
    TICK_CACHE = True  # the tick layout's parts kept between range steps (False: pyqtgraph's own, every time)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tick_values: tuple | None = None  # (key, levels) of the last tickValues
        self._strings: dict = {}  # (scale, spacing) → {value: string}
        self._text_rects: dict = {}  # (font key, text) → its bounding rectangle as pyqtgraph measures it

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 - pyqtgraph's names
        """pyqtgraph's tick values, computed as it does (with one comparison instead of ``np.isclose``'s
        general one: the same answer for finite values), and kept while the range and size stay the same.

        A live view widens in steps and then scrolls by whole pixels: pyqtgraph lays the ticks out again at
        every range change, and its duplicate test alone cost ~0.5 ms per axis per frame."""
        if not self.TICK_CACHE or self.logMode:
            return super().tickValues(minVal, maxVal, size)
        key = (minVal, maxVal, size, self.scale, self.integer, self._tickSpacing, self._tickDensity)
        if self._tick_values is not None and self._tick_values[0] == key:
            return [(spacing, list(values)) for spacing, values in self._tick_values[1]]
        minVal, maxVal = sorted((minVal, maxVal))  # noqa: N806 - pyqtgraph's names
        minVal *= self.scale  # noqa: N806
        maxVal *= self.scale  # noqa: N806
        ticks = []
        seen = np.empty(0)
        for spacing, offset in self.tickSpacing(minVal, maxVal, size):
            start = (math.ceil((minVal - offset) / spacing) * spacing) + offset
            num = int((maxVal - start) / spacing) + 1
            values = (np.arange(num) * spacing + start) / self.scale
            if len(seen):  # a tick a level above already has (within 1 % of this spacing): not again
                close = (np.abs(seen[None, :] - values[:, None]) <= spacing / self.scale * 0.01).any(axis=1)
                values = values[~close]
            seen = np.concatenate([seen, values])
            ticks.append((spacing / self.scale, values.tolist()))
        self._tick_values = (key, ticks)
        return [(spacing, list(values)) for spacing, values in ticks]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph's name
        """pyqtgraph's strings, each made once per (scale, spacing): a scrolling axis shows mostly the same."""
        if not self.TICK_CACHE or self.logMode or type(self).tickStrings is not OpaqueGridAxis.tickStrings:
            return super().tickStrings(values, scale, spacing)
        known = self._strings.get((scale, spacing))
        if known is None:
            if len(self._strings) > 8:
                self._strings.clear()
            known = self._strings[(scale, spacing)] = {}
        missing = [v for v in values if v not in known]
        if missing:
            if len(known) > 4096:
                known.clear()
            known.update(zip(missing, super().tickStrings(missing, scale, spacing), strict=True))
        return [known[v] for v in values]

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802, N803 - pyqtgraph's names
        levels = super().tickSpacing(minVal, maxVal, size)
        if not self.integer:
            return levels
        whole = []
        for spacing, offset in levels:  # 2.5 → 3: a tick is a whole number or none at all
            level = (float(math.ceil(spacing - 1e-9)), offset)
            if spacing >= 1 - 1e-9 and level not in whole:
                whole.append(level)
        return whole or [(1.0, 0.0)]

    def generateDrawSpecs(self, p):  # noqa: N802 - pyqtgraph's name
        measured = _MeasuringPainter(p, self._text_rects) if self.TICK_CACHE else p
        specs = super().generateDrawSpecs(measured)
        if specs is None or self.grid is False:
            return specs
        axis_spec, tick_specs, text_specs = specs
        return axis_spec, [(_opaque(pen), p1, p2) for pen, p1, p2 in tick_specs], text_specs


class _MeasuringPainter:
    """What ``AxisItem.generateDrawSpecs`` asks of its painter (the font, each label's bounding rectangle),
    with each label measured once per font: Qt lays a text out for every ``boundingRect``."""

    def __init__(self, painter: QtGui.QPainter, rects: dict):
        self._painter, self._rects = painter, rects
        self._font_key = painter.font().key()

    def setFont(self, font: QtGui.QFont) -> None:  # noqa: N802 - Qt's name
        self._painter.setFont(font)
        self._font_key = font.key()

    def boundingRect(self, rect, flags, text: str) -> QtCore.QRectF:  # noqa: N802 - Qt's name
        key = (self._font_key, rect.x(), rect.y(), rect.width(), rect.height(), int(flags.value), text)
        known = self._rects.get(key)
        if known is None:
            if len(self._rects) > 4096:
                self._rects.clear()
            known = self._rects[key] = self._painter.boundingRect(rect, flags, text)
        return QtCore.QRectF(known)  # a copy: pyqtgraph shrinks the one it gets

    def __getattr__(self, name: str):
        return getattr(self._painter, name)


def _opaque(pen: QtGui.QPen) -> QtGui.QPen:
    color = pen.color()
    if color.alpha() == 255:
        return pen
    key = (color.rgba(), pen.widthF(), pen.isCosmetic())
    cached = OpaqueGridAxis._pens.get(key)
    if cached is None:
        alpha = color.alphaF()
        rgb = [round(bg + (c - bg) * alpha) for c, bg in zip((color.red(), color.green(), color.blue()),
                                                             BACKGROUND_RGB, strict=True)]
        cached = QtGui.QPen(pen)
        cached.setColor(QtGui.QColor(*rgb))
        OpaqueGridAxis._pens[key] = cached
    return cached


def axis_items() -> dict:
    """The axes every plot is built with (``pg.PlotWidget(axisItems=axis_items())``): opaque grids.

    Given at construction: replacing a plot's axes afterwards leaves the old ones
    to Python's garbage collector, whose destruction of them can crash PySide6.
    """
    return {name: OpaqueGridAxis(name) for name in ("left", "bottom")}


def style_plot(widget: pg.PlotWidget) -> None:
    """Black axes and text on the widget's (white) background, no pyqtgraph "A" button."""
    item = widget.getPlotItem()
    item.hideButtons()
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(FOREGROUND))
        axis.setTextPen(pg.mkPen(FOREGROUND))
        axis.setZValue(AXIS_Z)
    item.showGrid(x=True, y=False, alpha=0.15)


class LayoutLegend(pg.LegendItem):
    """A legend that lives in its plot's layout (outside the data), never floating over the data.

    pyqtgraph's legend resizes itself by ``setGeometry(0, 0, …)``, which moves it
    to its parent's top left corner until the layout places it again; here it
    only tells the layout that its size changed, and the layout places it.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.layout.setContentsMargins(4, 1, 4, 1)  # a projector's plot is short: its legend stays compact

    def addItem(self, item, name) -> None:  # noqa: N802 - pyqtgraph's name
        super().addItem(item, name)
        _sample, label = self.items[-1]
        label.item.document().setDocumentMargin(1)  # Qt's 4 px above and below every line: a row is 6 px lower
        label.updateMin()
        self.updateSize()

    def updateSize(self) -> None:  # noqa: N802 - pyqtgraph's name
        self.layout.invalidate()
        self.updateGeometry()


def font_size_css(font: QtGui.QFont | None = None) -> str:
    """The size of ``font`` (the application's) as a legend label's CSS size: in points, or pixels."""
    font = font or QtWidgets.QApplication.font()
    return f"{font.pointSizeF():g}pt" if font.pointSizeF() > 0 else f"{max(font.pixelSize(), 1)}px"


def make_legend(**kwargs) -> pg.LegendItem:
    kwargs.setdefault("labelTextColor", FOREGROUND)
    kwargs.setdefault("brush", pg.mkBrush(LEGEND_BRUSH))
    kwargs.setdefault("pen", pg.mkPen("#BBBBBB"))
    kwargs.setdefault("labelTextSize", font_size_css())  # not pyqtgraph's fixed 9pt (see follow_app_font)
    return LayoutLegend(**kwargs)


class Swatch(ItemSample):
    """A legend sample that is just a coloured square (or a marker), with the hatching (``pattern``, a
    ``QBrush``) and outline its state has on the lanes; clicking it does nothing."""

    def __init__(self, color: str, marker: str | None = None, pattern: QtGui.QBrush | None = None,
                 outline: str | None = None):
        super().__init__(None)
        self.color = color
        self.marker = marker
        self.pattern = pattern
        self.outline = outline

    def paint(self, p: QtGui.QPainter, *_args) -> None:
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        if self.marker:
            p.setPen(pg.mkPen(self.color, width=2.5))
            p.drawLine(QtCore.QPointF(4, 4), QtCore.QPointF(16, 16))
            p.drawLine(QtCore.QPointF(4, 16), QtCore.QPointF(16, 4))
            return
        rect = QtCore.QRectF(3, 5, 14, 10)
        p.setPen(pg.mkPen(self.outline or "#666666"))
        p.setBrush(pg.mkBrush(self.color))
        p.drawRect(rect)
        if self.pattern is not None:
            p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
            p.setPen(QtCore.Qt.PenStyle.NoPen)
            p.setBrush(self.pattern)
            p.drawRect(rect)

    def mouseClickEvent(self, event) -> None:  # noqa: N802 - Qt's name
        event.ignore()


LEGEND_MAX = 16  # entries a legend shows; beyond, the last one says how many more there are


LEGEND_ROWS = 2  # rows of a legend below a plot: more would take the plot's height
LEGEND_MARGIN_PX = 24  # the plot's margins and the legend's frame and spacing, beside its entries
LEGEND_SAMPLE_PX = 38  # a legend entry's sample, its label's margin and the spacing, beside its text


def capped_entries(entries: list[tuple], more, limit: int = LEGEND_MAX) -> list[tuple]:
    """``entries`` ((item, text) pairs), or the first ``limit - 1`` and ``more(n)`` for the n others.

    A legend of 64 processes cannot be read, and each entry costs ~10 ms to make;
    the lanes name every process in the same colours.
    """
    if len(entries) <= limit:
        return entries
    return [*entries[: max(limit - 1, 0)], (NO_SAMPLE, more(len(entries) - limit + 1))]


def place_legend_below(plot_item, legend: pg.LegendItem) -> None:
    """The legend under the time axis, centred, in the plot's own layout: it never covers the data."""
    legend.setSizePolicy(QtWidgets.QSizePolicy.Policy.Fixed, QtWidgets.QSizePolicy.Policy.Fixed)
    # under the value axis too: the widget's whole width (room for more columns, fewer rows)
    plot_item.layout.addItem(legend, 4, 0, 1, 2)
    plot_item.layout.setAlignment(legend, QtCore.Qt.AlignmentFlag.AlignHCenter)


def legend_grid(texts: list[str], width_px: float, more: str = "", rows: int | None = LEGEND_ROWS
                ) -> tuple[int, int]:
    """(columns, most entries) of a legend of ``texts`` below a plot ``width_px`` wide, in ``rows`` rows
    (None: as many as it takes, every entry shown); ``more``: the text of the entry that counts the others
    when not all fit (its column is wider). The texts are measured in the application's font: the legend's."""
    metrics = QtGui.QFontMetrics(QtWidgets.QApplication.font())
    if rows is None:  # every entry: the most columns whose widest entries (in pyqtgraph's row-major grid) fit
        widths = [metrics.horizontalAdvance(t) + LEGEND_SAMPLE_PX for t in texts]
        for columns in range(len(widths), 1, -1):
            if sum(max(widths[c::columns]) for c in range(columns)) <= width_px:
                return columns, len(texts)
        return 1, len(texts)
    entry = max((metrics.horizontalAdvance(t) for t in texts), default=0) + LEGEND_SAMPLE_PX
    columns = max(1, min(len(texts) or 1, int(max(width_px, entry) // entry)))
    if len(texts) > columns * rows and more:
        extra = max(0, metrics.horizontalAdvance(more) + LEGEND_SAMPLE_PX - entry)
        columns = max(1, min(columns, int((width_px - extra) // entry)))
    return columns, columns * rows


class _NoSample:
    """The legend sample of the "… more" entry: draws nothing (no pen)."""

    opts = {"pen": pg.mkPen(None), "antialias": False}

    def isVisible(self) -> bool:  # noqa: N802 - Qt's name
        return True

    def setVisible(self, _visible: bool) -> None:  # noqa: N802 - Qt's name
        pass


NO_SAMPLE = _NoSample()


def sync_legend(legend: pg.LegendItem, entries: list[tuple], columns: int = 1, max_new: int | None = None) -> bool:
    """Make ``legend`` show ``entries`` ((item, text) pairs), keeping the entries it already has for the
    same items in the same places (renamed if need be): a live run adds processes one by one, and
    remaking every entry at each one stalled the window. At most ``max_new`` entries are added (a new
    entry costs ~10 ms, ~60 ms on a machine busy with 64 processes); False if some are still to come."""
    kept = 0
    for (sample, _label), (item, _text) in zip(legend.items, entries, strict=False):
        if sample.item is not item:
            break
        kept += 1
    for sample, _label in legend.items[kept:]:
        legend.removeItem(sample.item)
    for (_sample, label), (_item, text) in zip(legend.items, entries, strict=False):
        if label.text != text:
            label.setText(text)
    legend.setColumnCount(columns)  # re-lays out the entries it has
    stop = len(entries) if max_new is None else min(len(entries), len(legend.items) + max_new)
    for item, text in entries[kept:stop]:
        legend.addItem(item, text)
    if stop > kept:
        legend.layout.activate()  # place the new entries now: Qt would lay them out after this frame's paint
        parent = legend.parentLayoutItem()
        if parent is not None and parent.isLayout():
            parent.activate()  # and the legend itself in its plot (it takes its new room now, not next frame)
    legend.setVisible(bool(entries))
    return stop == len(entries)


def legend_room(widget: pg.PlotWidget) -> float:
    """How wide a legend under the plot may be (``place_legend_below``: under the left axis and the data):
    the widget's width less a margin. Not the view box's width: a legend too wide for it has already
    widened the layout beyond the widget."""
    return max(widget.width() - LEGEND_MARGIN_PX, 0.0)


def is_font_change(event) -> bool:
    """The widget's font changed, or the application's (the window's text size, Ctrl+= / Ctrl+-)."""
    return event.type() in (QtCore.QEvent.Type.FontChange, QtCore.QEvent.Type.ApplicationFontChange)


def plot_alive(widget: pg.PlotWidget) -> bool:
    """Built and not closed: Qt sends resize and font events already during ``PlotWidget.__init__`` (before
    the legend exists) and during ``close()`` (after the plot item is gone)."""
    return widget.__dict__.get("plotItem") is not None and "legend" in widget.__dict__


def fit_layout(widget: pg.PlotWidget, legend: pg.LegendItem) -> None:
    """Lay ``legend`` out now and the plot again in the widget's width: a legend that was wider (before its
    columns were fitted) had stretched the plot beyond the widget, and only a resize would undo that."""
    legend.updateSize()
    legend.layout.activate()
    item = widget.getPlotItem()
    item.layout.activate()
    if item.geometry() != widget.range:
        item.setGeometry(widget.range)


def follow_app_font(widget: pg.PlotWidget) -> None:
    """The plot's texts (axis ticks and labels, legend, title) in the application font, which the window
    scales (Ctrl+= / Ctrl+-, presentation mode, the screen's scaling): pyqtgraph fixes each text's font
    when it makes it. Call it at start and on every ``QEvent.FontChange``; the legend's columns are the
    plot's to fit again afterwards."""
    font = QtGui.QFont(QtWidgets.QApplication.font())
    item = widget.getPlotItem()
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        if axis.style.get("tickFont") != font and not getattr(axis, "own_tick_font", False):
            axis.setStyle(tickFont=font)
        if axis.label.font() != font:
            axis.label.setFont(font)
            axis._adjustSize()
            axis.picture = None
            axis.update()
    legend = getattr(widget, "legend", None)
    size = font_size_css(font)
    if legend is not None and (legend.opts.get("labelTextSize") != size or any(
            label.item.font() != font for _sample, label in legend.items)):
        legend.opts["labelTextSize"] = size  # the entries added from now on
        for _sample, label in legend.items:
            label.item.setFont(font)
            label.setText(label.text, size=size)
        legend.updateSize()
    if item.titleLabel.item.font() != font:
        item.titleLabel.item.setFont(font)
        item.titleLabel.updateMin()


def share_left_axis(plots, minimum: float = 0.0) -> float:
    """One width for the left axes of ``plots`` stacked one above the other: the widest one needs (or
    ``minimum``), so their linked time axes line up on screen; the width set."""
    width = float(minimum)
    for plot in plots:
        axis = plot.getPlotItem().getAxis("left")
        axis.setWidth(None)  # what this axis needs by itself: its ticks and label
        axis._updateWidth()
        width = max(width, axis.minimumWidth())  # set by _updateWidth now (its geometry comes later)
    for plot in plots:
        plot.getPlotItem().getAxis("left").setWidth(math.ceil(width))
    return math.ceil(width)


class RunTimeAxis:
    """For plots beside the lanes (values, CPU/memory): where the shown run ends, and the x range
    they fit themselves when nobody links them to the lanes."""

    _in_redraw = False
    _end_s = 0.0

    def _setup_time_plot(self):
        """Style, grid, seconds on the x axis (fitted by us), y fitted to the data; the plot item."""
        from app.gui.plots._curves import FitY

        item = self.getPlotItem()
        style_plot(self)
        item.showGrid(x=True, y=True, alpha=0.15)
        item.getAxis("bottom").enableAutoSIPrefix(False)
        view = item.getViewBox()
        view.enableAutoRange(x=False)
        self._fit = FitY(view)
        return item

    def _unlinked(self) -> bool:
        return self.getPlotItem().getViewBox().linkedView(0) is None

    def _fit_time(self, trace, latest_ns: int | None) -> None:
        end_ns = self._cursor_ns
        if end_ns is None:
            end_ns = int(trace.meta["end_ns"]) if "end_ns" in trace.meta else (latest_ns or trace.t0_ns)
        self._end_s = max(trace.seconds(end_ns), 0.0)
        if self._unlinked():
            self._in_redraw = True
            try:
                self.getPlotItem().setXRange(0, max(self._end_s, 1e-3), padding=0.02)
            finally:
                self._in_redraw = False
