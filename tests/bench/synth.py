"""Synthetic runs for the rendering and memory benchmarks: what a long live run leaves in a trace.

``make_run(segments, writes)``: 64 lanes sharing ``segments`` state changes and
64 value slots sharing ``writes`` writes, spread over the last ``span_s``
seconds (so a live run's view, which shows the last 30 s, shows all of it),
with the texts a real run has (META, HELLO, a few prints). States are random;
each value walks by ±1 per write, as the lessons' counters do. ``LiveFeed``
makes what arrives between two frames.
"""

from __future__ import annotations

from time import perf_counter_ns

import numpy as np

from app.core import events as ev
from app.core.trace import Trace

LANES = 64
SLOTS = 64
SPAN_S = 20.0
BATCH_RECORDS = 64  # appended as the runner does: one pipe message at a time


def make_run(segments: int, writes: int, lanes: int = LANES, slots: int = SLOTS, span_s: float = SPAN_S,
             seed: int = 1, status: str = "running") -> Trace:
    meta, texts, rows = make_rows(segments, writes, lanes, slots, span_s, seed, status)
    trace = Trace(meta)
    trace.append(None, texts)
    for start in range(0, len(rows), BATCH_RECORDS):
        trace.append(rows[start:start + BATCH_RECORDS])
    return trace


def make_rows(segments: int, writes: int, lanes: int = LANES, slots: int = SLOTS, span_s: float = SPAN_S,
              seed: int = 1, status: str = "running") -> tuple[dict, list, np.ndarray]:
    """The run's meta, its texts and its records in time order (the trace's parts, before any append)."""
    rng = np.random.default_rng(seed)
    now = perf_counter_ns()
    t0 = now - int(span_s * 1e9)
    meta = {"lesson": "bench", "params": {}, "start_method": "spawn", "t0_ns": t0, "status": status,
            "value_slots": [{"name": f"value {k}", "initial": 0} for k in range(slots)]}
    texts = []
    for i in range(lanes):
        texts.append((t0 + i, i, ev.META, {"name": f"Process-{i + 1}", "role": "worker", "requested_ns": t0 + i}))
        texts.append((t0 + i + 1, i, ev.META, {"pid": 100_000 + i}))
        texts.append((t0 + 1000 + i, i, ev.HELLO, {"name": f"Process-{i + 1}", "pid": 100_000 + i, "ppid": 1,
                                                   "role": "worker", "main_module": "__mp_main__"}))
        texts.append((t0 + 2000 + i, i, ev.PRINT, f"worker {i} says hello"))
    rows = np.concatenate([_states(rng, segments, lanes, t0 + 10_000, now),
                           _walks(_writes(rng, writes, slots, lanes, t0 + 10_000, now), rng)])
    return meta, texts, rows[np.argsort(rows[:, 0], kind="stable")]


def _walks(rows: np.ndarray, rng) -> np.ndarray:
    """Each slot's values walk by ±1 from 0 in time order (what counters do)."""
    if not len(rows):
        return rows
    order = np.lexsort((rows[:, 0], rows[:, 3]))  # by slot, then time
    rows = rows[order]
    steps = rng.choice(np.array([-1, 1], dtype=np.int64), len(rows))
    walk = np.cumsum(steps)
    first = np.flatnonzero(np.concatenate([[True], rows[1:, 3] != rows[:-1, 3]]))
    base = np.repeat(walk[first] - steps[first], np.diff(np.append(first, len(rows))))
    rows[:, 4] = walk - base
    return rows


def _states(rng, n: int, lanes: int, first_ns: int, last_ns: int) -> np.ndarray:
    rows = np.empty((n, ev.RECORD_FIELDS), dtype=np.int64)
    rows[:, 0] = rng.integers(first_ns, last_ns, n)
    rows[:, 1] = rng.integers(0, lanes, n)
    rows[:, 2] = ev.STATE
    rows[:, 3] = rng.integers(ev.WORKING, ev.IDLE + 1, n)
    rows[:, 4] = 0
    return rows


def _writes(rng, n: int, slots: int, lanes: int, first_ns: int, last_ns: int) -> np.ndarray:
    rows = np.empty((n, ev.RECORD_FIELDS), dtype=np.int64)
    rows[:, 0] = rng.integers(first_ns, last_ns, n)
    rows[:, 1] = rng.integers(0, lanes, n)
    rows[:, 2] = ev.VALUE
    rows[:, 3] = rng.integers(0, slots, n)
    rows[:, 4] = rng.integers(-1000, 1000, n)
    return rows


class LiveFeed:
    """What arrives between two frames: one state change per lane, one ±1 write per slot."""

    def __init__(self, trace: Trace, seed: int = 7, lanes: int = LANES, slots: int = SLOTS):
        self.trace, self.lanes, self.slots = trace, lanes, slots
        self.rng = np.random.default_rng(seed)
        recs = trace.records
        writes = recs[recs[:, 2] == ev.VALUE]
        self.values = np.zeros(slots, dtype=np.int64)
        self.values[writes[:, 3]] = writes[:, 4]  # in time order: the last write of each slot stays

    def __call__(self) -> None:
        now = perf_counter_ns()
        states = _states(self.rng, self.lanes, self.lanes, now - 1000, now)
        states[:, 1] = np.arange(self.lanes)
        writes = _writes(self.rng, self.slots, self.slots, self.lanes, now - 1000, now)
        writes[:, 3] = np.arange(self.slots)
        self.values += self.rng.choice(np.array([-1, 1], dtype=np.int64), self.slots)
        writes[:, 4] = self.values
        self.trace.append(np.concatenate([states, writes]))
