"""The window keeps a found deadlock visibly stuck, with a countdown, before the run is stopped."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt

from app.gui.main_window import MainWindow
from app.gui.settings import DEADLOCK_LINGER_DEFAULT, DEADLOCK_LINGER_KEY, AppSettings
from tests.gui.test_window import RUN_TIMEOUT_MS, configure, pids_of
from tests.helpers import assert_all_gone


@pytest.fixture
def settings(tmp_path):
    store = QSettings(str(tmp_path / "procscope.ini"), QSettings.Format.IniFormat)
    store.setValue("language", "en")
    store.setValue(DEADLOCK_LINGER_KEY, 1.5)
    return store


def test_the_countdown_shows_during_the_linger_and_goes_after(qtbot, settings):
    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    window.show()
    configure(window, "deadlock", {"workers": 2, "hold_s": 0.1})
    countdown = window.countdown
    with qtbot.waitSignal(window.controller.finished, timeout=RUN_TIMEOUT_MS) as blocker:
        qtbot.mouseClick(window.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: countdown.text() != "", timeout=RUN_TIMEOUT_MS)
        assert countdown.text().startswith("Deadlock found — stopping in ")
        assert countdown.item.isVisible() and countdown.item.toPlainText() == countdown.text()
        assert window.statusBar().currentMessage() == countdown.text()
        assert window.controller.running  # the processes are still stuck, not stopped yet
    status, summary = blocker.args
    assert status == "done" and summary["result"]["detected"] is True
    assert countdown.text() == "" and not countdown.item.isVisible()
    assert not window.statusBar().currentMessage().startswith("Deadlock found")
    assert window.phase_label.text() == "deadlock found"
    assert_all_gone(pids_of(window))
    window.close()


def test_the_countdown_is_translated(qtbot, settings):
    settings.setValue("language", "zh_CN")
    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    assert window.countdown.tr("Deadlock found — stopping in {0:.1f} s").format(1.6) == "发现死锁——1.6 秒后停止"
    window.close()


@pytest.mark.parametrize("bad", ["-1", "nan", "inf", "61", "abc", ""])
def test_a_bad_linger_setting_falls_back_to_the_default(tmp_path, bad):
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    store.setValue(DEADLOCK_LINGER_KEY, bad)
    assert AppSettings(store).deadlock_linger_s() == DEADLOCK_LINGER_DEFAULT
    assert store.value(DEADLOCK_LINGER_KEY) is None  # removed: the next start is clean


def test_the_linger_setting_is_read_and_written(tmp_path):
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    settings = AppSettings(store)
    assert settings.deadlock_linger_s() == 2.0
    settings.set_deadlock_linger_s(0)
    assert settings.deadlock_linger_s() == 0.0
