"""Colours: states (DESIGN §3, Okabe–Ito) and one stable colour per process."""

from __future__ import annotations

import functools

from app.core.events import STATE_COLORS, STATE_NAMES

# Distinct, readable on white and dark backgrounds; repeats after 12 processes.
PROCESS_PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
    "#17becf", "#bcbd22", "#ff7f0e", "#7f7f7f", "#393b79", "#637939",
)


def state_color(code: int) -> str:
    return STATE_COLORS[STATE_NAMES[code]]


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
