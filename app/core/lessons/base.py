"""What every lesson is: parameters, parent-side orchestration, a summary,
the rows of its result, its plain script.

A lesson's worker functions live at module top level (picklable under spawn)
and take the worker's ``Probe`` first. ``run`` is the parent's side, written
like the tutorial but with the runner's stop-aware helpers (``rc.join``,
``rc.wait``, ...). ``summarize`` reads only the trace, so a replayed file
gives the same result as the live run. ``result_rows`` turns the summary into
what the result view shows; ``script`` writes the equivalent plain script.

Imported by workers: no numpy, no Qt, no runner; the rows and the script
helpers are imported inside the methods that need them.
"""

from __future__ import annotations

from app.core.params import TEMPO, ParamError, ParamSpec


class Lesson:
    id: str = ""
    section: str = ""  # the tutorial's section heading
    title_en: str = ""
    title_zh: str = ""
    summary_en: str = ""
    summary_zh: str = ""
    specs: tuple[ParamSpec, ...] = ()
    # A deadlock is this lesson's point: the runner reports it as the expected outcome, not a failure.
    expects_deadlock: bool = False
    # A typical ``summarize()`` result: documents the keys, and lets the tests check the result rows
    # (labels translated, nothing missing) without a run.
    example_result: dict | None = None

    @property
    def params(self) -> list[ParamSpec]:
        return [*self.specs, TEMPO]

    def check(self, values: dict) -> None:
        """Reject combinations of valid values that make no sense together."""

    def value_slots(self, values: dict) -> list[dict]:
        """The shared values this run plots: ``{"name", "expected"}`` per slot."""
        return []

    def run(self, rc, values: dict) -> None:  # pragma: no cover - every lesson defines it
        raise NotImplementedError

    def summarize(self, trace) -> dict:  # pragma: no cover - every lesson defines it
        raise NotImplementedError

    def result_rows(self, summary: dict) -> list:
        """What the result view shows below the explanation: ``rows.Row`` and ``rows.Table`` items.

        ``summary`` is the run summary (``app.core.summary.build_summary``); its
        ``"result"`` is what ``summarize`` returned. A missing key may raise
        ``KeyError`` etc.: the view says figures are missing (an old or foreign file).
        """
        return []

    def script(self, values: dict, start_method: str) -> str:
        """The plain standard-library script that does what this lesson does with ``values``.

        Call it through ``app.core.codegen.generate``, which checks the values first.
        """
        raise NotImplementedError(f"lesson {self.id} has no plain script")

    @property
    def has_script(self) -> bool:
        return type(self).script is not Lesson.script

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "section": self.section,
            "title": {"en": self.title_en, "zh": self.title_zh},
            "summary": {"en": self.summary_en, "zh": self.summary_zh},
            "params": [spec.to_json() for spec in self.params],
        }


def incompatible(name: str, value, other: str, other_value, allowed: str) -> ParamError:
    return ParamError(f"{name}: {value!r} does not work with {other}={other_value}; allowed: {allowed}")


def explain(en: str, zh: str) -> dict:
    return {"en": en, "zh": zh}
