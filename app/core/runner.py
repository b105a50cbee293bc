"""Runs a lesson for real and records it; guarantees no process outlives the run.

Lifecycle (``RunStatus``): ready → running → one of ``FINAL_STATUSES``.
The lesson's parent-side code runs in the thread that calls ``Runner.run``
(the CLI's main thread, the GUI's controller thread). A receiver thread waits
on every worker's pipe and folds batches into the ``Trace``; a sampler thread
adds psutil readings. ``stop()`` may be called from any thread: it is
cooperative first (the lesson's waits notice within ``POLL_S``) and then
forceful (every process of the run is terminated, then killed).
"""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.managers
import multiprocessing.pool
import os
import queue as queue_module
import signal
import threading
import traceback
from multiprocessing.connection import wait as wait_for_sentinels
from time import perf_counter_ns

import numpy as np
import psutil

from app.core import events as ev
from app.core import probe as probe_module
from app.core.events import RunStatus
from app.core.lessons import get_lesson
from app.core.params import ParamError, resolve
from app.core.pipe_waiter import PipeWaiter
from app.core.priority import lower_priority
from app.core.sampler import Sampler
from app.core.stepping import Stepper
from app.core.trace import Trace
from app.core.waitfor import StuckWatch, WaitForGraph, explain_stuck, lost_task, stuck_of

POLL_S = 0.05  # how quickly a stop reaches the lesson's waits
TERMINATE_GRACE_S = 2.0  # SIGTERM first, SIGKILL for what is left after this
FORCE_AFTER_S = 3.0  # a stop that the lesson's thread has not finished by then is forced
DRAIN_S = 3.0  # at most this long to read what dead processes left in their pipes
STOP_GRACE_S = 0.5  # a stopped run's processes get this long after SIGTERM (they have no handler for it)
DEATH_POLL_S = 0.1  # how often the death watch looks for processes that ended while the run goes on

# LOCK, QUEUE and EXIT, the only kinds the wait-for graph reads, are numbered above every kind a worker
# sends in bulk
_FIRST_WAITFOR_KIND = min(ev.LOCK, ev.EXIT, ev.QUEUE)
assert max(ev.STATE, ev.VALUE, ev.VALUE_F, ev.TASK) < _FIRST_WAITFOR_KIND

# What every worker imports: a fork server that has them already forks children that need not import them
# (~35 ms each otherwise; the target: a lesson starts within 1.1× of bare multiprocessing). "__main__" is the default;
# the catalogue brings every lesson module (the package alone imports none of them).
FORKSERVER_PRELOAD = ["__main__", "app.core.probe", "app.core.lessons.catalogue"]

class RunStopped(Exception):
    """Raised inside a lesson's parent code when the run is being stopped."""


def available_start_methods() -> list[str]:
    return multiprocessing.get_all_start_methods()


def check_start_method(method: str) -> None:
    allowed = available_start_methods()
    if method not in allowed:
        raise ParamError(
            f"start method {method!r} is not available on this platform; allowed: {', '.join(allowed)}"
        )


class Runner:
    def __init__(self, lesson_id: str, given: dict | None = None, start_method: str = "spawn",
                 listener=None, sample_hz: float | None = 4.0, schedule: list[int] | None = None,
                 stepping: bool = False, gates_open: bool = False, deadlock_linger_s: float = 0.0,
                 lower_priority: bool = False):
        self.lesson = get_lesson(lesson_id)
        self.values = resolve(self.lesson.params, given or {}, lesson_id)
        self.lesson.check(self.values)
        check_start_method(start_method)
        self.start_method = start_method
        self.ctx = multiprocessing.get_context(start_method)
        if "forkserver" in available_start_methods():  # takes effect when the fork server starts (once)
            multiprocessing.get_context("forkserver").set_forkserver_preload(FORKSERVER_PRELOAD)
        self.status = RunStatus.READY
        self.trace = Trace({
            "lesson": self.lesson.id,
            "params": dict(self.values),
            "start_method": start_method,
            "parent_pid": os.getpid(),
            "value_slots": self.lesson.value_slots(self.values),
        })
        self._listener = listener  # callable(records, texts), from any of the runner's threads
        self._sample_hz = sample_hz
        self._emit_lock = threading.Lock()
        self._stop = threading.Event()
        self._stop_reason: RunStatus | None = None
        self._stopped = False  # the processes were ended because the run was stopped (not at its end)
        self._finished = threading.Event()
        self._lock = threading.Lock()  # guards the registries below
        self._workers: list = []  # (index, Process) started by the parent
        self._extra: list = []  # pool workers and manager servers: Process objects
        self._pools: list = []
        self._managers: list = []
        self._terminated_by_run: set[int] = set()  # pids the run itself ended on purpose
        self._exit_seen_ns: dict[int, int] = {}  # pid -> when the parent saw it gone
        self._pid_by_index: dict[int, int] = {}  # processes of the run not known to have ended
        self._ended_indexes: set[int] = set()  # their pids are never sampled again, even if reused
        self._lane_of: dict[int, int] = {}  # id(Process) -> its lane index, for the workers the parent started
        self._writers_to_close: list = []
        self._pending: list = []  # texts held back while the lesson starts processes (see _hold_text)
        self._readers: set = set()  # the receiver's pipes: those still open
        self._new_readers: list = []  # added since the receiver last looked
        self._wake_pending = False  # a wake-up for them is on its way to the receiver
        self._wake_r, self._wake_w = multiprocessing.Pipe(duplex=False)
        self._receiving = True
        # The window lowers the lesson's processes' priority so that it stays live (see app/core/priority.py):
        # each one when its hello arrives, so that starting (importing, unpickling) costs what it costs in
        # plain Python, and a pool's replacement workers and the manager's server are lowered alike
        self._lower_priority = lower_priority
        self._next_index = None
        self._waitfor = WaitForGraph()
        self._deadlock: dict | None = None
        # A found deadlock keeps its processes visibly stuck this long before the run is stopped
        # (a class sees the program hang); 0 stops at once.
        self.deadlock_linger_s = max(0.0, float(deadlock_linger_s))
        self._final_state: dict[int, int] = {}  # lane index -> its last state, once done or crashed
        self._stuck: dict | None = None
        self._linger_timer: threading.Timer | None = None
        self._interrupted = False  # Ctrl+C came (set by a signal handler: a plain attribute, no lock)
        self._stepper = None  # step mode: the schedule's workers are held at their step points
        # ``stepping``: no written schedule, the window asks for each step (``gates_open``: it runs freely
        # until the window pauses it)
        if schedule or stepping:
            if stepping and not self.lesson.step_points:
                raise ParamError(f"step mode: lesson {lesson_id} has no step points (no shared state to race on)")
            self._stepper = Stepper(self.ctx, schedule or [], self.emit_text, self._stop.is_set, interactive=stepping,
                                    gates_open=gates_open)
            self._listener = self._stepper.tap(listener)
        if schedule:
            self.trace.meta["schedule"] = ",".join(map(str, schedule))

    @property
    def stepper(self) -> Stepper | None:
        """Step mode's stepper (the window asks it for steps), or None."""
        return self._stepper

    # --- the event path -------------------------------------------------------------
    def emit(self, records: np.ndarray | None = None, texts=()) -> None:
        found = None
        with self._emit_lock:
            if self._pending:  # texts the parent held back while it started processes: they come first
                pending, self._pending = self._pending, []
                texts = [*pending, *texts]
            for _t, index, kind, payload in texts:
                if (kind in (ev.HELLO, ev.META) and isinstance(payload, dict) and payload.get("pid")
                        and index not in self._ended_indexes):
                    self._pid_by_index[index] = payload["pid"]
                    if kind == ev.HELLO and self._lower_priority:
                        lower_priority(payload["pid"])
            if records is not None and len(records):
                self._forget_ended(records)
            self.trace.append(records, texts)
            if self._listener is not None:
                self._listener(records, list(texts))
            # most batches hold no LOCK or EXIT record: one reduction skips the wait-for graph for them
            if (records is not None and self._deadlock is None and len(records)
                    and records[:, 2].max() >= _FIRST_WAITFOR_KIND and self._waitfor.feed(records)):
                found = self._deadlock = self._waitfor.find_cycle()
        if found:
            self._on_deadlock(found)

    def _forget_ended(self, records: np.ndarray) -> None:
        """A process's last state (done, crashed) or its EXIT: it is no longer one of the live ones."""
        kinds = records[:, 2]
        last_state = (kinds == ev.STATE) & (records[:, 3] >= ev.DONE)
        final = last_state | (kinds == ev.EXIT)
        if final.any():
            for index in np.unique(records[final, 1]).tolist():
                self._ended_indexes.add(index)
                self._pid_by_index.pop(index, None)
            for index, state in records[last_state][:, [1, 3]].tolist():
                self._final_state[index] = state

    def _on_deadlock(self, found: dict) -> None:
        """Every process of a cycle waits for the next: record it and end the run (after the linger)."""
        linger = self.deadlock_linger_s
        found = dict(found, detected_ns=perf_counter_ns(), linger_s=linger)
        self.emit_text(ev.PARENT_INDEX, ev.RESULT, {"deadlock": found})
        if linger <= 0:
            self.stop(RunStatus.DEADLOCK)
            return
        timer = threading.Timer(linger, self.stop, (RunStatus.DEADLOCK,))
        timer.name = "procscope-deadlock-linger"
        timer.daemon = True
        self._linger_timer = timer
        timer.start()

    def emit_text(self, index: int, kind: int, payload) -> None:
        self.emit(None, [(perf_counter_ns(), index, kind, payload)])

    def _hold_text(self, index: int, kind: int, payload, t_ns: int | None = None) -> None:
        """A text to emit with the next emit (or ``flush``): a lesson starting N processes in a row
        then pays one emit, not 2N between its forks (the target: start ≤ 1.1× bare multiprocessing)."""
        with self._emit_lock:
            self._pending.append((perf_counter_ns() if t_ns is None else t_ns, index, kind, payload))

    def flush(self) -> None:
        """Emit the texts held back (the lesson waits for something: nothing is being started now)."""
        if self._pending:
            self.emit()

    def _decode(self, data: bytes, records: list, texts: list) -> None:
        tag = int.from_bytes(data[: ev.TAG_SIZE], "little" if _LITTLE else "big", signed=True)
        if tag == ev.TAG_RECORDS:
            records.append(np.frombuffer(data, dtype=np.int64, offset=ev.TAG_SIZE).reshape(-1, ev.RECORD_FIELDS))
        elif tag == ev.TAG_TEXT:
            t_ns, index, kind, payload = json.loads(data[ev.TAG_SIZE:].decode("utf-8"))
            texts.append((t_ns, index, kind, payload))

    def _add_reader(self, conn) -> None:
        with self._lock:
            self._readers.add(conn)
            self._new_readers.append(conn)
            wake, self._wake_pending = not self._wake_pending, True
        if wake:  # one wake-up for readers added in a burst (starting N workers), not one per reader
            self._wake_w.send_bytes(b"")

    def _receive(self) -> None:
        deadline = None
        waiter = PipeWaiter()
        waiter.add(self._wake_r)
        while True:
            with self._lock:
                new, self._new_readers, self._wake_pending = self._new_readers, [], False
                readers_left = bool(self._readers)
            for conn in new:
                waiter.add(conn)
            if not self._receiving and deadline is None:
                deadline = perf_counter_ns() + int(DRAIN_S * 1e9)
            if deadline is not None and (not readers_left or perf_counter_ns() > deadline):
                break
            # Everything that is ready goes into the trace at once: one emit per wake-up, not one per
            # message (at 64 workers × 156 events/s each event is a message of its own; the latency target is 2 frames).
            records, texts = [], []
            for conn in waiter.wait(POLL_S):
                if conn is self._wake_r:
                    conn.recv_bytes()
                    continue
                self._read_all(conn, records, texts, waiter)
            if records or texts or self._pending:  # held-back texts wait at most one POLL_S
                batch = None if not records else records[0] if len(records) == 1 else np.concatenate(records)
                self.emit(batch, texts)

    def _read_all(self, conn, records: list, texts: list, waiter: PipeWaiter) -> None:
        try:
            for data in waiter.messages(conn):
                self._decode(data, records, texts)
        except (EOFError, OSError):
            with self._lock:
                self._readers.discard(conn)
            waiter.remove(conn)
            conn.close()

    # --- processes ---------------------------------------------------------------------
    def allocate_index(self) -> int:
        counter = self._next_index
        with counter.get_lock():  # one lock round trip: ``.value`` would take the same lock again, twice
            raw = counter.get_obj()
            index = raw.value
            raw.value = index + 1
        return index

    def start_worker(self, target, args=(), name: str | None = None, role: str = "worker", method: str | None = None):
        self.check()
        ctx = self.ctx if method is None else multiprocessing.get_context(method)
        index = self.allocate_index()
        reader, writer = ctx.Pipe(duplex=False)
        if self._stepper is not None:
            target = self._stepper.gate(index, target)
        name = name or f"Process-{index + 1}"
        entry, entry_args = probe_module.worker_process(ctx.get_start_method(), target, writer, index,
                                                        self.values["tempo"], tuple(args), name)
        process = ctx.Process(target=entry, args=entry_args, name=name)
        self._add_reader(reader)
        requested = perf_counter_ns()
        with self._lock:
            self._workers.append((index, process))
        self._lane_of[id(process)] = index
        try:
            process.start()
        finally:
            writer.close()  # the child has its own copy; EOF then means the child is gone
        # Only a process that was started gets a lane: a stop during start-up reports what happened.
        self._hold_text(index, ev.META, {"name": process.name, "role": role, "requested_ns": requested,
                                         "pid": process.pid}, requested)
        return process

    def make_pool(self, processes: int, maxtasksperchild: int | None = None):
        self.check()
        reader, writer = self.ctx.Pipe(duplex=False)
        self._add_reader(reader)
        self._writers_to_close.append(writer)  # kept open: the pool may start new workers
        runner = self

        class TrackedPool(multiprocessing.pool.Pool):
            @staticmethod
            def Process(ctx, *args, **kwds):  # noqa: N802 - overrides Pool.Process
                process = ctx.Process(*args, **kwds)
                with runner._lock:
                    runner._extra.append(process)
                return process

        pool = TrackedPool(
            processes,
            initializer=probe_module.pool_worker_init,
            initargs=(writer, self.ctx.Lock(), self._next_index, self.values["tempo"]),
            maxtasksperchild=maxtasksperchild,
            context=self.ctx,
        )
        with self._lock:
            self._pools.append(pool)
        return pool

    def make_manager(self):
        self.check()
        index = self.allocate_index()
        reader, writer = self.ctx.Pipe(duplex=False)
        self._add_reader(reader)
        manager = multiprocessing.managers.SyncManager(ctx=self.ctx)
        self.emit_text(index, ev.META, {"name": "SyncManager", "role": "manager",
                                        "requested_ns": perf_counter_ns()})
        manager.start(probe_module.manager_server_init, (writer, index, self.values["tempo"]))
        writer.close()
        with self._lock:
            self._managers.append(manager)
            self._extra.append(manager._process)
        self.emit_text(index, ev.META, {"pid": manager._process.pid})
        return manager

    def lane_of(self, process) -> int:
        """The lane index of a worker this run started."""
        return self._lane_of[id(process)]

    def note_exit(self, process) -> None:
        """Remember when the parent saw a process gone: the lane's end on the time axis."""
        with self._lock:
            self._exit_seen_ns.setdefault(process.pid, perf_counter_ns())
        with self._emit_lock:
            for index, pid in list(self._pid_by_index.items()):
                if pid == process.pid:
                    self._ended_indexes.add(index)
                    del self._pid_by_index[index]

    def mark_terminated(self, pids) -> None:
        with self._lock:
            self._terminated_by_run.update(p for p in pids if p)

    def _all_processes(self) -> list:
        with self._lock:
            return [p for _i, p in self._workers] + list(self._extra)

    def live_pids(self) -> dict[int, int]:
        """{lane index: pid} of the processes of the run that have not ended (as far as the run knows)."""
        with self._emit_lock:
            return dict(self._pid_by_index)

    # --- stopping -----------------------------------------------------------------------
    def check(self) -> None:
        if self._stop.is_set():
            raise RunStopped(self._stop_reason)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self, reason: RunStatus = RunStatus.STOPPED) -> None:
        """Stop at any moment, from any thread; forced if the lesson does not yield."""
        if self._stop.is_set() or self._finished.is_set():
            return
        if self._deadlock is not None:  # Stop or a timeout while a found deadlock lingers: it ends as one
            reason = RunStatus.DEADLOCK
        self._stop_reason = reason
        self._stop.set()
        threading.Thread(target=self._force_after_grace, name="procscope-force-stop", daemon=True).start()

    def _force_after_grace(self) -> None:
        if not self._finished.wait(FORCE_AFTER_S):
            processes = self._all_processes()
            for proc in _descendants([p.pid for p in processes]):
                _quietly(proc.kill)
            for process in processes:
                _quietly(process.kill)

    # --- the death watch ------------------------------------------------------------------
    def _watch_deaths(self) -> None:
        """Notice processes that ended while the run goes on; end a run whose processes wait for
        something only a dead one could give (a lock it held, a token it took, a pool task's result)."""
        ended: dict[int, int] = {}  # id(Process) -> when its end was seen
        dead_at: dict[int, int] = {}  # lane index -> when it was seen gone
        watch = StuckWatch()
        pool_checked: set[int] = set()
        pid_of: dict[int, int] = {}  # lane index -> pid, of those seen gone
        while not self._stop.wait(DEATH_POLL_S):
            if self._interrupted:  # Ctrl+C on the command line
                self.stop(RunStatus.STOPPED)
                return
            gone = self._ended_processes(ended)
            now = perf_counter_ns()  # after the look: never before a death it reports
            for process in gone:
                ended[id(process)] = now
                index = self._index_of(process)
                self.note_exit(process)
                if index is not None:
                    dead_at.setdefault(index, now)
                    pid_of[index] = process.pid
            if not dead_at:
                continue
            # ended without its "done": killed, or crashed (a final state may still be on its way: the
            # findings must hold for a while before they count); not those the run ended on purpose
            with self._lock:
                ended_by_run = set(self._terminated_by_run)
            dead = {i for i in dead_at if self._final_state.get(i) != ev.DONE and pid_of[i] not in ended_by_run}
            if not dead:
                continue
            with self._emit_lock:
                findings = stuck_of(self._waitfor, dead, set(dead_at))
            found = watch.find_stuck(findings, now)
            if found is None:
                found = self._lost_pool_task(dead, dead_at, pool_checked, now, watch.quiet_ns)
            if found is not None:
                self._on_stuck(found)
                return

    def _ended_processes(self, ended: dict) -> list:
        """Processes of the run that ended since last asked (their sentinel is ready: nothing is reaped)."""
        sentinels = {}
        for process in self._all_processes():
            if id(process) in ended:
                continue
            try:
                sentinels[process.sentinel] = process
            except (ValueError, AttributeError):  # not started (yet)
                continue
        if not sentinels:
            return []
        try:
            return [sentinels[s] for s in wait_for_sentinels(list(sentinels), 0)]
        except (OSError, ValueError):
            return []

    def _index_of(self, process) -> int | None:
        index = self._lane_of.get(id(process))
        if index is not None:
            return index
        with self._emit_lock:
            return next((i for i, pid in self._pid_by_index.items() if pid == process.pid), None)

    def _lost_pool_task(self, dead, dead_at, checked, now, quiet_ns) -> dict | None:
        """A pool worker that died running a task: CPython's Pool replaces it but never fails the task."""
        procs = self.trace.processes()
        for index in sorted(dead):
            info = procs.get(index)
            if index in checked or info is None or info.role != "pool" or now - dead_at[index] < quiet_ns:
                continue
            checked.add(index)
            task = lost_task(self.trace.records, index)
            if task is not None:
                return {"kind": "pool", "resource": task, "dead": [index], "waiting": [ev.PARENT_INDEX],
                        "how": "task"}
        return None

    def _on_stuck(self, found: dict) -> None:
        """Say who died, who waits for ever and why; then end the run as crashed."""
        from app.core.names import display_names

        names = display_names(self.trace)
        procs = self.trace.processes()
        dead = found["dead"][0]
        info = procs.get(dead)
        stuck = {
            "kind": found["kind"],
            "how": found["how"],
            "resource": found["resource"],
            "dead": names.get(dead, f"#{dead}"),
            "dead_index": dead,
            "dead_pid": info.pid if info else None,
            "waiting": [names.get(i, "parent") if i >= 0 else "parent" for i in found["waiting"]],
            "waiting_indexes": list(found["waiting"]),
            "detected_ns": perf_counter_ns(),
            "explanation": explain_stuck(found, names),
        }
        self._stuck = stuck
        self.emit_text(ev.PARENT_INDEX, ev.RESULT, {"stuck": stuck})
        self.stop(RunStatus.CRASHED)

    # --- the run ------------------------------------------------------------------------
    def run(self, timeout: float | None = None) -> Trace:
        if self.status != RunStatus.READY:
            raise RuntimeError("a Runner runs once")
        self.status = RunStatus.RUNNING
        # From the first line: creating the index Value may start multiprocessing's resource tracker,
        # and Ctrl+C then must stop the run (a summary said), not unwind it (nothing said).
        restore_sigint = _stop_on_sigint(self)
        try:
            self._next_index = self.ctx.Value("i", 0)
        except BaseException:
            restore_sigint()
            raise
        self.trace.meta["t0_ns"] = perf_counter_ns()
        self.trace.meta["status"] = RunStatus.RUNNING
        receiver = threading.Thread(target=self._receive, name="procscope-receiver", daemon=True)
        receiver.start()
        if self._stepper is not None:
            self._stepper.start()
        sampler = None
        if self._sample_hz:
            sampler = Sampler(self.live_pids, lambda recs: self.emit(recs), self._sample_hz)
            sampler.start()
        timer = None
        if timeout is not None:
            timer = threading.Timer(timeout, self.stop, (RunStatus.TIMEOUT,))
            timer.daemon = True
            timer.start()
        watcher = threading.Thread(target=self._watch_deaths, name="procscope-death-watch", daemon=True)
        watcher.start()
        status = RunStatus.DONE
        kept = None  # the lesson's frames, alive until its processes are gone (see below)
        try:
            with _children_ignore_sigint():
                self.lesson.run(RunContext(self), self.values)
        except RunStopped as exc:
            status = self._stop_reason or RunStatus.STOPPED
            # A child still starting unpickles the lesson's locks and queues by name: were they
            # freed now (the frames gone), it would print a FileNotFoundError on the terminal.
            kept = exc.__traceback__
        except KeyboardInterrupt as exc:
            self._stop_reason = RunStatus.STOPPED
            status = RunStatus.STOPPED
            kept = exc.__traceback__
        except Exception as exc:  # noqa: BLE001 - a lesson's own failure ends the run, reported
            status = self._stop_reason or RunStatus.FAILED
            if status == RunStatus.FAILED:  # not a consequence of the run being stopped
                self.emit_text(ev.PARENT_INDEX, ev.ERROR, traceback.format_exc())
            kept = exc.__traceback__
        finally:
            restore_sigint()
            for pending in (timer, self._linger_timer):  # a Stop during the linger: no timer outlives the run
                if pending is not None:
                    pending.cancel()
            if self._stepper is not None:
                self._stepper.close()
            if self._stop.is_set() and status == RunStatus.DONE:
                status = self._stop_reason or RunStatus.STOPPED
            self._shutdown(stopped=status != RunStatus.DONE)
            kept = None  # noqa: F841 - the lesson's objects may go now
            self._receiving = False
            self._wake_w.send_bytes(b"")
            receiver.join(timeout=DRAIN_S + 1)
            if sampler is not None:
                sampler.stop()
            self._record_exits()
            self._finished.set()
            self._stop.set()  # ends the death watch
            watcher.join(timeout=1.0)
            for conn in (self._wake_r, self._wake_w):
                conn.close()
        if status == RunStatus.DONE and any(p.ended == ev.EXIT_HOW[ev.EXIT_CRASHED]
                                            for p in self.trace.processes().values()):
            status = RunStatus.CRASHED
        if status == RunStatus.DEADLOCK and self.lesson.expects_deadlock:
            status = RunStatus.DONE  # the lesson succeeded in showing one
        self.status = status
        self.trace.meta["status"] = status
        self.trace.meta["end_ns"] = perf_counter_ns()
        return self.trace

    def _shutdown(self, stopped: bool) -> None:
        """End every process of the run: pools, managers, workers, their children.

        A run that ends normally lets its pools and managers close in order. A stopped one
        (Stop, Ctrl+C, a timeout, a deadlock, a dead process) sends SIGTERM to all of them at
        once first, which they do not handle: one by one, 64 processes still starting took
        seconds.
        """
        cleanups = []  # a stopped run's pool and manager clean-ups, run side by side with the joins below
        if stopped:
            self._terminate_all()
        for pool in self._pools:
            self.mark_terminated(p.pid for p in pool._pool)
            cleanups.append(_bounded(pool.terminate, 0 if stopped else TERMINATE_GRACE_S))
        for manager in self._managers:
            if manager._process.is_alive():
                self.mark_terminated([manager._process.pid])
            cleanups.append(_bounded(manager.shutdown, 0 if stopped else TERMINATE_GRACE_S))
        processes = [p for p in self._all_processes() if p.pid is not None]
        live = [p for p in processes if p.exitcode is None]
        descendants = _descendants([p.pid for p in live])
        for process in live:
            self.mark_terminated([process.pid])
            _quietly(process.terminate)
        deadline = perf_counter_ns() + int((STOP_GRACE_S if stopped else TERMINATE_GRACE_S) * 1e9)
        for process in processes:
            process.join(max(0.0, (deadline - perf_counter_ns()) / 1e9))
            if process.exitcode is not None:
                self.note_exit(process)
        for thread in cleanups:
            thread.join(max(0.0, (deadline - perf_counter_ns()) / 1e9))
        for process in processes:
            if process.exitcode is None:
                _quietly(process.kill)
                process.join(1.0)
                self.note_exit(process)
        for child in descendants:
            _quietly(child.kill)
        for writer in self._writers_to_close:
            writer.close()
        self._stopped = stopped

    def _terminate_all(self) -> None:
        """SIGTERM to every live process of the run and their children, without waiting."""
        for pool in self._pools:
            # what Pool.terminate() does first: its worker handler must not replace the workers killed here
            handler = getattr(pool, "_worker_handler", None)
            if handler is not None:
                handler._state = multiprocessing.pool.TERMINATE
        processes = [p for p in self._all_processes() if p.pid is not None and p.exitcode is None]
        self.mark_terminated(p.pid for p in processes)
        for proc in _descendants([p.pid for p in processes]):
            _quietly(proc.terminate)
        for process in processes:
            _quietly(process.terminate)

    def _record_exits(self) -> None:
        """One EXIT record per process, saying how it ended."""
        procs = self.trace.processes()
        index_by_pid = {p.pid: i for i, p in procs.items() if p.pid}
        rows = []
        now = perf_counter_ns()
        for process in self._all_processes():
            index = index_by_pid.get(process.pid)
            if index is None:
                continue
            st = self.trace.states(index)
            last = int(st[-1, 1]) if len(st) else None
            if last == ev.DONE:
                how = ev.EXIT_DONE
            elif last == ev.CRASHED:
                how = ev.EXIT_CRASHED
            elif process.pid in self._terminated_by_run:
                how = ev.EXIT_STOPPED if self._stopped else ev.EXIT_TERMINATED
            else:
                how = ev.EXIT_CRASHED  # gone without a final event: killed from outside
            code = process.exitcode if process.exitcode is not None else ev.EXIT_UNKNOWN
            rows.append((self._exit_seen_ns.get(process.pid, now), index, ev.EXIT, code, how))
        if rows:
            self.emit(np.array(rows, dtype=np.int64))


class RunContext:
    """What a lesson's parent code may do: start processes and wait, stop-aware."""

    def __init__(self, runner: Runner):
        self._runner = runner
        self.ctx = runner.ctx
        self.start_method = runner.start_method
        self.tempo = runner.values["tempo"]

    def check(self) -> None:
        """Called by every wait of the lesson: stop if asked; show the processes just started."""
        self._runner.flush()
        self._runner.check()

    def start(self, target, args=(), name: str | None = None, method: str | None = None):
        """Start ``target(probe, *args)`` in a new worker (``method`` overrides the run's start method)."""
        return self._runner.start_worker(target, args, name, method=method)

    def join(self, *processes) -> None:
        for process in processes:
            while process.exitcode is None:
                self.check()
                process.join(POLL_S)
            self._runner.note_exit(process)

    def wait_until_entered(self, processes, code: int) -> None:
        """Wait until each started process has entered state ``code`` (e.g. all have begun to wait)."""
        trace = self._runner.trace
        while True:
            self.check()
            if all((trace.states(self._runner.lane_of(p))[:, 1] == code).any() for p in processes):
                return
            self._runner._stop.wait(POLL_S)

    def pool(self, processes: int, maxtasksperchild: int | None = None):
        return self._runner.make_pool(processes, maxtasksperchild)

    def terminate_pool(self, pool) -> None:
        self._runner.mark_terminated(p.pid for p in pool._pool)
        pool.terminate()

    def manager(self):
        return self._runner.make_manager()

    def wait(self, async_result):
        while not async_result.ready():
            self.check()
            async_result.wait(POLL_S)
        return async_result.get()

    def get(self, q, queue_id: int | None = None):
        """``q.get()``, stop-aware. ``queue_id``: a token queue whose workers use ``probe.queue_get``:
        the parent's wait is recorded too, so a token lost with a dead process ends the run."""
        if queue_id is not None:
            self._queue_record(ev.QUEUE_WAIT, queue_id)
        while True:
            self.check()
            try:
                item = q.get(timeout=POLL_S)
            except queue_module.Empty:
                continue
            if queue_id is not None:
                self._queue_record(ev.QUEUE_GOT, queue_id)
            return item

    def _queue_record(self, op: int, queue_id: int) -> None:
        self._runner.emit(np.array([[perf_counter_ns(), ev.PARENT_INDEX, ev.QUEUE, op, queue_id]], dtype=np.int64))

    def sleep(self, seconds: float) -> None:
        if self._runner._stop.wait(max(0.0, seconds * self.tempo)):
            self.check()

    def result(self, payload: dict) -> None:
        """A fact only the parent knows (what it sees after the join, ...)."""
        self._runner.emit_text(ev.PARENT_INDEX, ev.RESULT, payload)

    def print(self, *args) -> None:
        self._runner.emit_text(ev.PARENT_INDEX, ev.PRINT, " ".join(str(a) for a in args))


_LITTLE = np.little_endian


def _descendants(pids) -> list:
    """Every descendant of the processes ``pids`` (not themselves): one pass over the process table.

    ``psutil.Process.children`` reads the whole table at each call: 64 calls took seconds on a busy machine.
    """
    roots = {p for p in pids if p}
    if not roots:
        return []
    by_parent: dict[int, list] = {}
    for proc in psutil.process_iter(["ppid"]):
        ppid = proc.info.get("ppid")
        if ppid:
            by_parent.setdefault(ppid, []).append(proc)
    found, todo = [], list(roots)
    while todo:
        for child in by_parent.get(todo.pop(), ()):
            if child.pid not in roots:
                found.append(child)
                todo.append(child.pid)
    return found


def _stop_on_sigint(runner: Runner):
    """In the main thread (the command line), Ctrl+C stops the run like Stop does, instead of raising
    KeyboardInterrupt wherever the lesson happens to be (halfway into starting a process). Returns
    what puts the previous handler back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    try:
        # The handler only leaves a note: it runs between two bytecodes of this thread, which may hold a
        # lock that stop() takes (starting a thread); the death watch stops the run within DEATH_POLL_S.
        previous = signal.signal(signal.SIGINT, lambda _sig, _frame: setattr(runner, "_interrupted", True))
    except (ValueError, OSError):
        return lambda: None
    return lambda: signal.signal(signal.SIGINT, previous)


class _children_ignore_sigint:  # noqa: N801 - used as a context manager
    """Processes started in this block never see Ctrl+C: the terminal sends it to the whole process
    group, and a child still importing would print a KeyboardInterrupt traceback. SIGINT is blocked
    in this thread (children and threads started here inherit the mask, through exec too); the
    run's other threads still take it, and the parent alone decides to stop."""

    def __enter__(self):
        self._old = None
        if hasattr(signal, "pthread_sigmask"):
            self._old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        return self

    def __exit__(self, *exc):
        if self._old is not None and signal.SIGINT not in self._old:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        return False


def _quietly(action) -> None:
    try:
        action()
    except (OSError, ValueError, AttributeError, psutil.Error, EOFError):
        pass


def _bounded(action, seconds: float) -> threading.Thread:
    """Run a cleanup call that can hang on broken pipes, but never wait on it for long."""
    thread = threading.Thread(target=_quietly, args=(action,), name="procscope-cleanup", daemon=True)
    thread.start()
    thread.join(seconds)
    return thread
