"""The script's side, in each of its Python processes: the connection to ProcScope, the lane, the console.

``install()`` runs before the script's code (from ``sitecustomize`` in every process, and from
``boot`` in the main one). A process gets its lane when it starts to run (``connect``):
the main process in ``boot``, every ``multiprocessing`` child in ``BaseProcess._bootstrap``,
whatever its start method (a forked child drops the connection it inherited). Nothing here
may change what the script does: every hook falls back to the plain call when ProcScope is
not listening, and an error inside a hook is swallowed, never raised into the script.

State bookkeeping: ``held`` is the stack of traced locks this process holds; after any wait
the lane goes back to ``base()`` — holding the innermost lock, else working.
"""

from __future__ import annotations

import _thread
import os
import sys
import threading
import time
from multiprocessing.connection import Client

from app.core import events as ev
from app.core import probe as probe_module
from app.core.script import protocol

_sleep = time.sleep  # the real one: ``patches`` replaces ``time.sleep``
_main_thread = _thread.get_ident()


class _Probe(probe_module.Probe):
    """A Probe that the script's threads may share (the lessons' workers have one thread each)."""

    def __init__(self, conn, index: int):
        super().__init__(conn, index)
        self.lock = threading.RLock()

    def record(self, kind: int, a: int = 0, b: int = 0) -> None:
        with self.lock:
            super().record(kind, a, b)

    def text(self, kind: int, payload) -> None:
        with self.lock:
            super().text(kind, payload)

    def flush(self) -> None:
        with self.lock:
            super().flush()

    def ask(self, message: dict) -> int:
        """Send a control message and wait for ProcScope's answer (an id, a lane)."""
        with self.lock:
            self.flush()
            self.conn.send_bytes(protocol.control(message))
            return protocol.read_reply(self.conn.recv_bytes())

    def tell(self, message: dict) -> None:
        with self.lock:
            self.flush()
            self.conn.send_bytes(protocol.control(message))


probe: _Probe | None = None  # this process's, once it runs; None in a forked child until it bootstraps
held: list[int] = []  # ids of the traced locks held, innermost last
quiet = 0  # > 0 while a hook uses a traced lock internally (a Value's write, a Condition's wait)
_notes_sent: set[str] = set()


def enabled() -> bool:
    return bool(os.environ.get(protocol.ENV_ADDRESS))


def connect(name: str, role: str, first_state: int = ev.WORKING, main_file: str | None = None) -> _Probe | None:
    """Open this process's connection and lane; None if ProcScope cannot be reached."""
    global probe
    if not enabled():
        return None
    try:
        conn = Client(os.environ[protocol.ENV_ADDRESS], authkey=bytes.fromhex(os.environ[protocol.ENV_KEY]))
        main = sys.modules.get("__main__")
        import multiprocessing

        hello = {"op": "hello", "t_ns": time.perf_counter_ns(), "name": name, "pid": os.getpid(),
                 "ppid": os.getppid(), "role": role, "main_module": getattr(main, "__name__", None),
                 "main_file": main_file or getattr(main, "__file__", None),
                 "start_method": multiprocessing.get_start_method(allow_none=True)}
        conn.send_bytes(protocol.control(hello))
        index = protocol.read_reply(conn.recv_bytes())
    except Exception:  # noqa: BLE001 - ProcScope gone or refusing: the script runs on, untraced
        return None
    probe = _Probe(conn, index)
    held.clear()
    probe.block(first_state)
    for failed in _failed_parts + _late_failures():
        note("install:" + failed, f"Part of the instrumentation could not attach ({failed}); that part is not traced.",
             f"部分追踪未能接入（{failed}），这部分未被记录。")
    return probe


def finish(exitcode: int) -> None:
    """The process's last word: its exit code and final state; the connection is closed."""
    global probe
    p, probe = probe, None
    if p is None:
        return
    try:
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, Tee):
                stream.flush_partial(p)
        p.tell({"op": "exit", "code": exitcode})
        p.finish(ev.DONE if exitcode == 0 else ev.CRASHED)
        p.conn.close()
    except Exception:  # noqa: BLE001 - ProcScope gone: nothing to tell
        pass


def base() -> tuple[int, int]:
    return (ev.HOLDING, held[-1] + 1) if held else (ev.WORKING, 0)


def enter(code: int, detail: int = 0) -> _Probe | None:
    """Show a state the process may block in, now (flushed); returns the probe to ``leave`` with."""
    p = probe
    if p is not None and not quiet:
        try:
            p.block(code, detail)
        except Exception:  # noqa: BLE001
            return None
        return p
    return None


def leave(p: _Probe | None) -> None:
    if p is not None and p is probe:
        try:
            p.state(*base())
        except Exception:  # noqa: BLE001
            pass


def note(key: str, en: str, zh: str) -> None:
    """Something the instrumentation could not attach to: said once in the result."""
    p = probe
    if p is None or key in _notes_sent:
        return
    _notes_sent.add(key)
    try:
        p.tell({"op": "note", "key": key, "en": en, "zh": zh})
    except Exception:  # noqa: BLE001
        pass


def register(kind: str, name: str, where: tuple[str, int] | None, op: str = "object",
             key: str | None = None) -> int | None:
    """An id for a new traced object (``op`` "value": a value slot), from ProcScope; ``key`` names an object
    that other processes know by the same key (a Manager's proxy)."""
    file, line = where or (None, None)
    return ask({"op": op, "kind": kind, "name": name, "file": file, "line": line, "pid": os.getpid(), "key": key})


def ask(message: dict) -> int | None:
    """ProcScope's answer to a control message (an id; -1: none), or None if it cannot be asked."""
    p = probe
    if p is None:
        return None
    try:
        return p.ask(message)
    except Exception:  # noqa: BLE001
        return None


# --- the console: every line printed is an event, and still goes where it went ------------------
class Tee:
    """``sys.stdout`` / ``sys.stderr`` of a script process: writes through, and records each line."""

    def __init__(self, stream):
        self._stream = stream
        self._partial = ""

    def write(self, s):
        n = self._stream.write(s)
        p = probe
        if p is not None and isinstance(s, str):
            try:
                text = self._partial + s
                *lines, self._partial = text.split("\n")
                for line in lines:
                    p.text(ev.PRINT, line)
            except Exception:  # noqa: BLE001
                pass
        return n

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        self._stream.flush()

    def flush_partial(self, p) -> None:
        if self._partial:
            p.text(ev.PRINT, self._partial)
            self._partial = ""

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _tee_streams() -> None:
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, Tee):
            setattr(sys, name, Tee(stream))


# --- processes ---------------------------------------------------------------------------------
def _role(process) -> str:
    target = getattr(process, "_target", None)
    name = getattr(target, "__qualname__", "")
    module = getattr(target, "__module__", "")
    if module == "multiprocessing.pool" and name == "worker" or name.endswith("_process_worker"):
        return "pool"
    if module == "multiprocessing.managers" or "_run_server" in name:
        return "manager"
    return "worker"


def watch_procscope() -> None:
    """Exit as soon as ProcScope is gone — not when this process's own parent is: a child the script never
    joined outlives its parent as under plain Python, until ProcScope ends it and names it (``left_running``).
    POSIX: ProcScope's pid polled (a zombie counts as gone); Windows: its process handle waited on."""
    try:
        pid = int(os.environ[protocol.ENV_PARENT])
    except (KeyError, ValueError):
        probe_module.watch_parent()
        return
    if os.name == "nt":
        import _winapi

        try:
            handle = _winapi.OpenProcess(0x00100000, False, pid)  # SYNCHRONIZE
        except OSError:
            os._exit(probe_module.PARENT_GONE_EXIT)  # already gone

        def run():
            _winapi.WaitForSingleObject(handle, _winapi.INFINITE)
            os._exit(probe_module.PARENT_GONE_EXIT)
    else:
        def run():
            while probe_module._alive(pid):
                time.sleep(probe_module.PARENT_POLL_S)
            os._exit(probe_module.PARENT_GONE_EXIT)

    _thread.start_new_thread(run, ())


def _patch_processes() -> None:
    import multiprocessing.process as mp_process

    cls = mp_process.BaseProcess
    bootstrap, join, start = cls._bootstrap, cls.join, cls.start

    def _bootstrap(self, *args, **kwargs):
        role = _role(self)
        connect(self.name, role, ev.IDLE if role in ("pool", "manager") else ev.WORKING)
        if enabled():  # ProcScope killed: this process goes too (also when ProcScope died before this child
            watch_procscope()  # could connect: it must not run on untraced)
        code = bootstrap(self, *args, **kwargs)
        finish(code)
        return code

    def _join(self, timeout=None):
        p = enter(ev.WAITING) if _thread.get_ident() == _main_thread else None
        try:
            return join(self, timeout)
        finally:
            leave(p)
            code = self._popen.poll() if getattr(self, "_popen", None) is not None else None
            if code is not None and p is not None:  # also for a child that died before it could say so
                _tell_quietly({"op": "exited", "pid": self.pid, "code": code})

    def _ending(plain):
        def end(self):
            _tell_quietly({"op": "terminated", "pid": self.pid})
            plain(self)

        end.__name__ = plain.__name__
        return end

    def _start(self):
        if getattr(mp_process.current_process(), "_inheriting", False):
            # A spawned child re-ran the script's top level: it has no ``if __name__ == "__main__":``
            # guard. multiprocessing raises next; ProcScope says why in its explanation.
            _tell_once({"op": "guard", "file": _caller_file(), "pid": os.getpid()})
        requested = time.perf_counter_ns()
        start(self)
        p = probe
        if p is not None:
            try:
                p.tell({"op": "started", "name": self.name, "pid": self.pid, "ppid": os.getpid(),
                        "requested_ns": requested, "role": _role(self)})
            except Exception:  # noqa: BLE001
                pass

    cls._bootstrap, cls.join, cls.start = _bootstrap, _join, _start
    cls.terminate, cls.kill = _ending(cls.terminate), _ending(cls.kill)
    _patch_tracebacks()


def _tell_quietly(message: dict) -> None:
    p = probe
    if p is not None:
        try:
            p.tell(message)
        except Exception:  # noqa: BLE001
            pass


_OWN_DIR = os.path.dirname(os.path.abspath(__file__))


def code_file(filename: str) -> str:
    """The absolute path of a code object's file. The frozen app's bundled modules name theirs relative to
    the bundle's folder (``multiprocessing/queues.py``), whatever the cwd."""
    base = getattr(sys, "_MEIPASS", None)
    if base and not os.path.isabs(filename) and not filename.startswith("<"):
        return os.path.join(base, filename)
    return os.path.abspath(filename)


def strip_own_frames(tb):
    """The traceback without ProcScope's frames, so the script prints what it prints without ProcScope."""
    import types

    frames = []
    while tb is not None:
        if not code_file(tb.tb_frame.f_code.co_filename).startswith(_OWN_DIR):
            frames.append(tb)
        tb = tb.tb_next
    out = None
    for item in reversed(frames):
        out = types.TracebackType(out, item.tb_frame, item.tb_lasti, item.tb_lineno)
    return out


def _patch_tracebacks() -> None:
    """A child's exception is printed by multiprocessing with ``traceback.print_exc()``: record it there,
    and print it as without ProcScope. An uncaught one (a spawned child's start) through ``sys.excepthook``."""
    import traceback

    print_exc = traceback.print_exc

    def traced_print_exc(limit=None, file=None, chain=True):
        exc = sys.exc_info()[1]
        if exc is None:
            return print_exc(limit, file, chain)
        exc.__traceback__ = strip_own_frames(exc.__traceback__)
        p = probe
        if p is not None:
            try:
                p.text(ev.ERROR, "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
            except Exception:  # noqa: BLE001
                pass
        traceback.print_exception(type(exc), exc, exc.__traceback__, limit=limit, file=file, chain=chain)

    traceback.print_exc = traced_print_exc
    hook = sys.excepthook

    def excepthook(kind, value, tb):
        tb = strip_own_frames(tb)
        if value is not None:
            value.__traceback__ = tb  # what the default hook prints
        hook(kind, value, tb)

    sys.excepthook = excepthook


def _caller_file() -> str | None:
    main = sys.modules.get("__mp_main__") or sys.modules.get("__main__")
    return getattr(main, "__file__", None)


def _tell_once(message: dict) -> None:
    """A message from a process that has no lane (it failed before it ran)."""
    if not enabled():
        return
    try:
        conn = Client(os.environ[protocol.ENV_ADDRESS], authkey=bytes.fromhex(os.environ[protocol.ENV_KEY]))
        conn.send_bytes(protocol.control(message))
        conn.close()
    except Exception:  # noqa: BLE001
        pass


def _after_fork_in_child() -> None:
    """A forked child shares its parent's connection: drop it (its own comes in ``_bootstrap``)."""
    global probe, _main_thread
    p, probe = probe, None
    held.clear()
    _main_thread = _thread.get_ident()
    if p is not None:
        try:
            p.conn.close()
        except OSError:
            pass


def _default_start_method() -> None:
    """``--start-method``: the default when the script sets none; a script's own ``set_start_method`` still works."""
    method = os.environ.get(protocol.ENV_START_METHOD)
    if not method:
        return
    from multiprocessing import context

    try:
        default = context._default_context
        if default._actual_context is None:
            default._default_context = context._concrete_contexts[method]
    except (AttributeError, KeyError):
        pass


_installed = False


def install() -> None:
    """Patch this process before the script's code runs (once)."""
    global _installed
    if _installed or not enabled():
        return
    _installed = True
    os.register_at_fork(after_in_child=_after_fork_in_child)
    _patch_processes()
    _tee_streams()
    from app.core.script import managed, patches, pools

    for part in (patches.install, pools.install, managed.install):
        try:
            part()
        except Exception as exc:  # noqa: BLE001 - a Python whose multiprocessing differs: trace less, run anyway
            _failed_parts.append(f"{part.__module__}: {type(exc).__name__}: {exc}")
    _default_start_method()
    from app.core.script import after_import

    _free_app_name(sys.modules[__name__], patches, pools, managed, after_import)


_failed_parts: list[str] = []


def _late_failures() -> list[str]:
    after_import = sys.modules.get("_procscope_after_import")
    return list(after_import.failed) if after_import is not None else []


def _free_app_name(*modules) -> None:
    """The script may have a module or package called ``app`` of its own: ``import app`` must find it.

    ProcScope's modules stay loaded (every hook holds them); only their names are taken out of
    ``sys.modules``. What a pickle names (a pool task's wrapper, a traced lock's restorer) is
    reached through private aliases that every process of the script registers here."""
    for module in modules:
        alias = "_procscope_" + module.__name__.rsplit(".", 1)[-1]
        sys.modules[alias] = module
        for value in vars(module).values():
            if getattr(value, "__module__", None) == module.__name__ and callable(value):
                try:
                    value.__module__ = alias
                except (AttributeError, TypeError):
                    pass
    for name in [n for n in sys.modules if n == "app" or n.startswith("app.")]:
        del sys.modules[name]
