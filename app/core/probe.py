"""Worker side of the event stream: record, batch, flush before blocking.

A ``Probe`` lives in each child process. It packs int64 records into a
preallocated ``bytearray`` and sends them with one ``send_bytes`` per batch
(≤ ``BATCH_RECORDS`` records or ``FLUSH_NS`` old), and always flushes before
the process blocks, so that a waiting process shows as waiting *while* it
waits. Prints go into the stream, never to a stdout that may be missing
(windowed builds).

Recording is the cost every instrumented line pays (the target: ≤ 1 µs):
one ``Struct.pack_into`` into the buffer, no tuple, no growing array — about
half the cost of ``array.extend`` (``tests/bench``: ``overhead_capture``).

Imported by every worker: standard library only, no numpy, no Qt.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import struct
import sys
import time
from _thread import start_new_thread
from contextlib import contextmanager
from time import perf_counter_ns

from app.core import events as ev

BATCH_RECORDS = 64  # ~64 records a message: the measured sweet spot
FLUSH_NS = 5_000_000  # never hold an event back longer than 5 ms
PARENT_POLL_S = 0.2  # how often an orphan checks whether its parent is gone
PARENT_GONE_EXIT = 70  # exit code of a process that outlived its parent

_RECORD = struct.Struct(f"={ev.RECORD_FIELDS}q")  # one record: native-order int64s, as the runner reads them
_pack_record = _RECORD.pack_into
_RECORD_BYTES = _RECORD.size
_BUFFER_BYTES = ev.TAG_SIZE + BATCH_RECORDS * _RECORD_BYTES
_RECORDS_TAG = struct.pack("=q", ev.TAG_RECORDS)
# ``json.dumps(..., ensure_ascii=False)`` builds a new encoder at every call; one is enough (it keeps no state)
_to_json = json.JSONEncoder(ensure_ascii=False).encode
_json_string = json.encoder.encode_basestring  # a str as a JSON string (ensure_ascii=False)


class Probe:
    """Records one process's events and sends them to the parent in batches."""

    gate = None  # step mode: the worker's ``app.core.stepping.Gate``; outside it a step point is this one check

    def __init__(self, conn, index: int, tempo: float = 1.0, send_lock=None):
        self.conn = conn
        self.index = index
        self.tempo = tempo
        self._send_lock = send_lock  # pool workers share one pipe
        self._buf = bytearray(_BUFFER_BYTES)  # the tag, then packed records up to ``_end``
        self._buf[: ev.TAG_SIZE] = _RECORDS_TAG
        self._end = ev.TAG_SIZE
        self._texts: list[bytes] = []
        self._deadline = perf_counter_ns() + FLUSH_NS  # flush at the first record after this
        self._closed = False

    # --- recording -------------------------------------------------------------
    def record(self, kind: int, a: int = 0, b: int = 0) -> None:
        t = perf_counter_ns()
        end = self._end
        _pack_record(self._buf, end, t, self.index, kind, a, b)
        end += _RECORD_BYTES
        self._end = end
        if end >= _BUFFER_BYTES or t >= self._deadline:
            self.flush()

    def state(self, code: int, detail: int = 0) -> None:
        self.record(ev.STATE, code, detail)

    def value(self, slot: int, value) -> None:
        if isinstance(value, float):
            self.record(ev.VALUE_F, slot, ev.float_to_bits(value))
        else:
            self.record(ev.VALUE, slot, int(value))

    def text(self, kind: int, payload) -> None:
        message = _to_json([perf_counter_ns(), self.index, kind, payload])
        self._texts.append(ev.TEXT_TAG_BYTES + message.encode("utf-8"))
        if kind != ev.PRINT:
            self.flush()

    def print(self, *args, sep: str = " ") -> None:
        self.text(ev.PRINT, sep.join(str(a) for a in args))

    def result(self, payload: dict) -> None:
        self.text(ev.RESULT, payload)

    def point(self, kind: str, obj: str) -> None:
        """A step point (``app.core.stepping``): in step mode, held here until the schedule lets it go."""
        if self.gate is not None:
            self.gate.point(self, kind, obj)

    # --- blocking helpers: each flushes before it may block --------------------
    def block(self, code: int, detail: int = 0) -> None:
        """Enter a state in which the process may block, and show it now."""
        self.record(ev.STATE, code, detail)
        self.flush()

    def sleep(self, seconds: float, code: int = ev.SLEEPING, detail: int = 0) -> None:
        """Sleep ``seconds`` × tempo, shown as ``code`` (the current state is kept if None)."""
        if code is not None:
            self.record(ev.STATE, code, detail)
        self.flush()
        time.sleep(max(0.0, seconds * self.tempo))

    @contextmanager
    def holding(self, lock, lock_id: int = 0, after: int = ev.WORKING):
        """``with lock:`` that shows waiting, then holding, then ``after``."""
        if self.gate is not None:
            self.gate.point(self, "acquire", f"lock {lock_id}")
        self.record(ev.LOCK, ev.LOCK_REQUEST, lock_id)
        self.block(ev.WAITING, lock_id + 1)
        lock.acquire()
        self.record(ev.LOCK, ev.LOCK_ACQUIRED, lock_id)
        self.state(ev.HOLDING, lock_id + 1)
        try:
            yield
        finally:
            if self.gate is not None:
                self.gate.point(self, "release", f"lock {lock_id}")
            lock.release()
            self.record(ev.LOCK, ev.LOCK_RELEASED, lock_id)
            self.state(after)

    def queue_get(self, q, queue_id: int = 0, code: int = ev.BLOCKED):
        """``q.get()`` on a queue whose items are tokens passed on, recorded for the parent.

        The parent then knows who waits on which queue and who holds a token:
        a process that dies holding one (or inside ``get``, where a
        ``multiprocessing.Queue`` holds its read lock) leaves the others
        waiting for ever, and the runner can say so instead of hanging.
        """
        self.record(ev.QUEUE, ev.QUEUE_WAIT, queue_id)
        self.block(code)
        item = q.get()
        self.record(ev.QUEUE, ev.QUEUE_GOT, queue_id)
        return item

    def queue_put(self, q, item, queue_id: int = 0) -> None:
        """``q.put(item)``: the token this process took goes back (see ``queue_get``)."""
        self.record(ev.QUEUE, ev.QUEUE_PUT, queue_id)
        q.put(item)

    # --- transport --------------------------------------------------------------
    def flush(self) -> None:
        if self._closed:
            return
        has_records = self._end > ev.TAG_SIZE
        if not has_records and not self._texts:
            return
        if self._send_lock is not None:
            with self._send_lock:
                self._send(has_records)
        else:
            self._send(has_records)
        self._deadline = perf_counter_ns() + FLUSH_NS

    def _send(self, has_records: bool) -> None:
        try:
            if has_records:
                self.conn.send_bytes(self._buf, 0, self._end)
                self._end = ev.TAG_SIZE
            for message in self._texts:
                self.conn.send_bytes(message)
        except (OSError, EOFError):
            # The parent's end of the pipe is gone: the app was killed or stopped the run. Nobody can
            # see anything this process does now; end it without a traceback on the terminal.
            os._exit(PARENT_GONE_EXIT)
        self._texts.clear()

    def finish(self, code: int = ev.DONE) -> None:
        """Record the final state and send everything; the probe is then closed."""
        if self._closed:
            return
        self.state(code)
        self.flush()
        self._closed = True


class ProbeStream(io.TextIOBase):
    """A text stream that turns each printed line into a PRINT event."""

    def __init__(self, probe: Probe):
        super().__init__()
        self._probe = probe
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        text = self._partial + s
        *lines, self._partial = text.split("\n")
        for line in lines:
            self._probe.text(ev.PRINT, line)
        return len(s)

    def flush(self) -> None:
        if self._partial:
            self._probe.text(ev.PRINT, self._partial)
            self._partial = ""


def hello(probe: Probe, role: str) -> None:
    """First sign of life: who this process is and what its ``__main__`` is."""
    probe.text(ev.HELLO, hello_payload(role))


def hello_payload(role: str) -> dict:
    """What ``hello`` says of this process."""
    main = sys.modules.get("__main__")
    return {
        "name": multiprocessing.current_process().name,
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "role": role,
        "main_module": getattr(main, "__name__", None),
        "main_file": getattr(main, "__file__", None),
        "mp_main_loaded": "__mp_main__" in sys.modules,
    }


_fork_made: tuple = (None, None)  # (the pid it was made in, ``_fork_facts``)


def _fork_facts() -> tuple:
    """What every child this process forks shares, made once: ``(its ppid, prctl or None, hello's end)``.

    A forked child has its parent's ``__main__`` and modules, and its parent's
    pid for ``ppid``: the end of its hello's JSON is the same for all. The
    child only formats its name, time and pid into it: its hello, sent, took
    ~0.3 ms of its CPU and ~70 copy-on-write page faults when it gathered and
    JSON-encoded it all (``hello``), ~0.14 ms and ~30 now. Made once, not once
    per child in the parent either: every page the parent writes between two
    forks is copied too (~120 µs of its CPU and 32 faults per child for the
    whole hello).
    """
    global _fork_made
    pid = os.getpid()
    if _fork_made[0] != pid:
        main = sys.modules.get("__main__")
        tail = _to_json({"ppid": pid, "role": "worker", "main_module": getattr(main, "__name__", None),
                         "main_file": getattr(main, "__file__", None), "mp_main_loaded": "__mp_main__" in sys.modules})
        _fork_made = (pid, (pid, _parent_death_signal(), tail[1:].encode("utf-8") + b"]"))
    return _fork_made[1]


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_SIGKILL = 9
_prctl = None  # Linux: libc's prctl, bound once in the parent; False elsewhere


def _parent_death_signal():
    """libc's ``prctl`` (Linux; None elsewhere or without ctypes), for a forked child to ask the kernel for
    SIGKILL when the thread that forked it ends: ``prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0) == 0``.

    The child then needs no parent-watch thread, whose start was ~0.2 ms of
    its CPU (measured in a forked child: a thread +210 µs and 31 page faults,
    this call +22 µs and 4; through ``functools.partial`` with ``use_errno``
    +53 µs). The thread that forks a lesson's workers is the one that runs the
    lesson, which ends only after every process of the run is gone; a killed
    app ends it at once. A stopped (paused) worker is killed too, which a
    thread of its own could not do. Bound in the parent: the child only calls it.
    """
    global _prctl
    if _prctl is None:
        _prctl = False
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                _prctl = ctypes.CDLL(None).prctl  # restype int: 0, or -1 if refused
            except (ImportError, OSError, AttributeError):  # no ctypes or no prctl: the watch thread
                pass
    return _prctl or None


def watch_parent() -> None:
    """Exit this process as soon as the process that started it is gone.

    POSIX re-parents an orphan, so ``getppid()`` changes; Windows does not,
    so there we wait on the parent's process handle that multiprocessing
    hands every child. Without this a killed app would leave its workers,
    pool and manager server running for ever.
    """
    if os.name == "nt":
        parent = multiprocessing.parent_process()
        sentinel = getattr(parent, "sentinel", None)
        if sentinel is None:
            return
        from multiprocessing.connection import wait

        def run():
            wait([sentinel])
            os._exit(PARENT_GONE_EXIT)

    else:
        ppid = os.getppid()
        parent = multiprocessing.parent_process()
        app_pid = parent.pid if parent is not None else None

        def gone() -> bool:
            # Re-parenting shows the death of our direct parent (the app, or the fork
            # server, which exits with the app); the app's pid covers a death that
            # happened before this thread started, and a fork server's child, whose
            # direct parent outlives a killed app: the fork server lives as long as
            # its children do. A killed app that its own parent has not reaped yet
            # is a zombie: dead, though its pid still exists.
            return os.getppid() != ppid or (app_pid is not None and not _alive(app_pid))

        def run():
            while not gone():
                time.sleep(PARENT_POLL_S)
            os._exit(PARENT_GONE_EXIT)

    # A bare thread (daemon-like: it never holds up the exit): ``threading.Thread.start`` would also wait
    # until the thread runs, ~0.3 ms of every worker's start (the target: start ≤ 1.1× bare multiprocessing).
    start_new_thread(run, ())


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _alive(pid: int) -> bool:
    """``pid`` exists and is not a zombie (Linux: /proc; elsewhere psutil, imported only there)."""
    if not _exists(pid):
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        try:
            import psutil  # no /proc (macOS): only the watch thread pays for the import

            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except Exception:  # noqa: BLE001 - gone meanwhile, or no permission: existence decides
            return _exists(pid)
    # "pid (comm) S ...": the state follows the last ')' (comm may itself hold parentheses)
    state = stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3]
    return state not in (b"Z", b"X")


def _capture_output(probe: Probe) -> None:
    stream = ProbeStream(probe)
    sys.stdout = stream
    sys.stderr = stream


def worker_process(method: str, target, conn, index: int, tempo: float, args: tuple, name: str):
    """The ``(target, args)`` of a lesson worker's ``Process``, made in the parent.

    A forked child gets its parent's memory: the parent hands it what is the
    same for every child of the run, made once (``_fork_facts``), so that the
    child starts lighter than a spawned one — no parent-watch thread, no JSON
    encoding of its hello — while the parent, which forks the children one
    after the other, does no more per child than before (a probe and a hello
    built here cost the parent more than they saved the child; the target:
    start ≤ 1.1× bare multiprocessing).
    """
    if method != "fork":
        return worker_entry, (target, conn, index, tempo, args)
    return _forked_worker_entry, (target, conn, index, tempo, args, name, _fork_facts())


def worker_entry(target, conn, index: int, tempo: float, args: tuple) -> None:
    """Top-level target of every spawned or fork-server lesson worker: ``target(probe, *args)``, instrumented."""
    probe = Probe(conn, index, tempo)
    watch_parent()
    hello(probe, "worker")
    _capture_output(probe)
    _run_worker(probe, target, args)


def _forked_worker_entry(target, conn, index: int, tempo: float, args: tuple, name: str, facts: tuple) -> None:
    """``worker_entry`` for a forked child, with what its parent made once for all (``_fork_facts``)."""
    parent, prctl, hello_tail = facts
    probe = Probe(conn, index, tempo)
    if prctl is None or prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0) != 0:
        watch_parent()
    elif os.getppid() != parent:  # the parent died before the kernel was asked to follow it
        os._exit(PARENT_GONE_EXIT)
    # ``hello``'s message: the name, time and pid formatted here into what the parent encoded once
    probe._texts.append(b'%b[%d, %d, %d, {"pid": %d, "name": %b, %b' % (
        ev.TEXT_TAG_BYTES, perf_counter_ns(), index, ev.HELLO, os.getpid(), _json_string(name).encode(), hello_tail))
    probe.flush()
    _capture_output(probe)
    _run_worker(probe, target, args)


def _run_worker(probe: Probe, target, args: tuple) -> None:
    probe.state(ev.WORKING)
    try:
        target(probe, *args)
    except BaseException:  # noqa: BLE001 - every way out of a worker is reported
        import traceback  # here, not at the top: 3 ms of every spawned child's start

        probe.text(ev.ERROR, traceback.format_exc())
        probe.finish(ev.CRASHED)
        raise SystemExit(1) from None
    sys.stdout.flush()
    probe.finish(ev.DONE)
    _end_now()


def _end_now() -> None:
    """End a worker that finished: what multiprocessing does at a process's end, then ``os._exit(0)``.

    multiprocessing runs its finalizers (they flush a Queue's feeder thread, so
    nothing put is lost), joins the non-daemon threads and flushes stdio; then a
    spawned child also tears its interpreter down (``sys.exit``), ~20 ms of CPU.
    64 workers ending together spent that all at once and took the CPU from the
    window for a few hundred ms (``tests/bench``: ``latency_window``). A forked
    child ends with ``os._exit`` anyway.
    """
    from multiprocessing import util

    util._exit_function()  # the finalizers (private, but what every multiprocessing child runs at its end)
    threading = sys.modules.get("threading")
    if threading is not None:
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and not thread.daemon:
                thread.join()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    os._exit(0)


# --- pool workers and the manager's server: set up by an initializer ------------
_PROBE: Probe | None = None


def current_probe() -> Probe:
    if _PROBE is None:
        raise RuntimeError("no probe in this process: was the pool started by the runner?")
    return _PROBE


def _install(probe: Probe, role: str, first_state: int) -> None:
    global _PROBE
    _PROBE = probe
    watch_parent()
    hello(probe, role)
    _capture_output(probe)
    probe.block(first_state)
    # Runs when the process ends normally (maxtasksperchild, close, shutdown).
    from multiprocessing import util

    util.Finalize(probe, probe.finish, exitpriority=100)


def pool_worker_init(conn, send_lock, next_index, tempo: float) -> None:
    """Pool initializer: take the next lane index and start recording."""
    with next_index.get_lock():
        index = next_index.value
        next_index.value += 1
    _install(Probe(conn, index, tempo, send_lock), "pool", ev.IDLE)


def manager_server_init(conn, index: int, tempo: float) -> None:
    """Manager initializer: the server process gets a lane of its own."""
    _install(Probe(conn, index, tempo), "manager", ev.IDLE)


def pool_task(fn, task: int, *args):
    """Runs ``fn(probe, task, *args)`` in a pool worker, marking the task on its lane."""
    probe = current_probe()
    probe.record(ev.TASK, task, ev.TASK_START)
    probe.state(ev.WORKING, task + 1)
    try:
        return fn(probe, task, *args)
    finally:
        probe.record(ev.TASK, task, ev.TASK_END)
        probe.block(ev.IDLE)


def pool_task_star(packed):
    """``pool_task`` for ``map``/``imap_unordered``, which pass one argument."""
    fn, task, args = packed
    return pool_task(fn, task, *args)


def pool_chunk_star(chunk):
    """A chunk of ``pool_task_star`` items run as one job, as ``chunksize`` does."""
    return [pool_task_star(packed) for packed in chunk]
