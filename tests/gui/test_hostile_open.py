"""The window's open path with hostile files: the error is shown, the trace on screen stays."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox, QPushButton

from app.gui.main_window import MainWindow
from tests.core.hostile_traces import mutations
from tests.core.test_trace_files import hand_made_trace


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    store = QSettings(str(tmp_path / "procscope.ini"), QSettings.Format.IniFormat)
    store.setValue("language", "en")
    win = MainWindow(settings=store)
    qtbot.addWidget(win)
    win.show()
    shown: list[tuple] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args, **kwargs: shown.append(args))  # never blocks
    win.shown_warnings = shown
    good = tmp_path / "good.pstrace"
    hand_made_trace().save(str(good))
    assert win.open_trace(str(good))
    yield win
    win.close()


@pytest.mark.timeout(180)
def test_mutated_traces_through_the_window_keep_the_current_trace(qtbot, window, tmp_path):
    good = (tmp_path / "good.pstrace").read_bytes()
    cases = mutations(good, seed=7)[::6]  # a subset of every kind of mutation
    assert len(cases) >= 30
    refused = 0
    for name, data in cases:
        path = tmp_path / f"{name}.pstrace"
        path.write_bytes(data)
        before, lanes = window.trace, window.activity.lane_count()
        window.shown_warnings.clear()
        if window.open_trace(str(path)):
            window.refresh_views()  # a file that passed the schema must also draw
            assert window.open_trace(str(tmp_path / "good.pstrace"))
            continue
        refused += 1
        assert len(window.shown_warnings) == 1, name
        _parent, title, text = window.shown_warnings[0][:3]
        assert str(path) in text and "\n" not in text, (name, text)
        assert window.trace is before and window.activity.lane_count() == lanes, name
    assert refused >= len(cases) // 2


def test_a_refusal_is_shown_in_chinese_when_the_window_is_chinese(window, tmp_path):
    window.set_language("zh_CN")
    path = tmp_path / "version.pstrace"
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("format.json", '{"format": "procscope-trace", "version": true}')
        for name in ("meta.json", "texts.json", "records.npy"):
            zf.writestr(name, "")
    before = window.trace
    assert not window.open_trace(str(path))
    text = window.shown_warnings[-1][2]
    assert "应为" in text and "version" in text and str(path) in text
    assert window.trace is before
    window.set_language("en")


# --- off the GUI thread ------------------------------------------------------------------------------
def _big_trace_file(tmp_path, rows: int = 400_000):
    """A valid trace of ``rows`` records: seconds of checking on a loaded machine, not a test's minutes."""
    import numpy as np

    from app.core import events as ev

    trace = hand_made_trace()
    records = np.zeros((rows, ev.RECORD_FIELDS), dtype=np.int64)
    records[:, 0] = trace.t0_ns + np.arange(rows)
    records[:, 2] = ev.SAMPLE
    trace.append(records)
    path = tmp_path / "big.pstrace"
    trace.save(str(path))
    return path


def test_a_trace_opens_off_the_gui_thread_with_progress(qtbot, window, tmp_path):
    path = _big_trace_file(tmp_path)
    before = window.trace
    assert window.open_trace_in_background(str(path))
    assert window.opener.busy and window.opener.dialog is not None
    assert not window.open_trace_in_background(str(path)), "a second open while one is running"
    values = []
    window.opener._progress.connect(values.append)
    with qtbot.waitSignal(window.opener.opened, timeout=60_000):
        pass
    assert window.trace is not before and len(window.trace.records) > 400_000
    assert not window.opener.busy and window.opener.dialog is None
    assert values == sorted(values)


def test_cancel_keeps_the_current_trace(qtbot, window, tmp_path):
    path = _big_trace_file(tmp_path)
    before = window.trace
    assert window.open_trace_in_background(str(path))
    with qtbot.waitSignal(window.opener.cancelled, timeout=60_000) as blocker:
        window.opener.dialog.findChild(QPushButton).click()  # the dialog's Cancel button
    assert blocker.args == [str(path)]
    assert window.trace is before and not window.shown_warnings
    assert not window.opener.busy


def test_a_bad_file_opened_off_the_gui_thread_is_reported(qtbot, window, tmp_path):
    path = tmp_path / "bad.pstrace"
    path.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    before = window.trace
    assert window.open_trace_in_background(str(path))
    with qtbot.waitSignal(window.opener.failed, timeout=30_000):
        pass
    assert window.trace is before
    assert len(window.shown_warnings) == 1 and str(path) in window.shown_warnings[0][2]


def test_closing_while_opening_leaves_no_thread(qtbot, window, tmp_path):
    path = _big_trace_file(tmp_path)
    assert window.open_trace_in_background(str(path))
    window.close()
    assert not window.opener._thread.is_alive()
    qtbot.waitUntil(lambda: not window.opener.busy, timeout=10_000)
