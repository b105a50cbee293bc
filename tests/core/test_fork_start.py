"""A forked worker's light start: what its parent made for it says the same as a worker that makes it itself."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import sys

import pytest

from app.core import events as ev
from app.core import probe as probe_module
from app.core.lessons import LESSONS
from app.core.lessons.base import Lesson
from app.core.params import workers
from tests.helpers import assert_all_gone

METHODS = [m for m in ("spawn", "fork", "forkserver") if m in multiprocessing.get_all_start_methods()]
FORK = pytest.mark.skipif("fork" not in METHODS, reason="no fork here")
_PR_GET_PDEATHSIG = 2


def report(probe) -> None:
    """What the worker sees of itself: its hello as ``hello`` would make it, its threads, its death signal."""
    print("a print")
    facts = {"expected_hello": probe_module.hello_payload("worker"), "stdout_is_probe": sys.stdout is sys.stderr}
    if sys.platform.startswith("linux"):
        facts["threads"] = len(os.listdir("/proc/self/task"))
        signal = ctypes.c_int(-1)
        ctypes.CDLL(None).prctl(_PR_GET_PDEATHSIG, ctypes.byref(signal), 0, 0, 0)
        facts["death_signal"] = signal.value
    probe.result(facts)


class SelfReport(Lesson):
    id = "test_self_report"
    title_en = title_zh = "test: a worker reports itself"

    def __init__(self):
        self.specs = (workers(2),)

    def run(self, rc, values):
        rc.join(*[rc.start(report, name=f"Named %d {i} \"quoted\" 进程") for i in range(values["workers"])])

    def summarize(self, trace):
        return {}


@pytest.fixture(autouse=True)
def self_report(monkeypatch):
    monkeypatch.setitem(LESSONS, SelfReport.id, SelfReport())


def _run(method: str):
    from app.core.runner import Runner

    runner = Runner(SelfReport.id, {}, method, sample_hz=None)
    trace = runner.run(timeout=60)
    assert runner.status == "done"
    assert_all_gone(p.pid for p in trace.processes().values())
    return trace


@pytest.mark.parametrize("method", METHODS)
def test_the_hello_says_what_the_worker_would_say_of_itself(method):
    trace = _run(method)
    hellos = {index: payload for _t, index, kind, payload in trace.texts if kind == ev.HELLO}
    results = {index: payload for _t, index, kind, payload in trace.texts if kind == ev.RESULT}
    assert sorted(hellos) == sorted(results) == [0, 1]
    for index, hello in hellos.items():
        assert hello == results[index]["expected_hello"]
        assert hello["name"] == f"Named %d {index} \"quoted\" 进程"
        assert (hello["ppid"] == os.getpid()) is (method != "forkserver")  # the fork server's child
        assert results[index]["stdout_is_probe"]
    prints = [(index, payload) for _t, index, kind, payload in trace.texts if kind == ev.PRINT]
    assert sorted(prints) == [(0, "a print"), (1, "a print")]
    procs = trace.processes()
    assert all(procs[i].first_ns is not None and procs[i].first_ns >= procs[i].requested_ns for i in (0, 1))


@FORK
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_a_forked_worker_has_the_kernel_watch_its_parent_instead_of_a_thread():
    results = [p for _t, _i, kind, p in _run("fork").texts if kind == ev.RESULT]
    assert [(r["threads"], r["death_signal"]) for r in results] == [(1, 9), (1, 9)]


@FORK
def test_without_prctl_a_forked_worker_watches_its_parent_with_a_thread(monkeypatch):
    monkeypatch.setattr(probe_module, "_prctl", False)
    monkeypatch.setattr(probe_module, "_fork_made", (None, None))
    results = [p for _t, _i, kind, p in _run("fork").texts if kind == ev.RESULT]
    if sys.platform.startswith("linux"):
        assert [(r["threads"], r["death_signal"]) for r in results] == [(2, 0), (2, 0)]
    assert len(results) == 2


@FORK
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_suspended_forked_workers_still_end_with_a_killed_app():
    """A paused run's workers are stopped (SIGSTOP): no thread of theirs can run, the kernel still kills them."""
    import signal
    import subprocess

    import psutil

    from tests.helpers import wait_until

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    app = subprocess.Popen([sys.executable, "-m", "app", "run", "counter", "--set", "hold_s=60", "--set", "workers=2",
                            "--set", "lock=none", "--start-method", "fork"], cwd=root,
                           env=dict(os.environ, PYTHONPATH=root), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kids = []
    try:
        parent = psutil.Process(app.pid)

        def workers():
            found = [k for k in parent.children() if "resource_tracker" not in " ".join(k.cmdline())]
            return len(found) >= 2 and found

        kids = wait_until(workers, timeout=60, what="two forked workers")
        for kid in kids:
            kid.send_signal(signal.SIGSTOP)
        app.kill()
        app.wait(timeout=10)
        _gone, alive = psutil.wait_procs(kids, timeout=15)
        assert not [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    finally:
        for kid in kids:  # the old parent-watch thread never ran in a stopped worker: clean up if it failed
            try:
                kid.kill()
            except psutil.NoSuchProcess:
                pass
        if app.poll() is None:
            app.kill()
            app.wait()
