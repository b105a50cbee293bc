"""Samples of every process of a run: CPU % and resident memory.

Runs in its own thread at a few hertz and reports through the same event path
as workers. That thread shares the GIL with the window's: psutil's Python
layer costs ~0.2 ms a process per reading, and 64 processes sampled at 4 Hz
held the window back (``tests/bench``: ``latency_window`` p99 ~100 ms with the
sampler, ~60 ms without). On Linux each process's ``/proc/<pid>/stat`` is kept
open and read with one ``pread`` (``ProcStat``): a few µs a process. Elsewhere,
psutil.
"""

from __future__ import annotations

import os
import sys
import threading
from time import perf_counter_ns

import numpy as np
import psutil

from app.core import events as ev

SAMPLE_HZ = 4.0


class ProcStat:
    """Linux: CPU seconds and resident bytes of processes, read from ``/proc/<pid>/stat`` kept open."""

    available = sys.platform.startswith("linux") and os.path.exists("/proc/self/stat")

    def __init__(self):
        self._fds: dict[int, int] = {}
        self._tick = os.sysconf("SC_CLK_TCK") if self.available else 100
        self._page = os.sysconf("SC_PAGE_SIZE") if self.available else 4096

    def read(self, pid: int) -> tuple[float, int] | None:
        """(CPU seconds used so far, resident bytes), or None once the process is gone or a zombie."""
        fd = self._fds.get(pid)
        try:
            if fd is None:
                fd = self._fds[pid] = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
            data = os.pread(fd, 1024, 0)
        except OSError:  # gone (and reaped): the open file refers to the old process, never a new one
            self.forget(pid)
            return None
        # "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ")"
        fields = data[data.rfind(b")") + 2:].split()
        if not fields or fields[0] == b"Z":  # a zombie has ended: it will not run again
            self.forget(pid)
            return None
        utime, stime, rss_pages = int(fields[11]), int(fields[12]), int(fields[21])
        return (utime + stime) / self._tick, rss_pages * self._page

    def forget(self, pid: int) -> None:
        fd = self._fds.pop(pid, None)
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        for pid in list(self._fds):
            self.forget(pid)


class Sampler:
    def __init__(self, pids, emit, hz: float = SAMPLE_HZ, clock=perf_counter_ns):
        self._pids = pids  # callable: {index: pid} of the run's live processes
        self._emit = emit  # callable(records ndarray)
        self._clock = clock
        self._period = 1.0 / hz
        self._stop = threading.Event()
        self._procs: dict[int, psutil.Process] = {}
        self._stat = ProcStat() if ProcStat.available else None
        self._last: dict[int, tuple[int, float]] = {}  # pid -> (just before, CPU seconds) of its last reading
        # Pids found gone (or zombies): never read again, so a dead one costs nothing and a reused one
        # (another program's process) is never reported as the run's.
        self._gone: set[int] = set()
        self._thread = threading.Thread(target=self._loop, name="procscope-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        if self._stat is not None and not self._thread.is_alive():
            self._stat.close()

    def _loop(self) -> None:
        while not self._stop.wait(self._period):
            self.sample_once()

    def sample_once(self) -> None:
        rows = []
        for index, pid in list(self._pids().items()):
            if pid in self._gone:
                continue
            reading = self._read(pid)
            if reading is not None:
                cpu, rss = reading
                rows.append((self._clock(), index, ev.SAMPLE, int(cpu * 100), rss))
        if rows:
            self._emit(np.array(rows, dtype=np.int64))

    def _read(self, pid: int) -> tuple[float, int] | None:
        """CPU % since the last reading and resident bytes; None for a first reading (it primes) or a gone process.

        The interval runs from just before the last read to just after this one, so it holds the whole
        time between the two: a sampler thread paused between its clock and its read (a loaded machine)
        makes the figure a little low, never above what the process could have used.
        """
        if self._stat is None:
            return self._read_psutil(pid)
        before = self._clock()
        reading = self._stat.read(pid)
        after = self._clock()
        if reading is None:
            self._last.pop(pid, None)
            self._gone.add(pid)
            return None
        cpu_s, rss = reading
        last = self._last.get(pid)
        self._last[pid] = (before, cpu_s)
        if last is None or rss == 0 or after <= last[0]:
            return None
        return 100.0 * (cpu_s - last[1]) / ((after - last[0]) / 1e9), rss

    def _read_psutil(self, pid: int) -> tuple[float, int] | None:
        proc = self._procs.get(pid)
        try:
            if proc is None:
                proc = self._procs[pid] = psutil.Process(pid)
                proc.cpu_percent(None)  # the first reading is always 0: prime it
                return None
            with proc.oneshot():
                cpu = proc.cpu_percent(None)
                rss = proc.memory_info().rss
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            self._procs.pop(pid, None)
            self._gone.add(pid)
            return None
        except psutil.AccessDenied:
            return None
        if rss == 0:  # an exited process not yet reaped (a zombie) has no memory to report
            self._procs.pop(pid, None)
            self._gone.add(pid)
            return None
        return cpu, rss
