"""Sync primitives, deadlock detection and speedup: checked from the recorded trace."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.lessons import LESSONS
from app.core.lessons.speedup import amdahl, fit_serial_fraction
from tests.core import broken_sync
from tests.helpers import run_lesson

METHODS = [m for m in ("spawn", "fork") if m in multiprocessing.get_all_start_methods()]
FAST = "fork" if "fork" in METHODS else "spawn"
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("method", METHODS)
def test_semaphore_never_lets_more_than_k_work(method):
    result = run_lesson("sync", method, primitive="semaphore", workers=4, k=2, hold_s=0.2, rounds=1)["result"]
    assert result["invariant_held"] is True and result["violations"] == []
    assert 1 <= result["max_concurrent"] <= 2
    assert result["invariant"]["en"] and result["invariant"]["zh"]


@pytest.mark.parametrize("method", METHODS)
def test_event_is_a_start_gun(method):
    result = run_lesson("sync", method, primitive="event", workers=3, hold_s=0.2)["result"]
    assert result["invariant_held"] is True
    assert all(w >= 0.2 for w in result["waited_s"].values())  # everyone waited for the gun


def test_condition_consumes_only_what_was_produced():
    result = run_lesson("sync", FAST, primitive="condition", workers=4, hold_s=0.1, rounds=3)["result"]
    assert result["invariant_held"] is True
    assert result["produced"] == result["consumed"] == 2 * 3
    assert result["min_stock"] >= 0 and result["woken_without_notify"] == 0


def test_barrier_separates_phases():
    result = run_lesson("sync", FAST, primitive="barrier", workers=3, hold_s=0.1, rounds=3)["result"]
    assert result["invariant_held"] is True
    assert len(result["phase_gaps_s"]) == 2 and all(g >= 0 for g in result["phase_gaps_s"])


@pytest.mark.parametrize(
    "primitive, params, broken_because",
    [
        ("semaphore", {"workers": 4, "k": 1, "hold_s": 0.3, "rounds": 1}, "max_concurrent"),
        ("event", {"workers": 2, "hold_s": 0.2}, "before the set"),
        ("condition", {"workers": 2, "hold_s": 0.2, "rounds": 1}, "without any notify"),
        ("barrier", {"workers": 3, "hold_s": 0.2, "rounds": 2}, "before phase"),
    ],
)
def test_a_broken_primitive_is_caught_by_the_same_invariant(monkeypatch, primitive, params, broken_because):
    monkeypatch.setitem(LESSONS, "sync", broken_sync.LESSON)
    result = run_lesson("sync", FAST, primitive=primitive, **params)["result"]
    assert result["invariant_held"] is False
    if broken_because == "max_concurrent":
        assert result["max_concurrent"] > 1
    else:
        assert any(broken_because in v for v in result["violations"]), result["violations"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("workers", (2, 3))
def test_deadlock_is_detected_and_the_run_ends_cleanly(method, workers):
    summary = run_lesson("deadlock", method, workers=workers, hold_s=0.2)
    result = summary["result"]
    assert result["detected"] is True
    assert sorted(result["cycle"]) == list(range(workers))
    # Worker i waits for lock i+1 (mod N), which its neighbour i+1 holds.
    for index, lock in zip(result["cycle"], result["locks"], strict=True):
        assert lock == (index + 1) % workers
    assert 0 <= result["detect_s"] < 2.0
    assert {p["ended"] for p in summary["processes"]} == {"stopped"}


def test_ordered_locks_never_deadlock():
    summary = run_lesson("deadlock", FAST, workers=3, hold_s=0.1, ordered="true")
    assert summary["result"]["detected"] is False
    assert {p["ended"] for p in summary["processes"]} == {"done"}


def test_deadlock_cli_exits_0():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "app", "run", "deadlock", "--json", "-"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["result"]["detected"] is True


def test_speedup_points_and_serial_fraction():
    methods = ",".join(METHODS)
    result = run_lesson("speedup", "spawn", job_size=300000, max_workers=3, start_methods=methods)["result"]
    for method in METHODS:
        mine = [p for p in result["points"] if p["start_method"] == method]
        assert [p["workers"] for p in mine] == [1, 2, 3]
        assert mine[0]["speedup"] == 1.0
        assert all(p["wall_s"] > 0 and p["speedup"] > 0 for p in mine)
        assert result["start_cost_s"][method] > 0
    assert 0.0 <= result["serial_fraction"] <= 1.0


def test_amdahl_fit_recovers_a_known_serial_fraction():
    points = [(n, amdahl(0.25, n)) for n in (1, 2, 4, 8)]
    assert fit_serial_fraction(points) == pytest.approx(0.25, abs=0.002)
    assert fit_serial_fraction([(1, 1.0)]) is None
