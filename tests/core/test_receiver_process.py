"""The window's receiver process: it records a run as the receiver thread does, is never one of the
lesson's processes, and is gone after the run, after Stop and when the app is killed (every start method)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import psutil
import pytest

from app.core import events as ev
from app.core.runner import Runner
from app.core.summary import build_summary
from tests.helpers import assert_all_gone, wait_until

METHODS = [m for m in ("spawn", "fork", "forkserver") if m in multiprocessing.get_all_start_methods()]
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("method", METHODS)
def test_a_run_read_by_the_receiver_process_is_recorded_whole(method):
    runner = Runner("counter", {"workers": "3", "lock": "lock", "increments": "20", "hold_s": "0"}, method,
                    sample_hz=20.0, receiver="process")
    trace = runner.run(timeout=90)
    summary = build_summary(trace)
    receiver = runner.receiver_process.process
    assert summary["status"] == "done", summary["errors"]
    assert summary["result"]["actual"] == summary["result"]["expected"]
    assert receiver.exitcode == 0  # it drained and ended by itself
    assert receiver.pid not in {p["pid"] for p in summary["processes"]}  # ProcScope's own, not the lesson's
    assert {p["role"] for p in summary["processes"]} == {"worker"}
    writes = trace.records[(trace.records[:, 2] == ev.VALUE) & (trace.records[:, 1] >= 0)]
    assert len(writes) == 60  # every write of every worker arrived
    assert all(p["ended"] == "done" for p in summary["processes"])
    assert_all_gone([receiver.pid, *(p["pid"] for p in summary["processes"])])


def test_the_receiver_process_samples_the_workers():
    runner = Runner("counter", {"workers": "2", "lock": "none", "hold_s": "0.3", "increments": "3"}, "fork"
                    if "fork" in METHODS else "spawn", sample_hz=20.0, receiver="process")
    trace = runner.run(timeout=90)
    samples = trace.records[trace.records[:, 2] == ev.SAMPLE]
    assert runner.status == "done"
    assert len(samples) and set(np.unique(samples[:, 1]).tolist()) <= set(trace.processes())
    assert (samples[:, 4] > 0).all()  # resident bytes


@pytest.mark.parametrize("method", METHODS)
def test_stop_ends_the_receiver_process_too(method):
    runner = Runner("counter", {"workers": "3", "lock": "none", "hold_s": "60"}, method, sample_hz=None,
                    receiver="process")
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("trace", runner.run(timeout=120)))
    thread.start()
    try:
        wait_until(lambda: len(runner.live_pids()) == 3, timeout=60, what="three workers' hellos")
        receiver_pid = runner.receiver_process.pid
        assert psutil.Process(receiver_pid).is_running()
        runner.stop()
    finally:
        thread.join(60)
    assert not thread.is_alive()
    assert runner.status == "stopped"
    summary = build_summary(out["trace"])
    assert_all_gone([receiver_pid, *(p["pid"] for p in summary["processes"])])


_APP = """
import sys, threading, time
from app.core.runner import Runner

def tell(runner):
    while runner.receiver_process is None or runner.receiver_process.pid is None:
        time.sleep(0.01)
    print("RECEIVER", runner.receiver_process.pid, flush=True)

if __name__ == "__main__":
    runner = Runner("counter", {"workers": "2", "lock": "none", "hold_s": "60"}, sys.argv[1], receiver="process")
    threading.Thread(target=tell, args=(runner,), daemon=True).start()
    runner.run(timeout=120)
"""


@pytest.mark.parametrize("method", METHODS)
def test_killing_the_app_ends_its_receiver_process(method, tmp_path):
    script = tmp_path / "app_run.py"
    script.write_text(_APP)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, str(script), method], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = proc.stdout.readline().split()
        assert line[:1] == ["RECEIVER"], line
        receiver = int(line[1])
        app = psutil.Process(proc.pid)

        def started():
            helpers = {k.pid for k in app.children() if _is_helper(k)}  # a fork server's children are the run's
            kids = [k for k in app.children(recursive=True) if k.pid not in helpers]
            return len(kids) >= 3 and kids  # the receiver and both workers

        everything = wait_until(started, timeout=60, what="the receiver and two workers")
        assert receiver in {k.pid for k in everything}
        proc.kill()
        proc.wait(timeout=10)
        _gone, alive = psutil.wait_procs(everything, timeout=15)
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert not alive, f"survived the app: {[(p.pid, _cmd(p)) for p in alive]}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def _is_helper(proc: psutil.Process) -> bool:
    command = " ".join(_cmd(proc))
    return "resource_tracker" in command or "forkserver" in command


def _cmd(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []
