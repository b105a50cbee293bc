"""Colours: states (Okabe–Ito, colour-blind safe) and one stable colour per process.

A washed-out projector and a greyscale print lose hue, and several state colours
have about the same lightness (starting, waiting, blocked and sleeping are all
~60 % grey). So the states that a lesson tells apart also differ in pattern: a
state's fill may carry a hatching drawn over it (``state_pattern``) and the idle
state, almost white, has a dark outline (``state_outline``) so an idle lane stays
visible. The lanes and their legend draw both.
"""

from __future__ import annotations

import functools

from app.core.events import STATE_COLORS, STATE_NAMES

# Distinct, readable on white and dark backgrounds; repeats after 12 processes.
PROCESS_PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
    "#17becf", "#bcbd22", "#ff7f0e", "#7f7f7f", "#393b79", "#637939",
)

# Qt.BrushStyle names (looked up when Qt is there: the names are read without it too)
STATE_PATTERNS = {
    "waiting": "BDiagPattern",  # diagonal hatching: waiting for a lock, a queue, a result
    "blocked": "DiagCrossPattern",  # a grid: blocked harder than waiting
    "sleeping": "HorPattern",  # horizontal lines: asleep on purpose
}
PATTERN_COLOR = "#202020"  # the hatching: dark on every fill, so it survives greyscale
STATE_OUTLINES = {"idle": "#6E6E6E"}  # the idle fill is near white: its outline keeps the lane visible


def state_color(code: int) -> str:
    return STATE_COLORS[STATE_NAMES[code]]


def state_pattern(code: int) -> str | None:
    """The name of the ``Qt.BrushStyle`` drawn over state ``code``'s fill, or None (a plain fill)."""
    return STATE_PATTERNS.get(STATE_NAMES[code]) if 0 <= code < len(STATE_NAMES) else None


def state_outline(code: int) -> str | None:
    """The colour of the outline of state ``code``'s segments, or None."""
    return STATE_OUTLINES.get(STATE_NAMES[code]) if 0 <= code < len(STATE_NAMES) else None


def process_color(index: int) -> str:
    if index < 0:
        return "#444444"  # the parent
    return PROCESS_PALETTE[index % len(PROCESS_PALETTE)]


@functools.cache
def process_brush(index: int):
    """The brush of a process's dots (a plain function: a bound method held by the dots would tie a
    plot to its own graphics items in a reference cycle, and collecting that cycle crashes PySide6)."""
    from PySide6.QtGui import QBrush, QColor  # here: the module's colours are read without Qt too

    return QBrush(QColor(process_color(index)))


PATTERN_TILE = 8  # pixels: the tile of Qt's pattern styles


@functools.cache
def state_pattern_brush(code: int):
    """The brush of state ``code``'s hatching (drawn over its fill), or None: a texture made of Qt's
    pattern style. A texture, not the pattern style itself: an SVG writes a pattern style as a masked
    pattern that Qt's own SVG renderer draws with the rest of the picture misplaced; a texture it draws
    right. Like any texture it follows the painter's transform: draw it in device units."""
    name = state_pattern(code)
    if name is None:
        return None
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QBrush, QColor, QImage, QPainter

    tile = QImage(PATTERN_TILE, PATTERN_TILE, QImage.Format.Format_ARGB32_Premultiplied)
    tile.fill(0)
    painter = QPainter(tile)
    painter.fillRect(0, 0, PATTERN_TILE, PATTERN_TILE, QBrush(QColor(PATTERN_COLOR), getattr(Qt.BrushStyle, name)))
    painter.end()
    return QBrush(tile)
