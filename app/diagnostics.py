"""A counting hook for the packaging tests: who entered ``main()``, who built a window.

With ``PROCSCOPE_COUNT_FILE`` set, each event appends ``<event> <pid> <unix time>`` to that
file. A frozen app without ``freeze_support()`` re-enters ``main()`` in every spawned child;
only counting entries and windows reveals it, so the tests count.
"""

from __future__ import annotations

import os
import time


def count(event: str) -> None:
    path = os.environ.get("PROCSCOPE_COUNT_FILE")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"{event} {os.getpid()} {time.time():.6f}\n")
