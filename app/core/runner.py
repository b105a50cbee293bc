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
import threading
import traceback
from time import perf_counter_ns

import numpy as np
import psutil

from app.core import events as ev
from app.core import probe as probe_module
from app.core.events import RunStatus
from app.core.lessons import get_lesson
from app.core.params import ParamError, resolve
from app.core.pipe_waiter import PipeWaiter
from app.core.sampler import Sampler
from app.core.stepping import Stepper
from app.core.trace import Trace
from app.core.waitfor import WaitForGraph

POLL_S = 0.05  # how quickly a stop reaches the lesson's waits
TERMINATE_GRACE_S = 2.0  # SIGTERM first, SIGKILL for what is left after this
FORCE_AFTER_S = 3.0  # a stop that the lesson's thread has not finished by then is forced
DRAIN_S = 3.0  # at most this long to read what dead processes left in their pipes

# LOCK and EXIT, the only kinds the wait-for graph reads, are numbered above every kind a worker sends in bulk
_FIRST_WAITFOR_KIND = min(ev.LOCK, ev.EXIT)
assert max(ev.STATE, ev.VALUE, ev.VALUE_F, ev.TASK) < _FIRST_WAITFOR_KIND

# What every worker imports: a fork server that has them already forks children that need not import them
# (~35 ms each otherwise; DESIGN §8: a lesson starts within 1.1× of bare multiprocessing). "__main__" is the default;
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
                 listener=None, sample_hz: float | None = 4.0, schedule: list[int] | None = None):
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
        self._next_index = None
        self._waitfor = WaitForGraph()
        self._deadlock: dict | None = None
        self._stepper = None  # step mode: the schedule's workers are held at their step points
        if schedule:
            self._stepper = Stepper(self.ctx, schedule, self.emit_text, self._stop.is_set)
            self._listener = self._stepper.tap(listener)
            self.trace.meta["schedule"] = ",".join(map(str, schedule))

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
        final = ((kinds == ev.STATE) & (records[:, 3] >= ev.DONE)) | (kinds == ev.EXIT)
        if final.any():
            for index in np.unique(records[final, 1]).tolist():
                self._ended_indexes.add(index)
                self._pid_by_index.pop(index, None)

    def _on_deadlock(self, found: dict) -> None:
        """Every process of a cycle waits for the next: record it and end the run."""
        found = dict(found, detected_ns=perf_counter_ns())
        self.emit_text(ev.PARENT_INDEX, ev.RESULT, {"deadlock": found})
        self.stop(RunStatus.DEADLOCK)

    def emit_text(self, index: int, kind: int, payload) -> None:
        self.emit(None, [(perf_counter_ns(), index, kind, payload)])

    def _hold_text(self, index: int, kind: int, payload) -> None:
        """A text to emit with the next emit (or ``flush``): a lesson starting N processes in a row
        then pays one emit, not 2N between its forks (DESIGN §8: start ≤ 1.1× bare multiprocessing)."""
        with self._emit_lock:
            self._pending.append((perf_counter_ns(), index, kind, payload))

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
            # message (at 64 workers × 156 events/s each event is a message of its own; DESIGN §8 latency).
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
        process = ctx.Process(
            target=probe_module.worker_entry, args=(target, writer, index, self.values["tempo"], tuple(args)),
            name=name or f"Process-{index + 1}",
        )
        self._add_reader(reader)
        requested = perf_counter_ns()
        with self._lock:
            self._workers.append((index, process))
        self._hold_text(index, ev.META, {"name": process.name, "role": role, "requested_ns": requested})
        self._lane_of[id(process)] = index
        process.start()
        writer.close()  # the child has its own copy; EOF then means the child is gone
        self._hold_text(index, ev.META, {"pid": process.pid})
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
        self._stop_reason = reason
        self._stop.set()
        threading.Thread(target=self._force_after_grace, name="procscope-force-stop", daemon=True).start()

    def _force_after_grace(self) -> None:
        if not self._finished.wait(FORCE_AFTER_S):
            for process in self._all_processes():
                _kill_tree(process.pid)

    # --- the run ------------------------------------------------------------------------
    def run(self, timeout: float | None = None) -> Trace:
        if self.status != RunStatus.READY:
            raise RuntimeError("a Runner runs once")
        self.status = RunStatus.RUNNING
        self._next_index = self.ctx.Value("i", 0)
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
        status = RunStatus.DONE
        try:
            self.lesson.run(RunContext(self), self.values)
        except RunStopped:
            status = self._stop_reason or RunStatus.STOPPED
        except KeyboardInterrupt:
            self._stop_reason = RunStatus.STOPPED
            status = RunStatus.STOPPED
        except Exception:  # noqa: BLE001 - a lesson's own failure ends the run, reported
            status = self._stop_reason or RunStatus.FAILED
            self.emit_text(ev.PARENT_INDEX, ev.ERROR, traceback.format_exc())
        finally:
            if timer is not None:
                timer.cancel()
            if self._stepper is not None:
                self._stepper.close()
            if self._stop.is_set() and status == RunStatus.DONE:
                status = self._stop_reason or RunStatus.STOPPED
            self._shutdown(stopped=status != RunStatus.DONE)
            self._receiving = False
            self._wake_w.send_bytes(b"")
            receiver.join(timeout=DRAIN_S + 1)
            if sampler is not None:
                sampler.stop()
            self._record_exits()
            self._finished.set()
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
        """End every process of the run: pools, managers, workers, their children."""
        for pool in self._pools:
            self.mark_terminated(p.pid for p in pool._pool)
            _bounded(pool.terminate, TERMINATE_GRACE_S)
        for manager in self._managers:
            if manager._process.is_alive():
                self.mark_terminated([manager._process.pid])
            _bounded(manager.shutdown, TERMINATE_GRACE_S)
        processes = [p for p in self._all_processes() if p.pid is not None]
        descendants = []
        for process in processes:
            if process.exitcode is None:
                self.mark_terminated([process.pid])
                descendants += _children(process.pid)
                _quietly(process.terminate)
        deadline = perf_counter_ns() + int(TERMINATE_GRACE_S * 1e9)
        for process in processes:
            process.join(max(0.0, (deadline - perf_counter_ns()) / 1e9))
            if process.exitcode is not None:
                self.note_exit(process)
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

    def get(self, q):
        while True:
            self.check()
            try:
                return q.get(timeout=POLL_S)
            except queue_module.Empty:
                continue

    def sleep(self, seconds: float) -> None:
        if self._runner._stop.wait(max(0.0, seconds * self.tempo)):
            self.check()

    def result(self, payload: dict) -> None:
        """A fact only the parent knows (what it sees after the join, ...)."""
        self._runner.emit_text(ev.PARENT_INDEX, ev.RESULT, payload)

    def print(self, *args) -> None:
        self._runner.emit_text(ev.PARENT_INDEX, ev.PRINT, " ".join(str(a) for a in args))


_LITTLE = np.little_endian


def _children(pid: int) -> list:
    try:
        return psutil.Process(pid).children(recursive=True)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def _kill_tree(pid: int | None) -> None:
    if pid is None:
        return
    for child in _children(pid):
        _quietly(child.kill)
    try:
        psutil.Process(pid).kill()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        pass


def _quietly(action) -> None:
    try:
        action()
    except (OSError, ValueError, AttributeError, psutil.Error, EOFError):
        pass


def _bounded(action, seconds: float) -> None:
    """Run a cleanup call that can hang on broken pipes, but never wait on it for long."""
    thread = threading.Thread(target=_quietly, args=(action,), name="procscope-cleanup", daemon=True)
    thread.start()
    thread.join(seconds)
