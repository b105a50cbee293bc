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

In the window the ``Stepper`` is *interactive*: no written schedule; the
window asks for one step at a time (``request``) and hears back whether it was
taken or refused and why; ``release_all`` opens every gate (Run free) and
``hold_all`` closes them again (Pause: each worker stops at its next step
point). A refused step there is only an answer, not the end of stepping. The
steps taken are recorded exactly like a written schedule's, so their
``schedule_text`` given to ``--schedule`` replays the run.

Every STEP a worker sends stands for one wait on its semaphore, and each gets
exactly one release, under the stepper's lock: by a step, by opening the gates
(if it is held then), or at once on arrival while the gates are open.

Held workers end with the run like any worker: Stop terminates them, and the
parent watch of every worker ends them when the app is killed (the semaphore
wait releases the GIL, so the watch thread runs).

Imported by workers: standard library only.
"""

from __future__ import annotations

import queue as queue_module
import threading
import time

from app.core import events as ev

POINTS = ("read", "write", "acquire", "release", "get", "put", "wait", "set", "notify")

QUIET_S = 0.2  # a worker waiting for a lock another holds: this long without news, it is blocked
SETTLE_S = 0.75  # a worker waiting for anything else (a queue, an event): this long without news, it is blocked
LATE_S = 10.0  # a step for a worker the lesson has not started: refused after this long
LATE_ASKED_S = 1.0  # the same when asked in the window, where a wrong key should be answered quickly
OPEN_SETTLE_S = 3.0  # Run free waits at most this long for the last step to reach its next step point
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

    def __init__(self, ctx, schedule: list[int], emit_text, stopping, interactive: bool = False,
                 gates_open: bool = False):
        self.schedule = list(schedule)
        self.interactive = interactive
        self._asked: queue_module.Queue = queue_module.Queue()  # interactive: (command, argument, reply)
        self._open = gates_open  # the gates are open: a worker arriving at a step point goes straight on
        self._taken = 0
        self._ctx = ctx
        self._emit_text = emit_text  # (index, kind, payload): into the trace
        self._stopping = stopping  # () -> bool
        self._free = ctx.RawValue("b", 1 if gates_open else 0)
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
                kinds = records[:, 2]  # only the kinds read here: a busy run sends many others
                for _t, index, kind, a, b in records[(kinds == ev.LOCK) | (kinds == ev.STATE)
                                                     | (kinds == ev.EXIT)].tolist():
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
                    worker.moved, worker.seen = True, now
                    worker.point = (payload.get("point"), payload.get("object"))
                    if self._open:  # it checked the gates just before they opened: it goes on too
                        worker.last = worker.point
                        worker.sem.release()
                    else:
                        worker.held = True
                    changed = True
            if changed:
                self._cond.notify_all()

    # --- asked from the window (any thread; answers come from the stepper's thread) ------
    def request(self, number: int, reply) -> None:
        """Let process ``number`` through one step point; ``reply(answer)`` says what happened:
        ``{"taken": True, "process", "point", "object", "step"}`` or ``{"taken": False, "process",
        "reason": {...}, "text": English}`` (``reason["why"]``: ended, waiting, blocked, absent, free, ending)."""
        self._asked.put(("step", number, reply))

    def release_all(self) -> None:
        """Open every gate: the run goes on freely (until ``hold_all``)."""
        self._asked.put(("open", None, None))

    def hold_all(self) -> None:
        """Close the gates again: each worker stops at its next step point."""
        self._asked.put(("hold", None, None))

    @property
    def gates_open(self) -> bool:
        return self._open

    def held(self) -> dict[int, tuple[int, str, str]]:
        """{lane index: (process number, point, object)} of the workers held at a step point now."""
        with self._cond:
            return {w.index: (w.number, *w.point) for w in self._workers if w.held and not w.ended}

    def numbers(self) -> dict[int, int]:
        """{lane index: process number} of the workers step mode holds."""
        with self._cond:
            return {w.index: w.number for w in self._workers}

    def _serve(self) -> None:
        while not self._done():
            try:
                command, number, reply = self._asked.get(timeout=POLL_S)
            except queue_module.Empty:
                continue
            if command == "open":
                # a step just taken may not have reached its action yet (Process-2 let through to take lock 1,
                # not there yet): opening now would let the others overtake it, a different run from the
                # schedule's. Wait until every worker has settled, as a step does (bounded: free means free).
                self._wait_settled(OPEN_SETTLE_S)
                self._open_all()
            elif command == "hold":
                self._close_all()
            elif self._open:
                reply({"taken": False, "process": number, "reason": {"why": "free", "process": number},
                       "text": "the run goes on freely: Pause holds the workers again"})
            else:
                outcome = self._next(self._taken + 1, number, LATE_ASKED_S)
                if outcome is None:
                    reply({"taken": False, "process": number, "reason": {"why": "ending", "process": number},
                           "text": "the run is ending"})
                    return
                worker, payload, message = outcome
                if worker is None:
                    reply({"taken": False, "process": number, "reason": payload["reason"],
                           "text": payload["refused"]})
                    continue
                self._taken += 1
                self._emit_text(ev.PARENT_INDEX, ev.STEP, payload)
                worker.sem.release()
                reply({"taken": True, "process": number, "point": payload["point"], "object": payload["object"],
                       "step": payload["step"]})

    # --- the schedule -----------------------------------------------------------------
    def _run(self) -> None:
        if self.interactive:
            self._serve()
            return
        for n, number in enumerate(self.schedule, 1):
            outcome = self._next(n, number)
            if outcome is None:  # the run is ending: its processes are ended with it, nothing is let go
                return
            worker, payload, message = outcome
            payload.pop("reason", None)
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

    def _next(self, n: int, number: int, late_s: float = LATE_S):
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
                    if time.monotonic() - started_wait > late_s:
                        return self._refusal(n, number, None, {"why": "absent", "process": number})
                self._cond.wait(POLL_S)
            if worker.ended or not worker.held:
                return self._refusal(n, number, worker, self._why_parts(worker))
            worker.held, worker.moved = False, False
            worker.last = worker.point
            worker.seen = self._last_go = time.monotonic()
            kind, obj = worker.point
            return worker, {"step": n, "process": number, "index": worker.index, "point": kind, "object": obj}, None

    def _wait_settled(self, limit_s: float) -> None:
        deadline = time.monotonic() + limit_s
        with self._cond:
            while not self._done() and not self._all_settled() and time.monotonic() < deadline:
                self._cond.wait(POLL_S)

    def _all_settled(self) -> bool:
        now = time.monotonic()
        return all(w.held or w.ended or self._blocked(w, now) for w in self._workers)

    def _blocked(self, w: _Worker, now: float) -> bool:
        if not w.moved or w.state not in (ev.WAITING, ev.BLOCKED):
            return False
        others = self._holders.get(w.detail - 1, set()) - {w.index} if w.state == ev.WAITING and w.detail else set()
        # quiet since it blocked and since the last step, which may have freed it (a put, a release)
        return now - max(w.seen, self._last_go) >= (QUIET_S if others else SETTLE_S)

    def _why_parts(self, w: _Worker) -> dict:
        """Why a step for ``w`` is refused, in parts a window can say in its language (``why_text``)."""
        if w.ended:
            return {"why": "ended", "name": w.name}
        parts = {"why": "waiting" if w.state == ev.WAITING else "blocked", "name": w.name,
                 "passed": list(w.last) if w.last else None}
        if w.state == ev.WAITING and w.detail:
            lock = w.detail - 1
            holders = sorted(self._holders.get(lock, set()) - {w.index})
            parts["lock"] = lock
            parts["holders"] = [self._by_index[i].name if i in self._by_index else f"lane {i}" for i in holders]
        elif w.state == ev.BLOCKED:
            parts["queue"] = True
        return parts

    @staticmethod
    def _refusal(n: int, number: int, worker, parts: dict):
        why = why_text(parts)
        message = f"--schedule: step {n} (process {number}) refused: {why}; the rest of the run went on freely"
        payload = {"step": n, "process": number, "refused": why, "reason": parts}
        if worker is not None:
            payload["index"] = worker.index
        return None, payload, message

    def _open_all(self) -> None:
        """Every gate opens: the held workers go on, and any arriving later pass straight through."""
        with self._cond:
            self._open = True
            self._free.value = 1
            for w in self._workers:
                if w.held and not w.ended:
                    w.held = False
                    w.last = w.point
                    w.sem.release()

    def _close_all(self) -> None:
        """The gates close again: each worker sends a STEP at its next step point and waits there."""
        with self._cond:
            self._open = False
            self._free.value = 0
            self._last_go = time.monotonic()  # they were running: none of them has settled yet


def why_text(parts: dict) -> str:
    """The English sentence of a refusal's parts (``Stepper._why_parts``)."""
    why = parts.get("why")
    if why == "absent":
        return f"the lesson did not start a worker number {parts.get('process')}"
    if why == "ended":
        return f"{parts['name']} has ended"
    passed = parts.get("passed")
    what = f"{passed[0]} {passed[1]}" if passed else "its start"
    text = f"{parts['name']} is {why} (it passed \"{what}\")"
    if "lock" in parts:
        holders = parts.get("holders") or []
        text += f": it waits for lock {parts['lock']}" + (f", held by {', '.join(holders)}" if holders else "")
    elif parts.get("queue"):
        text += ": it waits on a queue"
    return text


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
