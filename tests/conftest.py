"""Fixtures shared by every test: no test may leave a process behind."""

from __future__ import annotations

import os

import psutil
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# multiprocessing's own helpers live as long as the test session, by design.
_HELPER_MARKERS = ("resource_tracker", "forkserver", "semaphore_tracker")


def run_processes() -> list[psutil.Process]:
    """Children of this test process, but multiprocessing's long-lived helpers."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            cmdline = " ".join(child.cmdline())
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        except psutil.AccessDenied:
            cmdline = ""
        if not any(marker in cmdline for marker in _HELPER_MARKERS):
            found.append(child)
    return found


@pytest.fixture(autouse=True)
def no_process_left():
    """Fail a test that leaves any process of its own running."""
    before = {p.pid for p in run_processes()}
    yield
    leaked = [p for p in run_processes() if p.pid not in before]
    if leaked:
        gone, alive = psutil.wait_procs(leaked, timeout=5)
        for proc in alive:
            proc.kill()
        assert not alive, f"processes left behind: {[(p.pid, p.name()) for p in alive]}"
