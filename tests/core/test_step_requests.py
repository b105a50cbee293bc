"""Step mode asked step by step (the window's way): each step answered taken or refused with its reason,
Run free and Pause (gates opened and closed again), and the steps taken replay under ``--schedule``."""

from __future__ import annotations

import multiprocessing
import queue
import threading

import pytest

from app.core.runner import Runner
from app.core.stepping import parse_schedule, schedule_text
from app.core.summary import build_summary
from tests.helpers import assert_all_gone, wait_until

COUNTER = {"workers": "2", "lock": "none", "increments": "1", "start_value": "0", "step": "1", "hold_s": "0"}
ANSWER_S = 30
METHODS = [m for m in ("spawn", "fork", "forkserver") if m in multiprocessing.get_all_start_methods()]


class Asked:
    """A stepped run in a thread; ``step(k)`` asks for one step and returns the answer."""

    def __init__(self, lesson: str, params: dict, method: str = "spawn"):
        self.runner = Runner(lesson, params, method, sample_hz=None, stepping=True)
        self.answers: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self.runner.run, kwargs={"timeout": 90})
        self.thread.start()

    def step(self, number: int) -> dict:
        self.runner.stepper.request(number, self.answers.put)
        return self.answers.get(timeout=ANSWER_S)

    def end(self) -> dict:
        self.thread.join(90)
        assert not self.thread.is_alive()
        summary = build_summary(self.runner.trace)
        assert_all_gone(p["pid"] for p in summary["processes"])
        return summary


@pytest.mark.parametrize("method", METHODS)
def test_asked_steps_make_the_lost_update_and_replay_from_their_text(method):
    run = Asked("counter", COUNTER, method)
    answers = [run.step(k) for k in (1, 2, 1, 2)]
    assert [(a["taken"], a["process"], a["point"]) for a in answers] == [
        (True, 1, "read"), (True, 2, "read"), (True, 1, "write"), (True, 2, "write")]
    summary = run.end()
    assert summary["status"] == "done" and summary["errors"] == []
    assert (summary["result"]["actual"], summary["result"]["lost_updates"]) == (1, 1)
    text = schedule_text(summary["schedule"])
    assert text == "1,2,1,2"
    replay = Runner("counter", COUNTER, method, sample_hz=None, schedule=parse_schedule(text, 2))
    again = build_summary(replay.run(timeout=90))
    assert_all_gone(p["pid"] for p in again["processes"])
    assert again["result"] == summary["result"] and again["schedule"] == summary["schedule"]


def test_a_refused_step_is_an_answer_and_stepping_goes_on():
    run = Asked("counter", dict(COUNTER, lock="lock"))
    assert run.step(1)["taken"] and run.step(2)["taken"]
    refused = run.step(2)
    assert refused["taken"] is False and refused["reason"]["why"] == "waiting"
    assert refused["reason"]["lock"] == 0 and refused["reason"]["holders"] == ["Process-1"]
    assert "waits for lock 0, held by Process-1" in refused["text"]
    assert run.step(7)["reason"]["why"] == "absent"
    assert run.step(1)["taken"]  # Process-1 goes on: stepping was not ended by the refusals
    run.runner.stepper.release_all()
    summary = run.end()
    assert summary["status"] == "done" and summary["errors"] == [] and summary["schedule_refused"] == []
    assert summary["result"]["lost_updates"] == 0


def test_pause_holds_every_worker_at_its_next_step_point_and_stop_ends_them():
    run = Asked("counter", dict(COUNTER, increments="200", hold_s="0.05"))  # ~10 s when free
    stepper = run.runner.stepper
    try:
        wait_until(lambda: len(stepper.held()) == 2, what="both held at their first step point")
        stepper.release_all()
        wait_until(lambda: stepper.gates_open and not stepper.held(), what="the gates open")
        stepper.hold_all()
        wait_until(lambda: len(stepper.held()) == 2, what="both held again")
        assert run.step(1)["taken"]
    finally:
        run.runner.stop()
    summary = run.end()
    assert summary["status"] == "stopped"


def test_deadlock_by_hand_then_run_free_is_detected():
    run = Asked("deadlock", {"workers": "2", "hold_s": "0"})
    try:
        assert [run.step(k)["point"] for k in (1, 2)] == ["acquire", "acquire"]
    finally:
        run.runner.stepper.release_all()
    summary = run.end()
    assert summary["status"] == "done" and summary["result"]["detected"] is True
    assert schedule_text(summary["schedule"]) == "1,2"
