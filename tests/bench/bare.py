"""Bare ``multiprocessing`` workers: the baselines the instrumented lessons are measured against.

Standard library only (spawned children import this module): what a student's
own script would do, with nothing of ProcScope in the way.
"""

from __future__ import annotations

import time
from array import array
from time import perf_counter_ns

BATCH_RECORDS = 64  # the same batch size as the probe
RECORD_FIELDS = 5
_LIMIT = 1 + BATCH_RECORDS * RECORD_FIELDS


def spin(loops: int) -> int:
    """CPU work: the same in bare and instrumented loops (the parent calibrates ``loops`` to ~20 µs)."""
    total = 0
    for k in range(loops):
        total += k
    return total


def pipe_flood(conn, index: int, ready, go, count: int) -> None:
    """The batched-Pipe ceiling: int64 records, 64 a message, as fast as possible."""
    buf = array("q", (1,))
    ready.release()
    go.wait()
    for i in range(count):
        buf.extend((perf_counter_ns(), index, 1, 0, i))
        if len(buf) >= _LIMIT:
            conn.send_bytes(buf)
            del buf[1:]
    if len(buf) > 1:
        conn.send_bytes(buf)
    conn.close()


def pipe_paced(conn, index: int, ready, go, interval_ns: int, count: int, phase_ns: int) -> None:
    """One record every ``interval_ns``, each sent at once: the transport's own latency."""
    ready.release()
    go.wait()
    due = perf_counter_ns() + phase_ns
    for i in range(count):
        now = perf_counter_ns()
        if due > now:
            time.sleep((due - now) / 1e9)
        conn.send_bytes(array("q", (1, perf_counter_ns(), index, 0, 1, i)))
        due += interval_ns
    conn.close()


def work_loop(conn, count: int, loops: int) -> None:
    """``count`` units of work, nothing recorded; sends the loop's wall and CPU time (ns)."""
    start, cpu = perf_counter_ns(), time.thread_time_ns()
    for _ in range(count):
        spin(loops)
    conn.send((perf_counter_ns() - start, time.thread_time_ns() - cpu))
    conn.close()


def first_line(times, i: int) -> None:
    """A child's first line: when it ran (system-wide monotonic ns)."""
    times[i] = perf_counter_ns()
