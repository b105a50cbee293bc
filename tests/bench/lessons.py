"""Benchmark-only lessons, registered into ``LESSONS`` at run time (never shipped in the app).

Their workers are top-level functions of this module, so spawned children can
import them; like every lesson module, it imports neither numpy nor Qt, nor the
catalogue of the app's lessons (``register`` does, in the parent).
Each lesson's workers wait on a start gun (``Event``) after they said hello,
so what is measured starts after every process is up, not during spawn.
"""

from __future__ import annotations

import time
from time import perf_counter_ns

from app.core import events as ev
from app.core.lessons.base import Lesson
from app.core.params import ParamSpec, workers
from tests.bench.bare import spin


def _count(name: str, default: int, maximum: int = 10_000_000) -> ParamSpec:
    return ParamSpec(name, "int", default, name, name, 0, maximum)


# --- workers -------------------------------------------------------------------------------
def flood(probe, go, count: int) -> None:
    """Record ``count`` events as fast as possible."""
    probe.block(ev.WAITING)
    go.wait()
    probe.state(ev.WORKING)
    record = probe.record
    for i in range(count):
        record(ev.VALUE, 0, i)


def paced(probe, go, interval_ns: int, count: int, phase_ns: int) -> None:
    """One state change every ``interval_ns`` (working, sleeping, working, ...)."""
    probe.block(ev.WAITING)
    go.wait()
    due = perf_counter_ns() + phase_ns
    for i in range(count):
        now = perf_counter_ns()
        if due > now:
            time.sleep((due - now) / 1e9)
        probe.state(ev.SLEEPING if i % 2 else ev.WORKING)
        due += interval_ns


def work(probe, count: int, loops: int) -> None:
    """``count`` units of work, one event recorded after each; reports the loop's wall and CPU time."""
    record = probe.record
    start, cpu = perf_counter_ns(), time.thread_time_ns()
    for i in range(count):
        spin(loops)
        record(ev.VALUE, 0, i)
    probe.result({"loop_ns": perf_counter_ns() - start, "loop_cpu_ns": time.thread_time_ns() - cpu})


def work_blocks(probe, blocks: int, block_events: int, loops: int) -> None:
    """Blocks of ``block_events`` units of work, bare and instrumented in turn (A B B A A B B A …).

    Adjacent blocks see the same machine: the slow drift of a shared machine's
    speed cancels in their ratio. Reports ``[instrumented, wall ns, CPU ns]`` per block.
    """
    record = probe.record
    out = []
    for b in range(blocks):
        instrumented = (b % 4) in (1, 2)
        start, cpu = perf_counter_ns(), time.thread_time_ns()
        if instrumented:
            for i in range(block_events):
                spin(loops)
                record(ev.VALUE, 0, i)
        else:
            for _ in range(block_events):
                spin(loops)
        out.append([instrumented, perf_counter_ns() - start, time.thread_time_ns() - cpu])
    probe.result({"blocks": out})


def first_line(probe) -> None:
    """The first line of a lesson's worker: its record's time is the moment it ran."""
    probe.record(ev.TASK, 0, ev.TASK_START)


# --- lessons -------------------------------------------------------------------------------
class _Gated(Lesson):
    """Start every worker, wait until each waits at the gun, then fire it (the moment: ``go_ns``)."""

    def gated(self, rc, target, args_of, count: int) -> None:
        go = rc.ctx.Event()
        processes = [rc.start(target, (go, *args_of(i))) for i in range(count)]
        rc.wait_until_entered(processes, ev.WAITING)
        rc.result({"go_ns": perf_counter_ns()})
        go.set()
        rc.join(*processes)

    def summarize(self, trace):
        return {}


class Flood(_Gated):
    id = "bench_flood"
    title_en = title_zh = "benchmark: flood"

    def __init__(self, n_workers: int = 64, events: int = 20_000):
        self.specs = (workers(n_workers), _count("events", events))

    def run(self, rc, values):
        self.gated(rc, flood, lambda i: (values["events"],), values["workers"])


class Paced(_Gated):
    id = "bench_paced"
    title_en = title_zh = "benchmark: paced"

    def __init__(self, n_workers: int = 64, rate: int = 10_000, seconds: float = 5.0):
        self.specs = (workers(n_workers), _count("rate", rate),
                      ParamSpec("seconds", "float", seconds, "seconds", "seconds", 0.1, 600.0))

    def run(self, rc, values):
        n = values["workers"]
        interval = int(n * 1e9 / values["rate"])  # each worker's share of the total rate
        count = int(values["seconds"] * values["rate"] / n)
        self.gated(rc, paced, lambda i: (interval, count, interval * i // n), n)


class Work(Lesson):
    id = "bench_work"
    title_en = title_zh = "benchmark: work"

    def __init__(self, n_workers: int = 1, events: int = 50_000, loops: int = 500):
        self.specs = (workers(n_workers), _count("events", events), _count("loops", loops))

    def run(self, rc, values):
        processes = [rc.start(work, (values["events"], values["loops"])) for _ in range(values["workers"])]
        rc.join(*processes)

    def summarize(self, trace):
        return {"loops": [r for r in trace.results() if "loop_ns" in r]}


class WorkBlocks(Lesson):
    id = "bench_work_blocks"
    title_en = title_zh = "benchmark: work, bare and instrumented in turn"

    def __init__(self, blocks: int = 80, block_events: int = 1000, loops: int = 500):
        self.specs = (_count("blocks", blocks), _count("block_events", block_events), _count("loops", loops))

    def run(self, rc, values):
        rc.join(rc.start(work_blocks, (values["blocks"], values["block_events"], values["loops"])))

    def summarize(self, trace):
        return {"blocks": [r["blocks"] for r in trace.results() if "blocks" in r]}


class Start(Lesson):
    id = "bench_start"
    title_en = title_zh = "benchmark: start"

    def __init__(self, n_workers: int = 8):
        self.specs = (workers(n_workers),)

    def run(self, rc, values):
        processes = [rc.start(first_line) for _ in range(values["workers"])]
        rc.join(*processes)

    def summarize(self, trace):
        return {}


def register(*lessons: Lesson) -> None:
    """Make benchmark lessons known to the runner (and the window's lesson list)."""
    from app.core.lessons import LESSONS  # here, not at the top: a spawned worker needs no catalogue

    for lesson in lessons:
        LESSONS[lesson.id] = lesson
