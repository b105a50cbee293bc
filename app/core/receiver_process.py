"""The window's receiver: a process that drains the workers' pipes and samples them, off the app's GIL.

The app creates a shared-memory ``Ring`` and starts the receiver process
(``receiver_main``, named ``procscope-receiver``). Each worker's pipe is made
by the app as before; its read end is handed to the receiver over a control
connection (``multiprocessing.reduction.send_handle``: a file descriptor over
a Unix socket, a duplicated handle on Windows) and closed in the app. The
receiver reads whole pipe buffers (``PipeWaiter``), copies the records'
bytes into the ring as they came, forwards text messages (rare: prints,
hellos, results) through a side pipe, and samples CPU and memory of the
processes whose hello it saw (``Sampler``). In the app, ``ReceiverProcess``'s
pump thread takes what the ring holds every ``PUMP_S`` (and at once when a
text arrives) and gives it to the runner's ``emit`` — one cheap copy per wake-up,
where the receiver thread spent the app's GIL on every pipe read.

Lifetime: the receiver exits when the app's end of the control connection
closes (the app died, SIGKILL included), when its parent is gone (the same
parent watch as every worker: ``probe.watch_parent``), or after a drain the
app asked for at the end of a run; the app joins it, then kills it if it is
still there. It is a daemon of the app: never a lane, never one of the
lesson's processes.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import sys
import threading
from multiprocessing import connection, reduction
from time import perf_counter_ns

from app.core import events as ev
from app.core.pipe_waiter import PipeWaiter
from app.core.ring import CAPACITY, Ring

PUMP_S = 0.004  # the app takes the ring's rows at least this often (a frame is 16 ms)
DRAIN_S = 3.0  # at most this long to read what dead processes left in their pipes
JOIN_S = 2.0  # then the receiver has this long to exit before it is killed
NAME = "procscope-receiver"
ROLE = "receiver"  # ProcScope's own process, not a lesson's

_ADD = b"A"  # control: a pipe's read end follows (send_handle)
_DRAIN = b"D"  # control: the run is over: drain the pipes, then say _DONE and exit
_DONE = b"DONE"  # side pipe: everything is in the ring and sent
_SAMPLE = struct.Struct(f"={ev.RECORD_FIELDS}q")
_TAG = struct.Struct("=q")


# --- the receiver process ---------------------------------------------------------------
def receiver_main(control, side, ring_name: str, capacity: int, sample_hz: float | None) -> None:
    """The receiver process's target."""
    from app.core.probe import watch_parent

    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in a terminal goes to the whole group: the app decides
    watch_parent()
    ring = Ring.attach(ring_name, capacity)
    try:
        _Receiver(control, side, ring, sample_hz).loop()
    finally:
        ring.close()


class _Receiver:
    def __init__(self, control, side, ring: Ring, sample_hz: float | None):
        self.control, self.side, self.ring = control, side, ring
        self.waiter = PipeWaiter()
        self.waiter.add(control)
        self.readers: set = set()
        self.pids: dict[int, int] = {}  # lane index -> pid, from the hellos: what the sampler reads
        self.sampler = None
        self.period_ns = 0
        if sample_hz:
            from app.core.sampler import Sampler

            self.sampler = Sampler(lambda: self.pids, None, sample_hz)
            self.period_ns = int(1e9 / sample_hz)
        self.next_sample = perf_counter_ns() + self.period_ns
        self.deadline: int | None = None  # the drain's end, once the app asked for it

    def loop(self) -> None:
        while True:
            now = perf_counter_ns()
            if self.deadline is not None and (not self.readers or now > self.deadline):
                break
            timeout = 0.05
            if self.sampler is not None:
                if now >= self.next_sample:
                    self.sample()
                    self.next_sample = now + self.period_ns
                timeout = min(timeout, max(0.0, (self.next_sample - now) / 1e9))
            texts = []
            for conn in self.waiter.wait(timeout):
                if conn is self.control:
                    self.command()
                else:
                    self.read(conn, texts)
            for message in texts:  # after the records that came before them are in the ring
                self.side.send_bytes(message)
        self.side.send_bytes(_DONE)

    def command(self) -> None:
        try:
            while self.control.poll(0):
                what = self.control.recv_bytes()
                if what == _ADD:
                    conn = _connection(reduction.recv_handle(self.control))
                    self.readers.add(conn)
                    self.waiter.add(conn)
                elif what == _DRAIN and self.deadline is None:
                    self.deadline = perf_counter_ns() + int(DRAIN_S * 1e9)
        except (EOFError, OSError):
            os._exit(0)  # the app is gone: nobody is left to read anything

    def read(self, conn, texts: list) -> None:
        try:
            messages = self.waiter.messages(conn)
        except (EOFError, OSError):
            self.waiter.remove(conn)
            self.readers.discard(conn)
            conn.close()
            return
        for data in messages:
            tag = _TAG.unpack_from(data)[0]
            if tag == ev.TAG_RECORDS:
                self.ring.put(memoryview(data)[ev.TAG_SIZE:], stopping=self.app_gone)
            elif tag == ev.TAG_TEXT:
                texts.append(data)
                self.learn_pid(data)

    def learn_pid(self, data: bytes) -> None:
        """A hello names its process's pid: from then on it is sampled."""
        if self.sampler is None:
            return
        try:
            _t, index, kind, payload = json.loads(data[ev.TAG_SIZE:].decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return
        if kind == ev.HELLO and isinstance(payload, dict) and isinstance(payload.get("pid"), int):
            self.pids[index] = payload["pid"]

    def sample(self) -> None:
        rows = self.sampler.sample_rows()
        if rows:
            self.ring.put(b"".join(_SAMPLE.pack(*row) for row in rows), stopping=self.app_gone)
        for index in [i for i, pid in self.pids.items() if self.sampler.is_gone(pid)]:
            del self.pids[index]

    def app_gone(self) -> bool:
        """Asked while the ring is full: a closed control connection means the app died."""
        try:
            if self.control.poll(0):
                self.command()
        except (EOFError, OSError):
            os._exit(0)
        return False


def _connection(handle):
    if sys.platform == "win32":
        return connection.PipeConnection(handle, writable=False)
    return connection.Connection(handle, writable=False)


# --- the app's side ------------------------------------------------------------------------
class ReceiverProcess:
    """Starts the receiver, hands it the pipes, and pumps what it sends into ``emit(records, texts)``."""

    def __init__(self, ctx, emit, sample_hz: float | None, idle=None, capacity: int = CAPACITY):
        self._ctx = ctx
        self._emit = emit
        self._idle = idle  # callable: True when the runner has something to emit anyway (held-back texts)
        self._sample_hz = sample_hz
        self._capacity = capacity
        self._lock = threading.Lock()  # one control message at a time
        self.ring: Ring | None = None
        self.process = None
        self._control = None
        self._side = None
        self._pump_thread: threading.Thread | None = None
        self._finished = threading.Event()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        self.ring = Ring.create(self._capacity)
        control, control_child = self._ctx.Pipe(duplex=True)
        side, side_child = self._ctx.Pipe(duplex=False)
        self._control, self._side = control, side  # closed by ``close`` whatever happens next
        self.process = self._ctx.Process(
            target=receiver_main, name=NAME, daemon=True,
            args=(control_child, side_child, self.ring.name, self._capacity, self._sample_hz),
        )
        try:
            self.process.start()
        finally:
            control_child.close()
            side_child.close()
        self._pump_thread = threading.Thread(target=self._pump, name="procscope-ring-pump", daemon=True)
        self._pump_thread.start()

    def add(self, conn) -> None:
        """Hand a pipe's read end to the receiver; it is closed here."""
        try:
            with self._lock:
                self._control.send_bytes(_ADD)
                reduction.send_handle(self._control, conn.fileno(), self.process.pid)
        except (OSError, ValueError):
            pass  # the receiver is gone (the run is ending): the worker's sends will fail and it exits
        finally:
            conn.close()

    def finish(self, timeout: float = DRAIN_S + 1) -> None:
        """The run is over: let the receiver drain the pipes, take the rest, end it (killed if it must be)."""
        try:
            with self._lock:
                self._control.send_bytes(_DRAIN)
        except (OSError, ValueError):
            pass
        if self._pump_thread is not None:
            self._pump_thread.join(timeout)
        self.close()

    def close(self) -> None:
        """End the receiver now, whatever it is doing; free the ring."""
        self._finished.set()
        if self.process is not None and self.process.pid is not None:
            self.process.join(JOIN_S if self.process.exitcode is None else 0)
            if self.process.exitcode is None:
                self.process.kill()
                self.process.join(JOIN_S)
        if self._pump_thread is not None:
            self._pump_thread.join(JOIN_S)
        for conn in (self._control, self._side):
            if conn is not None:
                conn.close()
        self._control = self._side = None
        if self.ring is not None and (self._pump_thread is None or not self._pump_thread.is_alive()):
            self.ring.close()
            self.ring = None

    def _pump(self) -> None:
        side, ring = self._side, self.ring
        while not self._finished.is_set():
            texts, done = [], False
            try:
                if side.poll(PUMP_S):
                    while True:
                        data = side.recv_bytes()
                        if data == _DONE:
                            done = True
                            break
                        t_ns, index, kind, payload = json.loads(data[ev.TAG_SIZE:].decode("utf-8"))
                        texts.append((t_ns, index, kind, payload))
                        if not side.poll(0):
                            break
            except (EOFError, OSError):
                done = True  # the receiver died: take what it left and stop
            records = ring.take()
            if records is not None or texts or (self._idle is not None and self._idle()):
                self._emit(records, texts)
            if done:
                return
