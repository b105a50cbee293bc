"""The lessons: one module per lesson; the catalogue (``LESSONS``, ``get_lesson``) in ``catalogue``.

``from app.core.lessons import LESSONS, get_lesson`` works as ever, but the
catalogue, and with it every lesson module, is imported on first use only:
a spawned worker that imports ``app.core.lessons.basics`` to unpickle its
target imports this package too, and must not pay for the other nine
lessons (~35 ms per child, and a lesson must start within 1.1× of bare
multiprocessing).
"""

from __future__ import annotations

_LAZY = ("LESSONS", "get_lesson")


def __getattr__(name: str):
    if name in _LAZY:
        from app.core.lessons import catalogue

        value = getattr(catalogue, name)
        globals()[name] = value  # the same objects from now on, without this hook
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
