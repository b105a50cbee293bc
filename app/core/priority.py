"""The lesson's processes run at a lower scheduling priority than the window that shows them.

64 busy workers on a 2-core lab machine leave the window's GUI thread waiting in the run queue for
30–100 ms at a time (measured with the thread's own ``/proc/thread-self/schedstat``: the wait was for a
free CPU, not for the GIL). A process without privileges cannot raise its own priority, but it may
lower its children's: the workers then get every CPU the window does not need, and the window gets the
CPU as soon as it wants it. Each process is lowered when its hello arrives (it has started: importing
and unpickling cost what they cost in plain Python, so the start order and start cost a lesson shows do
not change), and all of a run's processes alike, so who races whom does not change either. Only the
window asks for it; the command line runs the lesson's processes as plain Python would.
"""

from __future__ import annotations

import os
import sys

NICE = 19  # POSIX: the lowest priority; the scheduler still gives the workers every idle CPU


def lower_priority(pid: int | None) -> None:
    """Lower the scheduling priority of process ``pid`` (a child of ours); never raises."""
    if pid is None:
        return
    try:
        if sys.platform == "win32":
            import psutil

            psutil.Process(pid).nice(psutil.BELOW_NORMAL_PRIORITY_CLASS)
        else:
            os.setpriority(os.PRIO_PROCESS, pid, NICE)
    except Exception:  # noqa: BLE001 - gone already, not allowed, or psutil missing: run it as it is
        pass
