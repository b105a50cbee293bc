"""What every lesson is: parameters, parent-side orchestration, a summary,
the rows of its result, its plain script.

A lesson's worker functions live at module top level (picklable under spawn)
and take the worker's ``Probe`` first. ``run`` is the parent's side, written
like the tutorial but with the runner's stop-aware helpers (``rc.join``,
``rc.wait``, ...). ``summarize`` reads only the trace, so a replayed file
gives the same result as the live run. ``result_rows`` turns the summary into
what the result view shows; ``script`` writes the equivalent plain script.

The value plot tells the lesson's story, one of three ways (``plot(values)``):
``"story"`` or ``"chart"`` — ``story(trace)`` returns an ``app.core.story.Story``
(a count over time linked to the lanes, or speedup's own chart); ``"values"`` —
``story`` returns ``None`` and the plot draws the shared-value slots
(``value_slots``: counter, shared_array, manager); ``None`` — nothing to plot,
the plot is not shown. A lesson never leaves an empty plot.

A run that did not finish (stopped by the user, timed out, failed) never
claims the lesson's normal outcome: ``summarize`` starts its explanation with
``interrupted(trace)`` and says only what did run.

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
    # The kinds of step point (``app.core.stepping.POINTS``) its workers pass: where step mode can hold
    # them. Empty: no shared state to race on, so no ``--schedule``.
    step_points: tuple[str, ...] = ()
    # A typical ``summarize()`` result: documents the keys, and lets the tests check the result rows
    # (labels translated, nothing missing) without a run.
    example_result: dict | None = None

    @property
    def params(self) -> list[ParamSpec]:
        return [*self.specs, TEMPO]

    def check(self, values: dict) -> None:
        """Reject combinations of valid values that make no sense together."""

    def step_workers(self, values: dict) -> int | None:
        """How many workers step mode holds (the schedule numbers them 1…this), None if not known."""
        return values.get("workers")

    def value_slots(self, values: dict) -> list[dict]:
        """The shared values this run plots, per slot: ``name``, ``label`` (``{"en", "zh"}``: what the
        legend shows), ``expected`` and optionally ``initial`` and ``step`` (the ideal staircase)."""
        return []

    def plot(self, values: dict) -> str | None:
        """How the value plot tells this run's story: "story", "chart", "values" or None (no plot).

        Known before the run, so the window can lay itself out: "story" is a time chart linked to
        the lanes, "chart" has its own x axis, "values" draws ``value_slots``.
        """
        if type(self).story is not Lesson.story:
            return "story"
        return "values" if self.value_slots(values) else None

    def story(self, trace):
        """The story chart of this (live or replayed) trace: an ``app.core.story.Story``, or None.

        None means: plot the shared-value slots (``value_slots``) if there are any.
        Called at every refresh of a live run: one pass over the records it needs.
        """
        return None

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


# A run's status (``trace.meta["status"]``) when it did not run to its end: what to say first.
_INTERRUPTED = {
    "stopped": ("The run was stopped by the user before it finished; what follows covers only what ran.",
                "运行在完成之前被用户停止；以下只说明已经运行的部分。"),
    "timeout": ("The run was stopped when it reached its time limit; what follows covers only what ran.",
                "运行达到时间上限而被停止；以下只说明已经运行的部分。"),
    "failed": ("The run failed (see the errors); what follows covers only what ran.",
               "运行失败（见错误信息）；以下只说明已经运行的部分。"),
    "deadlock": ("The run was stopped because its processes deadlocked; what follows covers only what ran.",
                 "进程发生死锁，运行被停止；以下只说明已经运行的部分。"),
    "crashed": ("A process of the run crashed (see the errors); what follows covers only what ran.",
                "运行中有进程崩溃（见错误信息）；以下只说明已经运行的部分。"),
    "running": ("The run is still going; these are the figures so far.", "运行仍在进行；以下是目前的数据。"),
}


def stuck_of_trace(trace) -> dict | None:
    """What the runner found when a dead process left others waiting for ever (``{"kind", "dead",
    "waiting", "explanation": {"en", "zh"}, ...}``), or None."""
    return next((r["stuck"] for r in trace.results(-1) if isinstance(r, dict) and isinstance(r.get("stuck"), dict)),
                None)


def interrupted(trace) -> tuple[str, str] | None:
    """The first sentence (en, zh) of the explanation of a run that did not finish, or None."""
    status = trace.meta.get("status")
    stuck = stuck_of_trace(trace) if status == "crashed" else None
    words = stuck.get("explanation") if stuck else None
    if isinstance(words, dict) and isinstance(words.get("en"), str) and isinstance(words.get("zh"), str):
        return (f"{words['en']} What follows covers only what ran.", f"{words['zh']}以下只说明已经运行的部分。")
    note = _INTERRUPTED.get(status)
    if note is not None and status in ("stopped", "timeout"):
        started = sum(1 for p in trace.processes().values() if p.pid)
        note = (f"{note[0]} {started} process(es) had started.", f"{note[1]}已启动 {started} 个进程。")
    return note


def with_status(trace, en: str, zh: str, partial: tuple[str, str] | None = None) -> dict:
    """The explanation: ``(en, zh)`` for a finished run; for an interrupted one, its status
    sentence and ``partial`` (what did run) instead of the normal outcome."""
    note = interrupted(trace)
    if note is None:
        return explain(en, zh)
    if partial is None:
        return explain(note[0], note[1])
    return explain(f"{note[0]} {partial[0]}".strip(), f"{note[1]}{partial[1]}")
