"""Every lesson plots the quantity that tells its story (``Lesson.story``), or its shared values:
the series mean what their names say, on a real tiny run, a replayed file and a growing trace."""

from __future__ import annotations

import numpy as np
import pytest

from app.core import events as ev
from app.core import story as st
from app.core.lessons import LESSONS
from app.core.params import resolve
from app.core.runner import Runner
from app.core.summary import build_summary
from app.core.trace import Trace
from tests.helpers import assert_all_gone


def _run(lesson: str, method: str = "fork", **params) -> Trace:
    runner = Runner(lesson, {k: str(v) for k, v in params.items()}, method, sample_hz=None)
    trace = runner.run(timeout=90)
    assert_all_gone(p.pid for p in trace.processes().values())
    assert trace.meta["status"] == "done", build_summary(trace)["errors"]
    return trace


def _story(trace: Trace) -> st.Story:
    story = LESSONS[trace.meta["lesson"]].story(trace)
    assert isinstance(story, st.Story)
    for s in story.series:
        assert len(s.x) == len(s.y) and len(s.x) >= 2
        assert (np.diff(s.x) >= 0).all(), f"{s.name.en}: x goes back"
    return story


def _at_end(series: st.Series) -> float:
    return float(series.y[-1])


def test_every_lesson_plots_its_story_or_its_shared_values():
    """No lesson leaves an empty plot: a story (from any trace, even one without events yet) or value slots."""
    for lesson in LESSONS.values():
        values = resolve(lesson.params, {}, lesson.id)
        kind = lesson.plot(values)
        assert kind in ("story", "chart", "values"), f"{lesson.id}: nothing to plot ({kind!r})"
        if kind == "values":
            slots = lesson.value_slots(values)
            assert slots, f"{lesson.id}: plots values but has no value slots"
            for slot in slots:
                assert slot["label"]["en"] and slot["label"]["zh"], f"{lesson.id}: slot {slot['name']} unlabelled"
            continue
        empty = Trace({"lesson": lesson.id, "params": values, "start_method": "spawn", "t0_ns": 10**9})
        story = lesson.story(empty)
        assert isinstance(story, st.Story), f"{lesson.id}: plot {kind!r} but story() gave {story!r}"
        assert story.series, f"{lesson.id}: a story without series"
        assert story.x_is_time is (kind == "story"), f"{lesson.id}: plot {kind!r} but x_is_time={story.x_is_time}"
        for text in (story.title, story.y_label, story.x_label, *(s.name for s in story.series),
                     *(line.name for line in story.lines)):
            assert text.en and text.zh and text.en != text.zh, f"{lesson.id}: untranslated {text!r}"


def test_sync_semaphore_shows_at_most_k_inside_and_the_k_line():
    story = _story(_run("sync", primitive="semaphore", workers=4, k=2, hold_s=0.1, rounds=1))
    inside = story.series_named("working (inside)")
    assert inside.y.max() == 2 and _at_end(inside) == 0
    assert [line.y for line in story.lines] == [2]
    waiting = story.series_named("waiting for a slot")
    assert waiting.y.max() >= 1 and _at_end(waiting) == 0  # 4 workers, 2 slots: someone waited


def test_sync_barrier_and_event_count_working_and_waiting():
    story = _story(_run("sync", primitive="barrier", workers=3, hold_s=0.05, rounds=2))
    assert story.series_named("working").y.max() >= 1
    assert story.series_named("waiting at the barrier").y.max() >= 1
    assert [line.y for line in story.lines] == [3]
    story = _story(_run("sync", primitive="event", workers=3, hold_s=0.05))
    waiting = story.series_named("waiting for the event")
    assert waiting.y.max() == 3  # the parent waits until all three wait, then fires
    assert _at_end(story.series_named("working")) == 0


def test_sync_condition_stock_never_below_zero():
    story = _story(_run("sync", primitive="condition", workers=4, hold_s=0.05, rounds=2))
    stock = story.series_named("stock")
    assert stock.y.min() >= 0 and _at_end(stock) == 0 and stock.y.max() >= 1


def test_pool_tasks_waiting_running_done():
    story = _story(_run("pool", pool_size=2, tasks=5, task_s=0.05))
    done, running = story.series_named("done"), story.series_named("running")
    waiting = story.series_named("waiting (not started)")
    assert _at_end(done) == 5 and (np.diff(done.y) >= 0).all()
    assert running.y.max() == 2 and _at_end(running) == 0
    assert waiting.y[0] == 5 and _at_end(waiting) == 0
    assert sorted(line.y for line in story.lines) == [2, 5]


@pytest.mark.parametrize("lesson", ["basics", "isolation"])
def test_live_processes_peak_at_workers_and_end_at_zero(lesson):
    story = _story(_run(lesson, workers=3))
    alive = story.series_named("alive (started, not yet exited)")
    assert alive.y.max() == 3 and _at_end(alive) == 0 and alive.y[0] == 0
    running = story.series_named("running their code")
    assert 1 <= running.y.max() <= 3 and _at_end(running) == 0


def test_queue_relay_depth_is_the_one_token():
    story = _story(_run("queue_relay", workers=3))
    depth = story.series_named("items in the queue")
    assert depth.y[0] == 1 and depth.y.min() == 0 and depth.y.max() == 1 and _at_end(depth) == 1
    assert story.series_named("processes blocked on the queue").y.max() >= 1


def test_deadlock_both_locks_held_and_both_processes_waiting():
    story = _story(_run("deadlock", workers=2, hold_s=0.1))
    held, waiting = story.series_named("locks held"), story.series_named("processes waiting for a lock")
    assert held.y.max() == 2 and waiting.y.max() == 2
    assert _at_end(held) == 2 and _at_end(waiting) == 2  # stuck in the cycle until the run was stopped
    assert [line.y for line in story.lines] == [2]


def test_speedup_chart_against_workers_with_ideal_and_fit():
    story = _story(_run("speedup", "spawn", job_size=200_000, max_workers=2, start_methods="spawn"))
    assert story.x_is_time is False
    measured = story.series_named("measured (spawn)")
    assert measured.x.tolist() == [1, 2] and measured.y[0] == 1.0 and measured.y[1] > 0
    ideal = next(s for s in story.series if s.name.en.startswith("ideal"))
    assert ideal.x.tolist() == ideal.y.tolist() == [1, 2]
    fit = next(s for s in story.series if s.name.en.startswith("Amdahl fit"))
    assert fit.y[0] == pytest.approx(1.0)
    assert [line.y for line in story.lines] == [1.0]


def test_a_replayed_file_tells_the_same_story(tmp_path):
    trace = _run("pool", pool_size=2, tasks=4, task_s=0.02)
    path = tmp_path / "pool.procscope"
    trace.save(str(path))
    assert LESSONS["pool"].story(Trace.load(str(path))).to_json() == _story(trace).to_json()


def test_a_growing_trace_tells_the_story_so_far():
    """Half of the events, as a live run has them: the series end at the last event, done < tasks."""
    full = _run("pool", pool_size=2, tasks=6, task_s=0.05)
    recs = full.records
    ends = np.sort(recs[(recs[:, 2] == ev.TASK) & (recs[:, 4] == ev.TASK_END), 0])
    cut = int(ends[2])  # just after the third task ended
    live = Trace({**full.meta, "status": "running"})
    live.meta.pop("end_ns")
    live.append(recs[recs[:, 0] <= cut].copy(), [t for t in full.texts if t[0] <= cut])
    story = LESSONS["pool"].story(live)
    done = story.series_named("done")
    assert _at_end(done) == 3
    assert done.x[-1] == pytest.approx(live.seconds(live.end_ns()))
    assert _at_end(story.series_named("waiting (not started)")) <= 6 - 3


def test_count_series_closes_before_it_opens_at_the_same_moment():
    trace = Trace({"t0_ns": 0, "end_ns": 100})
    series = st.count_series(trace, st.TIME, [10, 20, 20, 30], [1, 1, -1, -1])
    assert series.x.tolist() == [0, 10e-9, 20e-9, 30e-9, 100e-9]
    assert series.y.tolist() == [0, 1, 1, 0, 0]  # never 2: the end at 20 comes first
