"""Open-file limit: a run of 64 spawned workers holds more than 200 descriptors in the parent (pipes to each
worker, its sentinel, the event connections), more than macOS's default ``ulimit -n`` of 256 allows.

``raise_limit()`` lifts the soft limit towards the hard one, which any process may do; ``shortfall(n)`` says
whether ``n`` processes still do not fit, for an error that names the limit and what is needed.
"""

from __future__ import annotations

try:
    import resource
except ImportError:  # Windows: no descriptor limit of this kind (handles are not counted this way)
    resource = None

BASE_FDS = 48  # the parent's own: interpreter, Qt or the console, the trace's files, the sampler
FDS_PER_PROCESS = 4  # measured: a spawned worker costs 3 to 4 in the parent
WANTED = 4096  # ample for 64 processes with room to spare; more is never needed
DARWIN_OPEN_MAX = 10240  # macOS refuses a soft limit above OPEN_MAX even when the hard one is unlimited


def needed(processes: int) -> int:
    """Descriptors a run of ``processes`` processes needs in the parent, with a margin."""
    return BASE_FDS + FDS_PER_PROCESS * max(0, int(processes))


def current() -> int | None:
    """The soft limit now (None where there is none, or it is unlimited)."""
    if resource is None:
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def raise_limit(wanted: int = WANTED) -> int | None:
    """Lift the soft limit to ``wanted`` or as near as the hard limit allows; the soft limit after it."""
    if resource is None:
        return None
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY or soft >= wanted:
            return current()
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        for attempt in (target, min(target, DARWIN_OPEN_MAX)):
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (attempt, hard))
                break
            except (ValueError, OSError):
                continue
    except (ValueError, OSError):
        pass
    return current()


def shortfall(processes: int) -> tuple[int, int] | None:
    """``(limit, needed)`` if ``processes`` do not fit in the soft limit (after raising it), else None."""
    limit = raise_limit()
    want = needed(processes)
    if limit is None or limit >= want:
        return None
    return limit, want
