"""What every benchmark shares: one figure's record, its statistics, and the no-leftover check.

A figure is a dict with the keys of the JSON file (``name``, ``figure``, ``unit``,
``median``, ``min``, ``max``, ``target``, ``baseline``, ``ratio``, ``pass``) plus
``target_on`` (the target applies to the ``figure`` or to the ``ratio``),
``better`` (``lower`` or ``higher``), ``repeats`` and an optional ``note``.
Standard library only: spawned children of a benchmark may import it.
"""

from __future__ import annotations

import statistics
import time

# multiprocessing's long-lived helpers belong to the benchmark process, not to a run
_HELPER_MARKERS = ("resource_tracker", "forkserver", "semaphore_tracker")


def figure(name: str, samples, unit: str, target: float | None = None, baseline=None, *,
           better: str = "lower", target_on: str = "figure", quick: bool = False, timing: bool = True,
           note: str = "", ratio: float | None = None) -> dict:
    """One row of the results: ``samples`` (one per repeat) against ``target``, next to ``baseline``.

    In quick mode (tiny sizes) a timing figure has no verdict (``pass`` is null);
    a count that must hold at any size (events lost) keeps its verdict.
    """
    samples = [float(s) for s in samples]
    base = [float(b) for b in baseline] if isinstance(baseline, (list, tuple)) else baseline
    median = statistics.median(samples) if samples else None
    base_median = statistics.median(base) if isinstance(base, list) and base else base
    if ratio is None and median is not None and base_median:
        if isinstance(base, list) and len(base) == len(samples):
            ratio = statistics.median(s / b for s, b in zip(samples, base, strict=True) if b)  # paired repeats
        else:
            ratio = median / base_median
    checked = median if target_on == "figure" else ratio
    passed = None
    if not (quick and timing) and target is not None and checked is not None:
        passed = checked <= target if better == "lower" else checked >= target
    row = {
        "name": name,
        "figure": _round(median),
        "unit": unit,
        "median": _round(median),
        "min": _round(min(samples)) if samples else None,
        "max": _round(max(samples)) if samples else None,
        "target": target,
        "baseline": _round(base_median),
        "ratio": _round(ratio),
        "pass": passed,
        "target_on": target_on,
        "better": better,
        "repeats": len(samples),
    }
    if note:
        row["note"] = note
    return row


def skipped(name: str, unit: str, target: float | None, why: str) -> dict:
    """A figure that could not be measured here (e.g. no frozen bundle): pass is null, the note says why."""
    return {"name": name, "figure": None, "unit": unit, "median": None, "min": None, "max": None,
            "target": target, "baseline": None, "ratio": None, "pass": None, "target_on": "figure",
            "better": "lower", "repeats": 0, "note": why}


def _round(value):
    if value is None:
        return None
    return float(f"{value:.6g}")


def percentile(values, q: float) -> float:
    """The q-th percentile (0…100) by linear interpolation; ``values`` need not be sorted."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def leftover_processes(timeout: float = 5.0) -> list[int]:
    """Pids of this process's descendants still running after ``timeout`` (helpers excluded)."""
    import psutil

    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for child in psutil.Process().children(recursive=True):
            try:
                if child.status() == psutil.STATUS_ZOMBIE:
                    continue
                cmdline = " ".join(child.cmdline())
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                continue
            except psutil.AccessDenied:
                cmdline = ""
            if not any(marker in cmdline for marker in _HELPER_MARKERS):
                alive.append(child.pid)
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)
