"""What every view of a run does, so the window can drive them all alike.

A view never owns data: it reads the ``Trace`` it was given. The window's one
display timer calls ``refresh()`` at ~30 Hz during a run; a view redraws only
when ``trace.version`` moved since its last draw (cheap when nothing changed).
``set_cursor(t_ns)`` shows the run up to a moment (replay scrubbing); ``None``
shows everything (and, during a run, follows the live edge).
"""

from __future__ import annotations

from app.core.trace import Trace


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
