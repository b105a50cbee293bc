"""The whole window, end to end: run every lesson, stop, close mid-run, replay, language, settings."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import psutil
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QMessageBox, QSpinBox

from app.core.events import RunStatus
from app.core.summary import summarize
from app.core.trace import Trace
from app.gui.main_window import MainWindow
from tests.helpers import assert_all_gone

RUN_TIMEOUT_MS = 90_000

SMALL = {
    "basics": {"workers": 2},
    "isolation": {"workers": 2},
    "shared_array": {"workers": 3, "lock": "get_lock"},
    "manager": {"workers": 2},
    "queue_relay": {"workers": 3},
    "counter": {"workers": 3, "hold_s": 0.05, "lock": "lock"},
    "pool": {"pool_size": 2, "tasks": 4, "task_s": 0.05},
    "sync": {"primitive": "semaphore", "workers": 3, "k": 2, "hold_s": 0.05, "rounds": 1},
    "deadlock": {"workers": 2, "hold_s": 0.1},
    "speedup": {"job_size": 100000, "max_workers": 2, "start_methods": "spawn"},
}


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


def select_lesson(win: MainWindow, lesson_id: str) -> None:
    for row in range(win.lesson_list.count()):
        if win.lesson_list.item(row).data(Qt.ItemDataRole.UserRole) == lesson_id:
            win.lesson_list.setCurrentRow(row)
            return
    raise AssertionError(f"no lesson {lesson_id}")


def set_field(win: MainWindow, name: str, value) -> None:
    field = win.findChild(object, f"param_{name}")
    assert field is not None, name
    if isinstance(field, QSpinBox):
        field.setValue(int(value))
    elif isinstance(field, QDoubleSpinBox):
        field.setValue(float(value))
    elif isinstance(field, QComboBox):
        index = field.findData(str(value))
        assert index >= 0, (name, value)
        field.setCurrentIndex(index)
    elif isinstance(field, QCheckBox):
        field.setChecked(bool(value))
    elif isinstance(field, QLineEdit):
        field.setText(str(value))


def configure(win: MainWindow, lesson_id: str, params: dict, method: str = "spawn") -> None:
    select_lesson(win, lesson_id)
    for name, value in params.items():
        set_field(win, name, value)
    combo = win.findChild(QComboBox, "startMethod")
    combo.setCurrentIndex(combo.findData(method))
    assert win.form.valid, win.form.error.text()


def run_and_wait(qtbot, win: MainWindow):
    with qtbot.waitSignal(win.controller.finished, timeout=RUN_TIMEOUT_MS) as blocker:
        qtbot.mouseClick(win.run_button, Qt.MouseButton.LeftButton)
    return blocker.args


def pids_of(win: MainWindow) -> list[int]:
    return [p.pid for p in win.trace.processes().values() if p.pid]


def test_the_window_has_the_contract_names(window):
    assert "ProcScope" in window.windowTitle()
    for name in ("lessonList", "runButton", "stopButton", "paramForm", "activityPlot", "valuePlot",
                 "resourcePlot", "processTable", "codeView", "consoleView", "resultView"):
        assert window.findChild(object, name) is not None, name
    ids = [window.lesson_list.item(r).data(Qt.ItemDataRole.UserRole) for r in range(window.lesson_list.count())]
    assert ids == [*SMALL, "script"]  # the lessons, then "Your script"


def test_mainwindow_builds_with_no_arguments(qtbot):
    win = MainWindow()
    qtbot.addWidget(win)
    from app.core.lessons import LESSONS

    assert win.findChild(object, "lessonList").count() == len(LESSONS) + 1  # and "Your script"


@pytest.mark.parametrize("lesson_id", list(SMALL))
def test_each_lesson_runs_from_the_gui(qtbot, window, lesson_id):
    configure(window, lesson_id, SMALL[lesson_id])
    status, summary = run_and_wait(qtbot, window)
    assert status == "done", summary
    # What the window shows is the summary of its own run: its status, a row per process of it, its explanation.
    assert summary["status"] == "done" and summary["lesson"] == lesson_id
    # a found deadlock is the deadlock lesson's success ("done" for the CLI); the window says what it found
    assert window.phase_label.text() == ("deadlock found" if lesson_id == "deadlock" else "done")
    assert sorted(p["pid"] for p in summary["processes"]) == sorted(pids_of(window))
    rows = {window.table.item(r, 0).text() for r in range(window.table.rowCount())}
    assert rows == {p["name"] for p in summary["processes"]}
    explanation = " ".join(summary["result"]["explanation"]["en"].split())
    shown = " ".join(window.result.toPlainText().split())
    assert explanation[:60] in shown, (explanation, shown)
    assert window.controller.process_count() == 0  # none of them is alive
    assert window.activity.lane_count() == len(window.trace.processes())
    assert window.findChild(object, "resultView").toPlainText().strip()
    assert window.table.rowCount() == len(window.trace.processes())
    assert_all_gone(pids_of(window))
    if lesson_id == "counter":
        assert summary["result"]["actual"] == summary["result"]["expected"] == 7
    if lesson_id == "deadlock":
        assert summary["result"]["detected"] is True


def test_stop_mid_run_leaves_no_process(qtbot, window):
    configure(window, "counter", {"workers": 3, "hold_s": 30, "lock": "none"})
    qtbot.mouseClick(window.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.controller.process_count() == 3, timeout=60_000)
    assert window.stop_button.isEnabled() and not window.run_button.isEnabled()
    pids = pids_of(window)
    with qtbot.waitSignal(window.controller.finished, timeout=30_000) as blocker:
        qtbot.mouseClick(window.stop_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0] == "stopped"
    assert_all_gone(pids, timeout=1)
    assert window.run_button.isEnabled()


def test_keyboard_runs_and_stops(qtbot, window):
    configure(window, "counter", {"workers": 2, "hold_s": 30, "lock": "none"})
    window.activateWindow()
    window.act_run.trigger()  # F5
    qtbot.waitUntil(lambda: window.controller.process_count() == 2, timeout=60_000)
    assert "F5" in [s.toString() for s in window.act_run.shortcuts()]
    assert {"Esc", "Shift+F5"} <= {s.toString() for s in window.act_stop.shortcuts()}
    with qtbot.waitSignal(window.controller.finished, timeout=30_000):
        window.act_stop.trigger()


def test_closing_mid_run_stops_it_and_leaves_no_process(qtbot, settings):
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.show()
    configure(win, "pool", {"pool_size": 2, "tasks": 10, "task_s": 30})
    qtbot.mouseClick(win.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.controller.process_count() >= 2, timeout=60_000)
    pids = pids_of(win)
    win.close()
    assert not win.controller.running
    assert_all_gone(pids, timeout=1)


def test_replay_shows_the_same_lanes_and_result(qtbot, window, settings, tmp_path):
    configure(window, "counter", {"workers": 3, "hold_s": 0.05, "lock": "none"})
    _status, summary = run_and_wait(qtbot, window)
    path = tmp_path / "run.pstrace"
    assert window.save_trace(str(path))
    lanes = window.activity.lane_count()
    other = MainWindow(settings=settings)
    qtbot.addWidget(other)
    select_lesson(other, "basics")
    assert other.open_trace(str(path))
    assert other.lesson_id() == "counter"
    assert other.activity.lane_count() == lanes
    assert other.summary["result"] == summary["result"]
    assert other.replay.slider.isEnabled()
    other.replay.slider.setValue(0)  # scrub to the start: nothing has happened yet
    assert other.replay.cursor_ns() == other.trace.t0_ns
    other.close()


def test_a_corrupt_trace_is_refused_and_changes_nothing(qtbot, window, tmp_path, monkeypatch):
    bad = tmp_path / "bad.pstrace"
    bad.write_bytes(b"not a trace at all")
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args, **kwargs: shown.append(args))
    before = window.trace
    assert window.open_trace(str(bad)) is False
    assert shown and "bad.pstrace" in shown[0][2]
    assert window.trace is before


def test_invalid_combination_disables_run_and_says_why(window):
    select_lesson(window, "counter")
    set_field(window, "sharing", "queue")
    set_field(window, "lock", "get_lock")
    assert not window.run_button.isEnabled()
    assert "get_lock" in window.form.error.text()
    set_field(window, "lock", "lock")
    assert window.run_button.isEnabled()


def test_switching_the_language_changes_visible_texts(window):
    select_lesson(window, "counter")
    english = (window.run_button.text(), window.lesson_list.currentItem().text(), window.file_menu.title())
    window.set_language("zh_CN")
    chinese = (window.run_button.text(), window.lesson_list.currentItem().text(), window.file_menu.title())
    assert all(a != b for a, b in zip(english, chinese, strict=True))
    assert "运行" in chinese[0] and "计数器" in chinese[1]
    window.set_language("en")
    assert window.run_button.text() == english[0]


def test_settings_remember_lesson_parameters_and_language(qtbot, settings):
    first = MainWindow(settings=settings)
    qtbot.addWidget(first)
    select_lesson(first, "pool")
    set_field(first, "tasks", 7)
    first.set_language("zh_CN")
    first.close()
    second = MainWindow(settings=settings)
    qtbot.addWidget(second)
    assert second.lesson_id() == "pool"
    assert second.findChild(QSpinBox, "param_tasks").value() == 7
    assert second.language.current == "zh_CN"
    second.set_language("en")
    second.close()


def test_code_view_follows_the_form(window):
    select_lesson(window, "counter")
    set_field(window, "lock", "none")
    code = window.findChild(object, "codeView").toPlainText()
    assert "if __name__ == '__main__':" in code or 'if __name__ == "__main__":' in code
    compile(code, "lesson.py", "exec")


def test_many_signal_emits_do_not_corrupt_the_interpreter():
    """PySide6 6.12 on Python 3.11 aborts after a few hundred Signal.emit(True)."""
    code = textwrap.dedent("""
        from PySide6.QtCore import QCoreApplication, QObject, Signal
        app = QCoreApplication([])
        class Emitter(QObject):
            flag = Signal(bool)
        seen = []
        e = Emitter()
        e.flag.connect(seen.append)
        for _ in range(20000):
            e.flag.emit(True)
        print("ok", len(seen))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"QT_QPA_PLATFORM": "offscreen", **os.environ})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok 20000"


def test_no_process_of_the_app_survives_the_tests():
    assert not [p for p in psutil.Process().children(recursive=True)
                if p.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(p.cmdline())
                and "forkserver" not in " ".join(p.cmdline())]


def test_a_crashing_worker_shows_on_its_lane_and_in_the_result(qtbot, settings, monkeypatch):
    from app.core.lessons import LESSONS
    from tests.core import faulty

    monkeypatch.setitem(LESSONS, "faulty", faulty.LESSON)
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.show()
    configure(win, "faulty", {"workers": 3, "mode": "raise"})
    status, summary = run_and_wait(qtbot, win)
    assert status == "crashed"
    assert len(win.activity.crash_markers()) == 1
    assert "ValueError: boom from worker 1" in win.console.text.toPlainText()
    assert "crashed" in win.result.toPlainText().lower()
    assert win.run_button.isEnabled()  # the app stays usable
    assert_all_gone(pids_of(win))
    win.close()


def test_every_run_status_and_phase_has_one_label(qapp):
    from app.gui.state_names import IDLE, STOPPING, run_status_text, run_status_texts

    texts = run_status_texts()
    assert set(texts) == {*RunStatus, IDLE, STOPPING}
    assert all(texts.values())
    assert run_status_text(RunStatus.TIMEOUT) == "timed out" and run_status_text("foreign") == "foreign"


def test_the_language_is_asked_of_the_app_not_of_a_translated_marker(qapp):
    from app.gui.i18n import CHINESE, ENGLISH, Language, installed_lesson_key

    language = Language()
    try:
        language.set(CHINESE)
        assert installed_lesson_key() == "zh"
    finally:
        language.set(ENGLISH)
    assert installed_lesson_key() == "en"


def test_a_summary_that_cannot_be_built_says_why():
    broken = Trace({"lesson": "no_such_lesson", "status": "done"})
    summary = summarize(broken)
    assert summary["status"] == "done" and "no_such_lesson" in summary["error"]
    assert summarize(None, RunStatus.FAILED, RuntimeError("boom")) == {"status": "failed",
                                                                       "error": "RuntimeError: boom"}
