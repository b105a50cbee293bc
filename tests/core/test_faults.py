"""Stop, timeout, a raising worker, a killed worker, a killed parent: no process survives."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest

from app.core import events as ev
from app.core.lessons import LESSONS
from app.core.runner import Runner
from app.core.summary import build_summary
from tests.core import faulty
from tests.helpers import assert_all_gone, run_lesson, wait_until

METHODS = [m for m in ("spawn", "fork", "forkserver") if m in multiprocessing.get_all_start_methods()]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def faulty_lesson(monkeypatch):
    monkeypatch.setitem(LESSONS, "faulty", faulty.LESSON)


class HelloCounter:
    """A runner listener that knows which processes have said hello."""

    def __init__(self):
        self.pids: dict[int, int] = {}
        self._lock = threading.Lock()

    def __call__(self, records, texts):
        for _t, index, kind, payload in texts:
            if kind == ev.HELLO:
                with self._lock:
                    self.pids[index] = payload["pid"]


def start_in_thread(runner: Runner, timeout: float | None = None) -> threading.Thread:
    thread = threading.Thread(target=runner.run, kwargs={"timeout": timeout}, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("method", METHODS)
def test_a_raising_worker_is_reported_and_the_run_ends(method):
    summary = run_lesson("faulty", method, status="crashed", workers=3, mode="raise")
    procs = {p["index"]: p for p in summary["processes"]}
    assert procs[1]["ended"] == "crashed" and procs[1]["exitcode"] == 1
    assert "ValueError: boom from worker 1" in procs[1]["errors"][0]
    assert procs[0]["ended"] == procs[2]["ended"] == "done"


@pytest.mark.parametrize("method", METHODS)
def test_stop_mid_run_leaves_no_process(method):
    hellos = HelloCounter()
    runner = Runner("faulty", {"workers": "3", "mode": "hang", "hold_s": "60"}, method, listener=hellos)
    thread = start_in_thread(runner)
    wait_until(lambda: len(hellos.pids) == 3, what="three workers alive")
    runner.stop()
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert runner.status == "stopped"
    assert_all_gone(hellos.pids.values(), timeout=0.5)
    summary = build_summary(runner.trace)
    assert {p["ended"] for p in summary["processes"]} == {"stopped"}


def test_stop_mid_run_of_a_pool_and_a_manager_leaves_no_process():
    for lesson, params in (("pool", {"tasks": "20", "task_s": "30", "pool_size": "2"}),
                           ("manager", {"workers": "2", "sequential": "false"})):
        hellos = HelloCounter()
        runner = Runner(lesson, params, "spawn", listener=hellos)
        thread = start_in_thread(runner)
        wait_until(lambda h=hellos: len(h.pids) >= 2, what=f"{lesson} processes alive")
        runner.stop()
        thread.join(timeout=20)
        assert not thread.is_alive()
        assert_all_gone([p.pid for p in runner.trace.processes().values()], timeout=0.5)


@pytest.mark.parametrize("method", METHODS)
def test_timeout_ends_the_run_and_every_process(method):
    runner = Runner("faulty", {"workers": "2", "mode": "hang", "hold_s": "60"}, method, sample_hz=None)
    trace = runner.run(timeout=1.5)
    assert runner.status == "timeout" and trace.meta["status"] == "timeout"
    pids = [p.pid for p in trace.processes().values()]
    assert len(pids) == 2
    assert_all_gone(pids, timeout=0.5)


@pytest.mark.parametrize("method", METHODS)
def test_a_worker_killed_with_sigkill_is_reported(method):
    hellos = HelloCounter()
    runner = Runner("faulty", {"workers": "3", "mode": "hang", "hold_s": "2"}, method, listener=hellos)
    thread = start_in_thread(runner, timeout=60)
    wait_until(lambda: len(hellos.pids) == 3, what="three workers alive")
    os.kill(hellos.pids[1], signal.SIGKILL)
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert runner.status == "crashed"
    procs = runner.trace.processes()
    assert procs[1].exitcode == -signal.SIGKILL and procs[1].ended == "crashed"
    assert procs[0].ended == procs[2].ended == "done"
    assert_all_gone(hellos.pids.values(), timeout=0.5)


def _cli(*args: str, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "app", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


@pytest.mark.parametrize(
    "method, lesson, params, expected",
    [(m, "counter", ["hold_s=60", "workers=3", "lock=none"], 3) for m in METHODS]
    + [("spawn", "pool", ["task_s=60", "pool_size=2", "tasks=4"], 2),
       # a manager's server and two workers, alive together for a minute (the manager lesson itself
       # ends in ~0.1 s: catching its three processes at once was a race)
       ("spawn", "counter", ["sharing=manager", "hold_s=60", "workers=2", "lock=none"], 3),
       ("forkserver", "counter", ["sharing=manager", "hold_s=60", "workers=2", "lock=none"], 3)],
)
def test_killing_the_parent_ends_every_process_of_the_run(method, lesson, params, expected):
    if method not in METHODS:
        pytest.skip(f"{method} is not available here")
    sets = [arg for p in params for arg in ("--set", p)]
    proc = _cli("run", lesson, *sets, "--start-method", method)
    try:
        parent = psutil.Process(proc.pid)

        def workers_running():
            helpers = {k.pid for k in parent.children() if _is_helper(k)}
            kids = [k for k in parent.children(recursive=True) if k.pid not in helpers]
            return len(kids) >= expected and kids

        wait_until(workers_running, timeout=60, what=f"{expected} processes of the run")
        everything = parent.children(recursive=True)
        proc.kill()
        proc.wait(timeout=10)
        gone, alive = psutil.wait_procs(everything, timeout=15)
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert not alive, f"survived their parent: {[(p.pid, _cmd(p)) for p in alive]}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def _is_helper(proc: psutil.Process) -> bool:
    """multiprocessing's resource tracker or fork server (the run's workers are their children)."""
    command = " ".join(_cmd(proc))
    return "resource_tracker" in command or "forkserver" in command


def _cmd(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


def test_cli_timeout_exits_3_with_a_timeout_summary(tmp_path):
    out = tmp_path / "run.json"
    proc = _cli("run", "counter", "--set", "hold_s=60", "--set", "workers=2", "--timeout", "1.5",
                "--json", str(out))
    try:
        assert proc.wait(timeout=60) == 3
    finally:
        proc.stdout.close()
        proc.stderr.close()
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert summary["status"] == "timeout"
    assert_all_gone([p["pid"] for p in summary["processes"]], timeout=0.5)
