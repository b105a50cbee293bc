"""psutil samples of every process of a run: CPU % and resident memory.

Runs in its own thread at a few hertz (psutil costs ~6 ms a tick for 64
processes: DESIGN §5), and reports through the same event path as workers.
"""

from __future__ import annotations

import threading
from time import perf_counter_ns

import numpy as np
import psutil

from app.core import events as ev

SAMPLE_HZ = 4.0


class Sampler:
    def __init__(self, pids, emit, hz: float = SAMPLE_HZ):
        self._pids = pids  # callable: {index: pid} of the run's live processes
        self._emit = emit  # callable(records ndarray)
        self._period = 1.0 / hz
        self._stop = threading.Event()
        self._procs: dict[int, psutil.Process] = {}
        self._thread = threading.Thread(target=self._loop, name="procscope-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)

    def _loop(self) -> None:
        while not self._stop.wait(self._period):
            self.sample_once()

    def sample_once(self) -> None:
        rows = []
        for index, pid in list(self._pids().items()):
            proc = self._procs.get(pid)
            try:
                if proc is None:
                    proc = self._procs[pid] = psutil.Process(pid)
                    proc.cpu_percent(None)  # the first reading is always 0: prime it
                    continue
                with proc.oneshot():
                    cpu = proc.cpu_percent(None)
                    rss = proc.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            if rss == 0:  # an exited process not yet reaped (a zombie) has no memory to report
                continue
            rows.append((perf_counter_ns(), index, ev.SAMPLE, int(cpu * 100), rss))
        if rows:
            self._emit(np.array(rows, dtype=np.int64))
