"""Shared look of the plots: white background and black axes (good for slides), legends."""

from __future__ import annotations

import pyqtgraph as pg
from pyqtgraph.graphicsItems.LegendItem import ItemSample
from pyqtgraph.Qt import QtCore, QtGui

FOREGROUND = "#000000"
BACKGROUND = "w"
LEGEND_BRUSH = (255, 255, 255, 210)


def style_plot(widget: pg.PlotWidget) -> None:
    """Black axes and text on the widget's (white) background, no pyqtgraph "A" button."""
    item = widget.getPlotItem()
    item.hideButtons()
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(FOREGROUND))
        axis.setTextPen(pg.mkPen(FOREGROUND))
    item.showGrid(x=True, y=False, alpha=0.15)


def make_legend(**kwargs) -> pg.LegendItem:
    kwargs.setdefault("labelTextColor", FOREGROUND)
    kwargs.setdefault("brush", pg.mkBrush(LEGEND_BRUSH))
    kwargs.setdefault("pen", pg.mkPen("#BBBBBB"))
    return pg.LegendItem(**kwargs)


class Swatch(ItemSample):
    """A legend sample that is just a coloured square (or a marker); clicking it does nothing."""

    def __init__(self, color: str, marker: str | None = None):
        super().__init__(None)
        self.color = color
        self.marker = marker

    def paint(self, p: QtGui.QPainter, *_args) -> None:
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        if self.marker:
            p.setPen(pg.mkPen(self.color, width=2.5))
            p.drawLine(QtCore.QPointF(4, 4), QtCore.QPointF(16, 16))
            p.drawLine(QtCore.QPointF(4, 16), QtCore.QPointF(16, 4))
            return
        p.setPen(pg.mkPen("#666666"))
        p.setBrush(pg.mkBrush(self.color))
        p.drawRect(QtCore.QRectF(3, 5, 14, 10))

    def mouseClickEvent(self, event) -> None:  # noqa: N802 - Qt's name
        event.ignore()


def legend_texts(legend: pg.LegendItem) -> list[str]:
    return [label.text for _sample, label in legend.items]
