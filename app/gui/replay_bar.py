"""The time bar under the plots: a slider to scrub a finished or loaded run, and "Live"."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

from app.core.trace import Trace

STEPS = 1000  # slider resolution: a thousandth of the run


class ReplayBar(QWidget):
    cursorChanged = Signal(object)  # noqa: N815 - t_ns, or None for "everything"
    liveRequested = Signal()  # noqa: N815

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        self.live = QPushButton()
        self.live.setObjectName("liveButton")
        self.live.setCheckable(True)
        self.live.setChecked(True)
        self.live.clicked.connect(self._on_live)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("timeSlider")
        self.slider.setRange(0, STEPS)
        self.slider.setValue(STEPS)
        self.slider.valueChanged.connect(self._on_slide)
        self.label = QLabel()
        self.label.setMinimumWidth(90)
        layout.addWidget(self.live)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self._trace: Trace | None = None
        self._live_run = False
        self.retranslate()
        self.set_trace(None, live=False)

    def set_trace(self, trace: Trace | None, live: bool) -> None:
        """A live run follows its edge; a finished or loaded run can be scrubbed."""
        self._trace = trace
        self._live_run = live
        self.slider.blockSignals(True)
        self.slider.setValue(STEPS)
        self.slider.blockSignals(False)
        self.slider.setEnabled(trace is not None and not live)
        self._show_time(None)

    def set_following(self, following: bool) -> None:
        self.live.setChecked(following)

    def cursor_ns(self) -> int | None:
        if self._trace is None or self.slider.value() >= STEPS:
            return None
        t0, end = self._trace.t0_ns, self._trace.end_ns()
        return t0 + (end - t0) * self.slider.value() // STEPS

    def _on_slide(self, _value: int) -> None:
        cursor = self.cursor_ns()
        self._show_time(cursor)
        self.cursorChanged.emit(cursor)

    def _on_live(self) -> None:
        self.live.setChecked(True)
        if self.slider.value() != STEPS:
            self.slider.setValue(STEPS)  # emits cursorChanged(None)
        self.liveRequested.emit()

    def _show_time(self, cursor: int | None) -> None:
        if self._trace is None:
            self.label.setText("")
            return
        t = (cursor if cursor is not None else self._trace.end_ns()) - self._trace.t0_ns
        self.label.setText(f"{t / 1e9:8.3f} s")

    def show_elapsed(self, seconds: float) -> None:
        """A live run: the time since it started (the window's status timer calls this)."""
        if self._live_run:
            self.label.setText(f"{seconds:8.3f} s")

    def retranslate(self) -> None:
        self.live.setText(self.tr("Live"))
        self.live.setToolTip(self.tr("Follow the newest events again"))
        self.slider.setToolTip(self.tr("Scrub through the recorded run"))
