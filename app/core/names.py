"""One display name per process of a run, the same in lanes, tables, results and explanations.

A worker keeps the name the runner gave it (``Process-1`` is lane 0 when no
other process came first; speedup's ``spawn-2w-0``, sync's ``consumer-0``).
Pool workers and manager servers are named by multiprocessing's session-wide
counter (``SpawnPoolWorker-52``, ``SyncManager-10``), so they are renumbered
per run in the order they started: ``SpawnPoolWorker-1`` … ``-n``, as the
lesson text says. The pool
takes a lane index as each worker starts, so lane order is start order. The
real name stays in ``ProcessInfo.name`` / the summary's ``processes`` (for
tooltips and the process table).

No numpy, no Qt: the result view and the lessons' ``result_rows`` call it on
a summary; the lanes call it on a trace.
"""

from __future__ import annotations

import re

# Roles whose processes multiprocessing numbers across the session, and the name used when one has none.
RENUMBERED = {"pool": "PoolWorker", "manager": "SyncManager"}
_NUMBERED = re.compile(r"^(?P<prefix>.*\D)-(?P<n>\d+)$")


def display_names(source) -> dict[int, str]:
    """Lane index → display name, from a ``Trace``, a run summary or a list of processes.

    A list item is a ``ProcessInfo`` or a summary's process dict (``index``, ``name``, ``role``).
    """
    if isinstance(source, dict):
        items = source.get("processes", [])
    elif hasattr(source, "processes"):
        items = source.processes().values()
    else:
        items = source
    procs = sorted((_fields(p) for p in items), key=lambda p: p[0])
    names: dict[int, str] = {}
    counts = dict.fromkeys(RENUMBERED, 0)
    for index, name, role in procs:
        if role in RENUMBERED:
            counts[role] += 1
            match = _NUMBERED.match(name or "")
            prefix = match.group("prefix") if match else (name or RENUMBERED[role])
            names[index] = f"{prefix}-{counts[role]}"
        else:
            names[index] = name or f"#{index}"
    return names


def name_of(names: dict[int, str], index) -> str:
    """The display name of ``index`` (an int or a JSON key), or ``#index`` when unknown."""
    try:
        return names.get(int(index), f"#{index}")
    except (TypeError, ValueError):
        return f"#{index}"


def _fields(p) -> tuple[int, str, str]:
    if isinstance(p, dict):
        return int(p["index"]), p.get("name") or "", p.get("role") or "worker"
    return int(p.index), p.name or "", p.role or "worker"
