"""script_overhead: a script with ≥ 1 ms of work between traced calls, under ``trace`` vs bare (target ≤ 1.1×).

``tests/bench/script_work.py`` (two workers; per round ≥ 1 ms of work, then a traced Lock, Value write and
Queue put) runs bare (``python script_work.py``) and traced (``ScriptRun``, as ``procscope trace`` runs it),
alternated, so that the machine's drift hits both alike; the ratio is the median of the pairs' ratios.
``script_overhead`` times the whole script, start-up included (each of its processes loads the
instrumentation); ``script_overhead_loop`` the workers' loops only (what the traced calls add).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from time import perf_counter_ns

from app.core.script.session import ScriptRun
from tests.bench.bench_overhead import calibrate
from tests.bench.common import figure

SCRIPT = str(Path(__file__).with_name("script_work.py"))
WORK_US = 1000.0
TARGET_RATIO = 1.1


def _loop_ns(output: bytes) -> int:
    found = re.search(rb"LOOP_NS (\d+) COUNTER (\d+)", output)
    if found is None:
        raise RuntimeError(f"script_work.py printed {output[-200:]!r}")
    return int(found.group(1))


def bare(rounds: int, loops: int) -> tuple[float, float]:
    start = perf_counter_ns()
    done = subprocess.run([sys.executable, SCRIPT, str(rounds), str(loops)], capture_output=True, timeout=300,
                          check=True)
    return (perf_counter_ns() - start) / 1e9, _loop_ns(done.stdout) / 1e9


def traced(rounds: int, loops: int) -> tuple[float, float]:
    run = ScriptRun(SCRIPT, [str(rounds), str(loops)], None, capture_output=True)
    start = perf_counter_ns()
    run.run(timeout=300)
    wall = (perf_counter_ns() - start) / 1e9
    if run.exit_code != 0:
        raise RuntimeError(f"the traced script ended {run.status}, exit code {run.exit_code}")
    return wall, _loop_ns(run.output.get("stdout", b"")) / 1e9


def run(quick: bool) -> list[dict]:
    rounds, pairs = (20, 1) if quick else (400, 5)
    loops = calibrate(WORK_US, seconds=0.5)
    whole_t, whole_b, loop_t, loop_b = [], [], [], []
    for _ in range(pairs):
        wall, loop = bare(rounds, loops)
        whole_b.append(wall)
        loop_b.append(loop)
        wall, loop = traced(rounds, loops)
        whole_t.append(wall)
        loop_t.append(loop)
    note = (f"2 workers × {rounds} rounds of ≥ {WORK_US:.0f} µs work ({loops} loops) + Lock, Value write, Queue put; "
            f"{pairs} bare/traced pairs, Python's default start method")
    return [
        figure("script_overhead", whole_t, "s", TARGET_RATIO, whole_b, target_on="ratio", quick=quick,
               note=note + "; whole script, start-up included"),
        figure("script_overhead_loop", loop_t, "s", TARGET_RATIO, loop_b, target_on="ratio", quick=quick,
               note="the workers' loops only"),
    ]
