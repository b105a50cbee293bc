"""The plots' axes keep their tick layout's parts between range steps (``_style.OpaqueGridAxis``): the same
ticks, strings and drawing specs as pyqtgraph's own for the same range, laid out again when the range or
the size changes."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QPainter, QPicture

from app.gui.plots._style import OpaqueGridAxis
from app.gui.plots.values import ValuePlot
from tests.gui.plot_helpers import shown


def _specs(axis, cache: bool, monkeypatch) -> tuple:
    """The axis's drawing specs as plain numbers: axis line, ticks (pen colour, ends), texts."""
    monkeypatch.setattr(OpaqueGridAxis, "TICK_CACHE", cache)
    picture = QPicture()
    painter = QPainter(picture)
    painter.setFont(axis.style["tickFont"])
    try:
        axis_spec, ticks, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return ((axis_spec[1].x(), axis_spec[1].y(), axis_spec[2].x(), axis_spec[2].y()),
            [(pen.color().rgba(), a.x(), a.y(), b.x(), b.y()) for pen, a, b in ticks],
            [(r.x(), r.y(), r.width(), r.height(), int(flags.value), text) for r, flags, text in texts])


def test_tick_values_and_strings_are_pyqtgraph_s(qapp):
    rng = np.random.default_rng(0)
    axis = OpaqueGridAxis("bottom")
    for k in range(2000):
        low = float(rng.uniform(-1e3, 1e3)) * 10.0 ** int(rng.integers(-6, 4))
        span = float(rng.uniform(1e-6, 1e4)) * 10.0 ** int(rng.integers(-3, 3))
        size = float(rng.uniform(20, 3000))
        axis.integer = k % 5 == 0
        ours = axis.tickValues(low, low + span, size)
        theirs = pg.AxisItem.tickValues(axis, low, low + span, size)
        assert ours == theirs, (low, span, size)
        for spacing, values in theirs:
            assert axis.tickStrings(values, 1.0, spacing) == pg.AxisItem.tickStrings(axis, values, 1.0, spacing)


def test_kept_tick_values_are_new_lists(qapp):
    """pyqtgraph marks dropped ticks in the lists it gets: what the axis keeps must not change with them."""
    axis = OpaqueGridAxis("bottom")
    first = axis.tickValues(0.0, 30.0, 800)
    first[0][1][0] = None
    assert axis.tickValues(0.0, 30.0, 800) == pg.AxisItem.tickValues(axis, 0.0, 30.0, 800)


@pytest.mark.parametrize("name", ["bottom", "left"])
def test_a_scrolling_axis_draws_what_pyqtgraph_draws(qtbot, monkeypatch, name):
    """A live view scrolling by whole pixels, then widened, then resized: at every step the same specs as
    pyqtgraph's own generateDrawSpecs, and new ones whenever the range or the size changed."""
    plot = shown(qtbot, ValuePlot(), 1000, 300)
    item = plot.getPlotItem()
    view = item.getViewBox()
    axis = item.getAxis(name)
    set_range = view.setXRange if name == "bottom" else view.setYRange
    span, pixel = 30.6, 30.6 / 870
    before = None
    for step in range(40):
        end = 31.0 + step * pixel
        set_range(end - span, end, padding=0)
        ours = _specs(axis, True, monkeypatch)
        assert ours == _specs(axis, False, monkeypatch), step
        assert ours != before  # the range moved: the ticks moved with it
        before = ours
    set_range(0.0, 75.0, padding=0)  # widened to the next step
    widened = _specs(axis, True, monkeypatch)
    assert widened == _specs(axis, False, monkeypatch) and widened != before
    plot.resize(700, 260)
    qtbot.waitUntil(lambda: abs(view.width() - 870) > 100, timeout=5000)
    resized = _specs(axis, True, monkeypatch)
    assert resized == _specs(axis, False, monkeypatch) and resized != widened
