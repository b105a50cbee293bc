"""The window collects garbage only from a timer of the GUI thread (a collection mid-paint or in a run's
thread can free a Qt object where Qt crashes); a process forked from it collects as usual."""

from __future__ import annotations

import gc
import multiprocessing

import pytest
from PySide6.QtCore import QCoreApplication, QTimer

from app.gui.main_window import MainWindow


def _report_gc(queue) -> None:
    queue.put(gc.isenabled())


def test_the_window_turns_the_automatic_collector_off_and_collects_from_a_gui_timer(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    win = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    assert not gc.isenabled()
    timer = QCoreApplication.instance().findChild(QTimer, "guiGarbageCollector")
    assert timer is not None and timer.isActive()

    class Cycle:
        pass

    for _ in range(gc.get_threshold()[0] + 10):  # garbage in cycles, more than one generation's worth
        a, b = Cycle(), Cycle()
        a.b, b.a = b, a
    qtbot.waitUntil(lambda: gc.get_count()[0] < gc.get_threshold()[0], timeout=5000)  # the timer collected


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="fork")
def test_a_process_forked_from_the_window_collects_as_usual(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    win = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_report_gc, args=(queue,))
    child.start()
    try:
        assert queue.get(timeout=30) is True
    finally:
        child.join(30)
    assert child.exitcode == 0
