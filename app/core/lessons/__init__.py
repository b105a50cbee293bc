"""The lesson catalogue (DESIGN §1), in the tutorial's order."""

from __future__ import annotations

from app.core.lessons import (
    basics,
    counter,
    deadlock,
    isolation,
    manager,
    pool,
    queue_relay,
    shared_array,
    speedup,
    sync,
)
from app.core.lessons.base import Lesson
from app.core.params import ParamError

_MODULES = (basics, isolation, shared_array, manager, queue_relay, counter, pool, sync, deadlock, speedup)
LESSONS: dict[str, Lesson] = {m.LESSON.id: m.LESSON for m in _MODULES}


def get_lesson(lesson_id: str) -> Lesson:
    try:
        return LESSONS[lesson_id]
    except KeyError:
        raise ParamError(f"lesson: unknown lesson {lesson_id!r}; allowed: {', '.join(LESSONS)}") from None
