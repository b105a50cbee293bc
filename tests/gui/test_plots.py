"""The activity lanes, and what all three plots do alike (pytest-qt, offscreen, no sleeps).

The value and CPU/memory plots' own tests are in ``test_curve_plots``."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage, QPainter

from app.core import events as ev
from app.core.runner import Runner
from app.core.trace import EXIT_CRASHED, EXIT_DONE, Trace
from app.gui.colors import state_color
from app.gui.i18n import Language
from app.gui.plots.lanes import ActivityPlot
from app.gui.plots.resource_usage import ResourcePlot
from app.gui.plots.values import ValuePlot
from tests.gui.plot_helpers import (
    T0,
    S,
    StepFeed,
    counter_trace,
    distinct_colors,
    expected_counts,
    make_trace,
    ns,
    paint,
    sampled_trace,
    shown,
    simple_trace,
)


# --- activity lanes --------------------------------------------------------------------------
def test_one_lane_per_process_with_name_and_pid(qtbot):
    plot = shown(qtbot, ActivityPlot())
    assert plot.objectName() == "activityPlot"
    trace = simple_trace()
    plot.set_trace(trace)
    assert plot.lane_count() == 3
    assert plot.lane_order() == [0, 1, 2]
    assert plot.lane_labels() == ["Process-1 (100)", "Process-2 (101)", "Process-3 (102)"]
    ticks = plot.getPlotItem().getAxis("left")._tickLevels[0]
    assert [label for _pos, label in ticks] == plot.lane_labels()


def test_segments_and_colours_match_the_trace_intervals(qtbot):
    plot = shown(qtbot, ActivityPlot())
    trace = simple_trace()
    plot.set_trace(trace)
    plot.follow_live(True)
    for index, info in trace.processes().items():
        np.testing.assert_array_equal(plot.lane_intervals(index), trace.intervals(index, info))
    paint(plot)
    stats = plot.segments.last_stats
    assert stats["mode"] == "exact"
    assert stats["by_code"] == expected_counts(trace)
    assert stats["by_code"][ev.WAITING] == 3 and stats["by_code"][ev.WORKING] == 6
    brushes = {code: plot.segments._brushes[code].color().name().upper() for code in stats["by_code"]}
    assert brushes == {code: state_color(code).upper() for code in stats["by_code"]}


def test_incremental_folding_equals_trace_intervals_on_a_growing_trace(qtbot):
    """Batches arrive per process, out of time order across processes, sometimes within one."""
    plot = shown(qtbot, ActivityPlot())
    rng = np.random.default_rng(3)
    trace = Trace({"t0_ns": T0, "value_slots": []})
    plot.set_trace(trace)
    texts = [(ns(0), i, ev.META, {"name": f"W{i}", "role": "worker", "requested_ns": ns(0.01 * i)}) for i in range(4)]
    clock = {i: 0.05 for i in range(4)}
    batches = []
    for _ in range(40):
        i = int(rng.integers(0, 4))
        rows = []
        for _k in range(int(rng.integers(1, 6))):
            clock[i] += float(rng.uniform(0.001, 0.1))
            rows.append((ns(clock[i]), i, ev.STATE, int(rng.integers(1, 7)), int(rng.integers(0, 3))))
        batches.append(rows)
    batches[5], batches[6] = batches[6], batches[5]
    batches.insert(10, batches.pop(12))  # a process's batch arrives late: its lane is refolded
    trace.append(None, texts[:2])
    for k, rows in enumerate(batches):
        trace.append(np.array(rows, dtype=np.int64), texts[2:] if k == 8 else ())
        plot.refresh()
        end = plot._store.end_ns()
        for index, info in trace.processes().items():
            np.testing.assert_array_equal(plot.lane_intervals(index), trace.intervals(index, info, end_ns=end))
    exits = np.array([(ns(clock[i] + 0.5), i, ev.EXIT, 0, EXIT_DONE) for i in range(4)], dtype=np.int64)
    trace.append(exits)
    plot.refresh()
    for index, info in trace.processes().items():
        np.testing.assert_array_equal(plot.lane_intervals(index), trace.intervals(index, info))


def test_an_open_waiting_state_of_a_live_trace_reaches_the_latest_time(qtbot):
    plot = shown(qtbot, ActivityPlot())
    states = {0: [(0.1, ev.WORKING, 0), (1.0, ev.WAITING, 1)], 1: [(0.2, ev.WORKING, 0), (1.2, ev.HOLDING, 1)]}
    trace = make_trace(states, status=None)
    plot.set_trace(trace)
    assert plot.lane_intervals(0)[-1].tolist() == [ns(1.0), ns(1.2), ev.WAITING, 1]
    trace.append(np.array([(ns(3.0), 1, ev.SAMPLE, 1500, 10_000_000)], dtype=np.int64))
    plot.refresh()
    last = plot.lane_intervals(0)[-1].tolist()
    assert last == [ns(1.0), ns(3.0), ev.WAITING, 1], "a waiting process shows as waiting now"
    assert plot.segments.boundingRect().right() == pytest.approx(3.0)
    paint(plot)
    assert plot.segments.last_stats["by_code"][ev.WAITING] == 1


def test_a_crashed_process_gets_a_marker_and_its_exit_code(qtbot):
    plot = shown(qtbot, ActivityPlot())
    states = {0: [(0.1, ev.WORKING, 0), (1.0, ev.DONE, 0)], 1: [(0.1, ev.WORKING, 0)]}
    exits = {0: (1.1, 0, EXIT_DONE), 1: (0.8, -9, EXIT_CRASHED)}
    trace = make_trace(states, exits)
    plot.set_trace(trace)
    assert plot.crash_markers() == [(pytest.approx(0.8), 1, -9)]
    xs, ys = plot._crash_marks.getData()
    assert list(xs) == [pytest.approx(0.8)] and list(ys) == [1]
    texts = [t.toPlainText() for t in plot._crash_texts if t.isVisible()]
    assert texts == ["crashed, exit code -9"]
    paint(plot)


def test_level_of_detail_bounds_what_is_drawn_for_a_million_segments(qtbot):
    lanes, per = 64, 15_625
    rng = np.random.default_rng(1)
    rows = np.empty((lanes * per, 5), dtype=np.int64)
    for lane in range(lanes):
        part = rows[lane * per:(lane + 1) * per]
        part[:, 0] = T0 + np.sort(rng.integers(0, 100 * S, per))
        part[:, 1] = lane
        part[:, 2] = ev.STATE
        part[:, 3] = rng.integers(1, 7, per)
        part[:, 4] = 0
    trace = Trace({"t0_ns": T0, "value_slots": [], "status": "done", "end_ns": T0 + 101 * S})
    trace.append(rows, [(T0, i, ev.META, {"name": f"P{i}", "pid": 1000 + i}) for i in range(lanes)])
    plot = shown(qtbot, ActivityPlot(), 1000, 800)
    plot.set_trace(trace)
    plot.follow_live(True)
    assert plot.lane_count() == lanes
    image = paint(plot)
    stats = plot.segments.last_stats
    assert stats["visible"] == lanes * per
    assert stats["mode"] == "lod"
    assert stats["rects"] == 0 and stats["images"] == 1  # one image of every lane, not 1M rectangles
    assert 0 < stats["columns"] <= plot.width()
    assert sum(stats["by_code"].values()) <= lanes * stats["columns"]
    assert distinct_colors(image) > 6
    plot.segments.setExportMode(True, {})  # exports (SVG) draw vector rectangles: one per run of pixels
    try:
        paint(plot)
    finally:
        plot.segments.setExportMode(False)
    stats = plot.segments.last_stats
    assert stats["mode"] == "lod-runs" and 0 < stats["rects"] <= lanes * stats["columns"]
    plot.getPlotItem().setXRange(50, 50.05, padding=0)  # zoomed in: exact rectangles again
    paint(plot)
    stats = plot.segments.last_stats
    assert stats["mode"] == "exact" and 0 < stats["rects"] < 2000


def test_live_lanes_drawn_column_by_column_look_as_if_drawn_at_once(qtbot):
    from tests.bench.synth import make_run

    trace = make_run(60_000, 0, lanes=8, slots=0, span_s=20.0)  # a live run: status "running"
    plot = shown(qtbot, ActivityPlot())
    plot.set_trace(trace)
    plot.live_window_s = 5.0  # the last 5 s: the view scrolls by whole pixels
    plot.follow_live(True)
    feed = StepFeed(trace, lanes=8, slots=0)
    firsts = set()
    for _ in range(12):
        feed()
        plot.refresh()
        incremental = paint(plot)
        firsts.add(plot.getPlotItem().getViewBox().viewRange()[0][0])
    stats = plot.segments.last_stats
    assert len(firsts) == 12 and stats["mode"] == "lod"  # it scrolled at every frame
    assert 0 < stats["columns_computed"] < stats["columns"]  # only the newest columns were computed
    plot.segments._codes = None  # forget them: every column again
    assert paint(plot) == incremental


def test_follow_live_stops_on_a_manual_range_change_and_comes_back(qtbot):
    plot = shown(qtbot, ActivityPlot())
    trace = simple_trace(status=None)
    plot.set_trace(trace)
    assert plot.is_following()
    x0, x1 = plot.getPlotItem().getViewBox().viewRange()[0]
    assert x0 == pytest.approx(0.0) and x1 >= trace.seconds(trace.end_ns())
    with qtbot.waitSignal(plot.followChanged, timeout=1000) as blocker:
        plot.getPlotItem().setXRange(0.5, 1.0, padding=0)  # as a mouse zoom would
    assert blocker.args == [False] and not plot.is_following()
    trace.append(np.array([(ns(9.0), 0, ev.SAMPLE, 0, 0)], dtype=np.int64))
    plot.refresh()
    assert plot.getPlotItem().getViewBox().viewRange()[0] == pytest.approx([0.5, 1.0])
    with qtbot.waitSignal(plot.followChanged, timeout=1000) as blocker:
        plot.follow_live(True)
    assert blocker.args == [True]
    x0, x1 = plot.getPlotItem().getViewBox().viewRange()[0]
    assert x0 == pytest.approx(0.0) and x1 >= 9.0
    plot.live_window_s = 4.0  # a long run: only the last seconds
    trace.append(np.array([(ns(20.0), 0, ev.SAMPLE, 0, 0)], dtype=np.int64))
    plot.refresh()
    x0, x1 = plot.getPlotItem().getViewBox().viewRange()[0]
    pixel = (x1 - x0) / plot.getPlotItem().getViewBox().width()
    assert 16.0 <= x0 <= 16.0 + pixel and x1 >= 20.0 and plot.is_following()  # scrolled by whole pixels


def test_a_live_view_widens_in_steps_then_scrolls_by_whole_pixels(qtbot):
    plot = shown(qtbot, ActivityPlot())
    trace = simple_trace(status="running")
    plot.set_trace(trace)
    plot.follow_live(True)
    view = plot.getPlotItem().getViewBox()
    spans = []
    for t in (1.3, 1.4, 2.2, 3.5, 6.0, 6.1):
        trace.meta["end_ns"] = ns(t)  # "now"
        plot.set_cursor(None)
        x0, x1 = view.viewRange()[0]
        assert x0 == 0.0 and x1 >= t
        spans.append(x1)
    # between steps the view (and its time axis) stays put; each step is a round number of seconds
    assert spans == pytest.approx([1.5, 1.5, 3.0, 5.0, 7.5, 7.5])
    plot.live_window_s = 4.0
    ranges = []
    for t in (20.0, 20.0001, 20.5):
        trace.meta["end_ns"] = ns(t)
        plot.set_cursor(None)
        ranges.append(tuple(view.viewRange()[0]))
    pixel = (ranges[0][1] - ranges[0][0]) / view.width()
    assert ranges[0] == ranges[1]  # less than a pixel later: not moved
    assert ranges[2][0] - ranges[0][0] == pytest.approx(round(0.5 / pixel) * pixel, abs=pixel)
    for _x0, x1 in ranges:
        assert (x1 / pixel) == pytest.approx(round(x1 / pixel), abs=1e-6)  # on the pixel grid


def test_panning_a_linked_plot_stops_following(qtbot):
    plot = shown(qtbot, ActivityPlot())
    values = shown(qtbot, ValuePlot())
    values.setXLink(plot)
    trace = counter_trace()
    plot.set_trace(trace)
    values.set_trace(trace)
    plot.follow_live(True)
    # linked views line up by screen position, so their ranges differ by their axes' widths
    assert values.getPlotItem().getViewBox().viewRange()[0][1] == pytest.approx(3.5, abs=0.1)
    with qtbot.waitSignal(plot.followChanged, timeout=1000):
        values.getPlotItem().setXRange(1.0, 2.0, padding=0)
    assert not plot.is_following()


def test_set_cursor_shows_only_what_happened_until_then(qtbot):
    plot = shown(qtbot, ActivityPlot())
    trace = simple_trace()
    plot.set_trace(trace)
    plot.follow_live(True)
    cursor = ns(1.2)
    plot.set_cursor(cursor)
    paint(plot)
    by_code = plot.segments.last_stats["by_code"]
    assert by_code == expected_counts(trace, cursor)
    assert ev.HOLDING not in by_code and by_code[ev.WAITING] == 1
    assert plot._cursor_line.isVisible() and plot._cursor_line.value() == pytest.approx(1.2)
    plot.set_cursor(None)
    paint(plot)
    assert plot.segments.last_stats["by_code"] == expected_counts(trace)
    assert not plot._cursor_line.isVisible()


def test_pool_tasks_are_labelled_when_zoomed_in(qtbot):
    states = {i: [(0.1, ev.IDLE, 0), (0.5, ev.WORKING, 2 * i + 1), (1.5, ev.IDLE, 0),
                  (2.0, ev.WORKING, 2 * i + 2), (3.0, ev.IDLE, 0)] for i in range(2)}
    trace = make_trace(states, pool=True, end_s=3.5)
    plot = shown(qtbot, ActivityPlot())
    plot.set_trace(trace)
    plot.follow_live(True)
    assert sorted(plot.task_labels()) == ["task 0", "task 1", "task 2", "task 3"]
    plot.getPlotItem().setXRange(0, 1.6, padding=0)
    assert sorted(plot.task_labels()) == ["task 0", "task 2"]


def test_a_deadlock_cycle_is_highlighted(qtbot):
    states = {0: [(0.1, ev.HOLDING, 1), (0.3, ev.WAITING, 2)], 1: [(0.1, ev.HOLDING, 2), (0.3, ev.WAITING, 1)]}
    found = {"cycle": [0, 1], "locks": [1, 0], "formed_ns": ns(0.3), "detected_ns": ns(0.35)}
    exits = {0: (0.5, -15, 3), 1: (0.5, -15, 3)}
    trace = make_trace(states, exits, texts=[(ns(0.35), ev.PARENT_INDEX, ev.RESULT, {"deadlock": found})])
    plot = shown(qtbot, ActivityPlot())
    plot.set_trace(trace)
    marks = plot.deadlock_marks()
    assert [(m["index"], m["lock"], m["holder"]) for m in marks] == [(0, 1, 1), (1, 0, 0)]
    assert marks[0]["text"] == "waits for lock 1, held by Process-2"
    assert marks[0]["x0"] == pytest.approx(0.3) and marks[0]["x1"] == pytest.approx(0.5)
    assert not plot._deadlock_outline.path().isEmpty()
    assert "Deadlock" in plot.getPlotItem().titleLabel.text
    plot.set_cursor(ns(0.32))  # before the detection: nothing highlighted yet
    assert plot.deadlock_marks() == []
    paint(plot)


def test_a_view_beside_the_data_draws_nothing(qtbot):
    plot = shown(qtbot, ActivityPlot())
    plot.set_trace(make_trace({0: [(1.0, ev.IDLE, 0), (2.0, ev.WORKING, 1)]}, pool=True, end_s=3.0))
    for x0, x1 in ((50, 60), (-10, -5), (0.1, 0.5)):  # after the run, before it, before the first state
        plot.getPlotItem().setXRange(x0, x1, padding=0)
        paint(plot)
        image = QImage(50, 50, QImage.Format.Format_ARGB32)
        painter = QPainter(image)
        try:
            painter.setTransform(plot.segments.deviceTransform(plot.viewportTransform()))
            plot.segments.paint(painter)  # Qt skips an item outside the view; paint it anyway
        finally:
            painter.end()
        assert plot.segments.last_stats["rects"] == 0 and "error" not in plot.segments.last_stats


def test_empty_and_no_trace(qtbot):
    for cls in (ActivityPlot, ValuePlot, ResourcePlot):
        plot = shown(qtbot, cls())
        plot.set_trace(Trace({}))
        paint(plot)
        plot.set_trace(simple_trace())
        plot.set_trace(None)
        paint(plot)
    plot = shown(qtbot, ActivityPlot())
    plot.set_trace(simple_trace())
    plot.set_trace(None)
    assert plot.lane_count() == 0 and plot.lane_labels() == []


# --- all three ---------------------------------------------------------------------------------
def test_grab_gives_a_picture_of_every_plot(qtbot):
    trace = counter_trace()
    trace.append(sampled_trace().records[sampled_trace().records[:, 2] == ev.SAMPLE])
    for cls in (ActivityPlot, ValuePlot, ResourcePlot):
        plot = shown(qtbot, cls())
        plot.set_trace(trace)
        assert distinct_colors(paint(plot)) > 3, cls.__name__


def test_retranslate_to_chinese_and_back(qtbot, qapp):
    plots = [shown(qtbot, cls()) for cls in (ActivityPlot, ValuePlot, ResourcePlot)]
    trace = counter_trace()
    for plot in plots:
        plot.set_trace(trace)
    activity, values, resources = plots
    language = Language()
    try:
        language.set("zh_CN")
        for plot in plots:
            plot.retranslate()
        for plot in plots:
            assert plot.getPlotItem().getAxis("bottom").labelText == "时间（秒）"
        assert [label.text for _s, label in activity.legend.items][:2] == ["启动中", "工作中"]
        assert values.legend_texts()[1] == "counter：k 次写入后的理想值"
        assert values.getPlotItem().getAxis("left").labelText == "值"
        assert resources.metric_box.itemText(1) == "内存（MB）"
    finally:
        language.set("en")
    for plot in plots:
        plot.retranslate()
    assert activity.getPlotItem().getAxis("bottom").labelText == "time (s)"
    assert [label.text for _s, label in activity.legend.items][:2] == ["starting", "working"]
    assert values.legend_texts()[1] == "counter: ideal after k writes"


# --- a real run ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_trace() -> Trace:
    runner = Runner("counter", {"workers": "3", "hold_s": "0.05", "lock": "lock"}, "spawn")
    trace = runner.run(timeout=60)
    assert trace.meta["status"] == "done"
    return trace


def test_plots_of_a_real_counter_run(qtbot, real_trace):
    trace = real_trace
    procs = trace.processes()
    activity = shown(qtbot, ActivityPlot())
    values = shown(qtbot, ValuePlot())
    resources = shown(qtbot, ResourcePlot())
    values.setXLink(activity)
    resources.setXLink(activity)
    for plot in (activity, values, resources):
        plot.set_trace(trace)
    activity.follow_live(True)
    assert activity.lane_count() == len(procs) == 3
    assert activity.lane_labels() == [f"{p.name} ({p.pid})" for p in procs.values()]
    for index, info in procs.items():
        np.testing.assert_array_equal(activity.lane_intervals(index), trace.intervals(index, info))
    paint(activity)
    assert activity.segments.last_stats["by_code"] == expected_counts(trace)
    assert ev.HOLDING in activity.segments.last_stats["by_code"]
    dots_x, dots_y = values.slot_items(0)["dots"].getData()
    assert len(dots_y) == 3 and dots_y[-1] == 7
    _x, expected = values.slot_items(0)["expected"].getData()
    assert set(expected.tolist()) == {7}
    sampled = set(trace.records[trace.records[:, 2] == ev.SAMPLE][:, 1].tolist())
    assert set(resources.curves()) == sampled
    for plot in (activity, values, resources):
        assert distinct_colors(paint(plot)) > 3
