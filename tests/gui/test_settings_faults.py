"""A corrupt settings file never keeps the window from opening: each key corrupted in turn.

Every value the window reads at start is written wrong (wrong type, garbage bytes, huge, empty,
nested) into a real ini file; the window must open with the whole form and Run enabled, the bad
value must be gone from the file, and one log line must name the key.
"""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import QByteArray, QRect, QSettings

from app.core.lessons import LESSONS
from app.gui.main_window import MainWindow
from app.gui.settings import AppSettings

LESSON = next(iter(LESSONS))  # the lesson the window shows first
PARAMS_KEY = f"params/{LESSON}"
STARTUP_KEYS = ("geometry", "window_state", "language", "lesson", "start_method", PARAMS_KEY)

CORRUPTIONS = {
    "wrong-type-int": 42,
    "wrong-type-rect": QRect(0, 0, 10, 10),
    "wrong-type-list": ["a", "b", "c"],
    "garbage-bytes": QByteArray(b"\xff\x00\xfe garbage \x01\x02"),
    "huge": "x" * 200_000,
    "empty": "",
    "nested": [[["deep", ["deeper"]]]],
}
PARAM_VALUES = {  # well-formed JSON whose values the form cannot show
    "overflow-float": '{"workers": 1e400}',
    "overflow-int": '{"workers": %d}' % 10**30,
    "deep-json": "[" * 5000 + "]" * 5000,
    "nested-value": '{"workers": {"a": {"b": [1, 2]}}}',
    "nan": '{"workers": NaN}',
    "digits": '{"workers": ' + "9" * 5000 + "}",
}


def _write_settings(path, key: str, value) -> None:
    """A settings file as a real session leaves it, with one key corrupted; read back from disk."""
    store = QSettings(str(path), QSettings.Format.IniFormat)
    store.setValue("language", "en")
    store.setValue("lesson", LESSON)
    store.setValue("start_method", "spawn")
    store.setValue(key, value)
    store.sync()


def _open(qtbot, path) -> MainWindow:
    win = MainWindow(settings=QSettings(str(path), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    return win


def _assert_usable(win: MainWindow) -> None:
    lesson = LESSONS[win.lesson_id()]
    fields = [win.form.findChild(object, f"param_{spec.name}") for spec in lesson.params]
    assert all(field is not None for field in fields), "the form is incomplete"
    assert win.run_button.isEnabled() and win.form.valid


def _stored(path, key):
    return QSettings(str(path), QSettings.Format.IniFormat).value(key)


@pytest.mark.parametrize("key", STARTUP_KEYS)
@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_each_corrupted_key_still_opens_the_window(qtbot, tmp_path, caplog, key, corruption):
    path = tmp_path / "procscope.ini"
    bad = CORRUPTIONS[corruption]
    _write_settings(path, key, bad)
    before = _stored(path, key)
    with caplog.at_level(logging.WARNING, logger="procscope.settings"):
        win = _open(qtbot, path)
    _assert_usable(win)
    win.settings.sync()
    assert _stored(path, key) != before, "the bad value was kept"
    lines = [r for r in caplog.records if r.name == "procscope.settings" and key in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    win.close()


@pytest.mark.parametrize("raw", PARAM_VALUES.values(), ids=list(PARAM_VALUES))
def test_saved_parameters_the_form_cannot_show_fall_back_to_defaults(qtbot, tmp_path, caplog, raw):
    path = tmp_path / "procscope.ini"
    _write_settings(path, PARAMS_KEY, raw)
    with caplog.at_level(logging.WARNING, logger="procscope.settings"):
        win = _open(qtbot, path)
    _assert_usable(win)
    workers = win.form.findChild(object, "param_workers")
    spec = next(s for s in LESSONS[LESSON].params if s.name == "workers")
    assert workers.value() == spec.default
    win.settings.sync()
    assert _stored(path, PARAMS_KEY) != raw
    assert len([r for r in caplog.records if PARAMS_KEY in r.getMessage()]) == 1
    win.close()


def test_one_bad_parameter_keeps_the_others(tmp_path, caplog):
    path = tmp_path / "procscope.ini"
    _write_settings(path, PARAMS_KEY, '{"workers": 1e400, "tempo": 0.5}')
    settings = AppSettings(QSettings(str(path), QSettings.Format.IniFormat))
    with caplog.at_level(logging.WARNING, logger="procscope.settings"):
        assert settings.params(LESSON) == {"tempo": 0.5}
    assert len(caplog.records) == 1 and "workers" in caplog.records[0].getMessage()
    settings.sync()
    assert _stored(path, PARAMS_KEY) == '{"tempo": 0.5}'


def test_a_valid_layout_is_still_restored(qtbot, tmp_path, caplog):
    path = tmp_path / "procscope.ini"
    _write_settings(path, "language", "en")
    first = _open(qtbot, path)
    first.close()  # saves geometry and dock state
    geometry = _stored(path, "geometry")
    assert isinstance(geometry, QByteArray) and not geometry.isEmpty()
    with caplog.at_level(logging.WARNING, logger="procscope.settings"):
        second = _open(qtbot, path)
    assert not caplog.records, "a layout Qt saved itself was refused"
    assert _stored(path, "geometry") is not None
    second.close()


@pytest.mark.parametrize("bad", ["abc", "", "-5", "99999999999999999999", QRect(1, 2, 3, 4)])
def test_the_record_limit_setting_falls_back_to_the_default(tmp_path, bad):
    from app.core import trace_schema
    from app.gui.settings import MAX_RECORDS_KEY

    path = tmp_path / "procscope.ini"
    _write_settings(path, MAX_RECORDS_KEY, bad)
    settings = AppSettings(QSettings(str(path), QSettings.Format.IniFormat))
    assert settings.trace_max_records() == trace_schema.MAX_RECORDS
    settings.sync()
    assert _stored(path, MAX_RECORDS_KEY) is None
