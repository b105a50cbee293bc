"""Pool and ProcessPoolExecutor: which worker ran which task of which function, and when.

The process that submits numbers each task (one number per item of a ``map``, per
``apply_async``, per ``submit``) and wraps the function in a small picklable callable that
marks the task's start and end on the lane of the worker that runs it, as the lessons' pool
workers do. ProcScope learns each number's function from a ``tasks`` message.
"""

from __future__ import annotations

import itertools

from app.core import events as ev
from app.core.script import agent

_numbers = itertools.count()


def _run(func, task: int, args, kwargs):
    p = agent.probe
    if p is None:
        return func(*args, **kwargs)
    p.record(ev.TASK, task, ev.TASK_START)
    p.state(ev.WORKING, task + 1)
    try:
        return func(*args, **kwargs)
    finally:
        if p is agent.probe:
            p.record(ev.TASK, task, ev.TASK_END)
            p.block(ev.IDLE)


class _Call:
    """``func(*args)`` as task ``task`` (apply_async, submit)."""

    def __init__(self, func, task: int):
        self.func, self.task = func, task

    def __call__(self, *args, **kwargs):
        return _run(self.func, self.task, args, kwargs)


class _Item:
    """``func(x)`` for a numbered item ``(task, x)`` (map, imap, imap_unordered)."""

    def __init__(self, func):
        self.func = func

    def __call__(self, item):
        task, x = item
        return _run(self.func, task, (x,), {})


class _StarItem:
    """``func(*x)`` for a numbered item, unpacked by ``starmap`` into ``(task, x)``."""

    def __init__(self, func):
        self.func = func

    def __call__(self, task, x):
        return _run(self.func, task, tuple(x), {})


def _name(func) -> str:
    inner = getattr(func, "func", None)  # functools.partial: ProcessPoolExecutor.map's chunks
    if inner is not None and getattr(inner, "__name__", "") == "_process_chunk" and func.args:
        func = func.args[0]
    return getattr(func, "__qualname__", None) or type(func).__name__


def _reserve(func, count: int | None) -> int:
    first = next(_numbers)
    if count is not None and count > 1:
        for _ in range(count - 1):
            next(_numbers)
    p = agent.probe
    if p is not None:
        try:
            p.tell({"op": "tasks", "first": first, "count": count, "function": _name(func)})
        except Exception:  # noqa: BLE001
            pass
    return first


def _numbered(func, iterable):
    """Items numbered as they are taken (imap may be given an endless generator)."""
    first = None
    for x in iterable:
        task = next(_numbers)
        if first is None:
            first = task
            p = agent.probe
            if p is not None:
                try:
                    p.tell({"op": "tasks", "first": first, "count": None, "function": _name(func)})
                except Exception:  # noqa: BLE001
                    pass
        yield task, x


def _patch_pool() -> None:
    from multiprocessing import pool

    cls = pool.Pool
    apply_async, map_async, imap, imap_unordered = cls.apply_async, cls._map_async, cls.imap, cls.imap_unordered

    def traced_apply_async(self, func, args=(), kwds={}, callback=None, error_callback=None):  # noqa: B006
        if agent.probe is not None:
            func = _Call(func, _reserve(func, 1))
        return apply_async(self, func, args, kwds, callback, error_callback)

    def traced_map_async(self, func, iterable, mapper, chunksize=None, callback=None, error_callback=None):
        if agent.probe is not None and mapper in (pool.mapstar, pool.starmapstar):
            items = list(iterable)
            first = _reserve(func, len(items))
            iterable = [(first + k, x) for k, x in enumerate(items)]
            func = _Item(func) if mapper is pool.mapstar else _StarItem(func)
        return map_async(self, func, iterable, mapper, chunksize, callback, error_callback)

    def traced_imap(plain):
        def imap_(self, func, iterable, chunksize=1):
            if agent.probe is not None:
                iterable, func = _numbered(func, iterable), _Item(func)
            return plain(self, func, iterable, chunksize)

        imap_.__name__ = plain.__name__
        return imap_

    cls.apply_async, cls._map_async = traced_apply_async, traced_map_async
    cls.imap, cls.imap_unordered = traced_imap(imap), traced_imap(imap_unordered)
    for result_cls, method in ((pool.ApplyResult, "wait"), (pool.IMapIterator, "next")):
        _waits_in_parent(result_cls, method)


def _waits_in_parent(cls, method: str) -> None:
    plain = getattr(cls, method)

    def traced(self, *args, **kwargs):
        p = agent.enter(ev.WAITING) if agent.probe is not None and agent._thread.get_ident() == agent._main_thread \
            else None
        try:
            return plain(self, *args, **kwargs)
        finally:
            agent.leave(p)

    traced.__name__ = plain.__name__
    setattr(cls, method, traced)


def _patch_executor() -> None:
    from concurrent.futures import process

    cls = process.ProcessPoolExecutor
    submit = cls.submit

    def traced_submit(self, fn, /, *args, **kwargs):
        if agent.probe is not None:
            fn = _Call(fn, _reserve(fn, 1))
        return submit(self, fn, *args, **kwargs)

    cls.submit = traced_submit


def install() -> None:
    from app.core.script import after_import

    after_import.install({"multiprocessing.pool": _patch_pool, "concurrent.futures.process": _patch_executor})
