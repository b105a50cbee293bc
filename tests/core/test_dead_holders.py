"""A run never hangs on a dead process.

SIGKILL the worker holding the counter's lock, a pool worker mid-task, the process that took the
queue's token or one waiting inside ``q.get()``: the run ends as crashed (exit 3 from the command
line), says who died and who waited in vain, and leaves no process. A stop during start-up ends
quietly; a killed app that is still a zombie does not keep the fork server's workers alive.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from app.core import events as ev
from app.core.runner import Runner
from app.core.summary import build_summary
from tests.helpers import assert_all_gone, wait_until

METHODS = [m for m in ("spawn", "fork", "forkserver") if m in multiprocessing.get_all_start_methods()]
ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 60  # the run's own --timeout: a hang would end as "timeout", not "crashed"


class Watch:
    """A runner listener: pids, who holds a lock, who runs a task, each process's last queue step."""

    def __init__(self):
        self.pids: dict[int, int] = {}
        self.lock_held: dict[int, bool] = {}
        self.acquired_ns: dict[int, int] = {}  # when each took the lock (perf_counter_ns: one clock for all)
        self.task_running: dict[int, int] = {}
        self.queue_step: dict[int, int] = {}
        self._lock = threading.Lock()

    def __call__(self, records, texts):
        with self._lock:
            for _t, index, kind, payload in texts:
                if kind in (ev.HELLO, ev.META) and isinstance(payload, dict) and payload.get("pid"):
                    self.pids[index] = payload["pid"]
            if records is None:
                return
            for t_ns, index, kind, a, b in records.tolist():
                if kind == ev.LOCK:
                    self.lock_held[index] = a == ev.LOCK_ACQUIRED
                    if a == ev.LOCK_ACQUIRED:
                        self.acquired_ns[index] = t_ns
                elif kind == ev.TASK:
                    if b == ev.TASK_START:
                        self.task_running[index] = a
                    else:
                        self.task_running.pop(index, None)
                elif kind == ev.QUEUE and index >= 0:
                    self.queue_step[index] = a

    def lock_holder(self, workers: int) -> int | None:
        """The lane holding the lock once every worker has asked for it."""
        with self._lock:
            holders = [i for i, held in self.lock_held.items() if held]
            return holders[0] if len(self.lock_held) == workers and len(holders) == 1 else None

    def pool_worker_in_task(self) -> int | None:
        with self._lock:
            return next(iter(self.task_running), None)

    def token_holder(self, workers: int) -> int | None:
        with self._lock:
            got = [i for i, step in self.queue_step.items() if step == ev.QUEUE_GOT]
            return got[0] if len(self.queue_step) == workers and len(got) == 1 else None

    def reader_in_get(self, workers: int) -> int | None:
        """A process blocked in ``q.get()`` that holds the queue's read lock: it waits in a pipe read
        (the others wait for the lock), seen in the kernel's wait channel (Linux)."""
        with self._lock:
            if len(self.queue_step) != workers:
                return None
            waiting = [i for i, step in self.queue_step.items() if step == ev.QUEUE_WAIT]
            pids = dict(self.pids)
        for index in waiting:
            try:
                with open(f"/proc/{pids[index]}/wchan", encoding="ascii") as f:
                    if "pipe" in f.read():
                        return index
            except (OSError, KeyError):
                continue
        return None


def _kill_and_finish(runner: Runner, watch: Watch, victim) -> tuple[int, dict]:
    thread = threading.Thread(target=runner.run, kwargs={"timeout": RUN_TIMEOUT_S}, daemon=True)
    thread.start()
    try:
        # lane 0 is falsy: wait for a list holding the index
        [index] = wait_until(lambda: [v] if (v := victim()) is not None else None, timeout=40,
                             what="the process to kill")
        pid = watch.pids[index]
        os.kill(pid, signal.SIGKILL)
    finally:
        thread.join(timeout=RUN_TIMEOUT_S + 20)
    assert not thread.is_alive()
    summary = build_summary(runner.trace)
    assert_all_gone(p["pid"] for p in summary["processes"])
    return index, summary


def _check_stuck(summary: dict, index: int, kind: str, how: str) -> dict:
    assert summary["status"] == "crashed", summary["status"]
    stuck = summary["stuck"]
    assert stuck is not None and stuck["kind"] == kind and stuck["how"] == how, stuck
    assert stuck["dead_index"] == index
    procs = {p["index"]: p for p in summary["processes"]}
    assert procs[index]["ended"] == "crashed" and procs[index]["exitcode"] == -signal.SIGKILL
    assert stuck["waiting"], stuck
    words = stuck["explanation"]
    assert stuck["dead"] in words["en"] and stuck["dead"] in words["zh"]
    assert all(name in words["en"] for name in stuck["waiting"])
    # the lesson's own explanation starts with it: the result view shows it where a deadlock is explained
    assert summary["result"]["explanation"]["en"].startswith(words["en"])
    assert summary["result"]["explanation"]["zh"].startswith(words["zh"])
    return stuck


@pytest.mark.parametrize("method", METHODS)
def test_a_worker_killed_holding_the_lock_ends_the_run(method):
    watch = Watch()
    runner = Runner("counter", {"workers": "3", "lock": "lock", "hold_s": "30"}, method, listener=watch,
                    sample_hz=None)
    index, summary = _kill_and_finish(runner, watch, lambda: watch.lock_holder(3))
    stuck = _check_stuck(summary, index, "lock", "held")
    assert sorted(stuck["waiting_indexes"]) == sorted(i for i in range(3) if i != index)
    assert "died holding the lock; nobody can ever take it" in stuck["explanation"]["en"]
    assert "在持有锁时死亡" in stuck["explanation"]["zh"]
    others = [p for p in summary["processes"] if p["index"] != index]
    assert {p["ended"] for p in others} == {"stopped"}


@pytest.mark.parametrize("method", METHODS)
def test_a_pool_worker_killed_mid_task_ends_the_run(method):
    watch = Watch()
    runner = Runner("pool", {"pool_size": "2", "tasks": "4", "task_s": "30"}, method, listener=watch,
                    sample_hz=None)
    index, summary = _kill_and_finish(runner, watch, watch.pool_worker_in_task)
    stuck = _check_stuck(summary, index, "pool", "task")
    assert stuck["waiting"] == ["parent"]
    assert "never notices the lost task" in stuck["explanation"]["en"]
    assert summary["result"]["done"] == 0  # the summary of a pool that lost a worker is still made


@pytest.mark.parametrize("method", METHODS)
def test_the_process_holding_the_queue_token_killed_ends_the_run(method):
    watch = Watch()
    runner = Runner("counter", {"workers": "3", "sharing": "queue", "lock": "none", "hold_s": "30"}, method,
                    listener=watch, sample_hz=None)
    index, summary = _kill_and_finish(runner, watch, lambda: watch.token_holder(3))
    stuck = _check_stuck(summary, index, "queue", "took")
    assert sorted(stuck["waiting_indexes"]) == sorted(i for i in range(3) if i != index)


@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/wchan"), reason="needs Linux's /proc/<pid>/wchan")
@pytest.mark.parametrize("method", METHODS)
def test_a_reader_killed_inside_get_ends_the_run(method):
    # The killed reader held the queue's read lock: once the token holder puts the token back
    # (hold_s later), nobody can ever read it.
    watch = Watch()
    runner = Runner("counter", {"workers": "3", "sharing": "queue", "lock": "none", "hold_s": "5"}, method,
                    listener=watch, sample_hz=None)
    index, summary = _kill_and_finish(runner, watch, lambda: watch.reader_in_get(3))
    stuck = _check_stuck(summary, index, "queue", "reading")
    assert "q.get()" in stuck["explanation"]["en"]


@pytest.mark.parametrize("method", METHODS)
def test_a_worker_that_dies_without_leaving_anyone_stuck_lets_the_run_finish(method):
    # Killing a worker that holds nothing: the others finish, the run ends crashed at its end, no "stuck"
    watch = Watch()
    runner = Runner("counter", {"workers": "3", "lock": "lock", "hold_s": "2"}, method, listener=watch,
                    sample_hz=None)

    def waiter():  # one still waiting for the lock, while the holder has most of its 2 s hold ahead
        with watch._lock:
            holders = [i for i, held in watch.lock_held.items() if held]
            if len(watch.lock_held) < 3 or len(holders) != 1:
                return None
            if time.perf_counter_ns() - watch.acquired_ns[holders[0]] > 0.5e9:
                return None
            return next((i for i, held in watch.lock_held.items() if not held), None)

    index, summary = _kill_and_finish(runner, watch, waiter)
    assert summary["status"] == "crashed" and summary["stuck"] is None
    procs = {p["index"]: p for p in summary["processes"]}
    assert procs[index]["ended"] == "crashed"
    assert {p["ended"] for i, p in procs.items() if i != index} == {"done"}


def _cli(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "app", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


def _run_children(proc: subprocess.Popen) -> list[psutil.Process]:
    """The run's processes: the app's descendants but multiprocessing's resource tracker and fork server
    (its direct children; a fork server's children are the run's workers)."""
    app = psutil.Process(proc.pid)
    helpers = set()
    for child in app.children():
        try:
            command = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "resource_tracker" in command or "forkserver" in command:
            helpers.add(child.pid)
    return [k for k in app.children(recursive=True) if k.pid not in helpers]


def _is_spawned_worker(process: psutil.Process) -> bool:
    try:
        return "--multiprocessing-fork" in process.cmdline()
    except psutil.Error:
        return False


def test_ctrl_c_while_the_run_begins_still_says_it_was_stopped():
    # Ctrl+C at the first moment a child exists (multiprocessing's resource tracker, before any worker)
    proc = _cli("run", "counter", "--set", "workers=2", "--set", "hold_s=30")
    try:
        wait_until(lambda: psutil.Process(proc.pid).children(), timeout=60, interval=0.001,
                   what="the first child")
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 3, err
    assert b"Traceback" not in err, err.decode("utf-8", "replace")
    assert " · stopped · " in out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def test_ctrl_c_while_workers_start_stops_quietly():
    # Ctrl+C in a terminal reaches the whole process group: the app and every child starting
    proc = _cli("run", "counter", "--set", "workers=8", "--set", "hold_s=30")
    try:
        # a spawned worker that has exec'd (a child not yet exec'd shows the app's own command line, and
        # may be multiprocessing's resource tracker starting)
        wait_until(lambda: any(_is_spawned_worker(c) for c in _run_children(proc)), timeout=60,
                   what="the first worker")
        children = _run_children(proc)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    text = out.decode("utf-8", "replace")
    assert proc.returncode == 3, err
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err, err.decode("utf-8", "replace")
    assert " · stopped · " in text
    assert "pid None" not in text  # only processes that did start are reported
    assert "had started" in text
    assert_all_gone(c.pid for c in children)


def test_a_stop_during_start_up_reports_only_what_started():
    started = threading.Event()

    def listener(_records, texts):
        if any(t[2] == ev.META for t in texts):
            started.set()

    runner = Runner("counter", {"workers": "8", "hold_s": "30"}, "spawn", listener=listener, sample_hz=None)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    assert started.wait(60)
    runner.stop()
    thread.join(timeout=30)
    assert not thread.is_alive() and runner.status == "stopped"
    summary = build_summary(runner.trace)
    procs = summary["processes"]
    assert procs and all(p["pid"] is not None for p in procs)
    assert {p["ended"] for p in procs} <= {"stopped", "done"}
    assert f"{len(procs)} process(es) had started" in summary["result"]["explanation"]["en"]
    assert_all_gone(p["pid"] for p in procs)


@pytest.mark.skipif("forkserver" not in METHODS, reason="no forkserver here")
def test_a_zombie_app_does_not_keep_the_fork_servers_workers_alive():
    proc = _cli("run", "counter", "--set", "workers=2", "--set", "hold_s=60", "--set", "lock=none",
                "--start-method", "forkserver")
    try:
        wait_until(lambda: len(_run_children(proc)) >= 2, timeout=60, what="two workers")
        everything = psutil.Process(proc.pid).children(recursive=True)
        os.kill(proc.pid, signal.SIGKILL)
        # not reaped: the app stays a zombie while its workers must notice it is dead
        wait_until(lambda: psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE, what="the app a zombie")
        _gone, alive = psutil.wait_procs(everything, timeout=20)
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert not alive, f"alive while the app is a zombie: {[p.pid for p in alive]}"
        assert psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
