"""The generated script (``app.core.codegen.generate``), highlighted, to copy or save.

The Save… button asks for a path (``ask_save_path``, replaceable in tests) and
then calls ``save_to(path)``, which writes atomically (a temporary file in the
same folder, then ``os.replace``) and on failure shows a message box naming
the path and the reason.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.atomic import atomic_open
from app.gui.panels._fonts import monospace_font
from app.gui.panels._highlight import PythonHighlighter


class CodeView(QWidget):
    """Public: ``set_code(text)``, ``code()``, ``set_suggested_name(name)``, ``copy()``, ``save()``,
    ``save_to(path) -> bool``, ``retranslate()``; ``ask_save_path`` (callable() -> str, "" = cancelled);
    signals ``copied()``, ``saved(str path)``; children ``editor`` (objectName ``codeView``),
    ``copy_button`` (``codeCopyButton``), ``save_button`` (``codeSaveButton``), ``edit_button``
    (``codeEditButton``: ``editRequested(str code)``)."""

    copied = Signal()
    saved = Signal(str)
    editRequested = Signal(str)  # noqa: N815 - Qt naming: "Edit as my script", with the code shown

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.editor = QPlainTextEdit(self)
        self.editor.setObjectName("codeView")
        self.editor.setReadOnly(True)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setFont(monospace_font())
        self.highlighter = PythonHighlighter(self.editor.document())
        self.copy_button = QPushButton(self)
        self.copy_button.setObjectName("codeCopyButton")
        self.save_button = QPushButton(self)
        self.save_button.setObjectName("codeSaveButton")
        self.edit_button = QPushButton(self)
        self.edit_button.setObjectName("codeEditButton")
        self.status = QLabel(self)
        self.status.setObjectName("codeStatus")
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.editor, 1)
        self.copy_button.clicked.connect(self.copy)
        self.save_button.clicked.connect(self.save)
        self.edit_button.clicked.connect(lambda: self.editRequested.emit(self.code()))
        self.suggested_name = "procscope_lesson.py"
        self.ask_save_path = self._ask_save_path
        self.retranslate()

    # --- content -----------------------------------------------------------------------
    def set_code(self, text: str) -> None:
        self.editor.setPlainText(text or "")
        self.status.clear()

    def code(self) -> str:
        return self.editor.toPlainText()

    def set_suggested_name(self, name: str) -> None:
        """The file name the Save… dialog proposes, e.g. ``counter.py``."""
        self.suggested_name = name if name.endswith(".py") else name + ".py"

    def retranslate(self) -> None:
        self.copy_button.setText(self.tr("Copy"))
        self.copy_button.setToolTip(self.tr("Copy the script to the clipboard"))
        self.save_button.setText(self.tr("Save…"))
        self.save_button.setToolTip(self.tr("Save the script as a .py file you can run with Python"))
        self.edit_button.setText(self.tr("Edit as my script"))
        self.edit_button.setToolTip(self.tr("Open this program in the script editor, change it and run your change"))
        self.editor.setPlaceholderText(self.tr("Choose a lesson to see the plain Python script that does the same."))
        self.status.clear()

    # --- actions -------------------------------------------------------------------------
    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.code())
        self.status.setText(self.tr("Copied to the clipboard."))
        self.copied.emit()

    def save(self) -> None:
        path = self.ask_save_path()
        if path:
            self.save_to(path)

    def _ask_save_path(self) -> str:
        path, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Save the script"), self.suggested_name, self.tr("Python files (*.py);;All files (*)"))
        return path

    def save_to(self, path: str) -> bool:
        """Write the script to ``path`` as every writer of the app does (a temp file renamed over it, a link
        followed, a device streamed to); on failure a message box says where and why."""
        try:
            with atomic_open(path) as out:
                out.write(self.code())
                if not self.code().endswith("\n"):
                    out.write("\n")
        except OSError as exc:
            reason = exc.strerror or str(exc)
            QMessageBox.critical(
                self, self.tr("Could not save the script"),
                self.tr("Could not save the script to {path}:\n{reason}").format(path=path, reason=reason))
            return False
        self.status.setText(self.tr("Saved to {path}").format(path=path))
        self.saved.emit(path)
        return True
