"""Is it a script ProcScope can run? One line naming the file, the problem and what is allowed."""

from __future__ import annotations

import os

from app.core.params import ParamError

SUFFIXES = (".py", ".pyw")


def check_script(path: str) -> str:
    """The script's absolute path; ``ParamError`` (one line) if it does not exist, is not a Python file,
    or does not compile (the file and line of the syntax error)."""
    allowed = "allowed: an existing Python file (.py) that compiles"
    if not path or not path.strip():
        raise ParamError(f"SCRIPT: {path!r} is empty; {allowed}")
    full = os.path.abspath(path)
    if not os.path.exists(full):
        raise ParamError(f"SCRIPT: {path!r}: no such file; {allowed}")
    if os.path.isdir(full):
        raise ParamError(f"SCRIPT: {path!r} is a directory; {allowed}")
    if not full.lower().endswith(SUFFIXES):
        raise ParamError(f"SCRIPT: {path!r} is not a Python file (it does not end in .py); {allowed}")
    try:
        with open(full, "rb") as handle:
            source = handle.read()
    except OSError as exc:
        raise ParamError(f"SCRIPT: cannot read {path!r}: {exc.strerror or exc}; {allowed}") from None
    try:
        compile(source, full, "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f"{exc.filename or path}:{exc.lineno}" if exc.lineno else (exc.filename or path)
        raise ParamError(f"SCRIPT: {where}: syntax error: {exc.msg}; {allowed}") from None
    except (ValueError, UnicodeDecodeError) as exc:  # NUL bytes, not text: not a Python file
        raise ParamError(f"SCRIPT: {path!r} is not a Python file ({exc}); {allowed}") from None
    return full
