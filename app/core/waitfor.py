"""Deadlock and stuck-process detection from the event stream: who holds which lock, who waits for
which, who waits on which token queue.

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
        self.lock_events: dict[int, int] = {}  # lock id -> how many LOCK records it had
        self.queue_last: dict[int, dict[int, int]] = {}  # queue id -> {process: its last QUEUE step}
        self.queue_events: dict[int, int] = {}  # queue id -> how many QUEUE records it had

    def feed(self, records: np.ndarray) -> bool:
        """Fold LOCK, QUEUE and EXIT records; True if a lock or an exit changed (a cycle may have formed)."""
        kinds = records[:, 2]
        mask = (kinds == ev.LOCK) | (kinds == ev.EXIT) | (kinds == ev.QUEUE)
        if not mask.any():
            return False
        changed = False
        for t_ns, index, kind, op, lock in records[mask].tolist():
            if kind == ev.QUEUE:  # ``lock`` is the queue id here
                self.queue_last.setdefault(lock, {})[index] = op
                self.queue_events[lock] = self.queue_events.get(lock, 0) + 1
                continue
            changed = True
            if kind == ev.LOCK:
                self.lock_events[lock] = self.lock_events.get(lock, 0) + 1
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
        return changed

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


# --- processes stuck because another one died ------------------------------------------------
# A process that died (killed, crashed) can leave others waiting for something only it could give:
# the lock it held, the token it took from a queue (or the queue's read lock, held inside get()),
# the result of the pool task it was running. multiprocessing never notices; the run would hang.

STUCK_QUIET_S = 0.4  # a finding counts once nothing changed on its lock or queue for this long


def stuck_of(graph: WaitForGraph, dead: set[int], exited: set[int]) -> list[dict]:
    """What processes wait for in vain because of the ``dead`` ones (indexes that ended without
    finishing; ``exited``: every index known to have ended). Each finding: ``kind`` ("lock" or
    "queue"), ``resource`` (lock or queue id), ``dead``, ``waiting`` (live indexes), ``how``
    (the dead one "held" the lock; "took" the token, died "reading" or just after it "put" one)
    and ``progress`` (events seen on that resource: a change means it was not stuck after all)."""
    found = []
    for lock, holders in graph.holders.items():
        waiting = sorted(p for p, (wanted, _t) in graph.waiting.items() if wanted == lock and p not in exited)
        if waiting and holders and holders <= dead:
            found.append({"kind": "lock", "resource": lock, "dead": sorted(holders), "waiting": waiting,
                          "how": "held", "progress": graph.lock_events.get(lock, 0)})
    for queue, last in graph.queue_last.items():
        waiting = sorted(p for p, op in last.items() if op == ev.QUEUE_WAIT and p not in exited)
        if not waiting or any(op == ev.QUEUE_GOT and p not in exited for p, op in last.items()):
            continue  # nobody waits, or a live process holds a token it will put back
        culprits = sorted(p for p in last if p in dead)
        if culprits:
            how = {ev.QUEUE_GOT: "took", ev.QUEUE_WAIT: "reading", ev.QUEUE_PUT: "put"}[last[culprits[0]]]
            found.append({"kind": "queue", "resource": queue, "dead": culprits, "waiting": waiting,
                          "how": how, "progress": graph.queue_events.get(queue, 0)})
    return found


def lost_task(records: np.ndarray, index: int) -> int | None:
    """The pool task that process ``index`` started and never ended (it died running it), or None."""
    mine = records[(records[:, 1] == index) & (records[:, 2] == ev.TASK)]
    open_tasks: set[int] = set()
    for _t, _i, _k, task, what in mine[np.argsort(mine[:, 0], kind="stable")].tolist():
        (open_tasks.add if what == ev.TASK_START else open_tasks.discard)(task)
    return min(open_tasks) if open_tasks else None


class StuckWatch:
    """Confirms findings of ``stuck_of``: one that stays the same, with no event on its lock or
    queue, for ``quiet_s`` is a process waiting for ever (a last record of the dead process may
    still be on its way when it is first seen)."""

    def __init__(self, quiet_s: float = STUCK_QUIET_S):
        self.quiet_ns = int(quiet_s * 1e9)
        self._since: dict[tuple, tuple[int, int]] = {}  # (kind, resource, dead, waiting) -> (progress, first seen)

    def find_stuck(self, findings: list[dict], now_ns: int) -> dict | None:
        seen = {}
        confirmed = None
        for f in findings:
            key = (f["kind"], f["resource"], tuple(f["dead"]), tuple(f["waiting"]))
            progress, since = self._since.get(key, (f["progress"], now_ns))
            if progress != f["progress"]:
                since = now_ns
            seen[key] = (f["progress"], since)
            if confirmed is None and now_ns - since >= self.quiet_ns:
                confirmed = f
        self._since = seen
        return confirmed


def _names_en(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _names_zh(names: list[str]) -> str:
    return names[0] if len(names) == 1 else "、".join(names[:-1]) + " 和 " + names[-1]


def explain_stuck(found: dict, names: dict[int, str]) -> dict:
    """A sentence a student understands, in English and Chinese: who died, who waits for ever, why."""
    dead = names.get(found["dead"][0], f"#{found['dead'][0]}")
    waiting = [names.get(i, f"#{i}") if i >= 0 else "parent" for i in found["waiting"]]
    w_en, w_zh = _names_en(waiting), _names_zh(waiting)
    verb = "waits" if len(waiting) == 1 else "wait"
    end_en = " The app noticed it and ended the run (a program on its own would hang here)."
    end_zh = "程序发现了这一点并结束了运行（单独运行的程序会在这里永远卡住）。"
    kind, how = found["kind"], found["how"]
    if kind == "lock":
        en = f"{dead} died holding the lock; nobody can ever take it, so {w_en} {verb} forever."
        zh = f"{dead} 在持有锁时死亡；没有人能再拿到这把锁，所以 {w_zh} 永远等待下去。"
    elif kind == "queue" and how == "took":
        en = (f"{dead} died holding the token it took from the queue; only it would have put the next one, "
              f"so {w_en} {verb} on q.get() forever.")
        zh = f"{dead} 从队列取走令牌后死亡；只有它会放入下一个令牌，所以 {w_zh} 永远阻塞在 q.get() 上。"
    elif kind == "queue" and how == "put":
        en = (f"{dead} died just after putting the token back; a Queue sends it from a background thread, "
              f"which died with the process, so the token never arrived and {w_en} {verb} on q.get() forever.")
        zh = (f"{dead} 在放回令牌后立即死亡；Queue 由后台线程发送数据，这个线程随进程一起死了，"
              f"令牌没有送到，所以 {w_zh} 永远阻塞在 q.get() 上。")
    elif kind == "queue":
        en = (f"{dead} died inside q.get(), where a Queue holds its read lock (or it had just taken the token); "
              f"nobody can read from the queue any more, so {w_en} {verb} forever.")
        zh = (f"{dead} 死在 q.get() 里——Queue 在这里持有它的读锁（或者它刚取走令牌）；"
              f"再也没有人能从队列中读取，所以 {w_zh} 永远等待下去。")
    else:
        task = found["resource"]
        en = (f"{dead} died in the middle of task {task}. A multiprocessing Pool starts a new worker but never "
              f"notices the lost task, so the parent would wait for its result forever "
              "(concurrent.futures' ProcessPoolExecutor raises BrokenProcessPool instead).")
        zh = (f"{dead} 在执行任务 {task} 时死亡。multiprocessing 的 Pool 会补上一个新进程，却不会发现这个任务丢了，"
              "所以父进程会永远等待它的结果（concurrent.futures 的 ProcessPoolExecutor 则会抛出 BrokenProcessPool）。")
    return {"en": en + end_en, "zh": zh + end_zh}
