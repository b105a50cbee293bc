"""The plots on a classroom screen: readable lane labels, legends and controls off the data, the mouse and
the context menu, a finished run framed where its work is."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QWheelEvent
from PySide6.QtWidgets import QApplication, QMenu, QWidget

from app.core import events as ev
from app.gui.i18n import Language
from app.gui.plots.lanes import ActivityPlot
from app.gui.plots.resource_usage import ResourcePlot
from app.gui.plots.values import ValuePlot
from tests.gui.plot_helpers import counter_trace, make_trace, ns, paint, sampled_trace, shown, simple_trace


def _many_lanes(n: int = 64):
    return make_trace({i: [(0.01 * i, ev.WORKING, 0), (1.0, ev.DONE, 0)] for i in range(n)})


def _label_rects(plot: ActivityPlot) -> list[tuple[QRectF, str]]:
    """The lane labels as the axis lays them out to draw them."""
    axis = plot.getPlotItem().getAxis("left")
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        _axis, _ticks, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [(QRectF(rect), text) for rect, _flags, text in texts]


def test_64_lanes_in_a_small_plot_are_thinned_and_do_not_overlap(qtbot):
    plot = shown(qtbot, ActivityPlot(), 700, 420)
    plot.set_trace(_many_lanes())
    qtbot.waitUntil(lambda: len(_label_rects(plot)) > 0)
    rects = _label_rects(plot)
    assert 4 <= len(rects) < 64  # every k-th label: the rest would be a smear
    for (a, _ta), (b, _tb) in zip(rects, rects[1:], strict=False):
        assert not a.intersects(b), (a, b)
    shown_rows = [row for row, _text in plot.shown_lane_labels()]
    step = shown_rows[1] - shown_rows[0]
    assert shown_rows == list(range(0, 64, step))
    # the font is the application's (it follows the screen's scaling), not a pixel size of ours
    assert plot.getPlotItem().getAxis("left").style["tickFont"].pointSizeF() == QApplication.font().pointSizeF()
    # a big plot shows them all
    plot.resize(700, 64 * 30)
    qtbot.waitUntil(lambda: len(plot.shown_lane_labels()) == 64)


def test_a_lane_names_itself_in_the_tooltip(qtbot):
    plot = shown(qtbot, ActivityPlot(), 700, 420)
    plot.set_trace(_many_lanes())
    view = plot.getPlotItem().getViewBox()
    for row in (0, 7, 63):
        plot._on_mouse_moved(view.mapViewToScene(QPointF(0.5, row)))
        assert plot.toolTip() == plot.lane_labels()[row]


def _wheel(plot, steps: int = 3) -> None:
    view = plot.getPlotItem().getViewBox()
    centre = plot.mapFromScene(view.sceneBoundingRect().center())
    event = QWheelEvent(QPointF(centre), QPointF(plot.mapToGlobal(centre)), QPoint(0, 0), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(plot.viewport(), event)


@pytest.mark.parametrize("cls", [ActivityPlot, ValuePlot, ResourcePlot])
def test_the_wheel_zooms_time_only_and_fit_restores(qtbot, cls):
    plot = shown(qtbot, cls(), 800, 400)
    trace = counter_trace()
    trace.append(sampled_trace().records[sampled_trace().records[:, 2] == ev.SAMPLE])
    plot.set_trace(trace)
    view = plot.getPlotItem().getViewBox()
    (x0, x1), (y0, y1) = view.viewRange()
    _wheel(plot)
    (zx0, zx1), (zy0, zy1) = view.viewRange()
    assert zx1 - zx0 < 0.9 * (x1 - x0)  # time zoomed in
    if cls is ActivityPlot:
        assert (zy0, zy1) == pytest.approx((y0, y1))  # the lanes keep their rows
    else:
        assert zy1 - zy0 > 0  # values fitted to what is visible, never zoomed by the mouse
    plot.fitAction.trigger()
    (fx0, fx1), (fy0, fy1) = view.viewRange()
    assert (fx0, fx1) == pytest.approx((x0, x1), abs=1e-6)
    assert (fy0, fy1) == pytest.approx((y0, y1), rel=0.01)  # (the padding follows the legend's rows)


def test_zooming_into_the_writes_spreads_the_values(qtbot):
    plot = shown(qtbot, ValuePlot(), 800, 400)
    writes = [(ns(0.5 + 0.25 * i), i, ev.VALUE, 0, v) for i, v in enumerate((9, 5, 2))]
    plot.set_trace(make_trace({i: [(0.1, ev.WORKING, 0)] for i in range(3)}, records=writes, end_s=1.5,
                              value_slots=[{"name": "counter", "initial": 10, "step": -1}]))
    view = plot.getPlotItem().getViewBox()
    _x, (y0, y1) = view.viewRange()
    assert y1 - y0 > 8  # the whole run: 10 down to 2
    plot.setXRange(0.45, 0.55, padding=0)  # only the first write: 10 → 9, actual and ideal alike
    _x, (y0, y1) = view.viewRange()
    assert y1 - y0 < 2  # fitted to the visible values: the dots and steps spread over the plot's height


def test_linked_plots_fit_through_the_lanes(qtbot):
    host = QWidget()
    lanes, values = ActivityPlot(host), ValuePlot(host)
    values.setXLink(lanes)
    host.resize(800, 800)
    lanes.setGeometry(0, 0, 800, 400)
    values.setGeometry(0, 400, 800, 400)
    shown(qtbot, host, 800, 800)
    trace = counter_trace()
    for plot in (lanes, values):
        plot.set_trace(trace)
    before = lanes.getPlotItem().getViewBox().viewRange()[0]
    _wheel(values)
    assert lanes.getPlotItem().getViewBox().viewRange()[0] != before
    assert not lanes.is_following()
    values.fitAction.trigger()
    assert lanes.getPlotItem().getViewBox().viewRange()[0] == pytest.approx(before)
    assert values.menu_actions()[1] is lanes.wholeRunAction  # the lanes' toggle, in every plot's menu


def _legend_and_data(plot) -> tuple[QRectF, QRectF]:
    return plot.legend.sceneBoundingRect(), plot.getPlotItem().getViewBox().sceneBoundingRect()


@pytest.mark.parametrize(("width", "height"), [(600, 220), (900, 300)])
def test_legends_and_the_metric_box_stay_off_the_data(qtbot, width, height):
    values = shown(qtbot, ValuePlot(), width, height)
    values.set_trace(counter_trace())
    resources = shown(qtbot, ResourcePlot(), width, height)
    trace = make_trace({i: [(0.1, ev.WORKING, 0)] for i in range(64)}, end_s=1.0)
    trace.append(np.array([(ns(0.2 + 0.01 * k), i, ev.SAMPLE, 100 * i, 10_000_000 * (i + 1))
                           for i in range(64) for k in range(3)], dtype=np.int64))
    resources.set_trace(trace)
    for plot in (values, resources):
        def placed(p=plot):
            legend, data = _legend_and_data(p)
            return legend.width() > 30 and legend.bottom() <= p.height() + 1

        qtbot.waitUntil(placed)
        legend, data = _legend_and_data(plot)
        assert not legend.intersects(data), (legend, data)
        assert legend.left() >= 0 and legend.right() <= plot.width() + 1
    assert len(resources.legend_texts()) < 64 and resources.legend_texts()[-1].startswith("+")
    box = resources.metric_box.geometry()
    data = resources.mapFromScene(resources.getPlotItem().getViewBox().sceneBoundingRect()).boundingRect()
    assert not box.intersects(data), (box, data)
    assert resources.rect().contains(box)


def test_cpu_axis_spans_at_least_0_to_100(qtbot):
    plot = shown(qtbot, ResourcePlot(), 800, 300)
    samples = [(ns(0.25 * k), 0, ev.SAMPLE, 3596 + k % 2, 30_000_000) for k in range(1, 4)]  # 35.96–35.97 %
    plot.set_trace(make_trace({0: [(0.1, ev.WORKING, 0)]}, records=samples, end_s=1.0))
    _x, (y0, y1) = plot.getPlotItem().getViewBox().viewRange()
    assert y0 <= 0 and y1 >= 100
    paint(plot)
    assert plot._lines.last_stats["dots"] == 3  # three samples: three dots, not a line alone
    plot.set_metric("memory")
    _x, (y0, y1) = plot.getPlotItem().getViewBox().viewRange()
    assert y0 <= 0 and y1 >= 30


def test_the_context_menu_is_the_apps_and_speaks_chinese(qtbot):
    plots = [shown(qtbot, cls(), 600, 300) for cls in (ActivityPlot, ValuePlot, ResourcePlot)]
    language = Language()
    try:
        language.set("zh_CN")
        for plot in plots:
            plot.retranslate()
            texts = [a.text() for a in plot.build_menu().actions() if not a.isSeparator()]
            assert texts == (["适配视图", "整个运行过程", "导出…"] if plot is plots[0] else ["适配视图", "导出…"])
    finally:
        language.set("en")
    lanes = plots[0]
    requested = []
    lanes.exportRequested.connect(lambda: requested.append(True))
    centre = lanes.mapFromScene(lanes.getPlotItem().getViewBox().sceneBoundingRect().center())
    qtbot.mouseClick(lanes.viewport(), Qt.MouseButton.RightButton, pos=centre)
    qtbot.waitUntil(lanes.context_menu.isVisible)
    menus = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu) and w.isVisible()]
    assert menus == [lanes.context_menu]  # pyqtgraph's own ("View All", "Export…") never shows
    lanes.context_menu.close()
    lanes.exportAction.trigger()
    assert requested == [True]


def test_a_finished_run_is_framed_from_its_first_work_and_whole_run_shows_it_all(qtbot):
    plot = shown(qtbot, ActivityPlot(), 800, 300)
    # start-up takes 1 s of a 1.2 s run (a spawned interpreter), the work 0.2 s
    plot.set_trace(make_trace({i: [(1.0 + 0.01 * i, ev.WORKING, 0), (1.2, ev.DONE, 0)] for i in range(3)},
                              end_s=1.2))
    view = plot.getPlotItem().getViewBox()
    x0, x1 = view.viewRange()[0]
    assert 0.9 < x0 < 1.0 and x1 == pytest.approx(1.2, abs=1e-3)
    assert plot.startup_folded() == pytest.approx(x0)
    assert "start-up" in plot.getPlotItem().getAxis("bottom").labelText
    assert plot.wholeRunAction.objectName() == "wholeRunAction" and plot.wholeRunAction.isCheckable()
    plot.wholeRunAction.setChecked(True)
    assert view.viewRange()[0][0] == pytest.approx(0.0)
    assert plot.startup_folded() is None and plot.getPlotItem().getAxis("bottom").labelText == "time (s)"
    plot.wholeRunAction.setChecked(False)
    assert view.viewRange()[0][0] == pytest.approx(x0)
    # a run whose work starts early is shown whole
    plot.set_trace(simple_trace())
    plot.follow_live(True)
    assert view.viewRange()[0][0] == pytest.approx(0.0)


def test_deadlock_texts_lie_on_the_waiting_segments(qtbot):
    states = {
        0: [(0.1, ev.WORKING, 0), (0.2, ev.HOLDING, 1), (0.5, ev.WAITING, 2)],
        1: [(0.1, ev.WORKING, 0), (0.25, ev.HOLDING, 2), (0.55, ev.WAITING, 1)],
    }
    found = {"cycle": [0, 1], "locks": [2, 1], "detected_ns": ns(0.6)}
    trace = make_trace(states, status="deadlock", end_s=1.0,
                       texts=[(ns(0.6), ev.PARENT_INDEX, ev.RESULT, {"deadlock": found})])
    plot = shown(qtbot, ActivityPlot(), 800, 300)
    plot.set_trace(trace)
    marks = plot.deadlock_marks()
    assert len(marks) == 2
    view = plot.getPlotItem().getViewBox()
    for mark, text in zip(marks, plot._deadlock_texts, strict=False):
        box = text.mapRectToView(text.boundingRect()) if hasattr(text, "mapRectToView") else None
        left = view.mapSceneToView(text.sceneBoundingRect().topLeft()).x()
        right = view.mapSceneToView(text.sceneBoundingRect().topRight()).x()
        assert left >= mark["x0"] - 1e-6, (mark, left, box)  # not over the holding segment before the wait
        assert right <= max(mark["x1"], view.viewRange()[0][1]) + 1e-6
