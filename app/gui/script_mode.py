"""Your script in the window: the "Your script" entry, its editor, File → Open script… / Save script as….

Choosing "Your script" in the lesson list (its item's ``Qt.UserRole`` data is ``"script"``) turns the
Code tab into an editor and the parameter form into the start method alone (the method used when the
script sets none). Run (F5) saves what the editor holds — to the file it came from, or to a new file in
a temporary folder if it has none — and runs it as the command line's ``trace`` does; the run is shown
exactly as a lesson's. A lesson's "Edit as my script" opens its program here as a new unsaved script;
a recorded script run opened from a file shows the script's text and runs nothing.
"""

from __future__ import annotations

import os
import tempfile

from PySide6.QtCore import QCoreApplication, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QListWidgetItem, QMessageBox, QStackedWidget

from app.core.atomic import atomic_open
from app.core.lessons.base import Lesson
from app.core.script import SCRIPT_LESSON
from app.gui.font_scale import scaled
from app.gui.panels._fonts import monospace_font
from app.gui.panels.script_editor import ScriptPanel

NEW_NAME = "my_script.py"  # the file name of a script that came from no file


def tr(text: str) -> str:
    return QCoreApplication.translate("ScriptMode", text)


class ScriptForm(Lesson):
    """What the parameter form shows for a script: no parameters, only the start method."""

    id = SCRIPT_LESSON

    @property
    def params(self) -> list:
        return []  # not even a lesson's tempo: a script runs at its own pace


class ScriptMode(QObject):
    """Made by ``MainWindow`` before it restores its state. Public: ``item``, ``panel`` (``editor``),
    ``path`` (the file the editor's text came from, or None), ``active()``, ``enter()``, ``leave()``,
    ``open_script(path)``, ``edit_code(text)``, ``save_as(path)``, ``run_params()``, ``show_trace_script(trace)``;
    ``ask_open_path`` / ``ask_save_path`` (callable() -> str, "" = cancelled) replaceable in tests."""

    def __init__(self, win):
        super().__init__(win)
        self.win = win
        self.path: str | None = None
        self._temp: tempfile.TemporaryDirectory | None = None  # where a script from no file is saved to run
        self._place = ("new", "")  # what the path line says: ("new"|"file"|"trace", path)
        self.item = QListWidgetItem()
        self.item.setData(Qt.ItemDataRole.UserRole, SCRIPT_LESSON)
        win.lesson_list.addItem(self.item)
        self.panel = ScriptPanel()
        self.editor = self.panel.editor
        self._build_code_tab()
        self._build_actions()
        self.ask_open_path = self._ask_open_path
        self.ask_save_path = self._ask_save_path
        win.code.editRequested.connect(self.edit_code)
        win.controller.phaseChanged.connect(self._update)
        win.language.changed.connect(self.retranslate)
        win.fonts.changed.connect(lambda factor: self.editor.setFont(scaled(monospace_font(), factor)))
        self.retranslate()

    def _build_code_tab(self) -> None:
        """The Code tab holds the lesson's generated code or, for "Your script", the editor."""
        tabs = self.win.tabs
        index = tabs.indexOf(self.win.code)
        text, tip = tabs.tabText(index), tabs.tabToolTip(index)
        tabs.removeTab(index)
        self.stack = QStackedWidget()
        self.stack.setObjectName("codeStack")
        self.stack.addWidget(self.win.code)
        self.stack.addWidget(self.panel)
        tabs.insertTab(index, self.stack, text)
        tabs.setTabToolTip(index, tip)

    def _build_actions(self) -> None:
        win = self.win
        self.act_open = QAction(win)
        self.act_open.setObjectName("actionOpenScript")
        self.act_open.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.act_open.triggered.connect(self.open_script_dialog)
        self.act_save_as = QAction(win)
        self.act_save_as.setObjectName("actionSaveScriptAs")
        self.act_save_as.triggered.connect(self.save_as_dialog)
        actions = win.file_menu.actions()
        after = actions.index(win.act_open) + 1 if win.act_open in actions else len(actions)
        before = actions[after] if after < len(actions) else None
        for act in (self.act_open, self.act_save_as):
            win.addAction(act)
            win.file_menu.insertAction(before, act)

    # --- the mode ---------------------------------------------------------------------------
    def active(self) -> bool:
        return self.win.lesson_list.currentItem() is self.item

    def select(self) -> None:
        self.win.lesson_list.setCurrentItem(self.item)
        self.win.tabs.setCurrentWidget(self.stack)

    def enter(self) -> None:
        """"Your script" was chosen: the start method alone, the editor, a text on how to use it."""
        win = self.win
        key = win.language.lesson_key
        win.form.set_lesson(ScriptForm(), {}, key)
        win.lesson_text.show_lesson(SCRIPT_LESSON, key)
        win.values_plot.set_lesson(None)
        self.stack.setCurrentWidget(self.panel)
        self._update()

    def leave(self) -> None:
        self.stack.setCurrentWidget(self.win.code)
        self._update()

    def _update(self, *_args) -> None:
        idle = not self.win.controller.running
        self.act_open.setEnabled(idle)
        self.act_save_as.setEnabled(self.active())

    # --- files ------------------------------------------------------------------------------
    def _ask_open_path(self) -> str:
        path, _filter = QFileDialog.getOpenFileName(self.win, tr("Open a Python script"), "",
                                                    tr("Python files (*.py);;All files (*)"))
        return path

    def _ask_save_path(self) -> str:
        suggested = self.path or NEW_NAME
        path, _filter = QFileDialog.getSaveFileName(self.win, tr("Save the script as"), suggested,
                                                    tr("Python files (*.py);;All files (*)"))
        return path

    def open_script_dialog(self) -> None:
        path = self.ask_open_path()
        if path:
            self.open_script(path)

    def open_script(self, path: str) -> bool:
        """Load a file into the editor and choose "Your script"; nothing runs until Run."""
        if self.win.controller.running:
            return False
        full = os.path.abspath(path)
        try:
            with open(full, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else tr("it is not UTF-8 text")
            QMessageBox.warning(self.win, tr("Cannot open the script"),
                                tr("Cannot open {path}: {reason}").format(path=full, reason=reason))
            return False
        self.path = full
        self.panel.set_text(text)
        self._show_place("file", full)
        self.select()
        return True

    def edit_code(self, text: str) -> None:
        """A lesson's program (or any text) as a new script that no file holds yet."""
        if self.win.controller.running:
            return
        self.path = None
        self.panel.set_text(text)
        self._show_place("new", "")
        self.select()

    def save_as_dialog(self) -> None:
        path = self.ask_save_path()
        if path:
            self.save_as(path)

    def save_as(self, path: str) -> bool:
        full = os.path.abspath(path)
        if not self._write(full):
            return False
        self.path = full
        self._show_place("file", full)
        return True

    def _write(self, path: str) -> bool:
        text = self.panel.text()
        try:
            with atomic_open(path) as out:
                out.write(text if text.endswith("\n") or not text else text + "\n")
        except OSError as exc:
            QMessageBox.critical(self.win, tr("Could not save the script"),
                                 tr("Could not save the script to {path}: {reason}").format(
                                     path=path, reason=exc.strerror or str(exc)))
            return False
        self.panel.editor.document().setModified(False)
        return True

    def run_params(self) -> dict | None:
        """Save what the editor holds and say what to run; None (after saying why) if it cannot run."""
        text = self.panel.text()
        try:
            compile(text, self.path or NEW_NAME, "exec", dont_inherit=True)
        except SyntaxError as exc:
            QMessageBox.warning(self.win, tr("Cannot run"), tr("{file}, line {line}: syntax error: {message}").format(
                file=os.path.basename(self.path or NEW_NAME), line=exc.lineno, message=exc.msg))
            return None
        except ValueError as exc:  # a NUL character
            QMessageBox.warning(self.win, tr("Cannot run"), tr("The script cannot be compiled: {0}").format(exc))
            return None
        path = self.path
        if path is None:
            if self._temp is None:
                self._temp = tempfile.TemporaryDirectory(prefix="procscope-script-")
            path = os.path.join(self._temp.name, NEW_NAME)
        if not self._write(path):
            return None
        return {"script": path, "args": []}

    def show_trace_script(self, trace) -> None:
        """A recorded script run was opened: its script's text in the editor, as a new unsaved script."""
        meta = trace.meta
        source = meta.get("script_source")
        script = (meta.get("params") or {}).get("script") or ""
        method = meta.get("start_method")
        form = self.win.form
        self.win.lesson_list.blockSignals(True)
        self.win.lesson_list.setCurrentItem(self.item)
        self.win.lesson_list.blockSignals(False)
        self.enter()
        if isinstance(method, str) and form.start_method.findData(method) >= 0:
            form.start_method.setCurrentIndex(form.start_method.findData(method))
        self.path = None
        self.panel.set_text(source if isinstance(source, str) else "")
        self._show_place("trace" if isinstance(source, str) else "lost", str(script))

    # --- words -------------------------------------------------------------------------------
    def _show_place(self, kind: str, path: str) -> None:
        self._place = (kind, path)
        if kind == "file":
            words = tr("File: {0}").format(path)
        elif kind == "trace":
            words = tr("The script of the recorded run of {0}. Run saves it as a new file and runs it.").format(
                os.path.basename(path))
        elif kind == "lost":
            words = tr("This recorded run of {0} does not hold the script's text.").format(os.path.basename(path))
        else:
            words = tr("Not saved yet: Run saves it in a temporary folder; File → Save script as… keeps it.")
        self.panel.show_place(words)

    def retranslate(self, *_args) -> None:
        key = self.win.language.lesson_key
        self.item.setText(tr("Your script"))
        self.item.setToolTip(tr("Run a multiprocessing program of your own and watch it as the lessons show theirs"))
        self.act_open.setText(tr("Open &script…"))
        self.act_save_as.setText(tr("Save script &as…"))
        self.editor.setPlaceholderText(tr("Write a Python program here, or open one (Ctrl+Shift+O), then Run (F5)."))
        self._show_place(*self._place)
        if self.active():
            self.win.lesson_text.show_lesson(SCRIPT_LESSON, key)
        self._update()

