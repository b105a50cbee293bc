"""Run a patch when a module is first imported, not before: a script process pays only for what it uses.

``multiprocessing.managers`` (with ``shared_memory``, ``tempfile``...), ``multiprocessing.pool``,
``concurrent.futures.process``, ``sharedctypes`` (``ctypes``) would add tens of milliseconds to the
start of every spawned child if they were imported to be patched up front.
"""

from __future__ import annotations

import sys


class AfterImport:
    """A ``sys.meta_path`` finder that finds nothing itself: it wraps the real loader of a watched module."""

    def __init__(self, hooks: dict):
        self._hooks = dict(hooks)  # module name -> callable, run once after the module's code

    def find_spec(self, name, path=None, target=None):
        hook = self._hooks.get(name)
        if hook is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        plain = getattr(loader, "exec_module", None)
        if plain is None:
            return None

        def exec_module(module):
            plain(module)
            if self._hooks.pop(name, None) is not None:
                _run(hook)

        loader.exec_module = exec_module
        return spec


def _run(hook) -> None:
    try:
        hook()
    except Exception as exc:  # noqa: BLE001 - a multiprocessing that differs: trace less, never break the script
        failed.append(why := f"{getattr(hook, '__qualname__', hook)}: {type(exc).__name__}: {exc}")
        agent = sys.modules.get("_procscope_agent")  # by its alias: the name ``app`` may be the script's now
        if agent is not None:
            agent.note("install:" + why, f"Part of the instrumentation could not attach ({why}); that part is "
                       "not traced.", f"部分追踪未能接入（{why}），这部分未被记录。")


failed: list[str] = []


def install(hooks: dict) -> None:
    """Each hook now if its module is imported already, else right after its first import."""
    later = {}
    for name, hook in hooks.items():
        if name in sys.modules:
            _run(hook)
        else:
            later[name] = hook
    if later:
        sys.meta_path.insert(0, AfterImport(later))
