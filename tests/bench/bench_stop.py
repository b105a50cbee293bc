"""Stop during start-up: Stop (or Ctrl+C) while 64 workers are starting ends the run within 1 s.

The figure is from ``Runner.stop()`` to ``Runner.run`` returning with every
process of the run gone. The stop comes as soon as the parent has started the
last of them: they are all still importing (none has said hello yet), which is
when a stop used to take seconds (each process's children looked up with a scan
of the whole process table, then one SIGTERM and one join after the other).
"""

from __future__ import annotations

import multiprocessing
import threading
from time import perf_counter_ns, sleep

from app.core.runner import Runner
from tests.bench.common import figure

TARGET_S = 1.0
METHODS = ("spawn", "forkserver", "fork")


def stop_during_start_s(method: str, n: int) -> float:
    runner = Runner("counter", {"workers": n, "hold_s": 60}, method, sample_hz=None)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    deadline = perf_counter_ns() + 120 * 10**9
    # the runner's own list of the processes it made (private: this is a benchmark)
    while len(runner._workers) < n or runner._workers[-1][1].pid is None:
        if perf_counter_ns() > deadline:
            raise RuntimeError(f"the {method} run started no worker")
        sleep(0.001)
    begin = perf_counter_ns()
    runner.stop()
    thread.join(60)
    if thread.is_alive() or runner.status != "stopped":
        raise RuntimeError(f"the stopped {method} run did not end as stopped ({runner.status})")
    return (perf_counter_ns() - begin) / 1e9


def run(quick: bool) -> list[dict]:
    n, repeats = (4, 1) if quick else (64, 3)
    rows = []
    for method in (m for m in METHODS if m in multiprocessing.get_all_start_methods()):
        samples = [stop_during_start_s(method, n) for _ in range(repeats)]
        rows.append(figure(f"stop_startup_{method}", [s * 1000 for s in samples], "ms", TARGET_S * 1000,
                           quick=quick, note=f"Stop while {n} workers start: until every process is gone"))
    return rows
