"""A single-producer, single-consumer ring of event records in shared memory.

The receiver process writes records (the ``(t_ns, process, kind, a, b)``
int64 rows the workers send) and the app reads them, without a lock: the
producer alone moves ``head`` (rows ever written), the consumer alone moves
``tail`` (rows ever read), each after it copied the rows. A full ring makes
the producer wait: it stops reading the workers' pipes, they fill and the
workers wait in ``send_bytes`` — nothing is lost.

The two counters sit on separate cache lines; an aligned 8-byte store is
seen whole by the other process. The rows are copied before the counter that
publishes them is stored (x86-64 keeps stores in order; on a weakly ordered
CPU a reader could in principle copy a row before its bytes arrive — not seen
here, and untested on ARM).

The producer's side is standard library only (the receiver process imports no numpy).
"""

from __future__ import annotations

import time
from multiprocessing import shared_memory

from app.core import events as ev

ROW_BYTES = 8 * ev.RECORD_FIELDS
CAPACITY = 1 << 16  # rows (2.6 MB): ~6 ms of the fastest ingest measured, ~6 s of a paced 10k events/s run
_HEAD = 0  # int64 index of the head in the header (rows written)
_TAIL = 8  # of the tail (rows read): 64 bytes further, on a cache line of its own
_HEADER_BYTES = 128
FULL_WAIT_S = 0.0005  # how long a producer facing a full ring waits before it looks again


class Ring:
    """``Ring.create()`` in the app (it owns and unlinks the memory), ``Ring.attach(name)`` in the receiver."""

    def __init__(self, shm: shared_memory.SharedMemory, capacity: int, owner: bool):
        self._shm = shm
        self.capacity = capacity
        self._owner = owner
        self._counters = shm.buf[:_HEADER_BYTES].cast("q")
        self._data = shm.buf[_HEADER_BYTES:_HEADER_BYTES + capacity * ROW_BYTES]

    @classmethod
    def create(cls, capacity: int = CAPACITY) -> Ring:
        shm = shared_memory.SharedMemory(create=True, size=_HEADER_BYTES + capacity * ROW_BYTES)
        shm.buf[:_HEADER_BYTES] = bytes(_HEADER_BYTES)
        return cls(shm, capacity, owner=True)

    @classmethod
    def attach(cls, name: str, capacity: int) -> Ring:
        return cls(shared_memory.SharedMemory(name=name), capacity, owner=False)

    @property
    def name(self) -> str:
        return self._shm.name

    def pending(self) -> int:
        """Rows written and not yet read."""
        return self._counters[_HEAD] - self._counters[_TAIL]

    # --- the producer -----------------------------------------------------------------
    def put(self, data, rows: int | None = None, stopping=None) -> int:
        """Copy ``data`` (bytes of whole rows) in, waiting while the ring is full; the rows written.

        ``stopping()``, asked while it waits, gives up (the app is gone): what was not written is dropped.
        """
        view = memoryview(data).cast("B")
        rows = len(view) // ROW_BYTES if rows is None else rows
        done = 0
        counters, cap = self._counters, self.capacity
        while done < rows:
            head = counters[_HEAD]
            free = cap - (head - counters[_TAIL])
            if free <= 0:
                if stopping is not None and stopping():
                    return done
                time.sleep(FULL_WAIT_S)
                continue
            n = min(free, rows - done, cap - head % cap)  # up to the ring's end; the rest on the next turn
            at = (head % cap) * ROW_BYTES
            self._data[at:at + n * ROW_BYTES] = view[done * ROW_BYTES:(done + n) * ROW_BYTES]
            counters[_HEAD] = head + n  # publish: after the rows
            done += n
        return done

    # --- the consumer -----------------------------------------------------------------
    def take(self, limit: int | None = None):
        """Every row written since the last take (at most ``limit``), as a new ``(n, 5)`` int64 array, or None."""
        import numpy as np

        counters, cap = self._counters, self.capacity
        tail = counters[_TAIL]
        n = counters[_HEAD] - tail
        if limit is not None:
            n = min(n, limit)
        if n <= 0:
            return None
        out = np.empty((n, ev.RECORD_FIELDS), dtype=np.int64)
        flat = out.reshape(-1)
        start = tail % cap
        first = min(n, cap - start)
        data = np.frombuffer(self._data, dtype=np.int64)
        flat[: first * ev.RECORD_FIELDS] = data[start * ev.RECORD_FIELDS:(start + first) * ev.RECORD_FIELDS]
        if first < n:
            flat[first * ev.RECORD_FIELDS:] = data[: (n - first) * ev.RECORD_FIELDS]
        del data  # no view of the shared memory may outlive ``close``
        counters[_TAIL] = tail + n  # hand the rows' room back: after they were copied
        return out

    def close(self) -> None:
        """Let go of the memory (the owner also removes it)."""
        for view in (self._counters, self._data):
            view.release()
        try:
            self._shm.close()
        except BufferError:  # a view still exported somewhere: the memory goes with the process
            pass
        if self._owner:
            try:
                self._shm.unlink()
            except FileNotFoundError:
                pass
