"""The lesson catalogue, in the tutorial's order: the one list a new lesson joins.

Importing it imports every lesson module. The parent needs that (the CLI's
list, the window's lesson list, the runner's look-up); a spawned worker does
not: it imports only the module of its own worker function, so the package
``app.core.lessons`` loads this module on first use of ``LESSONS`` or
``get_lesson`` (a lesson must start within 1.1× of bare multiprocessing).
"""

# ruff: noqa: F401 - the lesson imports below are used through globals(), in their order
from __future__ import annotations

from types import ModuleType

from app.core.lessons.base import Lesson
from app.core.params import ParamError

# One line per lesson, in the tutorial's order (the order of every lesson list). Plain imports, not
# importlib by name: the app bundle (PyInstaller) collects the modules that import statements name.
# isort: off
from app.core.lessons import basics
from app.core.lessons import isolation
from app.core.lessons import shared_array
from app.core.lessons import manager
from app.core.lessons import queue_relay
from app.core.lessons import counter
from app.core.lessons import pool
from app.core.lessons import sync
from app.core.lessons import deadlock
from app.core.lessons import speedup
# isort: on


def _registered() -> dict[str, Lesson]:
    """The ``LESSON`` of every lesson module imported above, in the order of the imports."""
    found: dict[str, Lesson] = {}
    for value in list(globals().values()):
        if isinstance(value, ModuleType) and value.__name__.startswith("app.core.lessons."):
            lesson = getattr(value, "LESSON", None)
            if not isinstance(lesson, Lesson):
                raise TypeError(f"{value.__name__}: LESSON must be a Lesson instance, not {lesson!r}")
            found[lesson.id] = lesson
    return found


LESSONS: dict[str, Lesson] = _registered()


def get_lesson(lesson_id: str) -> Lesson:
    try:
        return LESSONS[lesson_id]
    except KeyError:
        raise ParamError(f"lesson: unknown lesson {lesson_id!r}; allowed: {', '.join(LESSONS)}") from None
