"""The frozen one-folder bundle is spawn-safe: headless lessons, one window, nothing left behind.

Builds the bundle with PyInstaller once per session (conftest), then runs the *frozen* executable.
PROCSCOPE_NEGATIVE_CONTROL=1 also builds a bundle without freeze_support() and proves the
re-entry check catches it.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys

import pytest

from tests.packaging.conftest import TIMINGS, build_bundle
from tests.packaging.frozen import check_headless_run, run_frozen

METHODS = [m for m in ("spawn", "forkserver") if m in multiprocessing.get_all_start_methods()]
LESSONS = {
    "counter": (["workers=3", "hold_s=0.05", "lock=lock"], 3),
    "pool": (["pool_size=2", "tasks=4", "task_s=0.05"], 2),
    "manager": (["workers=3"], 4),  # the workers one at a time, plus the manager's server
    "queue_relay": (["workers=3"], 3),
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("lesson", list(LESSONS))
def test_frozen_app_runs_lessons_headless(frozen_exe, tmp_path, lesson, method):
    params, processes = LESSONS[lesson]
    problems, summary, seconds = check_headless_run(frozen_exe, lesson, method, params, tmp_path, processes)
    TIMINGS.append((f"run {lesson} ({method})", seconds))
    assert problems == []
    result = summary["result"]
    assert summary["status"] == "done"
    if lesson == "counter":
        assert result["actual"] == result["expected"] == 7
    elif lesson == "pool":
        assert result["done"] == 4 and result["cancelled"] == 0
    elif lesson == "manager":
        assert result["final"] == {"num": 102}
    else:
        assert result["chain_intact"] is True


def test_frozen_app_runs_with_stdout_and_stderr_closed(frozen_exe, tmp_path):
    out = tmp_path / "closed.json"
    run = run_frozen(frozen_exe, ["run", "counter", "--set", "workers=2", "--set", "hold_s=0.01", "--json", str(out)],
                     tmp_path, close_streams=True)
    TIMINGS.append(("run with stdout/stderr closed", run.seconds))
    assert run.code == 0 and run.counts.get("main") == 1 and not run.survivors
    assert '"status": "done"' in out.read_text(encoding="utf-8")


def _gui_check(frozen_exe, tmp_path, env, label, wrapper=()):
    """Open the frozen GUI in smoke mode: one window, the first lesson runs, it closes, nothing is left."""
    exe, args = (wrapper[0], [*wrapper[1:], str(frozen_exe)]) if wrapper else (frozen_exe, [])
    run = run_frozen(exe, args, tmp_path, env_extra={"PROCSCOPE_SMOKE": "1", **env}, timeout=240)
    TIMINGS.append((f"GUI {label}: open, run the first lesson, close", run.seconds))
    shown = run.first("shown")
    if shown is not None:
        TIMINGS.append((f"GUI {label}: launch to window shown", shown - run.launched_at))
    assert run.code == 0
    assert run.counts.get("main") == 1, run.counts
    assert run.counts.get("window") == 1 and run.counts.get("shown") == 1, run.counts
    assert run.counts.get("finished:done") == 1, run.counts
    assert not run.survivors


def test_frozen_gui_opens_one_window_runs_and_closes_offscreen(frozen_exe, tmp_path):
    _gui_check(frozen_exe, tmp_path, {"QT_QPA_PLATFORM": "offscreen"}, "offscreen")


@pytest.mark.skipif(shutil.which("xvfb-run") is None or sys.platform != "linux", reason="needs xvfb-run")
def test_frozen_gui_opens_one_window_runs_and_closes_under_xvfb(frozen_exe, tmp_path):
    env = {"QT_QPA_PLATFORM": "xcb"}
    _gui_check(frozen_exe, tmp_path, env, "under Xvfb",
               wrapper=(shutil.which("xvfb-run"), "-a", "-s", "-screen 0 1280x800x24"))


@pytest.mark.skipif(os.environ.get("PROCSCOPE_NEGATIVE_CONTROL") != "1",
                    reason="negative control: set PROCSCOPE_NEGATIVE_CONTROL=1 (builds a second bundle)")
def test_a_build_without_freeze_support_fails_the_check(tmp_path):
    broken = build_bundle(tmp_path / "broken", broken=True)
    problems, _summary, seconds = check_headless_run(broken, "counter", "spawn", ["workers=2", "hold_s=0.01"],
                                                     tmp_path, 2)
    TIMINGS.append(("negative control run", seconds))
    assert any("re-entry" in p for p in problems), problems
