"""A test lesson whose worker runs ``basics.foo`` and reports what its process imported."""

from __future__ import annotations

import sys

from app.core.lessons.base import Lesson
from app.core.lessons.basics import foo

WATCHED = ("dataclasses", "inspect", "numpy", "psutil")


def report(probe) -> None:
    foo(probe, 0)
    probe.result({"modules": sorted(m for m in sys.modules if m.startswith("app.") or m in WATCHED)})


class WorkerImports(Lesson):
    id = "worker_imports"
    title_en = title_zh = "test: what a worker imports"

    def run(self, rc, values):
        rc.join(rc.start(report))

    def summarize(self, trace):
        return {}


LESSON = WorkerImports()
