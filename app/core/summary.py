"""The ``--json`` summary of a run: stable keys, add but never rename.

The one place a summary is made: the command line, the window at the end of a
run and a replayed file all show ``summarize(trace)``.
"""

from __future__ import annotations

from app.core import events as ev
from app.core.events import RunStatus
from app.core.lessons import get_lesson
from app.core.lessons.base import stuck_of_trace
from app.core.stepping import steps_refused, steps_taken
from app.core.trace import Trace


def build_summary(trace: Trace) -> dict:
    from app.core.script import SCRIPT_LESSON

    if trace.meta["lesson"] == SCRIPT_LESSON:  # a script of the user's own: no lesson, its own result
        from app.core.script.result import summarize_script

        lesson_id, summarize = SCRIPT_LESSON, summarize_script
    else:
        lesson = get_lesson(trace.meta["lesson"])
        lesson_id, summarize = lesson.id, lesson.summarize
    processes = []
    for info in trace.processes().values():
        latency = info.start_latency_s()
        processes.append({
            "index": info.index,
            "name": info.name,
            "pid": info.pid,
            "ppid": info.ppid,
            "role": info.role,
            "main_module": info.main_module,
            "exitcode": info.exitcode,
            "ended": info.ended,
            "start_latency_s": round(latency, 6) if latency is not None else None,
            "time_in_state_s": trace.time_in_state(info.index, info),
            "errors": info.errors,
        })
    errors = trace.texts.where(ev.ERROR)  # by column: a long run's prints are not even decoded
    parent_errors = trace.texts.payloads(errors[trace.texts.indexes()[errors] < 0])
    return {
        "lesson": lesson_id,
        "params": trace.meta.get("params", {}),
        "start_method": trace.meta.get("start_method"),
        "status": trace.meta.get("status"),
        "duration_s": round((trace.end_ns() - trace.t0_ns) / 1e9, 6),
        "parent_pid": trace.meta.get("parent_pid"),
        "processes": processes,
        "result": summarize(trace),
        # processes left waiting for ever because another died (the run was ended): who, why
        "stuck": stuck_of_trace(trace),
        "errors": parent_errors,
        "events": len(trace),
        "schedule": steps_taken(trace),  # step mode: the steps taken, each {process, point, object}
        "schedule_refused": steps_refused(trace),  # and the one refused: {step, process, refused: why}
    }


def summarize(trace: Trace | None, status: str | None = None, error: BaseException | None = None) -> dict:
    """``build_summary(trace)``; or, when there is no trace (``error`` says why) or it cannot be summarised,
    a short summary that says why: ``{"status": ..., "error": "TypeName: message"}``, whose status is
    ``status`` if given, else the trace's, else ``failed``. Callers tell the two apart by the "error" key."""
    if error is None and trace is not None:
        try:
            return build_summary(trace)
        except Exception as exc:  # noqa: BLE001 - a foreign or broken trace: said in the summary
            error = exc
    if status is None and trace is not None:
        status = trace.meta.get("status")
    why = f"{type(error).__name__}: {error}" if error is not None else "no run was recorded"
    return {"status": status or RunStatus.FAILED, "error": why}
