"""ProcScope: see Python's multiprocessing happen.

Windowed builds start with ``sys.stdout``/``sys.stderr`` set to ``None`` (in
the parent and in every child), and a child that writes to them dies with
exit code 1; a stand-in that discards text keeps every module
free to print.
"""

import os
import sys

__version__ = "0.1.0"

for _name in ("stdout", "stderr"):
    if getattr(sys, _name) is None:
        setattr(sys, _name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the process
