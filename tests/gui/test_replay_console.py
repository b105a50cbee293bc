"""An opened trace's console lines wait until the console's tab is shown (they are not in the first paint)."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from app.gui.main_window import MainWindow
from tests.core.test_trace_files import hand_made_trace


def test_an_opened_trace_fills_the_console_when_its_tab_is_shown(qtbot, tmp_path):
    store = QSettings(str(tmp_path / "procscope.ini"), QSettings.Format.IniFormat)
    store.setValue("language", "en")
    win = MainWindow(settings=store)
    qtbot.addWidget(win)
    win.show()
    path = tmp_path / "run.pstrace"
    hand_made_trace().save(str(path))
    win.tabs.setCurrentWidget(win.lesson_text)
    assert win.open_trace(str(path))
    assert not win.console.isVisible()
    assert win.console.lines() == []  # not built for a tab nobody looks at
    win.tabs.setCurrentWidget(win.console)
    lines = win.console.lines()
    assert "[Process-1] 这里是 Process-1" in lines and "[parent] parent line" in lines
    # shown once, it stays drawn: scrubbing and switching tabs behave as before
    win.tabs.setCurrentWidget(win.lesson_text)
    win.replay.slider.setValue(0)
    win.tabs.setCurrentWidget(win.console)
    assert win.console.lines() == []  # nothing printed before the start
    win.close()


def test_a_console_shown_when_the_trace_opens_fills_at_once(qtbot, tmp_path):
    store = QSettings(str(tmp_path / "procscope.ini"), QSettings.Format.IniFormat)
    store.setValue("language", "en")
    win = MainWindow(settings=store)
    qtbot.addWidget(win)
    win.show()
    path = tmp_path / "run.pstrace"
    hand_made_trace().save(str(path))
    win.tabs.setCurrentWidget(win.console)
    assert win.open_trace(str(path))
    assert "[parent] parent line" in win.console.lines()
    win.close()
