"""The runner's promises: live waiting states, psutil samples, tempo, fork from a thread."""

from __future__ import annotations

import multiprocessing
import threading
from time import perf_counter_ns

import numpy as np
import pytest

from app.core import events as ev
from app.core.runner import Runner
from app.core.summary import build_summary
from tests.helpers import assert_all_gone

HAS_FORK = "fork" in multiprocessing.get_all_start_methods()


def test_a_waiting_process_shows_as_waiting_while_it_waits():
    """The WAITING state reaches the parent before the process gets the lock (flush before blocking)."""
    arrivals: list[tuple[int, int, int, int]] = []  # (arrived_ns, index, state, t_ns)

    def listener(records, texts):
        now = perf_counter_ns()
        if records is not None:
            for t_ns, index, kind, a, _b in records.tolist():
                if kind == ev.STATE:
                    arrivals.append((now, index, a, t_ns))

    runner = Runner("counter", {"workers": "2", "hold_s": "0.4", "lock": "lock"}, "spawn", listener=listener)
    trace = runner.run(timeout=60)
    assert runner.status == "done"
    waited = []
    for index in (0, 1):
        mine = [a for a in arrivals if a[1] == index]
        holding = [a for a in mine if a[2] == ev.HOLDING]
        waiting = [a for a in mine if a[2] == ev.WAITING]
        if holding and waiting and holding[0][3] - waiting[0][3] > 0.2e9:  # this one really waited
            waited.append(index)
            assert waiting[0][0] < holding[0][3], "the wait was only reported after it ended"
    assert waited, "with two workers and one lock, one of them must wait"
    assert_all_gone(p.pid for p in trace.processes().values())


def test_every_process_is_sampled_with_psutil():
    runner = Runner("counter", {"workers": "2", "hold_s": "0.5", "lock": "none"}, "spawn", sample_hz=20)
    trace = runner.run(timeout=60)
    recs = trace.records
    samples = recs[recs[:, 2] == ev.SAMPLE]
    sampled = set(samples[:, 1].tolist())
    assert {p.index for p in trace.processes().values()} <= sampled
    assert (samples[:, 4] > 0).all()  # resident memory in bytes
    assert (samples[:, 3] >= 0).all()  # CPU % × 100


def test_tempo_stretches_hold_times():
    summary_fast = _run_counter(tempo="1")
    summary_slow = _run_counter(tempo="4")
    fast = max(p["time_in_state_s"].get("sleeping", 0) for p in summary_fast["processes"])
    slow = max(p["time_in_state_s"].get("sleeping", 0) for p in summary_slow["processes"])
    assert fast >= 0.1 and slow >= 0.4
    assert slow > 2 * fast


def _run_counter(**extra) -> dict:
    runner = Runner("counter", {"workers": "1", "hold_s": "0.1", "lock": "none", **extra}, "spawn", sample_hz=None)
    return build_summary(runner.run(timeout=60))


@pytest.mark.skipif(not HAS_FORK, reason="fork is not available here")
def test_fork_from_a_non_main_thread_is_not_mistaken_for_a_crash():
    """The GUI runs lessons from a controller thread (CPython issue 102512 makes such children exit 1)."""
    box = {}

    def go():
        runner = Runner("counter", {"workers": "3", "hold_s": "0.01"}, "fork", sample_hz=None)
        box["trace"], box["status"] = runner.run(timeout=60), runner.status

    thread = threading.Thread(target=go)
    thread.start()
    thread.join(timeout=90)
    assert box["status"] == "done"
    summary = build_summary(box["trace"])
    assert [p["ended"] for p in summary["processes"]] == ["done"] * 3
    assert summary["result"]["actual"] == 7


def test_intervals_cover_each_lane_from_request_to_end():
    runner = Runner("counter", {"workers": "3", "hold_s": "0.1", "lock": "lock"}, "spawn", sample_hz=None)
    trace = runner.run(timeout=60)
    for index, info in trace.processes().items():
        iv = trace.intervals(index, info)
        assert iv[0, 0] == info.requested_ns and iv[0, 2] == ev.STARTING
        assert (iv[1:, 0] == iv[:-1, 1]).all()  # contiguous
        assert (iv[:, 1] >= iv[:, 0]).all()
        names = {ev.STATE_NAMES[c] for c in np.unique(iv[:, 2])}
        assert {"starting", "working", "holding"} <= names


# --- the live processes of a run ---------------------------------------------------------
def _records(*rows) -> np.ndarray:
    return np.array(rows, dtype=np.int64)


def test_live_pids_drop_a_process_once_it_has_ended():
    """A process's final state removes it from the live ones; a pid the parent reports late does not bring it back."""
    runner = Runner("counter", {"workers": "2"}, "spawn", sample_hz=None)  # never run: no process starts
    runner.emit(None, [(1, 0, ev.META, {"pid": 101}), (1, 1, ev.META, {"pid": 102}), (1, 2, ev.HELLO, {"pid": 103})])
    assert runner.live_pids() == {0: 101, 1: 102, 2: 103}
    runner.emit(_records((2, 0, ev.STATE, ev.WORKING, 0), (3, 0, ev.STATE, ev.DONE, 0)))
    assert runner.live_pids() == {1: 102, 2: 103}
    runner.emit(_records((4, 1, ev.STATE, ev.CRASHED, 0)))
    assert runner.live_pids() == {2: 103}
    runner.emit(_records((5, 2, ev.EXIT, -9, ev.EXIT_CRASHED)))  # killed from outside: only its EXIT says so
    assert runner.live_pids() == {}
    runner.emit(None, [(6, 0, ev.META, {"pid": 101})])  # the parent's held-back "pid" text, after the end
    assert runner.live_pids() == {}


def test_no_process_of_a_finished_run_counts_as_live():
    runner = Runner("counter", {"workers": "2", "hold_s": "0.01"}, "spawn", sample_hz=None)
    trace = runner.run(timeout=60)
    assert runner.status == "done"
    pids = [p.pid for p in trace.processes().values()]
    assert len(pids) == 2 and all(pids)
    assert runner.live_pids() == {}
    assert_all_gone(pids)


def test_run_status_values_are_the_json_strings():
    """The status is an enum in the code and the same plain strings in --json and trace files."""
    import json

    assert [str(s) for s in ev.RunStatus] == ["ready", "running", "done", "crashed", "stopped", "timeout",
                                              "failed", "deadlock"]
    assert json.dumps({"status": ev.RunStatus.TIMEOUT}) == '{"status": "timeout"}'
    assert ev.FINAL_STATUSES.isdisjoint(ev.LIVE_STATUSES)
    assert {None, *ev.RunStatus} == ev.FINAL_STATUSES | ev.LIVE_STATUSES
