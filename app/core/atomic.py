"""Write a file so that a failure never leaves a half-written file, a temp file or a lost original."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_open(path: str, binary: bool = False):
    """``with atomic_open(path) as out:`` writes a temp file beside ``path``, renamed over it at the end.

    The new file gets the permissions a plain ``open()`` would give it (mkstemp's are owner-only),
    or keeps those of the file it replaces.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".procscope-", suffix=".tmp", dir=directory)
    try:
        mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else _default_mode()
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""})) as out:
            yield out
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
