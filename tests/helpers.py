"""Small waiting and inspection helpers for tests (wait on conditions, never sleep)."""

from __future__ import annotations

import time

import psutil

from app.core.runner import Runner
from app.core.summary import build_summary


def wait_until(condition, timeout: float = 20.0, interval: float = 0.02, what: str = "condition"):
    """Poll ``condition`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def run_lesson(lesson: str, method: str = "spawn", timeout: float = 90, status: str = "done", **params) -> dict:
    """Run a lesson for real and return its --json summary; every process must be gone."""
    runner = Runner(lesson, {k: str(v) for k, v in params.items()}, method, sample_hz=None)
    trace = runner.run(timeout=timeout)
    summary = build_summary(trace)
    assert_all_gone(p["pid"] for p in summary["processes"])
    assert summary["status"] == status, summary["errors"]
    return summary


def assert_all_gone(pids, timeout: float = 10.0) -> None:
    """Every pid has exited (zombies are not running processes)."""
    procs = []
    for pid in pids:
        if pid is None:
            continue
        try:
            procs.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            continue
    _gone, alive = psutil.wait_procs(procs, timeout=timeout)
    alive = [p for p in alive if _running(p)]
    assert not alive, f"still running: {[p.pid for p in alive]}"


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
