"""The console: what every process printed, and the errors that ended them.

Each line is tagged with the process's name and coloured by process
(``colors.process_color``); error text (tracebacks) is red. During a live run
only the texts that arrived since the last refresh are appended — the text is
rebuilt only when the trace, the cursor, the filter or the language changes.
In replay (a cursor is set) it shows the texts up to the cursor.

The view keeps at most ``MAX_LINES`` lines (the oldest go first); when it has
dropped any, a note above the text says so and how many. The trace itself
keeps every line (export CSV to read them all).
"""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtGui import QColor, QFont, QPalette, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from app.core import events as ev
from app.core.trace import Trace
from app.gui.colors import process_color
from app.gui.panels._fonts import monospace_font
from app.gui.view import TraceViewMixin

MAX_LINES = 50_000  # generous: a classroom run prints far less; beyond it a note says what was dropped
ERROR_COLOR = "#D00000"
ERROR_BACKGROUND = "#FFF0F0"
MIN_CONTRAST = 4.5  # WCAG AA for body text: a washed-out projector still shows it


def _luminance(color: QColor) -> float:
    """WCAG relative luminance of an sRGB colour."""
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF()) + 0.0722 * channel(color.blueF())


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two colours, 1 (none) to 21 (black on white)."""
    la, lb = sorted((_luminance(QColor(a)), _luminance(QColor(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable(color: str | QColor, background: str | QColor, minimum: float = MIN_CONTRAST) -> QColor:
    """``color`` darkened (on a light background) or lightened (on a dark one) just enough to reach
    ``minimum`` contrast: the process keeps its hue, the text stays readable."""
    color, background = QColor(color), QColor(background)
    target = QColor("#000000") if _luminance(background) > 0.18 else QColor("#FFFFFF")
    out = QColor(color)
    for step in range(1, 21):
        if contrast_ratio(out, background) >= minimum:
            break
        mix = step / 20  # towards black or white in 5 % steps
        out = QColor.fromRgbF(color.redF() + (target.redF() - color.redF()) * mix,
                              color.greenF() + (target.greenF() - color.greenF()) * mix,
                              color.blueF() + (target.blueF() - color.blueF()) * mix)
    return out
ALL = -2  # the filter combo's data for "all processes" (the parent's index is -1)


def _text(payload) -> str:
    return payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)


class ConsoleView(QWidget, TraceViewMixin):
    """Per-process console. Public: ``set_trace``, ``refresh``, ``set_cursor``, ``retranslate``,
    ``set_filter(index | None)``, ``lines()``; child widgets ``text`` (objectName ``consoleView``),
    ``filter_combo`` (``consoleFilter``) and ``note`` (``consoleNote``)."""

    def __init__(self, parent: QWidget | None = None, max_lines: int = MAX_LINES):
        super().__init__(parent)
        self.max_lines = max_lines
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("consoleView")
        self.text.setReadOnly(True)
        self.text.setUndoRedoEnabled(False)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setMaximumBlockCount(max_lines)  # Qt drops the oldest lines; the note reports it
        self.text.setFont(monospace_font())
        self.filter_label = QLabel(self)
        self.filter_combo = QComboBox(self)
        self.filter_combo.setObjectName("consoleFilter")
        self.filter_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.filter_label.setBuddy(self.filter_combo)
        self.note = QLabel(self)
        self.note.setObjectName("consoleNote")
        self.note.setWordWrap(True)
        note_color = readable("#A05000", self.palette().color(QPalette.ColorRole.Window))
        self.note.setStyleSheet(f"color: {note_color.name()};")
        self.note.hide()
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.filter_label)
        top.addWidget(self.filter_combo)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.note)
        layout.addWidget(self.text, 1)

        self._parent_word = "parent"
        self._filter: int | None = None  # None: all processes; else a lane index (-1: the parent)
        self._names: dict[int, str] = {}
        self._scanned = 0  # how many of trace.texts were read
        self._total = 0  # lines that passed the filter (shown or dropped)
        self._rebuild = True
        self._deferred = False  # a trace given with defer, not drawn yet (hidden)
        self.filter_combo.currentIndexChanged.connect(self._on_filter_changed)
        self.retranslate()

    # --- TraceViewMixin --------------------------------------------------------------
    def set_trace(self, trace: Trace | None, defer: bool = False) -> None:
        """``defer``: while this view is hidden (a tab behind another), its lines wait until it is shown. An
        opened 2.5M-event trace fills 50,000 lines (~26 MB of Qt's text layout and 0.3 s) that its first
        paint does not show."""
        self._names = {}
        self._rebuild = True
        self._deferred = defer and trace is not None
        self._sync_combo()
        super().set_trace(trace)

    def refresh(self) -> None:
        if self._deferred:
            if not self.isVisible():
                return
            self._deferred = False
        super().refresh()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._deferred:
            self.refresh()

    def set_cursor(self, t_ns: int | None) -> None:
        if t_ns != self._cursor_ns:
            self._rebuild = True
        super().set_cursor(t_ns)

    def retranslate(self) -> None:
        self._parent_word = self.tr("parent")
        self.filter_label.setText(self.tr("Show:"))
        self.filter_combo.setToolTip(self.tr("Show the lines of all processes or of one"))
        self.text.setPlaceholderText(self.tr("What the processes print appears here."))
        self._sync_combo()
        self._rebuild = True  # the parent's tag is translated
        self._drawn_version = -1
        self.refresh()

    def redraw(self, trace: Trace | None) -> None:
        if trace is None:
            self._clear()
            return
        if self._rebuild:
            self._clear()
        texts = trace.texts
        end = len(texts)
        new = texts[self._scanned:end]
        kinds, lanes = new.kinds(), new.indexes()
        for _t, index, _kind, payload in new.select((ev.META, ev.HELLO)):
            name = payload.get("name") if isinstance(payload, dict) else None
            if name:
                self._names[index] = name
        shown = (kinds == ev.PRINT) | (kinds == ev.ERROR)
        if self._cursor_ns is not None:
            shown &= new.times() <= self._cursor_ns
        for index in np.unique(lanes[shown]).tolist():
            if index >= 0 and index not in self._names:
                self._names[index] = self._default_name(index)
        if self._filter is not None:
            shown &= lanes == self._filter
        positions = np.flatnonzero(shown)
        # Lines per event, counted on the stored text (a long run prints 640k): only the last max_lines
        # lines are decoded, the others only counted
        counts = new.byte_counts(positions, b"\n") + 1
        errors = np.flatnonzero(kinds[positions] == ev.ERROR)
        for k, (_t, _i, _kind, payload) in zip(errors.tolist(), new.take(positions[errors]), strict=True):
            counts[k] = len(_text(payload).rstrip("\n").split("\n"))
        tail = np.cumsum(counts[::-1])
        first = len(positions) - int(np.searchsorted(tail, self.max_lines)) - 1
        first = max(first, 0)
        lines = []
        for _t, index, kind, payload in new.take(positions[first:]):
            text = _text(payload)
            parts = text.rstrip("\n").split("\n") if kind == ev.ERROR else text.split("\n")
            for part in parts:
                lines.append((index, kind == ev.ERROR, part))
        self._scanned = end
        self._sync_combo()
        self._append(lines, int(counts[:first].sum()))

    # --- public helpers ------------------------------------------------------------
    def set_filter(self, index: int | None) -> None:
        """Show every process (``None``) or one lane (``-1`` for the parent)."""
        self._filter = index
        self._sync_combo()
        self._rebuild = True
        self._drawn_version = -1
        self.refresh()

    def lines(self) -> list[str]:
        """The lines shown now, as plain text."""
        text = self.text.toPlainText()
        return text.split("\n") if text else []

    @property
    def total_lines(self) -> int:
        """Lines that passed the filter, including any dropped beyond ``max_lines``."""
        return self._total

    # --- internals -------------------------------------------------------------------
    def _default_name(self, index: int) -> str:
        return self.tr("parent") if index < 0 else f"#{index}"

    def _tag(self, index: int) -> str:
        return self._parent_word if index < 0 else self._names.get(index, f"#{index}")

    def _clear(self) -> None:
        self.text.clear()
        self._scanned = 0
        self._total = 0
        self._rebuild = False
        self._update_note()

    def _append(self, lines: list[tuple[int, bool, str]], dropped: int = 0) -> None:
        """Append ``lines``; ``dropped``: lines before them that were counted but not even decoded."""
        self._total += dropped
        if not lines:
            return
        self._total += len(lines)
        lines = lines[-self.max_lines:]  # more than the view keeps would be dropped at once anyway
        bar = self.text.verticalScrollBar()
        follow = bar.value() >= bar.maximum() - 2
        doc = self.text.document()
        cursor = QTextCursor(doc)
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.beginEditBlock()
        first = doc.isEmpty()
        formats: dict[tuple[int, bool], tuple[QTextCharFormat, QTextCharFormat]] = {}
        for index, is_error, line in lines:
            key = (index, is_error)
            if key not in formats:
                formats[key] = self._formats(index, is_error, self.background())
            tag_format, text_format = formats[key]
            if not first:
                cursor.insertBlock()
            first = False
            cursor.insertText(f"[{self._tag(index)}] ", tag_format)
            cursor.insertText(line, text_format)
        cursor.endEditBlock()
        if follow:
            bar.setValue(bar.maximum())
        self._update_note()

    def background(self) -> QColor:
        """The colour the console's text is drawn on."""
        return self.text.palette().color(QPalette.ColorRole.Base)

    @staticmethod
    def _formats(index: int, is_error: bool, background: QColor) -> tuple[QTextCharFormat, QTextCharFormat]:
        tag = QTextCharFormat()
        tag.setForeground(readable(process_color(index), background))
        tag.setFontWeight(QFont.Weight.Bold)
        body = QTextCharFormat()
        if is_error:
            body.setForeground(readable(ERROR_COLOR, ERROR_BACKGROUND))
            body.setBackground(QColor(ERROR_BACKGROUND))
        else:
            body.setForeground(readable(process_color(index), background))
        return tag, body

    def _update_note(self) -> None:
        dropped = self._total - self.text.document().blockCount()
        if self._total > self.max_lines and dropped > 0:
            self.note.setText(self.tr(
                "Showing the last {shown} of {total} lines (the console keeps at most {limit}); "
                "the trace keeps every line: export it as CSV to read them all."
            ).format(shown=f"{self.text.document().blockCount():,}", total=f"{self._total:,}",
                     limit=f"{self.max_lines:,}"))
            self.note.show()
        else:
            self.note.hide()

    def _sync_combo(self) -> None:
        """All processes, the parent, then every process seen; keeps the current choice."""
        wanted = [(self.tr("All processes"), ALL), (self._parent_word, -1)]
        wanted += [(f"{name} (#{index})", index) for index, name in sorted(self._names.items()) if index >= 0]
        if self._filter is not None and all(data != self._filter for _label, data in wanted):
            wanted.append((self._default_name(self._filter), self._filter))
        combo = self.filter_combo
        current = [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]
        choice = ALL if self._filter is None else self._filter
        if current != wanted:
            combo.blockSignals(True)
            combo.clear()
            for label, data in wanted:
                combo.addItem(label, data)
            combo.blockSignals(False)
        position = combo.findData(choice)
        if position != combo.currentIndex():
            combo.blockSignals(True)
            combo.setCurrentIndex(position)
            combo.blockSignals(False)

    def _on_filter_changed(self, position: int) -> None:
        data = self.filter_combo.itemData(position)
        self.set_filter(None if data is None or data == ALL else int(data))

