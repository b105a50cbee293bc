"""The window's runs lower the lesson's processes' priority (so that the window stays live); the command
line's runs do not. Every process of the run is lowered once its hello arrives: workers, pool workers (also
the replacements a pool starts from its own thread) and the manager's server; ProcScope's own process keeps
its priority."""

from __future__ import annotations

import os
import sys
import threading

import psutil
import pytest

from app.core.priority import NICE
from app.core.runner import Runner
from app.core.summary import build_summary
from tests.helpers import assert_all_gone, wait_until

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX nice values")


def _nice(pid: int) -> int | None:
    try:
        return psutil.Process(pid).nice()
    except psutil.Error:
        return None


def _run_in_background(runner: Runner) -> tuple[threading.Thread, dict]:
    out: dict = {}
    thread = threading.Thread(target=lambda: out.setdefault("trace", runner.run(timeout=60)), daemon=True)
    thread.start()
    return thread, out


def _finish(runner: Runner, thread: threading.Thread, out: dict) -> dict:
    thread.join(90)
    assert not thread.is_alive()
    summary = build_summary(out["trace"])
    assert_all_gone(p["pid"] for p in summary["processes"])
    return summary


@posix_only
@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_window_runs_lower_every_worker_and_the_manager(method):
    base = os.getpriority(os.PRIO_PROCESS, 0)
    runner = Runner("counter", {"workers": "2", "increments": "20", "hold_s": "0.02", "sharing": "manager",
                                "lock": "lock"}, method, sample_hz=None, lower_priority=True)
    thread, out = _run_in_background(runner)
    # the manager's server and both workers have said hello, and all are at the lowest priority
    wait_until(lambda: len(runner.live_pids()) == 3 and all(_nice(p) == NICE for p in runner.live_pids().values()),
               60, what="the run's three processes lowered")
    assert os.getpriority(os.PRIO_PROCESS, 0) == base  # ProcScope's own process keeps its priority
    summary = _finish(runner, thread, out)
    assert summary["status"] == "done"


@posix_only
def test_window_runs_lower_a_pools_replacement_workers():
    runner = Runner("pool", {"pool_size": "2", "tasks": "6", "task_s": "0.3", "maxtasksperchild": "1"}, "spawn",
                    sample_hz=None, lower_priority=True)
    thread, out = _run_in_background(runner)
    lowered: set[int] = set()

    def more_than_the_first_two_lowered() -> bool:
        for pid in runner.live_pids().values():
            if _nice(pid) == NICE:
                lowered.add(pid)
        return len(lowered) > 2 or not thread.is_alive()

    wait_until(more_than_the_first_two_lowered, 60, what="a replacement pool worker lowered")
    summary = _finish(runner, thread, out)
    assert summary["status"] == "done"
    assert len(lowered) > 2, f"only {sorted(lowered)} were seen lowered"


@posix_only
def test_command_line_runs_keep_the_priority():
    base = os.getpriority(os.PRIO_PROCESS, 0)
    runner = Runner("counter", {"workers": "2", "increments": "20", "hold_s": "0.02", "lock": "lock"}, "spawn",
                    sample_hz=None)
    thread, out = _run_in_background(runner)
    seen = wait_until(lambda: [_nice(p) for p in runner.live_pids().values()] if len(runner.live_pids()) == 2
                      else None, 60, what="both workers up")
    assert set(seen) <= {base, None}
    _finish(runner, thread, out)


@posix_only
def test_window_script_runs_lower_the_scripts_processes():
    from app.core.script.session import ScriptRun

    base = os.getpriority(os.PRIO_PROCESS, 0)
    script = os.path.join(os.path.dirname(__file__), "scripts", "hangs.py")
    run = ScriptRun(script, (), "spawn", sample_hz=None, quiet=True, lower_priority=True)
    out: dict = {}
    thread = threading.Thread(target=lambda: out.setdefault("trace", run.run(timeout=60)), daemon=True)
    thread.start()
    try:
        # the script's main process and its child have said hello, and both are at the lowest priority
        wait_until(lambda: len(run.live_pids()) == 2 and all(_nice(p) == NICE for p in run.live_pids().values()),
                   60, what="the script's two processes lowered")
        assert os.getpriority(os.PRIO_PROCESS, 0) == base
    finally:
        run.stop()
        thread.join(60)
    assert not thread.is_alive()
    summary = build_summary(out["trace"])
    assert len(summary["processes"]) == 2
    assert_all_gone(p["pid"] for p in summary["processes"])


def test_on_windows_a_process_is_set_below_normal(monkeypatch):
    # Windows has no nice values: psutil sets the priority class (the call checked here; no Windows here)
    import types

    from app.core import priority

    calls = []

    class FakeProcess:
        def __init__(self, pid):
            self.pid = pid

        def nice(self, value):
            calls.append((self.pid, value))

    fake = types.SimpleNamespace(Process=FakeProcess, BELOW_NORMAL_PRIORITY_CLASS=0x4000)
    monkeypatch.setitem(sys.modules, "psutil", fake)
    monkeypatch.setattr(priority.sys, "platform", "win32")
    priority.lower_priority(1234)
    priority.lower_priority(None)  # a process not started yet: nothing to do
    assert calls == [(1234, 0x4000)]
