"""The lesson catalogue (DESIGN §1), in the tutorial's order.

Importing it imports every lesson module. The parent needs that (the CLI's
list, the window's lesson list, the runner's look-up); a spawned worker does
not: it imports only the module of its own worker function, so the package
``app.core.lessons`` loads this module on first use of ``LESSONS`` or
``get_lesson`` (DESIGN §8: a lesson starts within 1.1× of bare multiprocessing).
"""

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
