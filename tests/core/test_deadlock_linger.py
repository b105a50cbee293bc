"""A found deadlock stays visibly stuck for ``deadlock_linger_s`` before the run is stopped."""

from __future__ import annotations

import threading

import numpy as np
import psutil

from app.core import events as ev
from app.core.runner import Runner
from app.core.summary import build_summary
from tests.helpers import assert_all_gone

PARAMS = {"workers": "2", "hold_s": "0.1"}


def _found(trace) -> dict:
    return next(r["deadlock"] for r in trace.results(-1) if "deadlock" in r)


class AliveWhenFound:
    """A listener: are the deadlocked workers still running when the deadlock is reported?"""

    def __init__(self):
        self.pids: dict[int, int] = {}
        self.alive: list[bool] | None = None

    def __call__(self, _records, texts):
        for _t, index, kind, payload in texts:
            if kind in (ev.HELLO, ev.META) and isinstance(payload, dict) and payload.get("pid"):
                self.pids[index] = payload["pid"]
            if kind == ev.RESULT and index == ev.PARENT_INDEX and "deadlock" in payload and self.alive is None:
                self.alive = [psutil.pid_exists(pid) for pid in self.pids.values()]


def test_the_run_waits_the_linger_and_still_reports_the_deadlock():
    watch = AliveWhenFound()
    runner = Runner("deadlock", PARAMS, "spawn", listener=watch, sample_hz=None, deadlock_linger_s=1.0)
    trace = runner.run(timeout=60)
    assert runner.status == "done"  # the deadlock lesson's success: it showed its deadlock
    found = _found(trace)
    assert found["linger_s"] == 1.0 and len(found["cycle"]) == 2
    assert watch.alive == [True, True]
    exits = trace.records[trace.records[:, 2] == ev.EXIT]
    # no process was stopped before the linger was over
    assert int(np.min(exits[:, 0])) - found["detected_ns"] >= 1.0e9
    summary = build_summary(trace)
    assert summary["result"]["detected"] is True
    assert "stuck for 1.0 s" in summary["result"]["explanation"]["en"]
    assert "保持卡住 1.0 秒" in summary["result"]["explanation"]["zh"]
    assert_all_gone(p["pid"] for p in summary["processes"])


def test_linger_0_stops_at_once():
    runner = Runner("deadlock", PARAMS, "spawn", sample_hz=None, deadlock_linger_s=0)
    trace = runner.run(timeout=60)
    assert runner.status == "done" and _found(trace)["linger_s"] == 0
    summary = build_summary(trace)
    assert "stuck for" not in summary["result"]["explanation"]["en"]
    assert_all_gone(p["pid"] for p in summary["processes"])


def test_stop_during_the_linger_ends_the_run_as_a_deadlock():
    found = threading.Event()

    def listener(_records, texts):
        if any(t[2] == ev.RESULT and t[1] == ev.PARENT_INDEX and "deadlock" in t[3] for t in texts):
            found.set()

    runner = Runner("deadlock", PARAMS, "spawn",
                    listener=listener, sample_hz=None, deadlock_linger_s=60)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    assert found.wait(60)
    runner.stop()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert runner.status == "done" and runner.trace.meta["status"] == "done"  # a deadlock, the lesson's point
    assert not any(t.name == "procscope-deadlock-linger" and t.is_alive() for t in threading.enumerate())
    assert_all_gone(p.pid for p in runner.trace.processes().values())


def test_the_cli_lingers_only_when_asked_and_refuses_a_bad_value():
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root))

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "app", "run", "deadlock", *args], cwd=root, env=env,
                              capture_output=True, text=True, timeout=120)

    done = cli("--linger", "0.3", "--json", "-")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert "stuck for 0.3 s" in summary["result"]["explanation"]["en"]
    assert_all_gone(p["pid"] for p in summary["processes"])
    for bad in ("-1", "61", "nan", "soon"):
        refused = cli("--linger", bad)
        assert refused.returncode == 2
        assert refused.stderr.count("\n") == 1 and "--linger" in refused.stderr and "0 to 60" in refused.stderr
