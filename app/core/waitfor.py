"""Deadlock detection from the event stream: who holds which lock, who waits for which.

Workers flush before they block, and a flush sends every earlier record of
that process in order, so when a LOCK_REQUEST arrives the parent also knows
every lock that process still holds. A cycle of processes each waiting for a
lock held by the next is therefore a real deadlock, not a stale picture: every
member is blocked, and only another (blocked) member could release it.
"""

from __future__ import annotations

import numpy as np

from app.core import events as ev


class WaitForGraph:
    def __init__(self):
        self.holders: dict[int, set[int]] = {}  # lock id -> processes holding it
        self.waiting: dict[int, tuple[int, int]] = {}  # process -> (lock id, since t_ns)
        self.gone: set[int] = set()

    def feed(self, records: np.ndarray) -> bool:
        """Fold LOCK and EXIT records; True if anything relevant changed."""
        mask = (records[:, 2] == ev.LOCK) | (records[:, 2] == ev.EXIT)
        if not mask.any():
            return False
        for t_ns, index, kind, op, lock in records[mask].tolist():
            if kind == ev.EXIT:
                self.gone.add(index)
                self.waiting.pop(index, None)
                for holders in self.holders.values():
                    holders.discard(index)
            elif op == ev.LOCK_REQUEST:
                self.waiting[index] = (lock, t_ns)
            elif op == ev.LOCK_ACQUIRED:
                self.waiting.pop(index, None)
                self.holders.setdefault(lock, set()).add(index)
            elif op == ev.LOCK_RELEASED:
                self.holders.get(lock, set()).discard(index)
        return True

    def find_cycle(self) -> dict | None:
        """The first wait-for cycle: processes, the locks they wait for, when it formed."""
        for start in self.waiting:
            path, locks, node = [], [], start
            while node in self.waiting and node not in path:
                lock, _since = self.waiting[node]
                holders = self.holders.get(lock, set())
                if len(holders) != 1:  # free, or a multi-slot semaphore: not a simple wait
                    break
                path.append(node)
                locks.append(lock)
                node = next(iter(holders))
            if node in path:
                begin = path.index(node)
                cycle, cycle_locks = path[begin:], locks[begin:]
                formed = max(self.waiting[p][1] for p in cycle)
                return {"cycle": cycle, "locks": cycle_locks, "formed_ns": formed}
        return None
