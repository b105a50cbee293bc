"""Step by step in the window: F9, the workers held with what they are about to do on their lanes, Step
(F10) for the selected process, the schedule text that replays the run under --schedule, refusals in the
status bar, Pause (F6) on a free run, and Stop while held or paused leaving no process."""

from __future__ import annotations

import psutil
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from app.core.runner import Runner
from app.core.stepping import parse_schedule
from app.core.summary import build_summary
from app.gui.main_window import MainWindow
from tests.gui.test_window import configure, pids_of, select_lesson
from tests.helpers import assert_all_gone

RUN_MS = 90_000
COUNTER = {"workers": 2, "lock": "none", "increments": 1, "start_value": 0, "step": 1, "hold_s": 0}


@pytest.fixture
def window(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    store = QSettings(str(tmp_path / "procscope.ini"), QSettings.Format.IniFormat)
    store.setValue("language", "en")
    win = MainWindow(settings=store)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    yield win
    win.close()


def held_notes(win: MainWindow) -> dict:
    return win.activity.lane_notes()


def start_stepped(qtbot, win: MainWindow, lesson: str, params: dict) -> None:
    configure(win, lesson, params)
    qtbot.keyClick(win, Qt.Key.Key_F9)
    assert win.steps.act_mode.isChecked() and win.controller.step_mode
    qtbot.mouseClick(win.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(held_notes(win)) == params["workers"], timeout=RUN_MS)


def step(qtbot, win: MainWindow, expect: str) -> None:
    button = win.findChild(object, "stepButton")
    qtbot.waitUntil(button.isEnabled, timeout=RUN_MS)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.findChild(object, "scheduleView").text() == expect, timeout=RUN_MS)


def click_lane(qtbot, win: MainWindow, row: int) -> None:
    view = win.activity.getPlotItem().getViewBox()
    (x0, x1), _y = view.viewRange()
    scene = view.mapViewToScene(QPointF((x0 + x1) / 2, row))
    where = win.activity.mapFromScene(scene)
    qtbot.mouseClick(win.activity.viewport(), Qt.MouseButton.LeftButton, pos=where)


def test_the_step_controls_have_their_names_and_keys(window):
    for name in ("stepModeAction", "stepButton", "pauseButton", "scheduleView", "runFreeButton"):
        assert window.findChild(object, name) is not None, name
    assert window.steps.act_mode.shortcut().toString() == "F9"
    assert window.steps.act_step.shortcut().toString() == "F10"
    assert window.steps.act_pause.shortcut().toString() == "F6"
    assert window.steps.act_mode in window.run_menu.actions()
    select_lesson(window, "basics")
    assert not window.steps.act_mode.isEnabled() and "no step points" in window.steps.act_mode.toolTip()
    select_lesson(window, "counter")
    assert window.steps.act_mode.isEnabled()


def test_stepping_1_2_1_2_loses_an_update_and_its_schedule_replays(qtbot, window):
    start_stepped(qtbot, window, "counter", COUNTER)
    assert all("read counter" in note for note in held_notes(window).values()), held_notes(window)
    qtbot.keyClick(window, Qt.Key.Key_1)
    step(qtbot, window, "1")
    qtbot.keyClick(window, Qt.Key.Key_2)
    step(qtbot, window, "1,2")
    qtbot.waitUntil(lambda: sum("write counter" in n for n in held_notes(window).values()) == 2, timeout=RUN_MS)
    order = window.activity.lane_order()
    click_lane(qtbot, window, order.index(0))  # Process-1's lane
    assert window.steps._selected == 1
    step(qtbot, window, "1,2,1")
    # the value plot and the result tab show the write that step made, while Process-2 is still held
    qtbot.waitUntil(lambda: len(window.trace.values(0)[0]) == 1, timeout=RUN_MS)
    window.tabs.setCurrentWidget(window.result)
    qtbot.waitUntil(lambda: "1 write(s) were recorded" in " ".join(window.result.toPlainText().split()),
                    timeout=RUN_MS)
    window.tabs.setCurrentWidget(window.table)
    qtbot.waitUntil(lambda: window.table.row_of(1) is not None, timeout=RUN_MS)
    window.table.selectRow(window.table.row_of(1))  # Process-2's row
    assert window.steps._selected == 2
    with qtbot.waitSignal(window.controller.finished, timeout=RUN_MS) as blocker:
        step(qtbot, window, "1,2,1,2")
    status, summary = blocker.args
    assert status == "done", summary["errors"]
    assert (summary["result"]["actual"], summary["result"]["lost_updates"]) == (1, 1)
    assert window.findChild(object, "scheduleView").text() == "1,2,1,2"
    assert_all_gone(pids_of(window))
    qtbot.mouseClick(window.findChild(object, "copyScheduleButton"), Qt.MouseButton.LeftButton)
    copied = QApplication.clipboard().text()
    assert copied == "1,2,1,2"
    replay = Runner("counter", {k: str(v) for k, v in COUNTER.items()}, "spawn", sample_hz=None,
                    schedule=parse_schedule(copied, 2))
    again = build_summary(replay.run(timeout=90))
    assert_all_gone(p["pid"] for p in again["processes"])
    assert (again["result"]["actual"], again["result"]["lost_updates"]) == (1, 1)
    assert again["schedule"] == summary["schedule"]


def test_a_refused_step_says_why_in_the_status_bar_and_stop_while_held_ends_all(qtbot, window):
    start_stepped(qtbot, window, "counter", dict(COUNTER, lock="lock"))
    assert all("acquire lock 0" in note for note in held_notes(window).values()), held_notes(window)
    qtbot.keyClick(window, Qt.Key.Key_1)
    step(qtbot, window, "1")
    qtbot.keyClick(window, Qt.Key.Key_2)
    step(qtbot, window, "1,2")
    qtbot.keyClick(window, Qt.Key.Key_2)
    qtbot.mouseClick(window.findChild(object, "stepButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "refused" in window.statusBar().currentMessage(), timeout=RUN_MS)
    assert "Process-2 is waiting for lock 0, held by Process-1" in window.statusBar().currentMessage()
    assert window.findChild(object, "scheduleView").text() == "1,2"
    window.set_language("zh_CN")
    qtbot.mouseClick(window.findChild(object, "stepButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "拒绝" in window.statusBar().currentMessage(), timeout=RUN_MS)
    assert "Process-2 正在等待锁 0，它被 Process-1 持有" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: held_notes(window) == {0: "[1] 下一步：读取 counter"}, timeout=RUN_MS)
    pids = pids_of(window)
    with qtbot.waitSignal(window.controller.finished, timeout=RUN_MS) as blocker:
        window.act_stop.trigger()
    assert blocker.args[0] == "stopped"
    assert_all_gone(pids, timeout=5)
    window.set_language("en")


def _statuses(pids) -> set:
    out = set()
    for pid in pids:
        try:
            out.add(psutil.Process(pid).status())
        except psutil.NoSuchProcess:
            out.add("gone")
    return out


def test_pause_suspends_a_lesson_without_step_points_and_resumes_it(qtbot, window):
    configure(window, "pool", {"pool_size": 2, "tasks": 4, "task_s": 30})
    assert not window.steps.act_mode.isEnabled()
    qtbot.mouseClick(window.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.controller.process_count() >= 2, timeout=RUN_MS)
    pause = window.findChild(object, "pauseButton")
    assert pause.isEnabled() and not window.findChild(object, "stepButton").isEnabled()
    pids = list(window.controller.runner.live_pids().values())
    qtbot.keyClick(window, Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: _statuses(pids) == {psutil.STATUS_STOPPED}, timeout=RUN_MS)
    assert pause.isChecked() and window.steps.paused
    frozen = window.controller.elapsed_s()
    qtbot.waitUntil(lambda: window.elapsed_label.text() == f"{frozen:.1f} s", timeout=RUN_MS)  # the clock stands
    assert window.controller.elapsed_s() == frozen
    qtbot.mouseClick(pause, Qt.MouseButton.LeftButton)  # Pause again: resumed
    qtbot.waitUntil(lambda: psutil.STATUS_STOPPED not in _statuses(pids), timeout=RUN_MS)
    assert not pause.isChecked() and window.controller.elapsed_s() > frozen
    qtbot.mouseClick(pause, Qt.MouseButton.LeftButton)  # paused again, then Stop
    qtbot.waitUntil(lambda: _statuses(pids) == {psutil.STATUS_STOPPED}, timeout=RUN_MS)
    all_pids = pids_of(window)
    with qtbot.waitSignal(window.controller.finished, timeout=RUN_MS) as blocker:
        window.act_stop.trigger()
    assert blocker.args[0] == "stopped"
    assert_all_gone(all_pids, timeout=5)
    assert not window.findChild(object, "pauseButton").isChecked()


def test_pause_holds_a_free_run_at_its_next_step_points_run_free_goes_on(qtbot, window):
    configure(window, "counter", dict(COUNTER, increments=400, hold_s=0.05))  # ~20 s when free
    assert not window.steps.act_mode.isChecked()
    qtbot.mouseClick(window.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.controller.process_count() >= 2, timeout=RUN_MS)
    assert not held_notes(window)
    qtbot.keyClick(window, Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: len(held_notes(window)) == 2, timeout=RUN_MS)  # each at its next step point
    assert window.steps.held and window.findChild(object, "stepButton").isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_1)
    qtbot.keyClick(window, Qt.Key.Key_F10)
    qtbot.waitUntil(lambda: window.findChild(object, "scheduleView").text() == "1", timeout=RUN_MS)
    qtbot.keyClick(window, Qt.Key.Key_F5)  # Run free
    qtbot.waitUntil(lambda: not window.steps.held and not held_notes(window), timeout=RUN_MS)
    assert window.controller.running
    qtbot.keyClick(window, Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: len(held_notes(window)) == 2, timeout=RUN_MS)
    pids = pids_of(window)
    with qtbot.waitSignal(window.controller.finished, timeout=RUN_MS) as blocker:
        window.act_stop.trigger()
    assert blocker.args[0] == "stopped"
    assert_all_gone(pids, timeout=5)


def test_closing_the_window_while_paused_or_held_leaves_no_process(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    for lesson, params, stepped in (("pool", {"pool_size": 2, "tasks": 4, "task_s": 30}, False),
                                    ("counter", COUNTER, True)):
        store = QSettings(str(tmp_path / f"{lesson}.ini"), QSettings.Format.IniFormat)
        store.setValue("language", "en")
        win = MainWindow(settings=store)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        win.activateWindow()
        qtbot.waitUntil(win.isActiveWindow)  # F9 goes to the active window
        if stepped:
            start_stepped(qtbot, win, lesson, params)
        else:
            configure(win, lesson, params)
            qtbot.mouseClick(win.run_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda w=win: w.controller.process_count() >= 2, timeout=RUN_MS)
            pids = list(win.controller.runner.live_pids().values())
            win.steps.toggle_pause()
            qtbot.waitUntil(lambda p=pids: _statuses(p) == {psutil.STATUS_STOPPED}, timeout=RUN_MS)
        all_pids = pids_of(win)
        win.close()
        assert not win.controller.running
        assert_all_gone(all_pids, timeout=5)
