"""ProcScope's side of a script run: start the script, record what its processes report, leave nothing behind.

The script's main process is a child of ProcScope (``python -m app.core.script.boot``) in a
process group of its own; every Python process of the script connects to a
``multiprocessing.connection.Listener`` (a Unix socket, a named pipe on Windows) with a
random key, and gets its lane in the ``Trace`` from its hello. One thread per connection
folds what it sends into the trace — the lessons' record format, so every exporter, the
summary and the window read a script run as a lesson run. A process that ends without a
word (killed) ends as crashed; at the end, or on Stop or a timeout, every process of the
script's tree is killed.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
from multiprocessing.connection import Listener
from time import perf_counter_ns

import numpy as np
import psutil

from app.core import events as ev
from app.core.events import RunStatus
from app.core.priority import lower_priority
from app.core.sampler import Sampler
from app.core.script import SCRIPT_LESSON, protocol
from app.core.trace import Trace

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "site")
BOOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "boot.py")
LINGER_S = 2.0  # after the main process ended: how long its children may take to report their end
_LITTLE = sys.byteorder == "little"


class ScriptRun:
    """One run of a script. ``run()`` blocks until it ended; ``stop()`` from any thread."""

    def __init__(self, script: str, args=(), start_method: str | None = None, listener=None,
                 sample_hz: float | None = 4.0, capture_output: bool = False, stdout=None, quiet: bool = False,
                 cwd: str | None = None, lower_priority: bool = False):
        self.script = os.path.abspath(script)
        self.args = [str(a) for a in args]
        self.start_method = start_method
        self.capture_output = capture_output
        self._stdout = stdout  # where the script's standard output goes (None: ProcScope's)
        self.cwd = cwd  # the script's working folder (None: ProcScope's, as ``python SCRIPT`` from here)
        self.quiet = quiet  # the window's runs: no terminal in or out (the console tab shows the output)
        self._lower_priority = lower_priority  # the window's runs: each process yields the CPU to the window
        self.status = RunStatus.READY
        self.exit_code: int | None = None
        self.output: dict[str, bytes] = {}
        self.trace = Trace({"lesson": SCRIPT_LESSON, "params": {"script": self.script, "args": self.args},
                            "start_method": start_method, "parent_pid": os.getpid(), "value_slots": [],
                            "script_source": read_source(self.script)})
        self._listener = listener
        self._sample_hz = sample_hz
        self._lock = threading.Lock()
        self._lanes: dict[int, int] = {}  # pid -> lane index
        self._exit_codes: dict[int, int] = {}  # lane -> what it reported
        self._open_lanes: set[int] = set()  # lanes whose connection is open
        self._ended: set[int] = set()
        self._terminated: set[int] = set()  # lanes their parent terminated or killed (a Pool's workers)
        self._closed_at: dict[int, int] = {}  # lanes that ended without reporting how: when
        self._left_at_end: set[int] = set()  # lanes still running when the main process ended
        self._objects = 0
        self._keyed: dict[tuple, dict] = {}  # ("object" | "value", key) -> what was registered under it
        self._stop = threading.Event()
        self._stop_reason: RunStatus | None = None
        self._process: subprocess.Popen | None = None
        self._known: dict[int, psutil.Process] = {}  # pid -> the process that had it (a reused pid is not it)

    # --- the event path ------------------------------------------------------------------------
    def emit(self, records: np.ndarray | None = None, texts=()) -> None:
        with self._lock:
            self.trace.append(records, texts)
            if self._listener is not None:
                self._listener(records, list(texts))

    def _text(self, index: int, kind: int, payload, t_ns: int | None = None) -> None:
        self.emit(None, [(t_ns or perf_counter_ns(), index, kind, payload)])

    def _lane(self, pid: int, meta: dict) -> int:
        """The lane of a process: made by whoever speaks of it first, its parent or itself."""
        new = False
        with self._lock:
            index = self._lanes.get(pid)
            if index is None:
                index = self._lanes[pid] = len(self._lanes)
                new = True
        if new:
            try:
                proc = psutil.Process(pid)
            except psutil.Error:
                proc = None
            with self._lock:
                if proc is not None:
                    self._known[pid] = proc
        if new or meta:
            self._text(index, ev.META, dict(meta, pid=pid))
        return index

    def live_pids(self) -> dict[int, int]:
        with self._lock:
            return {i: pid for pid, i in self._lanes.items() if i not in self._ended}

    # --- connections ------------------------------------------------------------------------------
    def _accept(self, listener: Listener) -> None:
        while True:
            try:
                conn = listener.accept()
            except Exception:  # noqa: BLE001 - a failed handshake (wrong key) or the listener closing
                if self._accepting:
                    continue  # a process that failed the handshake
                return
            if not self._accepting:
                conn.close()
                return
            threading.Thread(target=self._serve, args=(conn,), name="procscope-script-conn", daemon=True).start()

    def _serve(self, conn) -> None:
        lane = None
        try:
            while True:
                data = conn.recv_bytes()
                tag = int.from_bytes(data[: ev.TAG_SIZE], "little" if _LITTLE else "big", signed=True)
                if tag == ev.TAG_RECORDS:
                    records = np.frombuffer(data, dtype=np.int64, offset=ev.TAG_SIZE).reshape(-1, ev.RECORD_FIELDS)
                    if lane is not None:
                        records = records.copy()
                        records[:, 1] = lane  # a process speaks for its own lane only
                    self.emit(records)
                elif tag == ev.TAG_TEXT and lane is not None:
                    t_ns, _index, kind, payload = json.loads(data[ev.TAG_SIZE:].decode("utf-8"))
                    self.emit(None, [(t_ns, lane, kind, payload)])
                elif tag == protocol.TAG_CONTROL:
                    message = json.loads(data[ev.TAG_SIZE:].decode("utf-8"))
                    answer = self._control(message, lane)
                    if message.get("op") == "hello":
                        lane = answer
                        with self._lock:
                            self._open_lanes.add(lane)
                    if answer is not None:
                        conn.send_bytes(protocol.reply(answer))
        except (EOFError, OSError, ValueError):
            pass
        finally:
            conn.close()
            if lane is not None:
                self._closed(lane)

    def _control(self, message: dict, lane: int | None) -> int | None:
        op = message.get("op")
        if op == "hello":
            pid = int(message["pid"])
            index = self._lane(pid, {})
            hello = {k: message.get(k) for k in ("name", "pid", "ppid", "role", "main_module", "main_file",
                                                 "start_method")}
            self._text(index, ev.HELLO, hello, message.get("t_ns"))
            if self._lower_priority:  # once started, as a lesson's processes are (app/core/priority.py)
                lower_priority(pid)
            return index
        if op == "started":
            self._lane(int(message["pid"]), {"name": message.get("name"), "role": message.get("role"),
                                            "requested_ns": message.get("requested_ns")})
            return None
        if op == "lookup":  # a Manager's object, used by a process that did not make it
            with self._lock:
                return self._keyed.get(("object", message.get("key")), {}).get("id", -1)
        if op in ("object", "value"):
            message = dict(message)
            if message.get("object_key") is not None:  # a Manager Value's, or one key of its dict or list
                with self._lock:
                    owner = self._keyed.get(("object", message["object_key"]))
                if owner is None:
                    return -1
                item = message.get("item")
                message.update(name=owner["name"] if item is None else f"{owner['name']}[{item}]",
                               file=owner["file"], line=owner["line"], key=f"{message['object_key']}/{item}")
            key = (op, message.get("key")) if message.get("key") is not None else None
            with self._lock:
                if key is not None and key in self._keyed:
                    return self._keyed[key]["id"]
                if op == "value":
                    slots = self.trace.meta["value_slots"]
                    oid = len(slots)
                    slots.append({"name": message.get("name"), "label": {"en": message.get("name"),
                                                                         "zh": message.get("name")}})
                else:
                    oid = self._objects
                    self._objects += 1
                if key is not None:
                    self._keyed[key] = dict(message, id=oid)
            where = {k: message.get(k) for k in ("kind", "name", "file", "line")}
            self._text(ev.PARENT_INDEX, ev.RESULT, {"object": dict(where, id=oid, slot=op == "value",
                                                                   creator_lane=lane)})
            return oid
        if op == "exit" and lane is not None:
            with self._lock:
                self._exit_codes[lane] = int(message.get("code", 0))
            return None
        if op in ("exited", "terminated"):  # what the parent process saw of its child
            with self._lock:
                index = self._lanes.get(message.get("pid"))
                if index is not None and op == "exited":
                    self._exit_codes.setdefault(index, int(message.get("code", 0)))
                elif index is not None:
                    self._terminated.add(index)
            return None
        if op in ("note", "guard", "tasks"):
            self._text(ev.PARENT_INDEX, ev.RESULT, {op: {k: v for k, v in message.items() if k != "op"}})
        return None

    def _closed(self, lane: int) -> None:
        """A process's connection closed: it ended. Its end on the lane, said as the lessons say it."""
        now = perf_counter_ns()
        with self._lock:
            self._open_lanes.discard(lane)
            code = self._exit_codes.get(lane)
            main = self._lanes.get(self._process.pid) == lane if self._process else False
        if main:
            return  # the main process's end is read from its exit status, in ``run``
        if code is None and not self._stop.is_set():
            # Gone without a word: killed. Its parent may yet say it terminated it (a Pool's workers): the
            # lane ends at this time, but how is decided at the end of the run.
            with self._lock:
                self._closed_at[lane] = now
            return
        self._end_lane(lane, code, now, stopped=self._stop.is_set() and code is None)

    def _end_lane(self, lane: int, code: int | None, t_ns: int, stopped: bool = False) -> None:
        with self._lock:
            if lane in self._ended:
                return
            self._ended.add(lane)
        states = self.trace.states(lane)
        last = int(states[-1, 1]) if len(states) else None
        if stopped:
            how = ev.EXIT_STOPPED
        elif lane in self._terminated and last != ev.DONE:
            how = ev.EXIT_TERMINATED
        elif code == 0 and last != ev.CRASHED:
            how = ev.EXIT_DONE
        else:
            how = ev.EXIT_CRASHED
        rows = []
        if last not in (ev.DONE, ev.CRASHED) and how in (ev.EXIT_DONE, ev.EXIT_CRASHED):
            rows.append((t_ns, lane, ev.STATE, ev.DONE if how == ev.EXIT_DONE else ev.CRASHED, 0))
        rows.append((t_ns, lane, ev.EXIT, ev.EXIT_UNKNOWN if code is None else code, how))
        self.emit(np.array(rows, dtype=np.int64))

    # --- the run --------------------------------------------------------------------------------------
    def stop(self, reason: RunStatus = RunStatus.STOPPED) -> None:
        if not self._stop.is_set():
            self._stop_reason = reason
            self._stop.set()

    def _environment(self, address: str, key: bytes) -> dict:
        env = dict(os.environ)
        env[protocol.ENV_ADDRESS] = address
        env[protocol.ENV_KEY] = key.hex()
        env[protocol.ENV_PARENT] = str(os.getpid())
        if self.start_method:
            env[protocol.ENV_START_METHOD] = self.start_method
        else:
            env.pop(protocol.ENV_START_METHOD, None)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (SITE, ROOT, env.get("PYTHONPATH")) if p)
        return env

    def run(self, timeout: float | None = None) -> Trace:
        if self.status != RunStatus.READY:
            raise RuntimeError("a ScriptRun runs once")
        self.status = RunStatus.RUNNING
        key = secrets.token_bytes(32)
        listener = Listener(authkey=key)
        self._accepting = True
        acceptor = threading.Thread(target=self._accept, args=(listener,), name="procscope-script-accept",
                                    daemon=True)
        acceptor.start()
        self.trace.meta["t0_ns"] = perf_counter_ns()
        self.trace.meta["status"] = RunStatus.RUNNING
        sampler = Sampler(self.live_pids, lambda recs: self.emit(recs), self._sample_hz) if self._sample_hz else None
        status = RunStatus.DONE
        try:
            self._start(listener.address, key)
            if sampler is not None:
                sampler.start()
            deadline = None if timeout is None else perf_counter_ns() + int(timeout * 1e9)
            while self._process.poll() is None:
                wait = 0.05 if deadline is None else max(0.0, min(0.05, (deadline - perf_counter_ns()) / 1e9))
                if self._stop.wait(wait):
                    break
                if deadline is not None and perf_counter_ns() >= deadline:
                    self.stop(RunStatus.TIMEOUT)
                    break
            if self._stop.is_set():
                status = self._stop_reason or RunStatus.STOPPED
            else:
                self._left_at_end = self._still_running()  # they now see their parent gone, and go
                self._linger()
        except KeyboardInterrupt:  # Ctrl+C reaches ProcScope only (the script has a session of its own)
            self._stop_reason = status = RunStatus.STOPPED
            self._stop.set()
        finally:
            self._end_all(stopped=status != RunStatus.DONE)
            self._accepting = False
            _wake(listener.address, key)
            _quietly(listener.close)
            if sampler is not None:
                sampler.stop()
        code = self._process.returncode
        self.exit_code = code
        self._text(ev.PARENT_INDEX, ev.RESULT, {"exit_code": code, "status": str(status),
                                               "timeout_s": timeout if status == RunStatus.TIMEOUT else None})
        self.status = status
        self.trace.meta["status"] = status
        self.trace.meta["end_ns"] = perf_counter_ns()
        return self.trace

    def _start(self, address: str, key: bytes) -> None:
        command = [*boot_command(), self.script, *self.args]
        kwargs = {}
        if os.name == "posix":
            kwargs["start_new_session"] = True  # one process group: everything it starts is ended with it
        else:
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
        if self.capture_output:
            kwargs.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        elif self.quiet:
            kwargs.update(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elif self._stdout is not None:
            kwargs["stdout"] = self._stdout
        quiet_in = self.capture_output or self.quiet
        self._process = subprocess.Popen(command, cwd=self.cwd or os.getcwd(), env=self._environment(address, key),
                                         stdin=subprocess.DEVNULL if quiet_in else None, **kwargs)
        self._lane(self._process.pid, {"name": "MainProcess", "role": "main",
                                       "requested_ns": self.trace.meta["t0_ns"]})
        if self.capture_output:
            for name in ("stdout", "stderr"):
                threading.Thread(target=self._drain, args=(name,), daemon=True).start()

    def _drain(self, name: str) -> None:
        stream = getattr(self._process, name)
        self.output[name] = stream.read()

    def _still_running(self) -> set[int]:
        """Lanes but the main one that have not ended, as far as ProcScope knows."""
        with self._lock:
            main_lane = self._lanes.get(self._process.pid)
            return {i for i in self._lanes.values() if i != main_lane and i not in self._ended
                    and i not in self._closed_at and i not in self._exit_codes and i not in self._terminated}

    def _linger(self) -> None:
        """The main process ended: give its children (not joined, daemons) a moment to report their end."""
        deadline = perf_counter_ns() + int(LINGER_S * 1e9)
        while perf_counter_ns() < deadline and not self._stop.is_set():
            with self._lock:
                main_lane = self._lanes.get(self._process.pid)
                if not (self._open_lanes - {main_lane}):
                    break
            self._stop.wait(0.02)

    def _end_all(self, stopped: bool) -> None:
        """Kill every process of the script that is left, then close their lanes."""
        left = self._still_running()
        with self._lock:
            known = list(self._known.values())
            left |= {i for i in self._left_at_end if i not in self._exit_codes}
        if not stopped and left and self._process.poll() is not None:
            # The main process ended and left these running (never joined, or it died): ProcScope ends them
            names = sorted(p.name for i, p in self.trace.processes().items() if i in left)
            self._text(ev.PARENT_INDEX, ev.RESULT, {"left_running": names})
        kill_tree(self._process, known)
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            pass
        now = perf_counter_ns()
        deadline = now + int(2e9)
        while perf_counter_ns() < deadline:  # the connections of the killed close now
            with self._lock:
                main_lane = self._lanes.get(self._process.pid)
                if not (self._open_lanes - {main_lane}):
                    break
            threading.Event().wait(0.01)
        code = self._process.returncode
        with self._lock:
            lanes = dict(self._lanes)
            main_lane = lanes.get(self._process.pid)
        if main_lane is not None:
            self._end_lane(main_lane, code, now, stopped=stopped)
        for lane in sorted(set(lanes.values()) - {main_lane}):
            with self._lock:
                closed = self._closed_at.get(lane)
            self._end_lane(lane, self._exit_codes.get(lane), closed or now,
                           stopped=(stopped and closed is None) or lane in left)
        if self.capture_output:
            for name in ("stdout", "stderr"):
                stream = getattr(self._process, name)
                deadline = perf_counter_ns() + int(2e9)
                while name not in self.output and perf_counter_ns() < deadline:
                    threading.Event().wait(0.01)
                _quietly(stream.close)


SOURCE_LIMIT = 1_000_000  # characters of the script kept in the trace (a replay shows what ran)
BOOT_FLAG = "--procscope-boot"  # the frozen app: its executable is the interpreter, this flag runs boot.py


def boot_command() -> list[str]:
    """How to start the script's main process: ``python boot.py``, or the frozen app's own executable."""
    if getattr(sys, "frozen", False):
        return [sys.executable, BOOT_FLAG]
    return [sys.executable, BOOT]


def read_source(path: str) -> str | None:
    """The script's text as it was when the run started (None if it cannot be read as text)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(SOURCE_LIMIT)
    except OSError:
        return None


def kill_tree(process: subprocess.Popen, known=()) -> None:
    """Every process of the script's tree: its process group, its descendants, every process that had a lane."""
    found = []
    for proc in known:
        try:
            if proc.is_running():
                found.append(proc)
                found += proc.children(recursive=True)
        except psutil.Error:
            pass
    try:
        found += psutil.Process(process.pid).children(recursive=True)
    except psutil.Error:
        pass
    if os.name == "posix":
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for proc in found:
        try:
            if proc.is_running() and proc.pid != os.getpid():
                proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs([p for p in found if p.pid != process.pid], timeout=3)


def _wake(address, key: bytes) -> None:
    """A blocked ``accept()`` does not notice its listener closing: one last connection wakes it."""
    from multiprocessing.connection import Client

    try:
        Client(address, authkey=key).close()
    except (OSError, EOFError, ValueError):
        pass


def _quietly(action) -> None:
    try:
        action()
    except (OSError, ValueError, AttributeError):
        pass
