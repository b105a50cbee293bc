"""What every view of a run does, so the window can drive them all alike.

A view never owns data: it reads the ``Trace`` it was given. The window's one
display timer calls ``refresh()`` at ~30 Hz during a run; a view redraws only
when ``trace.version`` moved since its last draw (cheap when nothing changed).
``set_cursor(t_ns)`` shows the run up to a moment (replay scrubbing); ``None``
shows everything (and, during a run, follows the live edge).
"""

from __future__ import annotations

from app.core.trace import Trace


class FrameSchedule:
    """Which views a display tick of a live run refreshes.

    The views that show the lesson as it happens (lanes, values) refresh at
    every tick; the others (process table, console, CPU/memory) cost as much
    as a frame each with 64 processes, and a table that changes 60 times a
    second cannot be read anyway. So they take turns: at most one of them per
    tick, each at most every ``every_s`` — a tick costs the live views plus
    one other, never all of them (``tests/bench``: ``latency_window``).
    """

    def __init__(self, live: list, others: list, every_s: float):
        self.live, self.others, self.every_s = list(live), list(others), every_s
        self._due = [0.0] * len(self.others)
        self._next = 0

    def due(self, now: float) -> list:
        """The views to refresh at a tick at ``now`` (monotonic seconds); a hidden view (a tab behind
        another) waits until it is shown (the window refreshes it then)."""
        for step in range(len(self.others)):
            k = (self._next + step) % len(self.others)
            if now >= self._due[k] and self.others[k].isVisible():
                self._due[k] = now + self.every_s
                self._next = k + 1
                return [*self.live, self.others[k]]
        return list(self.live)


def refresh_views(views) -> None:
    """One display frame: every view folds what is new, then every plot applies its new ranges now.

    pyqtgraph applies a view range change to the view's transform only when the
    plot is about to paint; the transform change then schedules a second paint
    of that plot. The x-linked plots move every frame of a live run, so every
    frame painted the value plot twice (``tests/bench``: ``render``). Applying the
    transforms here, after all views moved, makes it one paint per plot.
    """
    for view in views:
        view.refresh()
    scenes = {id(s): s for s in (getattr(v, "scene", lambda: None)() for v in views) if s is not None}
    for scene in scenes.values():
        prepare = getattr(scene, "prepareForPaint", None)  # pyqtgraph's GraphicsScene
        if prepare is not None:
            prepare()


class TraceViewMixin:
    """Bookkeeping shared by the views: the trace, the last drawn version, the cursor."""

    _trace: Trace | None = None
    _drawn_version: int = -1
    _cursor_ns: int | None = None

    def set_trace(self, trace: Trace | None) -> None:
        self._trace = trace
        self._drawn_version = -1
        self._cursor_ns = None
        self.refresh()

    def set_cursor(self, t_ns: int | None) -> None:
        self._cursor_ns = t_ns
        self._drawn_version = -1
        self.refresh()

    def refresh(self) -> None:
        trace = self._trace
        if trace is None:
            if self._drawn_version != -2:
                self._drawn_version = -2
                self.redraw(None)
            return
        if trace.version == self._drawn_version:
            return
        self._drawn_version = trace.version
        self.redraw(trace)

    def redraw(self, trace: Trace | None) -> None:  # pragma: no cover - each view draws itself
        raise NotImplementedError

    def retranslate(self) -> None:
        """Re-read every visible string through ``tr()`` (the language changed)."""
