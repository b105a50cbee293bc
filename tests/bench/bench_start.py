"""Start: a lesson's N processes vs bare ``multiprocessing`` starting N, same method (the target: ≤ 1.1×).

The time is from the moment the parent begins (just before ``Runner.run``;
just before the first ``Process`` is made) to the moment the last child runs
its first line: for the lesson, the first record its worker function makes
(after the probe's hello, checked); for the bare processes, a write of
``perf_counter_ns`` into a shared array (``perf_counter_ns`` is system-wide
monotonic). Lesson and bare runs alternate, after one warm-up of each.
"""

from __future__ import annotations

import multiprocessing
from time import perf_counter_ns

from app.core import events as ev
from app.core.runner import Runner
from tests.bench import bare
from tests.bench.common import figure
from tests.bench.lessons import Start, register

TARGET_RATIO = 1.1
METHODS = ("spawn", "forkserver", "fork")


def lesson_start_s(method: str, n: int) -> float:
    runner = Runner("bench_start", {"workers": n}, method)
    begin = perf_counter_ns()
    trace = runner.run(timeout=120)
    if runner.status != "done":
        raise RuntimeError(f"the start run ({method}) ended {runner.status}")
    recs = trace.records
    first = recs[(recs[:, 2] == ev.TASK) & (recs[:, 1] >= 0)]
    if len(first) != n:
        raise RuntimeError(f"{len(first)} of {n} workers ran their first line")
    # what the time includes: each worker said hello (who it is, its pid, parent and __main__) before its first line
    hello_ns = {index: t for t, index, kind, _payload in trace.texts if kind == ev.HELLO}
    if any(hello_ns.get(index, t + 1) > t for t, index in first[:, :2].tolist()):
        raise RuntimeError("a worker ran its first line before its hello")
    return (int(first[:, 0].max()) - begin) / 1e9


def bare_start_s(method: str, n: int) -> float:
    ctx = multiprocessing.get_context(method)
    times = ctx.Array("q", n, lock=False)
    begin = perf_counter_ns()
    processes = [ctx.Process(target=bare.first_line, args=(times, i)) for i in range(n)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        if process.exitcode is None:
            process.kill()
            process.join(5)
    if not all(times):
        raise RuntimeError(f"bare {method}: not every child ran its first line")
    return (max(times) - begin) / 1e9


def run(quick: bool) -> list[dict]:
    n, repeats = (2, 1) if quick else (16, 5)
    register(Start(n))
    methods = [m for m in METHODS if m in multiprocessing.get_all_start_methods()]
    rows = []
    for method in methods:
        lesson_start_s(method, n)  # warm-up: page cache, imports, the fork server (started by the runner,
        bare_start_s(method, n)  # with the preload it asks for, as in the app)
        lesson, plain = [], []
        for _ in range(repeats):  # alternate, so that the machine's noise hits both alike
            plain.append(bare_start_s(method, n))
            lesson.append(lesson_start_s(method, n))
        rows.append(figure(f"start_{method}", [s * 1000 for s in lesson], "ms", TARGET_RATIO,
                           [s * 1000 for s in plain], target_on="ratio", quick=quick,
                           note=f"{n} processes, time to every child's first line; baseline: bare multiprocessing"))
    return rows
