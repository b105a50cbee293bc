"""multiprocessing's primitives, as lane states: locks, waits, queues, pipes, shared values, sleep.

An object is traced when the script makes it (``ctx.Lock()``, ``multiprocessing.Queue()``,
``Pipe()``, ``Value()``...); those that multiprocessing makes for itself (a Queue's own lock,
a Pool's queues) are not: the caller of the context's factory decides. A traced object
carries its id (``_ps_id``) to every process it is pickled to (``__reduce_ex__`` below);
a forked child has it already. Each id is ProcScope's (``agent.register``): one number per
object across the whole run, as a lesson's lock ids.

Blocking calls try first without blocking; only a call that would wait shows (and flushes) a
waiting or blocked state, so a run of uncontended calls costs little.
"""

from __future__ import annotations

import linecache
import os
import re
import sys
import time

from app.core import events as ev
from app.core.script import agent

_MP_DIR = os.path.dirname(os.path.abspath(sys.modules["multiprocessing"].__file__))
_OWN_DIRS = (_MP_DIR, os.path.join(os.path.dirname(_MP_DIR), "concurrent"),
             os.path.dirname(os.path.abspath(__file__)))
_ASSIGNED = re.compile(r"^\s*(?:self\.)?([A-Za-z_][\w]*(?:\s*,\s*(?:self\.)?[A-Za-z_]\w*)*)\s*(?::[^=]+)?=[^=]")


# --- who made it, and what the script calls it --------------------------------------------------
def _creator(depth: int = 2) -> tuple[str, int] | None:
    """The script's line that called the factory, or None when multiprocessing itself did."""
    frame = sys._getframe(depth)
    while frame is not None and frame.f_code.co_filename.endswith(("context.py", "__init__.py")) and \
            os.path.dirname(agent.code_file(frame.f_code.co_filename)) == _MP_DIR:
        frame = frame.f_back
    if frame is None:
        return None
    file = agent.code_file(frame.f_code.co_filename)
    if file.startswith(_OWN_DIRS) or frame.f_code.co_filename.startswith("<frozen"):
        return None
    return frame.f_code.co_filename, frame.f_lineno


def _names(where: tuple[str, int], kind: str) -> list[str]:
    """``counter = Value(...)`` → ["counter"]; ``a, b = Pipe()`` → ["a", "b"]; else ``Kind@file:line``."""
    file, line = where
    found = _ASSIGNED.match(linecache.getline(file, line))
    if found:
        return [re.sub(r"^self\.", "", n.strip()) for n in found.group(1).split(",")]
    return [f"{kind}@{os.path.basename(file)}:{line}"]


def _register(obj, kind: str, where, name: str | None = None) -> int | None:
    oid = agent.register(kind, name or _names(where, kind)[0], where)
    if oid is not None:
        obj.__dict__["_ps_id"] = oid
    return oid


# --- ids travel with pickles ---------------------------------------------------------------------
def _restore(rv, attrs: dict):
    """Unpickle what ``__reduce_ex__`` gave, then put the trace's attributes back."""
    obj = rv[0](*rv[1])
    state = rv[2] if len(rv) > 2 else None
    if state is not None:
        setstate = getattr(obj, "__setstate__", None)
        if setstate is not None:
            setstate(state)
        else:
            obj.__dict__.update(state)
    obj.__dict__.update(attrs)
    _arm(obj)
    return obj


def _carry_ids(cls) -> None:
    def __reduce_ex__(self, protocol):  # noqa: N807
        rv = object.__reduce_ex__(self, protocol)
        attrs = {k: v for k, v in self.__dict__.items() if k.startswith("_ps_")}
        if not attrs or not isinstance(rv, tuple):
            return rv
        return _restore, (rv[:3], attrs)

    cls.__reduce_ex__ = __reduce_ex__


# --- locks and semaphores ---------------------------------------------------------------------
def _lock_methods(acquire, release, oid: int):
    def traced_acquire(block=True, timeout=None):
        p = agent.probe
        if p is None or agent.quiet:
            return acquire(block, timeout)
        p.record(ev.LOCK, ev.LOCK_REQUEST, oid)
        got = acquire(False)
        if not got and block:
            agent.enter(ev.WAITING, oid + 1)
            got = acquire(True, timeout)
        if got:
            agent.held.append(oid)
            p.record(ev.LOCK, ev.LOCK_ACQUIRED, oid)
        agent.leave(p)
        return got

    def traced_release():
        release()
        p = agent.probe
        if p is None or agent.quiet:
            return
        p.record(ev.LOCK, ev.LOCK_RELEASED, oid)
        held = agent.held
        for k in range(len(held) - 1, -1, -1):
            if held[k] == oid:
                del held[k]
                break
        agent.leave(p)

    return traced_acquire, traced_release


def _arm(obj) -> None:
    """Give a traced lock (or a Condition with its own lock) its traced acquire and release."""
    from multiprocessing import synchronize as sync

    oid = obj.__dict__.get("_ps_id")
    if oid is None:
        return
    if isinstance(obj, sync.SemLock):
        obj.acquire, obj.release = _lock_methods(obj._semlock.acquire, obj._semlock.release, oid)
    elif isinstance(obj, sync.Condition) and obj.__dict__.get("_ps_own_lock"):
        obj.acquire, obj.release = _lock_methods(obj._lock.acquire, obj._lock.release, oid)


def _patch_sync() -> None:
    from multiprocessing import synchronize as sync

    make = sync.SemLock._make_methods

    def _make_methods(self):
        make(self)
        _arm(self)

    sync.SemLock._make_methods = _make_methods
    sync.SemLock.__enter__ = lambda self: self.acquire()
    sync.SemLock.__exit__ = lambda self, *args: self.release()
    cond_make = sync.Condition._make_methods

    def _cond_make_methods(self):
        cond_make(self)
        _arm(self)

    sync.Condition._make_methods = _cond_make_methods
    sync.Condition.__enter__ = lambda self: self.acquire()
    sync.Condition.__exit__ = lambda self, *args: self.release()
    cond_wait = sync.Condition.wait

    def wait(self, timeout=None):
        oid = self.__dict__.get("_ps_id")
        p = agent.enter(ev.WAITING, oid + 1) if oid is not None else None
        agent.quiet += p is not None  # its lock is let go and taken back inside: the wait shows as one
        try:
            return cond_wait(self, timeout)
        finally:
            agent.quiet -= p is not None
            agent.leave(p)

    sync.Condition.wait = wait
    for cls in (sync.Event, sync.Barrier):
        _waits(cls, "wait")
    for cls in (sync.SemLock, sync.Condition, sync.Event, sync.Barrier):
        _carry_ids(cls)


def _waits(cls, method: str, code: int = ev.WAITING) -> None:
    plain = getattr(cls, method)

    def traced(self, *args, **kwargs):
        oid = self.__dict__.get("_ps_id")
        p = agent.enter(code, oid + 1) if oid is not None else None
        try:
            return plain(self, *args, **kwargs)
        finally:
            agent.leave(p)

    traced.__name__ = plain.__name__
    setattr(cls, method, traced)


# --- queues and pipes -------------------------------------------------------------------------
def _patch_queues() -> None:
    import queue as queue_module
    from multiprocessing import queues

    def blocking(cls, method: str, would_block):
        plain = getattr(cls, method)

        def traced(self, *args, **kwargs):
            oid = self.__dict__.get("_ps_id")
            if oid is None or agent.probe is None:
                return plain(self, *args, **kwargs)
            p = None
            try:
                if would_block(self, args, kwargs):
                    p = agent.enter(ev.BLOCKED, oid + 1)
            except Exception:  # noqa: BLE001 - a closed queue: let the real call say so
                pass
            try:
                return plain(self, *args, **kwargs)
            finally:
                agent.leave(p)

        setattr(cls, method, traced)

    def blocks(args, kwargs) -> bool:
        return (args[0] if args else kwargs.get("block", True)) is not False

    def get_would_block(q, args, kwargs):
        return blocks(args, kwargs) and q.empty()

    def put_would_block(q, args, kwargs):
        return blocks(args[1:], kwargs) and q._maxsize > 0 and q.full()

    for cls in (queues.Queue, queues.JoinableQueue):
        blocking(cls, "put", put_would_block)
    blocking(queues.Queue, "get", get_would_block)
    blocking(queues.SimpleQueue, "get", lambda q, a, k: q.empty())
    _waits(queues.JoinableQueue, "join")
    for cls in (queues.Queue, queues.SimpleQueue):
        _carry_ids(cls)
    del queue_module


def _patch_connections() -> None:
    from multiprocessing import connection, reduction

    base = connection._ConnectionBase
    recv, send = base.recv, base.send

    def traced_recv(self):
        oid = self.__dict__.get("_ps_id")
        p = None
        if oid is not None and agent.probe is not None:
            try:
                if not self.poll():
                    p = agent.enter(ev.BLOCKED, oid + 1)
            except (OSError, EOFError, ValueError):
                pass
        try:
            return recv(self)
        finally:
            agent.leave(p)

    def traced_send(self, obj):
        oid = self.__dict__.get("_ps_id")
        p = agent.enter(ev.BLOCKED, oid + 1) if oid is not None and agent.probe is not None else None
        try:
            return send(self, obj)
        finally:
            agent.leave(p)

    base.recv, base.send = traced_recv, traced_send
    for cls in {connection.Connection, getattr(connection, "PipeConnection", connection.Connection)}:
        reducer = reduction.ForkingPickler._extra_reducers.get(cls)
        if reducer is not None:
            reduction.register(cls, _carrying_reducer(reducer))


def _carrying_reducer(reducer):
    def reduce(conn):
        rv = reducer(conn)
        attrs = {k: v for k, v in conn.__dict__.items() if k.startswith("_ps_")}
        return (_restore, (rv, attrs)) if attrs else rv

    return reduce


# --- shared values ----------------------------------------------------------------------------
def _patch_values() -> None:
    from multiprocessing import sharedctypes

    prop = sharedctypes.Synchronized.value

    def set_value(self, value):
        slot = self.__dict__.get("_ps_slot")
        if slot is None or agent.probe is None:
            return prop.fset(self, value)
        agent.quiet += 1  # the write's own lock is not the script's story
        try:
            prop.fset(self, value)
        finally:
            agent.quiet -= 1
        _record_value(slot, value)

    def get_value(self):
        if self.__dict__.get("_ps_slot") is None:
            return prop.fget(self)
        agent.quiet += 1
        try:
            return prop.fget(self)
        finally:
            agent.quiet -= 1

    sharedctypes.Synchronized.value = property(get_value, set_value)
    setitem = sharedctypes.SynchronizedArray.__setitem__

    def set_item(self, i, value):
        slots = self.__dict__.get("_ps_slots")
        agent.quiet += slots is not None
        try:
            setitem(self, i, value)
        finally:
            agent.quiet -= slots is not None
        if slots is not None and isinstance(i, int) and -len(slots) <= i < len(slots):
            _record_value(slots[i], value)

    sharedctypes.SynchronizedArray.__setitem__ = set_item
    _carry_ids(sharedctypes.SynchronizedBase)


def _record_value(slot: int, value) -> None:
    p = agent.probe
    if p is not None and isinstance(value, (int, float)):
        try:
            p.value(slot, value)
        except (OverflowError, ValueError, TypeError):
            pass


ARRAY_SLOTS = 8  # an Array's first elements get a curve each; the rest are not drawn


def _traced_value(obj, where, kind: str) -> None:
    from multiprocessing import sharedctypes

    name = _names(where, kind)[0]
    if isinstance(obj, sharedctypes.SynchronizedArray):
        n = min(len(obj), ARRAY_SLOTS)
        if len(obj) > ARRAY_SLOTS:
            agent.note("array-slots", f"Only the first {ARRAY_SLOTS} elements of an Array are drawn.",
                       f"Array 只绘制前 {ARRAY_SLOTS} 个元素。")
        slots = [agent.register(kind, f"{name}[{k}]", where, op="value") for k in range(n)]
        if None in slots:
            return
        obj.__dict__["_ps_slots"] = slots
        for k, slot in enumerate(slots):
            _record_value(slot, obj._obj[k])
    elif isinstance(obj, sharedctypes.Synchronized):
        slot = agent.register(kind, name, where, op="value")
        if slot is None:
            return
        obj.__dict__["_ps_slot"] = slot
        _record_value(slot, obj._obj.value)
    else:
        agent.note("raw-values", "RawValue / RawArray (and lock=False) writes are not traced.",
                   "RawValue / RawArray（以及 lock=False）的写入未被追踪。")
        return
    lock = obj.get_lock()
    if "_ps_id" not in getattr(lock, "__dict__", {}) and _register(lock, "RLock", where, f"{name}.get_lock()"):
        _arm(lock)


# --- the factories ----------------------------------------------------------------------------
_LOCKS = ("Lock", "RLock", "Semaphore", "BoundedSemaphore", "Condition", "Event", "Barrier")
_QUEUES = ("Queue", "JoinableQueue", "SimpleQueue")


def _patch_factories() -> None:
    import multiprocessing
    from multiprocessing import context

    base = context.BaseContext
    for name in (*_LOCKS, *_QUEUES):
        setattr(base, name, _traced_factory(getattr(base, name), name))
    for name in ("Value", "Array"):
        setattr(base, name, _value_factory(getattr(base, name), name))
    pipe = base.Pipe

    def Pipe(self, duplex=True):  # noqa: N802 - multiprocessing's name
        ends = pipe(self, duplex)
        where = _creator()
        if where is not None and agent.probe is not None:
            names = _names(where, "Pipe")
            for k, end in enumerate(ends):
                _register(end, "Pipe", where, names[k] if len(names) == 2 else f"{names[0]}[{k}]")
        return ends

    base.Pipe = Pipe

    for name in ("RawValue", "RawArray"):
        setattr(base, name, _noted(getattr(base, name)))
    # ``multiprocessing.Lock`` and the others are methods bound when multiprocessing was imported: bind again
    default = context._default_context
    multiprocessing.__dict__.update((n, getattr(default, n)) for n in multiprocessing.__all__ if hasattr(default, n))


def _traced_factory(make, kind: str):
    def factory(self, *args, **kwargs):
        obj = make(self, *args, **kwargs)
        if agent.probe is None:
            return obj
        where = _creator()
        if where is not None:
            try:
                if kind == "Condition":
                    lock = args[0] if args else kwargs.get("lock")
                    obj.__dict__["_ps_own_lock"] = lock is None or "_ps_id" not in getattr(lock, "__dict__", {})
                if _register(obj, kind, where) is not None:
                    _arm(obj)
            except Exception:  # noqa: BLE001 - never break the script for a trace
                pass
        return obj

    factory.__name__ = kind
    return factory


def _value_factory(make, kind: str):
    def factory(self, *args, **kwargs):
        obj = make(self, *args, **kwargs)
        where = _creator()
        if where is not None and agent.probe is not None:
            try:
                _traced_value(obj, where, kind)
            except Exception:  # noqa: BLE001
                pass
        return obj

    factory.__name__ = kind
    return factory


def _noted(make):
    def factory(self, *args, **kwargs):
        if _creator() is not None:
            agent.note("raw-values", "RawValue / RawArray writes are not traced (a ctypes object has no hook).",
                       "RawValue / RawArray 的写入未被追踪（ctypes 对象无法挂接）。")
        return make(self, *args, **kwargs)

    factory.__name__ = make.__name__
    return factory


# --- time.sleep --------------------------------------------------------------------------------
def _patch_sleep() -> None:
    sleep = agent._sleep

    def traced_sleep(seconds):
        p = agent.enter(ev.SLEEPING) if agent.probe is not None and _is_main_thread() else None
        try:
            sleep(seconds)
        finally:
            agent.leave(p)

    # Pickled as ``time.sleep``, as the plain one is (``Process(target=time.sleep)`` under spawn)
    traced_sleep.__module__, traced_sleep.__qualname__, traced_sleep.__name__ = "time", "sleep", "sleep"
    time.sleep = traced_sleep


def _is_main_thread() -> bool:
    import _thread

    return _thread.get_ident() == agent._main_thread


def install() -> None:
    from app.core.script import after_import

    _patch_connections()
    _patch_factories()
    _patch_sleep()
    after_import.install({"multiprocessing.synchronize": _patch_sync, "multiprocessing.queues": _patch_queues,
                          "multiprocessing.sharedctypes": _patch_values})
