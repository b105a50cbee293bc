"""Ingest: 64 workers recording as fast as they can, through probe → runner → trace (the target: ≥ 300k/s).

The rate counts from the start gun (every worker up and waiting) to the last
event's arrival into the trace; lost = recorded − arrived. The baseline is the
bare batched-Pipe sender (``bare.pipe_flood``) with the same workers and start
method, measured in alternation with the lesson.
"""

from __future__ import annotations

from time import perf_counter_ns

import numpy as np

from app.core import events as ev
from app.core.runner import Runner
from tests.bench import bare
from tests.bench.common import figure
from tests.bench.group import BareGroup
from tests.bench.lessons import Flood, register

METHOD = "spawn"
TARGET_PER_S = 300_000


def lesson_rate(workers: int, events: int) -> tuple[float, int]:
    """(events/s into the trace, events lost) of one run of the flood lesson."""
    last_arrival = [0]

    def listener(records, _texts):
        if records is not None and len(records) and (records[:, 2] == ev.VALUE).any():
            last_arrival[0] = perf_counter_ns()

    runner = Runner("bench_flood", {"workers": workers, "events": events}, METHOD, listener=listener)
    trace = runner.run(timeout=600)
    if runner.status != "done":
        raise RuntimeError(f"the flood run ended {runner.status}")
    go_ns = next(r["go_ns"] for r in trace.results() if "go_ns" in r)
    recs = trace.records
    arrived = int(np.count_nonzero((recs[:, 2] == ev.VALUE) & (recs[:, 1] >= 0)))
    return arrived * 1e9 / (last_arrival[0] - go_ns), workers * events - arrived


def bare_rate(workers: int, events: int) -> tuple[float, int]:
    """(events/s, events lost) of the bare batched-Pipe sender."""
    group = BareGroup(METHOD, bare.pipe_flood, lambda i: (events,), workers)
    chunks, last = [], [0]

    def on_batch(records, arrival_ns):
        chunks.append(records)
        last[0] = arrival_ns

    try:
        go_ns = group.fire()
        group.receive(on_batch)
    finally:
        group.close()
    arrived = sum(len(c) for c in chunks)
    return arrived * 1e9 / (last[0] - go_ns), workers * events - arrived


def run(quick: bool) -> list[dict]:
    workers, events, repeats = (4, 2_000, 1) if quick else (64, 20_000, 3)
    register(Flood(workers, events))
    rates, lost, bare_rates, bare_lost = [], [], [], []
    for _ in range(repeats):  # alternate, so that the machine's noise hits both alike
        rate, gone = bare_rate(workers, events)
        bare_rates.append(rate)
        bare_lost.append(gone)
        rate, gone = lesson_rate(workers, events)
        rates.append(rate)
        lost.append(gone)
    note = f"{workers} workers × {events} events, {METHOD}; baseline: bare batched Pipe"
    return [
        figure("ingest", rates, "events/s", TARGET_PER_S, bare_rates, better="higher", quick=quick, note=note),
        figure("ingest_lost", lost, "events", 0, bare_lost, quick=quick, timing=False,
               note="events recorded by workers that never reached the trace"),
    ]
