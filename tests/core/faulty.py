"""A lesson that misbehaves on purpose, for the fault tests (importable by spawned children)."""

from __future__ import annotations

from app.core.lessons.base import Lesson
from app.core.params import ParamSpec, workers


def work(probe, i: int, mode: str, hold_s: float) -> None:
    if mode == "raise" and i == 1:
        raise ValueError(f"boom from worker {i}")
    probe.sleep(hold_s)


class Faulty(Lesson):
    id = "faulty"
    title_en = title_zh = "faulty"
    specs = (
        workers(3),
        ParamSpec("mode", "choice", "raise", "mode", "mode", choices=("raise", "hang")),
        ParamSpec("hold_s", "float", 0.0, "hold", "hold", 0.0, 600.0),
    )

    def run(self, rc, values):
        processes = [rc.start(work, (i, values["mode"], values["hold_s"])) for i in range(values["workers"])]
        rc.join(*processes)

    def summarize(self, trace):
        return {}


LESSON = Faulty()
