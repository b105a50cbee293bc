"""Step mode (``--schedule``): a written order of step points makes a race or a deadlock happen on
real processes, the same every time, under every start method; held workers never outlive the run."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest

from app.core import events as ev
from app.core.codegen import generate
from app.core.lessons import LESSONS
from app.core.params import resolve
from app.core.runner import Runner
from app.core.stepping import POINTS, ScheduleError, parse_schedule, schedule_text
from app.core.summary import build_summary
from app.core.trace import Trace
from tests.helpers import assert_all_gone

METHODS = [m for m in ("spawn", "fork", "forkserver") if m in multiprocessing.get_all_start_methods()]
REPO_ROOT = Path(__file__).resolve().parents[2]
COUNTER = {"workers": 2, "lock": "none", "increments": 1, "start_value": 0, "step": 1, "hold_s": 0}
WITH_STEPS = {"counter", "shared_array", "manager", "sync", "deadlock", "queue_relay"}


def _run(lesson: str, method: str, schedule: list[int], listener=None, **params) -> tuple[dict, Trace]:
    runner = Runner(lesson, {k: str(v) for k, v in params.items()}, method, listener=listener, sample_hz=None,
                    schedule=schedule)
    trace = runner.run(timeout=60)
    summary = build_summary(trace)
    assert_all_gone(p["pid"] for p in summary["processes"])
    return summary, trace


def _points(summary: dict) -> list[tuple]:
    return [(s["process"], s["point"], s["object"]) for s in summary["schedule"]]


# --- the schedule and the lessons' declarations ---------------------------------------------
def test_a_schedule_is_process_numbers_separated_by_commas():
    assert parse_schedule("1,2,1,2", 2) == [1, 2, 1, 2]
    assert parse_schedule(" 2 , 1 ", 3) == [2, 1]
    assert schedule_text([{"process": 1}, {"process": 2}]) == "1,2"
    for bad in ("", "1,,2", "1,x", "-1", "1.5", "0", "3", "１"):
        with pytest.raises(ScheduleError, match="--schedule"):
            parse_schedule(bad, 2)


def test_lessons_with_shared_state_declare_step_points_the_others_none():
    for lesson in LESSONS.values():
        if lesson.id in WITH_STEPS:
            assert lesson.step_points and set(lesson.step_points) <= set(POINTS), lesson.id
        else:
            assert lesson.step_points == (), lesson.id


@pytest.mark.parametrize("argv, says", [
    (["basics", "--schedule", "1"], "lesson basics has no step points"),
    (["pool", "--schedule", "1"], "lesson pool has no step points"),
    (["counter", "--set", "workers=2", "--schedule", "1,3"], "names process 3"),
    (["counter", "--schedule", "1;2"], "is not a process number"),
    (["counter", "--schedule", ""], "is not a schedule"),
])
def test_bad_schedules_exit_2_with_one_line(argv, says):
    done = subprocess.run([sys.executable, "-m", "app", "run", *argv], capture_output=True, text=True,
                          timeout=60, cwd=REPO_ROOT)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("procscope: error: --schedule") and says in lines[0], lines
    assert done.stdout == ""


def test_the_plain_script_has_no_step_points():
    lesson = LESSONS["counter"]
    script = generate("counter", resolve(lesson.params, {}, "counter"), "spawn")
    assert "point(" not in script and "gate" not in script


# --- the race, made by hand ---------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_counter_schedules_decide_the_lost_update_ten_of_ten(method):
    for _ in range(10):
        both_read_first, _trace = _run("counter", method, [1, 2, 1, 2], **COUNTER)
        assert both_read_first["status"] == "done", both_read_first["errors"]
        assert (both_read_first["result"]["actual"], both_read_first["result"]["lost_updates"]) == (1, 1)
        assert _points(both_read_first) == [(1, "read", "counter"), (2, "read", "counter"),
                                            (1, "write", "counter"), (2, "write", "counter")]
        one_after_other, _trace = _run("counter", method, [1, 1, 2, 2], **COUNTER)
        assert one_after_other["status"] == "done", one_after_other["errors"]
        assert (one_after_other["result"]["actual"], one_after_other["result"]["lost_updates"]) == (2, 0)


@pytest.mark.parametrize("method", METHODS)
def test_with_a_lock_the_second_waits_for_the_first(method):
    summary, trace = _run("counter", method, [1, 2], **dict(COUNTER, lock="lock"))
    assert summary["status"] == "done" and summary["errors"] == []
    assert _points(summary) == [(1, "acquire", "lock 0"), (2, "acquire", "lock 0")]
    assert summary["result"]["lost_updates"] == 0 and summary["result"]["actual"] == 2
    locks = trace.records[trace.records[:, 2] == ev.LOCK]

    def first(index, step):
        return locks[(locks[:, 1] == index) & (locks[:, 3] == step), 0].min()

    # Process-2 asked for the lock while Process-1 held it (the two records of a hand-over, P1's release
    # and P2's acquire, are each stamped after the fact: their order says nothing)
    assert first(0, ev.LOCK_ACQUIRED) < first(1, ev.LOCK_REQUEST) < first(0, ev.LOCK_RELEASED)
    states = trace.states(1)  # Process-2's lane: waiting for lock 0 until Process-1 let it go
    waiting = states[(states[:, 1] == ev.WAITING) & (states[:, 2] == 1)]
    assert len(waiting) and first(0, ev.LOCK_ACQUIRED) < waiting[:, 0].min() < first(0, ev.LOCK_RELEASED)


@pytest.mark.parametrize("method", METHODS)
def test_a_step_for_a_blocked_process_is_refused(method):
    summary, _trace = _run("counter", method, [1, 2, 2], **dict(COUNTER, lock="lock"))
    assert summary["status"] == "done" and summary["result"]["lost_updates"] == 0  # then it ran freely
    assert len(summary["schedule"]) == 2
    (refused,) = summary["schedule_refused"]
    assert (refused["step"], refused["process"]) == (3, 2)
    assert "waits for lock 0, held by Process-1" in refused["refused"]
    (error,) = summary["errors"]
    assert error.startswith("--schedule: step 3 (process 2) refused: Process-2 is waiting")


def test_a_step_for_an_ended_process_is_refused_with_exit_3():
    done = subprocess.run([sys.executable, "-m", "app", "run", "counter", "--set", "workers=2", "--set", "lock=none",
                           "--set", "hold_s=0", "--schedule", "1,1,1"], capture_output=True, text=True,
                          timeout=90, cwd=REPO_ROOT)
    assert done.returncode == 3, done.stderr
    assert "step 3 (process 1) refused: Process-1 has ended" in done.stdout


# --- deadlock by hand ---------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_each_taking_its_first_lock_deadlocks_unless_ordered(method):
    summary, _trace = _run("deadlock", method, [1, 2], workers=2, hold_s=0)
    assert summary["status"] == "done" and summary["result"]["detected"] is True
    assert _points(summary) == [(1, "acquire", "lock 0"), (2, "acquire", "lock 1")]
    ordered, _trace = _run("deadlock", method, [1, 2], workers=2, hold_s=0, ordered="true")
    assert ordered["status"] == "done" and ordered["result"]["detected"] is False
    assert _points(ordered) == [(1, "acquire", "lock 0"), (2, "acquire", "lock 0")]


# --- held workers end with the run; the steps are in the trace ------------------------------
def test_stop_ends_workers_held_at_a_step_point():
    holder = {}

    def listener(_records, texts):
        if any(kind == ev.STEP and index >= 0 for _t, index, kind, _p in texts):
            holder["runner"].stop()

    runner = Runner("counter", {k: str(v) for k, v in COUNTER.items()}, "spawn", listener=listener,
                    sample_hz=None, schedule=[1, 2, 1, 2])
    holder["runner"] = runner
    trace = runner.run(timeout=60)
    assert runner.status == "stopped"
    assert_all_gone(p.pid for p in trace.processes().values())


def test_a_saved_stepped_run_loads_with_its_steps(tmp_path):
    summary, trace = _run("queue_relay", "spawn", [2, 2, 1, 1], workers=2)
    assert summary["status"] == "done"
    assert _points(summary) == [(2, "get", "queue"), (2, "put", "queue"), (1, "get", "queue"), (1, "put", "queue")]
    path = tmp_path / "stepped.procscope"
    trace.save(str(path))
    loaded = Trace.load(str(path))
    assert build_summary(loaded)["schedule"] == summary["schedule"]
    held = [t for t in loaded.texts_of(ev.STEP) if t[1] >= 0]
    assert {(t[1], t[3]["point"]) for t in held} >= {(0, "get"), (1, "get"), (0, "put"), (1, "put")}
    assert loaded.meta["schedule"] == "2,2,1,1"


def _host(conn) -> None:
    """A parent to kill: runs deadlock in step mode and sends the workers' pids once Process-2 is held."""
    pids: dict[int, int] = {}
    seen = {"held": False, "sent": False}

    def listener(_records, texts):
        for _t, index, kind, payload in texts:
            if kind == ev.HELLO:
                pids[index] = payload["pid"]
            seen["held"] = seen["held"] or (kind == ev.STEP and index == 1)
        if seen["held"] and len(pids) == 2 and not seen["sent"]:  # a batch may bring them in any order
            seen["sent"] = True
            conn.send(dict(pids))

    # Process-1 takes lock 0 and holds it 30 s; meanwhile Process-2 is held at its gate
    Runner("deadlock", {"workers": "2", "hold_s": "30"}, "spawn", listener=listener, sample_hz=None,
           schedule=[1, 2]).run(timeout=120)


def test_held_workers_do_not_outlive_a_killed_parent():
    ctx = multiprocessing.get_context("spawn")
    reader, writer = ctx.Pipe(duplex=False)
    host = ctx.Process(target=_host, args=(writer,))
    host.start()
    writer.close()
    try:
        assert reader.poll(60), "the held worker was never reported"
        pids = reader.recv()
    finally:
        host.kill()
        host.join(10)
    assert_all_gone(pids.values(), timeout=10)
