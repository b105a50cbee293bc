"""GUI test fixtures: offscreen Qt, and no leaked thread, timer or top-level window."""

from __future__ import annotations

import os
import threading
import time

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QEvent, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

# Threads that pytest plugins and Qt itself keep for the whole session.
_LONG_LIVED = ("pytest_timeout", "QDBusConnection", "Dummy-")


def _our_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive() and not t.name.startswith(_LONG_LIVED)}


@pytest.fixture(scope="session", autouse=True)
def private_settings(tmp_path_factory):
    """Windows built with default QSettings must not write into the user's real settings."""
    from PySide6.QtCore import QSettings

    folder = str(tmp_path_factory.mktemp("settings"))
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, folder)


@pytest.fixture(autouse=True)
def no_leaks(qapp):
    """Fail a test that leaves a thread, an active timer or a window behind."""
    threads_before = _our_threads()
    timers_before = {id(t) for t in qapp.findChildren(QTimer)}
    yield
    for widget in QApplication.topLevelWidgets():
        if widget.isVisible():  # pytest-qt already closed the ones a test registered
            widget.close()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qapp.processEvents()
    deadline = time.monotonic() + 5
    while (_our_threads() - threads_before) and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.02)  # threads finish on their own; this only polls for it
    leaked_threads = _our_threads() - threads_before
    assert not leaked_threads, f"threads left running: {[t.name for t in leaked_threads]}"
    leaked_timers = [t for t in qapp.findChildren(QTimer) if id(t) not in timers_before and t.isActive()
                     and t.objectName() != "guiGarbageCollector"]  # the application's own, for its lifetime
    assert not leaked_timers, f"timers left running: {[t.objectName() or t for t in leaked_timers]}"
    visible = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    assert not visible, f"windows left open: {visible}"
