"""The value plot and the CPU/memory plot (pytest-qt, offscreen, no sleeps)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor

from app.core import events as ev
from app.gui.colors import process_color
from app.gui.plots.lanes import ActivityPlot
from app.gui.plots.resource_usage import ResourcePlot
from app.gui.plots.values import ValuePlot
from app.gui.view import refresh_views
from tests.gui.plot_helpers import (
    T0,
    StepFeed,
    counter_trace,
    make_trace,
    ns,
    paint,
    sampled_trace,
    shown,
)


# --- shared values ---------------------------------------------------------------------------
def test_value_plot_shows_writes_actual_ideal_and_expected(qtbot):
    plot = shown(qtbot, ValuePlot())
    assert plot.objectName() == "valuePlot"
    plot.set_trace(counter_trace())
    assert plot.slot_count() == 1
    items = plot.slot_items(0)
    x, y = items["actual"].getData()
    assert y[0] == 10 and y[-1] == 7 and x[-1] == pytest.approx(3.5)
    dots_x, dots_y = items["dots"].getData()
    assert list(dots_y) == [9, 8, 7] and list(dots_x) == pytest.approx([0.5, 0.75, 1.0])
    brushes = [spot.brush().color().name() for spot in items["dots"].points()]
    assert brushes == [process_color(i) for i in range(3)]
    _x, ideal = items["ideal"].getData()
    assert ideal[0] == 10 and ideal[-1] == 7
    _x, expected = items["expected"].getData()
    assert set(expected.tolist()) == {7}
    assert plot.legend_texts() == ["counter (now 7)", "counter: ideal after k writes", "counter: expected 7"]
    paint(plot)


def test_value_plot_makes_lost_updates_visible(qtbot):
    plot = shown(qtbot, ValuePlot())
    plot.set_trace(counter_trace(values=(9, 9, 8)))
    _x, actual = plot.slot_items(0)["actual"].getData()
    _x, ideal = plot.slot_items(0)["ideal"].getData()
    assert actual[-1] == 8 and ideal[-1] == 7
    plot.set_cursor(ns(0.6))  # replay: only the first write so far
    dots_x, dots_y = plot.slot_items(0)["dots"].getData()
    assert list(dots_y) == [9]


def test_value_plot_without_expected_and_decimation(qtbot):
    n = 50_000
    slot = {"name": "queue depth", "expected": None}
    records = np.column_stack([T0 + np.arange(1, n + 1) * 1_000_000, np.zeros(n, np.int64),
                               np.full(n, ev.VALUE), np.zeros(n, np.int64), np.arange(n) % 17]).astype(np.int64)
    trace = make_trace({0: [(0.0001, ev.WORKING, 0)]}, records=records, value_slots=[slot], end_s=51)
    plot = shown(qtbot, ValuePlot())
    plot.set_trace(trace)
    items = plot.slot_items(0)
    x, y = items["actual"].getData()
    assert 0 < len(x) <= 3100 and y.max() == 16 and y.min() == 0  # min/max kept by the decimation
    assert len(items["expected"].getData()[0]) == 0 and len(items["ideal"].getData()[0]) == 0
    assert len(items["dots"].getData()[0]) == 0  # 50k dots would be a smear
    plot.getPlotItem().setXRange(10, 10.5, padding=0)  # zoomed in: clip to view, every step
    x, y = items["actual"].getData()
    assert 500 <= len(x) <= 1100
    assert len(items["dots"].getData()[0]) == 501  # writes at 10.000 … 10.500 s, both ends shown
    assert plot.legend_texts() == ["queue depth (now 2)"]  # the last write: 49999 % 17


def test_many_writes_are_drawn_as_pixel_columns_on_screen_and_as_lines_in_an_svg(qtbot, tmp_path):
    from app.gui.export import export_plot
    from app.gui.plots.values import COLUMNS_FROM, SLOT_COLORS

    n = COLUMNS_FROM  # per slot: two slots together are past the limit
    t = T0 + np.arange(1, n + 1) * 1_000_000
    rows = [np.column_stack([t, np.zeros(n, np.int64), np.full(n, ev.VALUE), np.full(n, k, np.int64),
                             (np.arange(n) % 50) * (k + 1)]) for k in range(2)]
    slots = [{"name": "a", "initial": 0, "step": 1}, {"name": "b", "expected": 40}]
    trace = make_trace({0: [(0.0001, ev.WORKING, 0)]}, records=np.concatenate(rows).astype(np.int64),
                       value_slots=slots, end_s=n / 1000 + 1)
    plot = shown(qtbot, ValuePlot())
    plot.set_trace(trace)
    image = paint(plot)
    stats = plot.curves.last_stats
    assert "error" not in stats and stats["columns"] > 0 and stats["curves"] == 4  # 2 actual, 1 ideal, 1 expected
    assert stats["segments"] == 1  # the expected value: one line; the others are columns
    colors = {QColor(image.pixel(x, y)).name().upper()
              for x in range(0, image.width(), 2) for y in range(image.height())}
    assert {SLOT_COLORS[0], SLOT_COLORS[1]} <= colors
    x, y = plot.slot_items(1)["actual"].getData()  # the columns as points: each column's min and max
    assert y.min() == 0 and y.max() == 98 and len(x) <= 2 * plot.getPlotItem().getViewBox().width() + 4
    low, high = plot.getPlotItem().getViewBox().viewRange()[1]
    assert low < 0 < n <= high  # the y range fits the ideal curve (n writes) and the values
    path = tmp_path / "values.svg"
    export_plot(plot, path, "svg")
    svg = path.read_text(encoding="utf-8")
    assert svg.count("<polyline") > 1000 and "<image" not in svg  # vector lines, not a picture of them


def test_a_live_run_drawn_column_by_column_looks_as_if_drawn_at_once(qtbot):
    from tests.bench.synth import make_run

    trace = make_run(0, 60_000, lanes=4, slots=4, span_s=20.0)  # a live run: status "running"
    lanes, plot = shown(qtbot, ActivityPlot()), shown(qtbot, ValuePlot())
    plot.setXLink(lanes)  # as in the window: the lanes follow the live edge, the values follow the lanes
    for view in (lanes, plot):
        view.set_trace(trace)
    lanes.live_window_s = 5.0  # the last 5 s: the view scrolls by whole pixels as the run goes on
    lanes.follow_live(True)
    feed = StepFeed(trace, lanes=4, slots=4)
    firsts = set()
    for _ in range(12):  # frames of a live run: only the newest columns are drawn again
        feed()
        refresh_views([lanes, plot])
        incremental = paint(plot)
        firsts.add(lanes.getPlotItem().getViewBox().viewRange()[0][0])
    assert len(firsts) == 12  # it scrolled at every frame
    assert 0 < plot.curves.last_stats["columns_drawn"] < plot.curves.last_stats["columns"]
    plot.curves.columns_changed(-10**9)  # forget what was drawn: every column again
    assert paint(plot) == incremental


# --- resources -------------------------------------------------------------------------------
# --- resources -------------------------------------------------------------------------------
def test_resource_plot_has_one_curve_per_sampled_process(qtbot):
    plot = shown(qtbot, ResourcePlot())
    assert plot.objectName() == "resourcePlot"
    plot.set_trace(sampled_trace())
    curves = plot.curves()
    assert sorted(curves) == [0, 1]  # process 2 was never sampled
    assert [curves[i].opts["pen"].color().name() for i in (0, 1)] == [process_color(0), process_color(1)]
    _x, cpu = curves[1].getData()
    assert cpu[0] == pytest.approx(20.01)
    assert plot.legend_texts() == ["Process-1", "Process-2"]
    paint(plot)
    assert plot._lines.last_stats["dots"] == 16  # few samples: each gets a dot (drawn with the curves)
    assert plot.getPlotItem().getAxis("left").labelText == "CPU %"
    plot.metric_box.setCurrentIndex(1)
    assert plot.current_metric() == "memory"
    _x, mem = curves[1].getData()
    assert set(mem.tolist()) == {21.0}
    assert plot.getPlotItem().getAxis("left").labelText == "memory (MB)"
    paint(plot)


def test_resource_legend_grows_with_the_processes_without_being_rebuilt(qtbot):
    plot = shown(qtbot, ResourcePlot())
    trace = make_trace({i: [(0.1, ev.WORKING, 0)] for i in range(20)}, status="running")
    plot.set_trace(trace)
    first_label = None
    for i in range(20):  # one more process sampled at each frame, as a run's processes come up
        trace.append(np.array([(ns(0.2 + 0.01 * i), i, ev.SAMPLE, 500, 10_000_000)], dtype=np.int64))
        plot.refresh()
        names = [f"Process-{k + 1}" for k in range(i + 1)]
        texts = plot.legend_texts()
        if len(texts) < len(names):  # as many as fit under the plot: the last one counts the others
            names = [*names[:len(texts) - 1], f"+{len(names) - len(texts) + 1} more (see the lanes)"]
        assert texts == names
        first_label = first_label or plot.legend.items[0][1]
        assert plot.legend.items[0][1] is first_label  # the entries it had are kept, not made again
    assert 6 <= len(plot.legend_texts()) < 20  # capped, in two rows
    paint(plot)
    view = plot.getPlotItem().getViewBox().sceneBoundingRect()
    legend = plot.legend.sceneBoundingRect()
    assert legend.width() <= plot.width() and legend.top() >= view.bottom()  # under the data, within the plot


def test_resource_legend_of_many_new_processes_comes_a_few_entries_a_frame_during_a_run(qtbot):
    plot = shown(qtbot, ResourcePlot())
    trace = make_trace({i: [(0.1, ev.WORKING, 0)] for i in range(10)}, status="running")
    plot.set_trace(trace)
    trace.append(np.array([(ns(0.2), i, ev.SAMPLE, 500, 10_000_000) for i in range(10)], dtype=np.int64))
    counts = []
    for k in range(3):
        trace.append(np.array([(ns(0.3 + 0.1 * k), 0, ev.SAMPLE, 500, 10_000_000)], dtype=np.int64))
        plot.refresh()
        counts.append(len(plot.legend_texts()))
    assert counts == [2, 4, 6]  # a new entry costs a frame ~10 ms or more: a few at a time
    trace.meta["status"] = "done"
    trace.append(np.array([(ns(0.9), 0, ev.SAMPLE, 500, 10_000_000)], dtype=np.int64))
    plot.refresh()
    assert plot.legend_texts() == [f"Process-{k + 1}" for k in range(10)]  # the run is over: all of them
