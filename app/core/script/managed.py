"""Objects made by a Manager: its locks and waits as lane states, its Value, dict and list writes as curves.

A proxy is known by its token (the server's object id), the same in every process: the process
that makes it registers it under that key, and any other process that uses a copy asks
ProcScope for the id of that key (once per object and process). Queues through a Manager are not
traced (said once in the result).
"""

from __future__ import annotations

from app.core import events as ev
from app.core.script import agent, patches

_LOCKS = ("Lock", "RLock", "Semaphore", "BoundedSemaphore", "Condition", "Event", "Barrier")
_VALUES = ("Value", "dict", "list")
KEYS_PER_CONTAINER = 8  # a dict's or list's first keys get a curve each
_ids: dict[str, int] = {}  # token id -> object id (-1: not traced), in this process
_slots: dict[tuple, int] = {}  # (token id, key) -> value slot


def _token(proxy) -> str | None:
    token = getattr(proxy, "_token", None)
    return None if token is None else f"{token.address}/{token.id}"


def _id_of(proxy) -> int | None:
    key = _token(proxy)
    if key is None or agent.probe is None:
        return None
    oid = _ids.get(key)
    if oid is None:
        oid = agent.ask({"op": "lookup", "key": key})
        _ids[key] = -1 if oid is None else oid
    return None if oid is None or oid < 0 else oid


def _slot(proxy, key, label: str) -> int | None:
    """The value slot of a Manager Value (``key`` None) or of one key of a dict or list, from ProcScope,
    which names it after the object (``scores['a']``)."""
    token = _token(proxy)
    if token is None or agent.probe is None:
        return None
    slot = _slots.get((token, key))
    if slot is None:
        if key is not None and sum(1 for t, _k in _slots if t == token) >= KEYS_PER_CONTAINER:
            agent.note("manager-keys", f"Only the first {KEYS_PER_CONTAINER} keys of a Manager dict or list are drawn.",
                       f"Manager 的 dict 或 list 只绘制前 {KEYS_PER_CONTAINER} 个键。")
            return None
        slot = agent.ask({"op": "value", "kind": label, "object_key": token,
                          "item": None if key is None else repr(key)})
        if slot is None or slot < 0:
            return None
        _slots[(token, key)] = slot
    return slot


def _patch_creation() -> None:
    from multiprocessing import managers

    for typeid in (*_LOCKS, *_VALUES, "Queue", "JoinableQueue"):
        plain = getattr(managers.SyncManager, typeid, None)
        if plain is not None:
            setattr(managers.SyncManager, typeid, _creating(plain, typeid))


def _creating(plain, typeid: str):
    def create(self, *args, **kwargs):
        proxy = plain(self, *args, **kwargs)
        where = patches._creator()
        if where is None or agent.probe is None:
            return proxy
        try:
            if typeid in ("Queue", "JoinableQueue"):
                agent.note("manager-queue", "Queues made by a Manager are not traced.",
                           "Manager 创建的队列未被追踪。")
                return proxy
            name = patches._names(where, typeid)[0]
            key = _token(proxy)
            oid = agent.register(f"Manager.{typeid}", name, where, key=key)
            if oid is not None:
                _ids[key] = oid
                if typeid == "Value":
                    _record(proxy, None, "Manager.Value", proxy.get())
        except Exception:  # noqa: BLE001 - never break the script for a trace
            pass
        return proxy

    create.__name__ = typeid
    return create


def _record(proxy, key, label: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    slot = _slot(proxy, key, label)
    p = agent.probe
    if slot is not None and p is not None:
        try:
            p.value(slot, value)
        except (OverflowError, ValueError, TypeError):
            pass


def _patch_proxies() -> None:
    from multiprocessing import managers

    cls = managers.AcquirerProxy
    plain_acquire, plain_release = cls.acquire, cls.release

    def acquire(self, blocking=True, timeout=None):
        oid = _id_of(self)
        if oid is None:
            return plain_acquire(self, blocking, timeout)
        traced, _release = patches._lock_methods(lambda b=True, t=None: plain_acquire(self, b, t), None, oid)
        return traced(blocking, timeout)

    def release(self):
        oid = _id_of(self)
        if oid is None:
            return plain_release(self)
        _acquire, traced = patches._lock_methods(None, lambda: plain_release(self), oid)
        return traced()

    cls.acquire, cls.release = acquire, release
    cls.__enter__ = lambda self: self.acquire()
    cls.__exit__ = lambda self, *args: self.release()
    for proxy_cls in (managers.ConditionProxy, managers.EventProxy, managers.BarrierProxy):
        _waits(proxy_cls)
    value_set = managers.ValueProxy.set

    def set_value(self, value):
        result = value_set(self, value)
        _record(self, None, "Manager.Value", value)
        return result

    managers.ValueProxy.set = set_value
    managers.ValueProxy.value = property(managers.ValueProxy.get, set_value)
    for container, label in ((managers.DictProxy, "Manager.dict"), (managers.ListProxy, "Manager.list")):
        _container_writes(container, label)


def _waits(cls) -> None:
    plain = cls.wait

    def wait(self, *args, **kwargs):
        oid = _id_of(self)
        p = agent.enter(ev.WAITING, oid + 1) if oid is not None else None
        try:
            return plain(self, *args, **kwargs)
        finally:
            agent.leave(p)

    cls.wait = wait


def _container_writes(cls, label: str) -> None:
    plain = cls.__setitem__

    def setitem(self, key, value):
        result = plain(self, key, value)
        if _id_of(self) is not None and isinstance(key, (int, str)):
            _record(self, key, label, value)
        return result

    cls.__setitem__ = setitem


def install() -> None:
    from app.core.script import after_import

    def patch():
        _patch_creation()
        _patch_proxies()

    after_import.install({"multiprocessing.managers": patch})
