"""Write a file so that a failure never leaves a half-written file, a temp file or a lost original."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager


def _read_umask() -> int:
    """The process's umask, without changing it (Linux says it in /proc; elsewhere the umask must be set to be
    read, so it is read once, here, at import, before the app starts any thread that could create a file)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


# A plain open() creates files with 0o666 minus the umask. Read once: os.umask() is process-wide, and setting it
# (the only portable way to read it) while another thread creates a file would give that file the wrong mode.
DEFAULT_MODE = 0o666 & ~_read_umask()


@contextmanager
def atomic_open(path: str, binary: bool = False):
    """``with atomic_open(path) as out:`` writes a temp file beside ``path``, renamed over it at the end.

    The new file gets the permissions a plain ``open()`` would give it (mkstemp's are owner-only),
    or keeps those of the file it replaces.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".procscope-", suffix=".tmp", dir=directory)
    try:
        mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else DEFAULT_MODE
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""})) as out:
            yield out
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
