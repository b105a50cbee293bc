"""Legends fit the plot's widget and never cover data, at any width and text size; the CPU legend of 64
processes is capped; legends and axes follow the application font; stacked plots share a left axis width."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from app.core import events as ev
from app.gui.plots._style import share_left_axis
from app.gui.plots.lanes import LEGEND_STATES, ActivityPlot
from app.gui.plots.resource_usage import ResourcePlot
from app.gui.plots.values import ValuePlot
from tests.gui.plot_helpers import counter_trace, make_trace, ns, paint, shown, simple_trace


def _cpu_trace(processes: int = 64):
    """``processes`` workers sampled three times each, built in memory (no process is started)."""
    trace = make_trace({i: [(0.1, ev.WORKING, 0), (0.9, ev.DONE, 0)] for i in range(processes)}, end_s=1.0)
    trace.append(np.array([(ns(0.2 + 0.2 * k), i, ev.SAMPLE, 100 * (i % 100) + 50 * k, 10_000_000 * (i + 1))
                           for i in range(processes) for k in range(3)], dtype=np.int64))
    return trace


@pytest.fixture
def font_scale():
    """Set the application font ``factor`` times larger (as Ctrl+= or presentation mode do); restored after."""
    base = QFont(QApplication.font())

    def scale(factor: float) -> None:
        font = QFont(base)
        font.setPointSizeF(base.pointSizeF() * factor)
        QApplication.setFont(font)

    yield scale
    QApplication.setFont(base)


def _legend_fits(plot) -> tuple[QRectF, QRectF, QRectF]:
    legend = plot.legend.mapRectToScene(plot.legend.boundingRect())
    data = plot.getPlotItem().getViewBox().sceneBoundingRect()
    widget = QRectF(plot.mapToScene(plot.rect()).boundingRect())
    return legend, data, widget


def _assert_fits(qtbot, plot) -> None:
    def fits() -> bool:
        legend, data, widget = _legend_fits(plot)
        return (legend.width() > 20 and widget.adjusted(-1, -1, 1, 1).contains(legend)
                and not legend.intersects(data))

    qtbot.waitUntil(fits, timeout=3000)
    legend, data, widget = _legend_fits(plot)
    assert widget.adjusted(-1, -1, 1, 1).contains(legend), (legend, widget)
    assert not legend.intersects(data), (legend, data)
    assert data.height() > 40 and data.width() > 100, data  # the data keep most of the plot
    image = paint(plot)
    assert image.width() == plot.width()  # the plot was not stretched past its widget


CASES = [(560, 260, 1.0), (900, 320, 1.0), (760, 300, 1.6), (1100, 420, 2.0)]


@pytest.mark.parametrize(("width", "height", "scale"), CASES)
def test_the_cpu_legend_of_64_processes_fits_and_is_capped(qtbot, font_scale, width, height, scale):
    font_scale(scale)
    plot = shown(qtbot, ResourcePlot(), width, height)
    plot.set_trace(_cpu_trace())
    _assert_fits(qtbot, plot)
    texts = plot.legend_texts()
    assert 1 <= len(texts) < 64 and texts[-1].startswith("+")  # capped: the lanes name them all
    box = plot.metric_box.geometry()  # the "CPU %" selector is off the curves too
    data = plot.mapFromScene(plot.getPlotItem().getViewBox().sceneBoundingRect()).boundingRect()
    assert not box.intersects(data) and plot.rect().contains(box)


@pytest.mark.parametrize(("width", "height", "scale"), CASES)
def test_the_counter_legend_fits_and_stays_off_the_writes(qtbot, font_scale, width, height, scale):
    font_scale(scale)
    plot = shown(qtbot, ValuePlot(), width, height)
    plot.set_trace(counter_trace())
    _assert_fits(qtbot, plot)
    assert plot.legend_texts()


@pytest.mark.parametrize(("width", "height", "scale"), CASES)
def test_the_lanes_legend_shows_every_state_within_the_widget(qtbot, font_scale, width, height, scale):
    font_scale(scale)
    plot = shown(qtbot, ActivityPlot(), width, height)
    plot.set_trace(simple_trace())
    _assert_fits(qtbot, plot)
    assert len(plot.legend.items) == len(LEGEND_STATES)  # wrapped into rows, never cut


def test_a_window_narrowed_after_the_legend_was_laid_out_fits_it_again(qtbot):
    plot = shown(qtbot, ActivityPlot(), 1200, 400)
    plot.set_trace(simple_trace())
    _assert_fits(qtbot, plot)
    wide_columns = plot.legend.columnCount
    plot.resize(520, 400)
    _assert_fits(qtbot, plot)
    assert plot.legend.columnCount < wide_columns


def test_legends_and_axes_follow_the_application_font(qtbot, font_scale):
    plots = [shown(qtbot, cls(), 900, 360) for cls in (ActivityPlot, ValuePlot, ResourcePlot)]
    plots[0].set_trace(simple_trace())
    plots[1].set_trace(counter_trace())
    plots[2].set_trace(_cpu_trace(3))
    before = QApplication.font().pointSizeF()
    font_scale(1.5)
    size = QApplication.font().pointSizeF()
    assert size > before
    for plot in plots:
        qtbot.waitUntil(lambda p=plot: all(label.item.font().pointSizeF() == size for _s, label in p.legend.items))
        assert all(f"{size:g}pt" in label.item.toHtml() or label.opts.get("size") == f"{size:g}pt"
                   for _s, label in plot.legend.items)
        for name in ("left", "bottom"):
            assert plot.getPlotItem().getAxis(name).label.font().pointSizeF() == size
        assert plot.getPlotItem().getAxis("bottom").style["tickFont"].pointSizeF() == size
        _assert_fits(qtbot, plot)


def test_stacked_plots_share_one_left_axis_width(qtbot, font_scale):
    plots = [shown(qtbot, cls(), 900, 300) for cls in (ActivityPlot, ValuePlot, ResourcePlot)]
    plots[0].set_trace(make_trace({i: [(0.1, ev.WORKING, 0)] for i in range(3)}, end_s=1.0))
    width = share_left_axis(plots, 50)
    axes = [p.getPlotItem().getAxis("left") for p in plots]
    assert {a.minimumWidth() for a in axes} == {width} == {a.maximumWidth() for a in axes}
    assert width >= axes[0].style["tickTextWidth"]  # room for the lanes' labels
    qtbot.waitUntil(lambda: len({round(p.getPlotItem().getViewBox().sceneBoundingRect().left())
                             for p in plots}) == 1)  # the time axes line up
    font_scale(2.0)
    qtbot.waitUntil(lambda: share_left_axis(plots, 50) > width)  # the labels grew with the font
