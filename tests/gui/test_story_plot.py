"""The middle plot tells every lesson's story (its ``Lesson.story`` chart, or its shared values), in both
languages; speedup has its own x axis (workers), unlinked from the lanes; lanes carry display names in
start order."""

from __future__ import annotations

import numpy as np
import pytest

from app.core import events as ev
from app.core.lessons import LESSONS
from app.core.names import display_names
from app.core.params import resolve
from app.core.runner import Runner
from app.core.summary import build_summary
from app.gui.i18n import CHINESE, ENGLISH, Language
from app.gui.plots.lanes import ActivityPlot
from app.gui.plots.values import ValuePlot
from tests.gui.plot_helpers import make_trace, paint, shown
from tests.gui.plot_helpers import ns as make_ns
from tests.helpers import assert_all_gone

TINY = {
    "basics": {"workers": 2},
    "isolation": {"workers": 2},
    "shared_array": {"workers": 2},
    "manager": {"workers": 2},
    "queue_relay": {"workers": 3},
    "counter": {"workers": 2, "hold_s": 0.02},
    "pool": {"pool_size": 2, "tasks": 4, "task_s": 0.02},
    "sync": {"workers": 3, "hold_s": 0.02, "rounds": 1},
    "deadlock": {"workers": 2, "hold_s": 0.05},
    "speedup": {"job_size": 100_000, "max_workers": 2, "start_methods": "fork"},
}


@pytest.fixture(scope="module")
def traces() -> dict:
    """Every lesson once, tiny, under fork; every process of every run gone afterwards."""
    assert set(TINY) == set(LESSONS), "a new lesson needs its tiny parameters here"
    out = {}
    for lesson, params in TINY.items():
        trace = Runner(lesson, {k: str(v) for k, v in params.items()}, "fork", sample_hz=None).run(timeout=60)
        summary = build_summary(trace)
        assert_all_gone(p["pid"] for p in summary["processes"])
        assert summary["status"] in ("done", "deadlock"), (lesson, summary["errors"])
        out[lesson] = trace
    return out


@pytest.fixture
def language(qapp):
    lang = Language()
    lang.set(ENGLISH)  # whatever an earlier test left
    yield lang
    lang.set(ENGLISH)


def _visible_curves(plot: ValuePlot) -> list:
    """Curves and dot sets with something to draw."""
    if plot.mode() == "values":
        items = [c for k in range(plot.slot_count()) for c in plot.slot_items(k).values()]
    else:
        items = [c for _s, c, _d in plot.story_layer.entries] + [d for *_x, d in plot.story_layer.entries if d]
    return [c for c in items if len(c.getData()[0]) and (not hasattr(c, "isVisible") or c.isVisible())]


@pytest.mark.parametrize("lesson_id", list(TINY))
def test_every_lesson_draws_its_chart_in_both_languages(qtbot, traces, language, lesson_id):
    trace = traces[lesson_id]
    lesson = LESSONS[lesson_id]
    kind = lesson.plot(trace.meta["params"])
    lanes = shown(qtbot, ActivityPlot())
    plot = shown(qtbot, ValuePlot())
    plot.setXLink(lanes)
    lanes.set_trace(trace)
    plot.set_trace(trace)
    paint(plot)
    assert plot.objectName() == "valuePlot"
    assert plot.mode() == kind
    assert _visible_curves(plot), f"{lesson_id}: nothing drawn"
    assert "no shared value" not in plot.title_text()
    if kind == "values":
        assert plot.legend_texts() and plot.legend.isVisible()
        slots = trace.meta["value_slots"]
        assert all(any(s["label"]["en"] in t for t in plot.legend_texts()) for s in slots)
        return
    story = lesson.story(trace)
    assert plot.title_text() == story.title.en
    assert plot.axis_labels() == (story.x_label.en, story.y_label.en)
    assert len(plot.story_layer.lines) == len(story.lines)
    assert [line.value() for line in plot.story_layer.lines] == [r.y for r in story.lines]
    assert plot.story_layer.line_texts() == [r.name.en for r in story.lines]
    assert plot.legend_texts() == [s.name.en for s in story.series]
    assert plot.getPlotItem().getAxis("left").integer is story.integer_y
    language.set(CHINESE)
    plot.retranslate()
    assert plot.title_text() == story.title.zh
    assert plot.axis_labels() == (story.x_label.zh, story.y_label.zh)
    assert plot.legend_texts() == [s.name.zh for s in story.series]
    assert plot.story_layer.line_texts() == [r.name.zh for r in story.lines]
    linked = plot.getPlotItem().getViewBox().linkedView(0)
    if kind == "story":
        assert linked is lanes.getPlotItem().getViewBox()
    else:
        assert linked is None


def test_speedup_has_its_own_axis_in_workers_and_counter_links_again(qtbot, traces):
    lanes = shown(qtbot, ActivityPlot())
    plot = shown(qtbot, ValuePlot())
    plot.setXLink(lanes)
    lanes.set_trace(traces["speedup"])
    plot.set_trace(traces["speedup"])
    view = plot.getPlotItem().getViewBox()
    assert view.linkedView(0) is None
    (x0, x1), (y0, y1) = view.viewRange()
    assert (x0, x1) == (0.5, 2.5)  # workers 1 and 2, not seconds
    assert plot.getPlotItem().getAxis("bottom").integer
    assert y0 <= 0 and y1 >= 2  # the ideal 2× is in view
    lanes.getPlotItem().setXRange(10, 20, padding=0)
    assert view.viewRange()[0] == [0.5, 2.5]  # the lanes' time does not move it
    plot.set_trace(traces["counter"])
    assert plot.mode() == "values"
    assert view.linkedView(0) is lanes.getPlotItem().getViewBox()
    assert not plot.getPlotItem().getAxis("bottom").integer
    # linked again: it follows the lanes' time (pyqtgraph links the views' right edges on screen)
    assert view.viewRange()[0][1] == pytest.approx(20.0)
    lanes.getPlotItem().setXRange(3, 4, padding=0)
    assert view.viewRange()[0][1] == pytest.approx(4.0)


def test_before_a_run_the_selected_lessons_chart_shows_its_title(qtbot):
    lanes = shown(qtbot, ActivityPlot())
    plot = shown(qtbot, ValuePlot())
    plot.setXLink(lanes)
    for lesson_id in ("sync", "speedup", "counter", "pool"):
        plot.set_lesson(lesson_id, {})
        lesson = LESSONS[lesson_id]
        kind = lesson.plot(resolve(lesson.params, {}, lesson_id))
        assert plot.mode() == kind
        if kind != "values":
            assert plot.title_text()
        assert (plot.getPlotItem().getViewBox().linkedView(0) is None) is (kind == "chart")
        paint(plot)


def test_a_live_story_is_computed_at_most_every_quarter_second_and_at_the_end(qtbot, traces, monkeypatch):
    from app.gui.plots import values as values_module

    plot = shown(qtbot, ValuePlot())
    full = traces["basics"]
    calls = []
    lesson = LESSONS["basics"]
    real = type(lesson).story
    monkeypatch.setattr(type(lesson), "story", lambda self, trace: calls.append(trace.version) or real(self, trace))
    clock = [100.0]
    monkeypatch.setattr(values_module, "monotonic", lambda: clock[0])
    full.meta["status"] = "running"
    try:
        plot.set_trace(full)
        assert len(calls) == 1
        for _ in range(5):  # new events at every frame, within 0.25 s: no new story
            full.version += 1
            plot.refresh()
        assert len(calls) == 1
        clock[0] += 0.3
        plot.refresh()
        assert len(calls) == 2
        full.meta["status"] = "done"  # the run ended: computed again at once
        plot.refresh()
        assert len(calls) == 3
        plot.refresh()
        assert len(calls) == 3
    finally:
        full.meta["status"] = "done"


def test_story_export_renders(qtbot, traces, tmp_path):
    from app.gui.export import export_plot

    plot = shown(qtbot, ValuePlot())
    plot.set_trace(traces["sync"])
    for fmt in ("png", "svg"):
        target = tmp_path / f"sync.{fmt}"
        export_plot(plot, str(target), fmt)
        assert target.stat().st_size > 1000


# --- lanes: display names, start order ----------------------------------------------------------------


def test_lanes_use_display_names_and_start_order(qtbot, traces):
    trace = traces["pool"]
    lanes = shown(qtbot, ActivityPlot())
    lanes.set_trace(trace)
    names = display_names(trace)
    procs = trace.processes()
    labels = lanes.lane_labels()
    assert labels == [f"{names[i]} ({procs[i].pid})" for i in lanes.lane_order()]
    assert any(label.startswith("SpawnPoolWorker-1 ") or label.startswith("ForkPoolWorker-1 ")
               for label in labels), labels

    def start(i):
        p = procs[i]
        return p.requested_ns if p.requested_ns is not None else p.first_ns

    starts = [start(i) for i in lanes.lane_order()]
    assert starts == sorted(starts)


def test_lanes_sorted_by_start_real_name_in_tooltip(qtbot):
    states = {i: [(0.1, ev.WORKING, 0), (1.0, ev.DONE, 0)] for i in range(3)}
    # lane 2 was asked for first, then 0, then 1
    late = [(make_ns(0.05), i, ev.META, {"requested_ns": make_ns(t)}) for i, t in ((2, 0.01), (0, 0.02), (1, 0.03))]
    trace = make_trace(states, texts=late)
    lanes = shown(qtbot, ActivityPlot())
    lanes.set_trace(trace)
    assert lanes.lane_order() == [2, 0, 1]
    names = display_names(trace)
    assert [label.split(" ")[0] for label in lanes.lane_labels()] == [names[i] for i in (2, 0, 1)]
    assert lanes.lane_labels()[0] == "Process-3 (102)"
    assert lanes.lane_tooltip(0).startswith("Process-3 (102)")


def test_pool_lanes_are_renumbered_per_run(qtbot):
    states = {i: [(0.1, ev.WORKING, 0), (1.0, ev.DONE, 0)] for i in range(2)}
    late = [(make_ns(0.05), i, ev.META, {"name": f"SpawnPoolWorker-{52 + i}"}) for i in range(2)]
    trace = make_trace(states, texts=late, pool=True)
    lanes = shown(qtbot, ActivityPlot())
    lanes.set_trace(trace)
    assert lanes.lane_labels() == ["SpawnPoolWorker-1 (100)", "SpawnPoolWorker-2 (101)"]
    assert "SpawnPoolWorker-53" in lanes.lane_tooltip(1)


def test_steps_shorter_than_a_microsecond_are_merged():
    """A hand-over (one process leaves the critical section, the next enters 0.3 µs later) is no dip."""
    from app.gui.plots._story import merge_short_steps

    x = np.array([0.0, 1.0, 1.0000003, 2.0, 2.0000001, 2.0000002, 3.0])
    y = np.array([0.0, 1.0, 2.0, 1.0, 0.0, 1.0, 0.0])
    mx, my = merge_short_steps(x, y)
    # 1 held 0.3 µs before 2; 1 and 0 held 0.1 µs each before 1: the value before holds until the next step
    assert mx.tolist() == [0.0, 1.0000003, 2.0000002, 3.0] and my.tolist() == [0.0, 2.0, 1.0, 0.0]
    assert (np.diff(mx) >= 1e-6).all()
    steps = np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.0, 1.0])
    assert merge_short_steps(*steps)[0] is steps[0]  # nothing to merge: the arrays as they were
