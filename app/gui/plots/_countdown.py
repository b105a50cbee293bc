"""The countdown of a found deadlock before the run is stopped.

The runner finds a deadlock a fraction of a millisecond after it forms; it then
keeps the deadlocked processes stuck for ``deadlock_linger_s`` (a setting) so a
class sees the program hang: the waiting segments grow on the lanes while this
says "Deadlock found — stopping in 1.6 s" on the lanes plot and in the status
bar. It reads only the live trace (the runner's deadlock result carries when it
was found and how long it lingers) and goes away when the run ends.
"""

from __future__ import annotations

from time import perf_counter_ns

import pyqtgraph as pg
from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QStatusBar

from app.core import events as ev
from app.core.events import LIVE_STATUSES

TICK_MS = 100  # the countdown shows tenths of a second
COLOR = "#C00000"  # the deadlock's red on the lanes


class DeadlockCountdown(QObject):
    """Public: ``set_trace(trace | None)`` (a live run, or None when it ended), ``remaining_s()``,
    ``text()`` (what is shown now; "" when nothing is), ``item`` (the text on the plot)."""

    def __init__(self, plot: pg.PlotWidget, status_bar: QStatusBar | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.setObjectName("deadlockCountdown")
        self._plot = plot
        self._bar = status_bar
        # at the bottom left, on a light fill: over the last lane's start-up, never over the lane labels and
        # the growing waits at the right, nor the title above
        self.item = pg.TextItem(color=COLOR, anchor=(0, 1), fill=pg.mkBrush(255, 255, 255, 220))
        self.item.setZValue(1000)  # above the lanes and the deadlock marks
        self.item.setVisible(False)
        plot.getPlotItem().addItem(self.item, ignoreBounds=True)
        self._timer = QTimer(self)
        self._timer.setObjectName("deadlockCountdownTimer")
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.update)
        self._trace = None
        self._seen = 0  # texts of the trace already looked at
        self._found: dict | None = None
        self._shown = ""

    def set_trace(self, trace) -> None:
        self._trace, self._seen, self._found = trace, 0, None
        if trace is None:
            self._timer.stop()
        else:
            self._timer.start()
        self.update()

    def remaining_s(self) -> float | None:
        """Seconds until the run is stopped, while a found deadlock lingers; else None."""
        trace, found = self._trace, self._found
        if trace is None or found is None or trace.meta.get("status") not in LIVE_STATUSES:
            return None
        left = found["linger_s"] - (perf_counter_ns() - found["detected_ns"]) / 1e9
        return left if left > 0 else None

    def text(self) -> str:
        return self._shown

    def update(self) -> None:
        self._look_for_deadlock()
        left = self.remaining_s()
        shown = "" if left is None else self.tr("Deadlock found — stopping in {0:.1f} s").format(left)
        if shown:
            self._place()
            font = QFont(QApplication.font())
            font.setBold(True)
            self.item.setFont(font)
            self.item.setText(shown)
        self.item.setVisible(bool(shown))
        if self._bar is not None:
            if shown:
                self._bar.showMessage(shown)
            elif self._shown and self._bar.currentMessage() == self._shown:
                self._bar.clearMessage()
        self._shown = shown
        if not shown and self._found is not None:
            self._timer.stop()  # the linger is over: the run is being stopped

    def _look_for_deadlock(self) -> None:
        trace = self._trace
        if trace is None or self._found is not None:
            return
        texts = trace.texts
        new, self._seen = texts[self._seen:], len(texts)
        for _t, index, kind, payload in new.select(ev.RESULT, ev.PARENT_INDEX):  # by column: prints not decoded
            if index == ev.PARENT_INDEX and kind == ev.RESULT and isinstance(payload, dict):
                found = payload.get("deadlock")
                if isinstance(found, dict) and (found.get("linger_s") or 0) > 0 and found.get("detected_ns"):
                    self._found = found
                    return

    def _place(self) -> None:
        """At the bottom left of what the lanes plot shows now (the view follows a live run)."""
        view = self._plot.getPlotItem().getViewBox()
        corner = view.mapSceneToView(view.sceneBoundingRect().bottomLeft())
        self.item.setPos(corner.x(), corner.y())
