"""The Code tab of "Your script": an editor with line numbers and the code view's Python highlighter.

``ScriptPanel`` holds the editor (objectName ``scriptEditor``) and a line naming the file it came from
(or "not saved yet"). It only edits and says where the text lives; running and saving are the
window's (``app.gui.script_mode``).
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from app.gui.panels._fonts import monospace_font
from app.gui.panels._highlight import PythonHighlighter


class _LineNumbers(QWidget):
    def __init__(self, editor: ScriptEditor):
        super().__init__(editor)
        self.editor = editor

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(self.editor.numbers_width(), 0)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.editor.paint_numbers(event)


class ScriptEditor(QPlainTextEdit):
    """A plain-text Python editor: line numbers in a margin, highlighted, no wrapping, 4-space Tab."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("scriptEditor")
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(monospace_font())
        self.setTabStopDistance(4 * self.fontMetrics().horizontalAdvance(" "))
        self.highlighter = PythonHighlighter(self.document())
        self.numbers = _LineNumbers(self)
        self.blockCountChanged.connect(self._fit_margin)
        self.updateRequest.connect(self._scroll_numbers)
        self._fit_margin()

    def numbers_width(self) -> int:
        digits = max(3, len(str(max(1, self.blockCount()))))
        return 8 + self.fontMetrics().horizontalAdvance("9") * digits

    def _fit_margin(self, *_args) -> None:
        self.setViewportMargins(self.numbers_width(), 0, 0, 0)

    def _scroll_numbers(self, rect: QRect, dy: int) -> None:
        if dy:
            self.numbers.scroll(0, dy)
        else:
            self.numbers.update(0, rect.y(), self.numbers.width(), rect.height())
        if rect.contains(self.viewport().rect()):
            self._fit_margin()

    def setFont(self, font) -> None:  # noqa: N802 - Qt's name: the margin follows the text size
        super().setFont(font)
        self.setTabStopDistance(4 * self.fontMetrics().horizontalAdvance(" "))
        if hasattr(self, "numbers"):
            self._fit_margin()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        area = self.contentsRect()
        self.numbers.setGeometry(QRect(area.left(), area.top(), self.numbers_width(), area.height()))

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Tab and not event.modifiers():
            self.insertPlainText("    ")  # Python's indent, not a tab character
            return
        super().keyPressEvent(event)

    def paint_numbers(self, event) -> None:
        painter = QPainter(self.numbers)
        painter.fillRect(event.rect(), self.palette().alternateBase())
        painter.setPen(QColor("#8C8C8C"))
        painter.setFont(self.font())
        block = self.firstVisibleBlock()
        number = block.blockNumber()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        bottom = top + round(self.blockBoundingRect(block).height())
        height = self.fontMetrics().height()
        while block.isValid() and top <= event.rect().bottom():
            if block.isVisible() and bottom >= event.rect().top():
                painter.drawText(0, top, self.numbers.width() - 4, height, Qt.AlignmentFlag.AlignRight,
                                 str(number + 1))
            block = block.next()
            top = bottom
            bottom = top + round(self.blockBoundingRect(block).height())
            number += 1
        painter.end()


class ScriptPanel(QWidget):
    """Public: ``editor``, ``set_text(text)``, ``text()``, ``show_place(words)``; child ``scriptPath``."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("scriptPanel")
        self.place = QLabel(self)
        self.place.setObjectName("scriptPath")
        self.place.setWordWrap(True)
        self.place.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.editor = ScriptEditor(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.place)
        layout.addWidget(self.editor, 1)

    def set_text(self, text: str) -> None:
        self.editor.setPlainText(text or "")
        self.editor.document().setModified(False)

    def text(self) -> str:
        return self.editor.toPlainText()

    def show_place(self, words: str) -> None:
        self.place.setText(words)
