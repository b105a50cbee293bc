"""Parent side of the bare baselines: N plain processes, one ``Pipe`` each, a start gun, a receiver.

Mirrors the runner's transport without anything of ProcScope: ``connection.wait``
on every pipe, ``recv_bytes``, ``np.frombuffer`` — so a lesson's figure can be
set against what bare ``multiprocessing`` does on the same machine in the same run.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import wait
from time import perf_counter_ns

import numpy as np

RECORD_FIELDS = 5


class BareGroup:
    def __init__(self, method: str, target, args_of, count: int):
        ctx = multiprocessing.get_context(method)
        self.ready = ctx.Semaphore(0)
        self.go = ctx.Event()
        self.readers = []
        self.processes = []
        try:
            for i in range(count):
                reader, writer = ctx.Pipe(duplex=False)
                process = ctx.Process(target=target, args=(writer, i, self.ready, self.go, *args_of(i)))
                process.start()
                writer.close()
                self.readers.append(reader)
                self.processes.append(process)
            for _ in range(count):
                if not self.ready.acquire(timeout=120):
                    raise RuntimeError("a bare worker did not start within 120 s")
        except BaseException:
            self.close()
            raise

    def fire(self) -> int:
        go_ns = perf_counter_ns()
        self.go.set()
        return go_ns

    def receive(self, on_batch) -> None:
        """Read every pipe until each is closed; ``on_batch(records (n, 5), arrival_ns)`` per message."""
        live = list(self.readers)
        while live:
            for conn in wait(live):
                try:
                    data = conn.recv_bytes()
                except (EOFError, OSError):
                    live.remove(conn)
                    continue
                on_batch(np.frombuffer(data, dtype=np.int64, offset=8).reshape(-1, RECORD_FIELDS), perf_counter_ns())

    def close(self) -> None:
        for process in self.processes:
            process.join(30)
            if process.exitcode is None:
                process.kill()
                process.join(5)
        for reader in self.readers:
            reader.close()
