"""The plain runnable script equivalent to a configured lesson (the ``code`` command).

``generate(lesson_id, values, start_method)`` returns standard-library Python
in the tutorial's style that does what the configured lesson does, without
ProcScope: no probes, no events. It prints what the tutorial prints, then the
outcome in words and, as its last line, ``RESULT <json>`` with the lesson's
main result keys. Each lesson writes its own text (``Lesson.script``) with the
helpers in ``common``; this module checks the values first.
"""

from __future__ import annotations

from app.core.lessons import LESSONS, get_lesson
from app.core.params import ParamError

START_METHODS = ("spawn", "fork", "forkserver")


def generate(lesson_id: str, values: dict, start_method: str = "spawn") -> str:
    """The script for ``lesson_id`` with ``values`` (every parameter, typed, as ``params.resolve`` returns).

    Raises ``ParamError`` for an unknown lesson or start method, missing or
    unknown parameters, and combinations the lesson's ``check`` refuses.
    """
    lesson = get_lesson(lesson_id)
    if not lesson.has_script:
        with_script = [name for name, other in LESSONS.items() if other.has_script]
        raise ParamError(f"lesson: {lesson_id!r} has no plain script; allowed: {', '.join(with_script)}")
    if start_method not in START_METHODS:
        raise ParamError(f"--start-method: {start_method!r} is not allowed; allowed: {', '.join(START_METHODS)}")
    names = [spec.name for spec in lesson.params]
    missing = [name for name in names if name not in values]
    unknown = [name for name in values if name not in names]
    if missing or unknown:
        what = f"missing {missing[0]!r}" if missing else f"unknown parameter {unknown[0]!r}"
        raise ParamError(f"{what} for lesson {lesson_id}; allowed: {', '.join(names)}")
    typed = {spec.name: spec.parse(values[spec.name]) for spec in lesson.params}  # in range, as resolve() does
    lesson.check(typed)
    return lesson.script(typed, start_method)
