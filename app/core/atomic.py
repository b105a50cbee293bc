"""Write files so that a failure never leaves a half-written file, a temp file or a lost original, and so
that writing never destroys what the path points to.

What a path is decides how it is written:

- a regular file or a new path: a temp file beside it, renamed over it once everything is written;
- a symbolic link: followed, its target written as above (the link stays a link);
- a FIFO, a character or block device or a socket (``/dev/null``, a terminal, ``mkfifo``): streamed to,
  never replaced (run as root, a rename over ``/dev/null`` would replace the system's one);
- ``-``: streamed to standard output, as UTF-8 bytes.

``Outputs`` writes several files all or none: each is written to its temp file, and only when every one
succeeded are they all renamed; a failure (or an exception such as a SIGTERM turned into one) removes every
temp file. A streamed output cannot be taken back: it is written after the files' temps and before their
renames, so a failing stream keeps no file either.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from contextlib import contextmanager

STDOUT = "-"
TEMP_PREFIX = ".procscope-"
TEMP_SUFFIX = ".tmp"


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


def is_stream(path: str) -> bool:
    """Whether ``path`` is written by streaming to it: ``-``, or (after symlinks) a FIFO, device or socket."""
    if path == STDOUT:
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def unwritable_reason(path: str) -> str | None:
    """Why nothing can be written to ``path`` (a short English phrase), or None if it can be tried."""
    if path == STDOUT:
        return None
    if not path.strip():
        return "the name is empty"
    real = os.path.realpath(path)
    if os.path.isdir(real):
        return "it is a directory"
    if is_stream(real):
        return None if os.access(real, os.W_OK) else "it is not writable"
    folder = os.path.dirname(real) or "."
    if not os.path.isdir(folder):
        return f"the folder {folder} does not exist"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is not writable"
    if os.path.exists(real) and not os.access(real, os.W_OK):
        return "the file is read-only"
    return None


class Outputs:
    """Files written all or none: ``with Outputs() as outs:`` then ``with outs.open(path) as f: ...`` for each;
    renamed into place when the ``with`` block ends without an exception, all temps removed when it raises."""

    def __init__(self) -> None:
        self._staged: list[tuple[str, str, int]] = []  # (temp, target, mode)

    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, kind, _value, _tb) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()

    @contextmanager
    def open(self, path: str, binary: bool = False):
        """A file object writing to ``path`` (see the module docstring for what is done with it)."""
        if path == STDOUT:
            with _stdout(binary) as out:
                yield out
            return
        real = os.path.realpath(path)  # a symlink is followed: its target is written, the link stays
        if is_stream(real):
            with open(real, "wb") as raw, _text(raw, binary) as out:
                yield out
            return
        _check_name(real)
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=os.path.dirname(real))
        try:
            mode = os.stat(real).st_mode & 0o777 if os.path.exists(real) else DEFAULT_MODE
            with os.fdopen(fd, "wb") as raw:
                with _text(raw, binary) as out:
                    yield out
                raw.flush()
                os.fsync(raw.fileno())  # the rename must not land before the data (a crash would leave it empty)
        except BaseException:
            _remove(tmp)
            raise
        self._staged.append((tmp, real, mode))

    def commit(self) -> None:
        """Rename every written temp over its target (on a failure the temps not yet renamed are removed).

        Every target's name is checked again first, so that a rename that would fail (a name too long) fails
        before any file was replaced."""
        try:
            for _tmp, real, _mode in self._staged:
                _check_name(real)
            while self._staged:
                tmp, real, mode = self._staged[0]
                os.chmod(tmp, mode)
                os.replace(tmp, real)
                self._staged.pop(0)
        finally:
            self.discard()

    def discard(self) -> None:
        """Remove every temp file not renamed yet."""
        for tmp, _real, _mode in self._staged:
            _remove(tmp)
        self._staged.clear()


@contextmanager
def atomic_open(path: str, binary: bool = False):
    """``with atomic_open(path) as out:`` writes one output: a temp file beside ``path`` renamed over it at
    the end (a symlink followed, a FIFO or device streamed to, ``-`` is standard output).

    The new file gets the permissions a plain ``open()`` would give it (mkstemp's are owner-only),
    or keeps those of the file it replaces.
    """
    with Outputs() as outputs, outputs.open(path, binary) as out:
        yield out


class _Utf8:
    """A text file over a bytes one: what is written is encoded as UTF-8 (``newline`` untouched, as ``csv``
    wants), in blocks (``json.dump`` writes millions of tiny pieces). Not an ``io.TextIOWrapper``: one that
    failed to flush would close standard output when it is collected."""

    BLOCK = 1 << 16

    def __init__(self, raw) -> None:
        self._raw = raw
        self._parts: list[str] = []
        self._size = 0

    def write(self, text: str) -> int:
        self._parts.append(text)
        self._size += len(text)
        if self._size >= self.BLOCK:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._parts:
            data = "".join(self._parts).encode("utf-8")
            self._parts.clear()
            self._size = 0
            self._raw.write(data)
        self._raw.flush()


@contextmanager
def _text(raw, binary: bool):
    if binary:
        yield raw
        return
    out = _Utf8(raw)
    yield out
    out.flush()


@contextmanager
def _stdout(binary: bool):
    """Standard output's bytes (a file's content is UTF-8 whatever the console's encoding is)."""
    stream = sys.stdout
    if stream is None:  # a windowed build has no console: nothing to write to
        raise OSError(f"{STDOUT}: there is no standard output")
    stream.flush()
    raw = getattr(stream, "buffer", None)
    if raw is None:  # replaced by a text-only object (a test's capture)
        if binary:
            raise OSError(f"{STDOUT}: standard output takes no bytes here")
        yield stream
        stream.flush()
        return
    with _text(raw, binary) as out:
        yield out
    raw.flush()


def _check_name(real: str) -> None:
    """Raise the OSError a rename to ``real`` would raise for its name (too long, a folder gone), now."""
    try:
        os.stat(real)
    except FileNotFoundError:
        if not os.path.isdir(os.path.dirname(real)):
            raise


def _remove(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass
