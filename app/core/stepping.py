"""Step mode: hold every worker at its step points and let them through in a written order.

A *step point* is the moment just before an action on shared state (a read, a
write, a lock's acquire or release, a queue's get or put, an event's wait or
set, a condition's notify). Outside step mode a step point costs one attribute
check (``Probe.gate is None``).

In step mode each worker the lesson starts gets a ``Gate`` (a semaphore at 0):
at a step point it sends a STEP text (what it is about to do), which also
flushes its records, and blocks on the semaphore — no CPU while held. The
parent's ``Stepper`` thread reads the event stream and, for each number of the
schedule (``1,2,1,2``: the k-th worker the lesson started, named Process-k on
its lane), waits until every worker has *settled* — held at a step point,
ended, or blocked on the way (a lock another process holds, an empty queue) —
then lets that one through. A step for a blocked or ended worker is refused
(recorded, said in the summary's ``errors``); the schedule ends there. When the
schedule ends, every gate opens for good and the run goes on freely.

Held workers end with the run like any worker: Stop terminates them, and the
parent watch of every worker ends them when the app is killed (the semaphore
wait releases the GIL, so the watch thread runs).

Imported by workers: standard library only.
"""

from __future__ import annotations

import threading
import time

from app.core import events as ev

POINTS = ("read", "write", "acquire", "release", "get", "put", "wait", "set", "notify")

QUIET_S = 0.2  # a worker waiting for a lock another holds: this long without news, it is blocked
SETTLE_S = 0.75  # a worker waiting for anything else (a queue, an event): this long without news, it is blocked
LATE_S = 10.0  # a step for a worker the lesson has not started: refused after this long
POLL_S = 0.05  # how quickly the stepper notices a stop


class ScheduleError(ValueError):
    """A schedule that cannot be used: one line naming the problem."""


def parse_schedule(text: str, workers: int | None) -> list[int]:
    """``"1,2,1,2"`` → ``[1, 2, 1, 2]``; each a process number from 1 to ``workers``."""
    allowed = f"process numbers from 1 to {workers}" if workers else "process numbers from 1"
    parts = [p.strip() for p in str(text).split(",")]
    if not text.strip() or any(not p for p in parts):
        raise ScheduleError(f"--schedule: {text!r} is not a schedule; allowed: {allowed} separated by commas, "
                            "e.g. 1,2,1,2")
    out = []
    for n, part in enumerate(parts, 1):
        if not part.isdigit() or not part.isascii():
            raise ScheduleError(f"--schedule: step {n} {part!r} is not a process number; allowed: {allowed} "
                                "separated by commas, e.g. 1,2,1,2")
        number = int(part)
        if number < 1 or (workers is not None and number > workers):
            raise ScheduleError(f"--schedule: step {n} names process {number}, but this run has "
                                f"{workers} worker(s); allowed: {allowed}")
        out.append(number)
    return out


def schedule_text(steps) -> str:
    """The schedule of the steps taken, as ``--schedule`` takes it."""
    return ",".join(str(s["process"]) for s in steps)


# --- worker side ------------------------------------------------------------------------
class Gate:
    """One worker's gate: the parent releases ``sem`` once per step; ``free`` opens every gate for good."""

    def __init__(self, sem, free, target):
        self.sem = sem
        self.free = free
        self.target = target

    def __call__(self, probe, *args):  # the worker's target: install the gate, then run the lesson's target
        probe.gate = self
        return self.target(probe, *args)

    def point(self, probe, kind: str, obj: str) -> None:
        if self.free.value:
            return
        probe.text(ev.STEP, {"point": kind, "object": obj})  # a text flushes: the parent sees it now
        self.sem.acquire()


# --- parent side ------------------------------------------------------------------------
class _Worker:
    __slots__ = ("number", "index", "sem", "held", "point", "ended", "state", "detail", "seen", "moved", "last",
                 "name")

    def __init__(self, number: int, index: int, sem):
        self.number, self.index, self.sem = number, index, sem
        self.name = f"Process-{number}"  # until its lane's name arrives (a lesson may name its workers)
        self.held = False
        self.point = None  # (kind, object) of the step point it is held at, or last passed
        self.last = None  # the step point it passed last
        self.ended = False
        self.state, self.detail = ev.STARTING, 0
        self.seen = time.monotonic()  # when its state last changed
        self.moved = False  # it recorded something since it was last let through


class Stepper:
    """Enforces a schedule on the workers of one run (see the module's docstring)."""

    def __init__(self, ctx, schedule: list[int], emit_text, stopping):
        self.schedule = list(schedule)
        self._ctx = ctx
        self._emit_text = emit_text  # (index, kind, payload): into the trace
        self._stopping = stopping  # () -> bool
        self._free = ctx.RawValue("b", 0)
        self._workers: list[_Worker] = []
        self._by_index: dict[int, _Worker] = {}
        self._holders: dict[int, set[int]] = {}  # lock id -> lane indexes holding it
        self._cond = threading.Condition()
        self._closed = False
        self._last_go = time.monotonic()  # the last step let a worker through: what it does may free others
        self._thread = threading.Thread(target=self._run, name="procscope-stepper", daemon=True)

    # --- hooks called by the runner ---------------------------------------------------
    def gate(self, index: int, target):
        """The target of the worker at lane ``index``, gated."""
        sem = self._ctx.Semaphore(0)
        with self._cond:
            worker = _Worker(len(self._workers) + 1, index, sem)
            self._workers.append(worker)
            self._by_index[index] = worker
            self._cond.notify_all()
        return Gate(sem, self._free, target)

    def tap(self, listener):
        """The runner's listener, with this stepper reading the stream first."""
        feed = self.feed
        if listener is None:
            return feed

        def both(records, texts):
            feed(records, texts)
            listener(records, texts)

        return both

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(2.0)

    def feed(self, records, texts) -> None:
        """Every batch of the event stream (called under the runner's emit lock: quick, no waiting)."""
        now = time.monotonic()
        changed = False
        with self._cond:
            if records is not None and len(records):
                for _t, index, kind, a, b in records.tolist():
                    if kind == ev.LOCK:
                        if a == ev.LOCK_ACQUIRED:
                            self._holders.setdefault(b, set()).add(index)
                        elif a == ev.LOCK_RELEASED:
                            self._holders.get(b, set()).discard(index)
                        continue
                    worker = self._by_index.get(index)
                    if worker is None:
                        continue
                    if kind == ev.STATE:
                        worker.state, worker.detail, worker.seen, worker.moved = a, b, now, True
                        if a >= ev.DONE:
                            worker.ended = True
                        changed = True
                    elif kind == ev.EXIT:
                        worker.ended = changed = True
            for _t, index, kind, payload in texts:
                worker = self._by_index.get(index)
                if kind == ev.META and worker is not None and isinstance(payload, dict) and payload.get("name"):
                    worker.name = str(payload["name"])
                if kind == ev.STEP and worker is not None and isinstance(payload, dict):
                    worker.held, worker.moved, worker.seen = True, True, now
                    worker.point = (payload.get("point"), payload.get("object"))
                    changed = True
            if changed:
                self._cond.notify_all()

    # --- the schedule -----------------------------------------------------------------
    def _run(self) -> None:
        for n, number in enumerate(self.schedule, 1):
            outcome = self._next(n, number)
            if outcome is None:  # the run is ending: its processes are ended with it, nothing is let go
                return
            worker, payload, message = outcome
            # emitted here, not under the condition: the runner's emit lock is taken before ``feed``'s
            self._emit_text(ev.PARENT_INDEX, ev.STEP, payload)
            if worker is None:
                self._emit_text(ev.PARENT_INDEX, ev.ERROR, message)
                break
            worker.sem.release()
        else:
            with self._cond:  # the last step's effect shows (a worker it left blocked stays so) before all go
                while not self._all_settled():
                    if self._done():
                        return
                    self._cond.wait(POLL_S)
        self._open_all()

    def _done(self) -> bool:
        return self._closed or self._stopping()

    def _next(self, n: int, number: int):
        """Wait until every worker has settled, then let process ``number`` through its step point.

        Returns (worker, payload, None) for a step taken, (None, payload, message) for a refused
        one, None if the run is ending."""
        started_wait = time.monotonic()
        with self._cond:
            while True:
                if self._done():
                    return None
                worker = self._workers[number - 1] if number <= len(self._workers) else None
                if self._all_settled():
                    if worker is not None:
                        break
                    if time.monotonic() - started_wait > LATE_S:
                        return self._refusal(n, number, None, f"the lesson did not start a worker number {number}")
                self._cond.wait(POLL_S)
            if worker.ended or not worker.held:
                return self._refusal(n, number, worker, self._why_not(worker))
            worker.held, worker.moved = False, False
            worker.last = worker.point
            worker.seen = self._last_go = time.monotonic()
            kind, obj = worker.point
            return worker, {"step": n, "process": number, "index": worker.index, "point": kind, "object": obj}, None

    def _all_settled(self) -> bool:
        now = time.monotonic()
        return all(w.held or w.ended or self._blocked(w, now) for w in self._workers)

    def _blocked(self, w: _Worker, now: float) -> bool:
        if not w.moved or w.state not in (ev.WAITING, ev.BLOCKED):
            return False
        others = self._holders.get(w.detail - 1, set()) - {w.index} if w.state == ev.WAITING and w.detail else set()
        # quiet since it blocked and since the last step, which may have freed it (a put, a release)
        return now - max(w.seen, self._last_go) >= (QUIET_S if others else SETTLE_S)

    def _why_not(self, w: _Worker) -> str:
        if w.ended:
            return f"{w.name} has ended"
        what = f"{w.last[0]} {w.last[1]}" if w.last else "its start"
        how = "waiting" if w.state == ev.WAITING else "blocked"
        why = f"{w.name} is {how} (it passed \"{what}\")"
        if w.state == ev.WAITING and w.detail:
            lock = w.detail - 1
            holders = sorted(self._holders.get(lock, set()) - {w.index})
            names = [self._by_index[i].name if i in self._by_index else f"lane {i}" for i in holders]
            why += f": it waits for lock {lock}" + (f", held by {', '.join(names)}" if names else "")
        elif w.state == ev.BLOCKED:
            why += ": it waits on a queue"
        return why

    @staticmethod
    def _refusal(n: int, number: int, worker, why: str):
        message = f"--schedule: step {n} (process {number}) refused: {why}; the rest of the run went on freely"
        payload = {"step": n, "process": number, "refused": why}
        if worker is not None:
            payload["index"] = worker.index
        return None, payload, message

    def _open_all(self) -> None:
        """The schedule is over: every gate opens for good."""
        self._free.value = 1
        with self._cond:
            workers = list(self._workers)
        for w in workers:
            if not w.ended:
                w.sem.release()


# --- reading a trace ----------------------------------------------------------------------
def steps_taken(trace) -> list[dict]:
    """The steps a run took, in order: ``{process, point, object}`` each."""
    out = []
    for _t, _index, _kind, payload in sorted(trace.texts_of(ev.STEP, ev.PARENT_INDEX), key=lambda t: t[0]):
        if isinstance(payload, dict) and "refused" not in payload:
            out.append({"process": payload.get("process"), "point": payload.get("point"),
                        "object": payload.get("object")})
    return out


def steps_refused(trace) -> list[dict]:
    return [t[3] for t in trace.texts_of(ev.STEP, ev.PARENT_INDEX)
            if isinstance(t[3], dict) and "refused" in t[3]]
