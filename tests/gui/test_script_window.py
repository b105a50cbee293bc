"""Your script in the window: open, edit, run live as a lesson, stop, close, replay; every process gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QComboBox, QMessageBox

from app.core.script import SCRIPT_LESSON
from app.gui.main_window import MainWindow
from tests.helpers import assert_all_gone

SCRIPTS = Path(__file__).resolve().parents[1] / "core" / "scripts"
ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_MS = 90_000


@pytest.fixture
def settings(tmp_path):
    store = QSettings(str(tmp_path / "procscope.ini"), QSettings.Format.IniFormat)
    store.setValue("language", "en")
    return store


@pytest.fixture
def window(qtbot, settings):
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


def pids_of(win: MainWindow) -> list[int]:
    return [p.pid for p in win.trace.processes().values() if p.pid]


def set_method(win: MainWindow, method: str) -> None:
    combo = win.findChild(QComboBox, "startMethod")
    combo.setCurrentIndex(combo.findData(method))


def run_and_wait(qtbot, win: MainWindow):
    with qtbot.waitSignal(win.controller.finished, timeout=RUN_TIMEOUT_MS) as blocker:
        qtbot.mouseClick(win.run_button, Qt.MouseButton.LeftButton)
    status, summary = blocker.args
    assert_all_gone(pids_of(win))
    return status, summary


def copy_script(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    target.write_text((SCRIPTS / name).read_text(encoding="utf-8"), encoding="utf-8")
    return target


def test_the_script_entry_and_its_actions(window):
    last = window.lesson_list.item(window.lesson_list.count() - 1)
    assert last.data(Qt.ItemDataRole.UserRole) == SCRIPT_LESSON
    assert last.text() == "Your script"
    act = window.findChild(object, "actionOpenScript")
    assert act.shortcut() == QKeySequence("Ctrl+Shift+O")
    assert act in window.file_menu.actions()
    assert window.findChild(object, "actionSaveScriptAs") in window.file_menu.actions()
    window.lesson_list.setCurrentItem(last)
    assert window.lesson_id() == SCRIPT_LESSON
    editor = window.findChild(object, "scriptEditor")
    assert editor is not None and editor.isVisibleTo(window.script_mode.stack)
    assert not window.code.isVisibleTo(window.script_mode.stack)
    # the form: the start method alone
    assert window.findChild(QComboBox, "startMethod").isVisibleTo(window.form)
    assert not [w for w in window.form.findChildren(object) if str(w.objectName()).startswith("param_")]
    assert window.form.valid and window.act_run.isEnabled()
    # the editor: line numbers and the code view's highlighter
    assert editor.numbers_width() > 0
    assert type(editor.highlighter) is type(window.code.highlighter)
    window.lesson_list.setCurrentRow(0)  # back to a lesson: its generated code and its form
    assert window.code.isVisibleTo(window.script_mode.stack)
    assert window.findChild(object, "param_workers") is not None


def test_open_script_runs_it_live_as_a_lesson(qtbot, window, tmp_path):
    script = copy_script(tmp_path, "lock_contention.py")
    assert window.script_mode.open_script(str(script))
    assert window.lesson_id() == SCRIPT_LESSON
    assert window.script_mode.editor.toPlainText() == script.read_text(encoding="utf-8")
    set_method(window, "spawn")
    status, summary = run_and_wait(qtbot, window)
    assert status == "done", summary
    assert summary["lesson"] == SCRIPT_LESSON and summary["start_method"] == "spawn"
    assert summary["result"]["exit_code"] == 0
    assert window.activity.lane_count() == 2 == len(window.trace.processes())
    assert window.table.rowCount() == 2
    assert any(o["kind"] == "Lock" for o in summary["result"]["objects"])
    window.tabs.setCurrentWidget(window.console)
    window.console.refresh()
    assert "the child has the lock" in window.console.text.toPlainText()
    assert window.trace.meta["script_source"] == script.read_text(encoding="utf-8")


def test_the_window_runs_a_script_in_its_own_folder(qtbot, window, tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "data.txt").write_text("from the script's folder", encoding="utf-8")
    script = folder / "reads_data.py"
    script.write_text("import os\nprint(open('data.txt').read(), os.getcwd())\n", encoding="utf-8")
    window.script_mode.open_script(str(script))
    status, summary = run_and_wait(qtbot, window)
    assert status == "done" and summary["result"]["exit_code"] == 0, summary
    texts = [t[3] for t in window.trace.texts if isinstance(t[3], str)]
    assert f"from the script's folder {folder}" in texts, texts


def test_run_saves_the_editor_to_its_file_first(qtbot, window, tmp_path):
    script = copy_script(tmp_path, "value_race.py")
    window.script_mode.open_script(str(script))
    window.script_mode.editor.setPlainText(
        window.script_mode.editor.toPlainText().replace('"expected 2"', '"edited in the window"'))
    set_method(window, "fork")
    status, summary = run_and_wait(qtbot, window)
    assert status == "done", summary
    assert '"edited in the window"' in script.read_text(encoding="utf-8")
    texts = [t[3] for t in window.trace.texts if isinstance(t[3], str)]
    assert any("edited in the window" in t for t in texts)
    assert summary["result"]["lost_update_candidates"], summary["result"]


def test_stop_mid_run_leaves_no_process(qtbot, window, tmp_path):
    window.script_mode.open_script(str(copy_script(tmp_path, "hangs.py")))
    set_method(window, "forkserver")
    qtbot.mouseClick(window.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.controller.process_count() >= 2, timeout=60_000)
    assert window.stop_button.isEnabled() and not window.run_button.isEnabled()
    qtbot.waitUntil(lambda: len(pids_of(window)) >= 2, timeout=30_000)
    pids = pids_of(window)
    with qtbot.waitSignal(window.controller.finished, timeout=30_000) as blocker:
        window.act_stop.trigger()
    assert blocker.args[0] == "stopped"
    assert_all_gone(pids, timeout=5)
    assert window.run_button.isEnabled()


def test_closing_mid_run_leaves_no_process(qtbot, settings, tmp_path):
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.show()
    win.script_mode.open_script(str(copy_script(tmp_path, "hangs.py")))
    set_method(win, "spawn")
    win.act_run.trigger()
    qtbot.waitUntil(lambda: win.controller.process_count() >= 2, timeout=60_000)
    pids = pids_of(win)
    win.close()
    assert not win.controller.running
    assert_all_gone(pids, timeout=5)


KILLED_APP = textwrap.dedent("""
    import os, sys
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from app.gui.main_window import MainWindow
    win = MainWindow(settings=QSettings(sys.argv[2], QSettings.Format.IniFormat))
    win.script_mode.open_script(sys.argv[1])
    win.start_run()
    def report():
        pids = [p.pid for p in win.trace.processes().values() if p.pid]
        if len(pids) >= 2:
            print(*pids, flush=True)
        else:
            QTimer.singleShot(50, report)
    QTimer.singleShot(50, report)
    app.exec()
""")


def test_a_killed_app_leaves_no_process_of_the_script(tmp_path):
    script = copy_script(tmp_path, "hangs.py")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    app = subprocess.Popen([sys.executable, "-c", KILLED_APP, str(script), str(tmp_path / "s.ini")],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        line = app.stdout.readline()
        pids = [int(p) for p in line.split()]
        assert len(pids) >= 2, line
        assert all(psutil.pid_exists(p) for p in pids)
        app.send_signal(signal.SIGKILL)
        app.wait(10)
        assert_all_gone(pids, timeout=10)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait(10)


def test_a_syntax_error_is_one_line_and_runs_nothing(window, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args, **kwargs: shown.append(args))
    window.script_mode.edit_code("import multiprocessing\nif True\n    pass\n")
    window.act_run.trigger()
    assert not window.controller.running and window.trace is None
    assert len(shown) == 1 and shown[0][2] == "my_script.py, line 2: syntax error: expected ':'"


def test_save_script_as_then_run_writes_there(qtbot, window, tmp_path):
    window.script_mode.edit_code((SCRIPTS / "process_join.py").read_text(encoding="utf-8"))
    assert window.script_mode.path is None
    target = tmp_path / "mine.py"
    window.script_mode.ask_save_path = lambda: str(target)
    window.findChild(object, "actionSaveScriptAs").trigger()
    assert window.script_mode.path == str(target)
    assert target.read_text(encoding="utf-8") == (SCRIPTS / "process_join.py").read_text(encoding="utf-8")
    set_method(window, "fork")
    status, summary = run_and_wait(qtbot, window)
    assert status == "done" and summary["result"]["script"] == str(target)


def test_no_process_of_the_app_survives_the_tests():
    assert not [p for p in psutil.Process().children(recursive=True)
                if p.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(p.cmdline())
                and "forkserver" not in " ".join(p.cmdline())]


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_the_result_tab_lists_what_was_found(qtbot, settings, tmp_path, language):
    settings.setValue("language", language)
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.show()
    try:
        win.script_mode.open_script(str(copy_script(tmp_path, "value_race.py")))
        set_method(win, "fork")
        status, summary = run_and_wait(qtbot, win)
        assert status == "done"
        shown = win.result.toPlainText()
        zh = language == "zh_CN"
        for words in (["你的脚本：value_race.py", "退出码", "可能丢失更新的值", "缺少主模块保护", "counter", "Value",
                       "Barrier"] if zh else ["Your script: value_race.py", "Exit code", "Lost-update candidates",
                                  "Main guard missing", "counter", "Value", "Barrier", "value_race.py:"]):
            assert words in shown, (words, shown)
        explanation = summary["result"]["explanation"]["zh" if zh else "en"]
        assert " ".join(explanation.split())[:30] in " ".join(shown.split())
    finally:
        win.close()
        from app.gui.i18n import ENGLISH, Language

        Language().set(ENGLISH)


def test_no_guard_under_spawn_is_named_in_the_result(qtbot, window, tmp_path):
    window.script_mode.open_script(str(copy_script(tmp_path, "no_guard.py")))
    set_method(window, "spawn")
    _status, summary = run_and_wait(qtbot, window)
    assert summary["result"]["guard_missing"] is True
    assert "if __name__" in window.result.toPlainText()


def test_edit_as_my_script_runs_the_changed_lesson_code(qtbot, window):
    from tests.gui.test_window import configure

    configure(window, "counter", {"workers": 2, "hold_s": 0.05, "lock": "lock"}, method="fork")
    generated = window.code.code()
    assert "multiprocessing" in generated
    button = window.findChild(object, "codeEditButton")
    assert button.text() == "Edit as my script"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.lesson_id() == SCRIPT_LESSON and window.script_mode.path is None
    assert window.script_mode.editor.toPlainText() == generated
    assert window.tabs.currentWidget() is window.script_mode.stack
    window.script_mode.editor.appendPlainText('print("changed by the student")')
    set_method(window, "fork")
    status, summary = run_and_wait(qtbot, window)
    assert status == "done", summary
    assert summary["result"]["exit_code"] == 0 and len(summary["processes"]) >= 3
    texts = [t[3] for t in window.trace.texts if isinstance(t[3], str)]
    assert "changed by the student" in texts
    assert window.trace.meta["script_source"].endswith('print("changed by the student")\n')


def test_an_opened_script_trace_shows_its_text_and_runs_nothing(qtbot, window, settings, tmp_path):
    script = copy_script(tmp_path, "process_join.py")
    window.script_mode.open_script(str(script))
    set_method(window, "fork")
    _status, summary = run_and_wait(qtbot, window)
    path = tmp_path / "run.pstrace"
    assert window.save_trace(str(path))
    lanes = window.activity.lane_count()
    script.write_text("raise SystemExit('must not run')\n", encoding="utf-8")  # what ran is in the trace
    other = MainWindow(settings=settings)
    qtbot.addWidget(other)
    other.show()
    children = {p.pid for p in psutil.Process().children(recursive=True)}
    assert other.open_trace(str(path))
    assert other.lesson_id() == SCRIPT_LESSON
    assert other.script_mode.editor.toPlainText() == (SCRIPTS / "process_join.py").read_text(encoding="utf-8")
    assert other.script_mode.path is None  # Run would save it anew, never over the file it came from
    assert not other.controller.running and other.controller.runner is None
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= children
    assert other.activity.lane_count() == lanes
    assert other.summary["result"] == summary["result"]
    assert "process_join.py" in other.result.toPlainText()
    other.close()


def test_values_exports_and_pause_work_for_a_script_run(qtbot, window, tmp_path):
    import json

    from app.gui.export import export_chrome_trace, export_csv, export_plot

    window.script_mode.open_script(str(copy_script(tmp_path, "hangs.py")))
    set_method(window, "fork")
    window.act_run.trigger()
    qtbot.waitUntil(lambda: window.controller.process_count() >= 2, timeout=60_000)
    steps = window.steps
    steps.act_pause.trigger()  # a script has no step points: Pause suspends its processes
    assert steps.paused
    steps.act_pause.trigger()
    assert not steps.paused
    pids = pids_of(window)
    with qtbot.waitSignal(window.controller.finished, timeout=30_000):
        window.act_stop.trigger()
    assert_all_gone(pids, timeout=5)
    window.script_mode.open_script(str(copy_script(tmp_path, "value_race.py")))
    status, _summary = run_and_wait(qtbot, window)
    assert status == "done"
    assert any("counter" in text for text in window.values_plot.legend_texts()), window.values_plot.legend_texts()
    export_csv(window.trace, tmp_path / "run.csv")
    export_chrome_trace(window.trace, tmp_path / "run.json")
    export_plot(window.activity, tmp_path / "lanes.png")
    assert "counter" in (tmp_path / "run.csv").read_text(encoding="utf-8")
    names = {e.get("args", {}).get("name") for e in json.loads((tmp_path / "run.json").read_text())["traceEvents"]}
    assert "MainProcess" in " ".join(str(n) for n in names)
    assert (tmp_path / "lanes.png").stat().st_size > 1000
