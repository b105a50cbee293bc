"""The window in a classroom: it fits a 1366×768 projector at 125 %, the panels never cover a plot,
presentation mode and text size, readable console colours, a status that tells the truth, and a form
that follows an opened trace."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, QSettings, QSize, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from app.core.lessons import LESSONS
from app.gui.colors import PROCESS_PALETTE, process_color
from app.gui.forms import error_text
from app.gui.main_window import MainWindow
from app.gui.panels.console import ERROR_BACKGROUND, ERROR_COLOR, ConsoleView, contrast_ratio, readable
from app.gui.panels.run_outcome import BAD, DEADLOCK, GOOD, outcome
from app.gui.window_layout import PREFERRED, first_geometry, fits
from tests.gui.test_window import configure, pids_of, run_and_wait, select_lesson
from tests.helpers import assert_all_gone

PROJECTOR_125 = QSize(1093, 614)  # 1366×768 at 125 %: the available logical pixels (less a taskbar: smaller)


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


def rect_in(win: MainWindow, widget) -> QRect:
    return QRect(widget.mapTo(win, QPoint(0, 0)), widget.size())


def small(win: MainWindow, qtbot, size: QSize = PROJECTOR_125) -> None:
    win.setWindowState(Qt.WindowState.WindowNoState)
    win.resize(size)
    qtbot.waitUntil(lambda: win.size() == size or win.size() == win.minimumSize().expandedTo(size))
    QApplication.processEvents()


# --- fits the screen ---------------------------------------------------------------------------
@pytest.mark.parametrize("available", [QRect(0, 0, 1093, 614), QRect(0, 0, 1366, 728), QRect(1920, 24, 1093, 590),
                                       QRect(0, 0, 960, 540), QRect(0, 0, 2560, 1400)])
def test_the_first_window_is_inside_the_available_screen(available):
    rect, fills = first_geometry(available)
    assert available.contains(rect), (rect, available)
    assert rect.width() <= PREFERRED.width() or fills
    if available.width() > 2 * PREFERRED.width():
        assert not fills and rect.size() == PREFERRED  # a big screen: a comfortable window, centred
        assert rect.center().x() - available.center().x() in (-1, 0, 1)


def test_a_remembered_geometry_is_used_only_if_it_fits(qtbot, settings):
    assert not fits(QRect(0, 0, 1400, 860), QRect(0, 0, 1093, 614))
    assert fits(QRect(10, 10, 800, 500), QRect(0, 0, 1093, 614))
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    available = win.screen().availableGeometry()
    win.setWindowState(Qt.WindowState.WindowNoState)
    win.setGeometry(QRect(available.topLeft(), available.size() + QSize(600, 400)))  # from a bigger screen
    win.close()
    again = MainWindow(settings=settings)
    qtbot.addWidget(again)
    assert available.contains(again.normalGeometry()), (again.normalGeometry(), available)
    again.close()


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_the_minimum_size_fits_a_projector_at_125_percent(window, language):
    window.set_language(language)
    hint = window.minimumSizeHint().expandedTo(window.minimumSize())
    assert hint.width() <= PROJECTOR_125.width() and hint.height() <= PROJECTOR_125.height(), hint


@pytest.mark.parametrize("size", [PROJECTOR_125, QSize(960, 540)])
def test_the_side_panels_never_cover_a_plot(qtbot, window, size):
    small(window, qtbot, size)
    docks = [rect_in(window, d) for d in (window.left_dock, window.right_dock) if d.isVisible()]
    for widget in (window.activity, window.values_plot, window.resources, window.replay):
        area = rect_in(window, widget)
        assert area.width() > 0
        for dock in docks:
            assert not area.intersects(dock), (widget.objectName(), area, dock)
        assert window.rect().contains(area), (widget.objectName(), area)


def test_the_lessons_panel_keeps_one_width_across_lessons_and_languages(qtbot, window):
    small(window, qtbot)
    widths = {}
    for language in ("en", "zh_CN"):
        window.set_language(language)
        for lesson_id in LESSONS:
            select_lesson(window, lesson_id)
            QApplication.processEvents()
            widths[(language, lesson_id)] = window.left_dock.width()
    assert len(set(widths.values())) == 1, widths
    # Run and Stop stay in view whatever the form's length.
    assert window.left_dock.rect().contains(rect_in(window.left_dock, window.run_button))


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_every_details_tab_is_reachable_at_1366x768_125(qtbot, window, language):
    window.set_language(language)
    small(window, qtbot)
    window.fit_details()
    QApplication.processEvents()
    bar = window.tabs.tabBar()
    assert not window.tabs.usesScrollButtons()
    for index in range(bar.count()):
        assert bar.rect().contains(bar.tabRect(index)), (index, bar.tabRect(index), bar.rect())
        assert bar.tabToolTip(index) == bar.tabText(index)  # the full name, should the tab elide


def test_result_tables_wrap_at_word_boundaries_and_the_process_table_scrolls(window):
    from PySide6.QtGui import QTextOption

    assert window.result.wordWrapMode() == QTextOption.WrapMode.WordWrap
    assert not window.table.horizontalHeader().stretchLastSection()


# --- presentation and text size ----------------------------------------------------------------
def test_presentation_mode_toggles_full_screen_and_back(qtbot, window):
    act = window.findChild(object, "presentationAction")
    assert act is window.act_presentation and act.isCheckable()
    assert "F11" in [s.toString() for s in act.shortcuts()] and act in window.view_menu.actions()
    before = QApplication.font().pointSizeF()
    axis = window.activity.getPlotItem().getAxis("left")
    axis_before = axis.width()
    act.trigger()
    qtbot.waitUntil(window.isFullScreen)
    assert axis.width() >= axis_before  # room for the larger lane labels
    assert window.presenting and act.isChecked()
    assert not window.left_dock.isVisible()
    assert window.tabs.currentWidget() is window.lesson_text
    assert QApplication.font().pointSizeF() > before
    act.trigger()
    qtbot.waitUntil(lambda: not window.isFullScreen())
    assert not window.presenting and not act.isChecked()
    assert window.left_dock.isVisible()
    assert QApplication.font().pointSizeF() == pytest.approx(before)


def test_the_panels_can_be_collapsed_from_the_view_menu(window):
    for act, dock in ((window.act_show_lessons, window.left_dock), (window.act_show_details, window.right_dock)):
        assert act.isCheckable() and act in window.view_menu.actions()
        act.trigger()
        assert not dock.isVisible()
        act.trigger()
        assert dock.isVisible()


def test_ctrl_equal_grows_the_text_and_it_is_remembered(qtbot, settings):
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    base = QApplication.font().pointSizeF()
    assert "Ctrl+=" in [s.toString() for s in win.act_bigger.shortcuts()]
    assert [s.toString() for s in win.act_normal_size.shortcuts()] == ["Ctrl+0"]
    win.act_bigger.trigger()
    grown = QApplication.font().pointSizeF()
    assert grown > base
    assert win.console.text.font().pointSizeF() > 0
    win.close()
    assert QApplication.font().pointSizeF() == pytest.approx(base)  # a closed window leaves the font as found
    again = MainWindow(settings=settings)
    qtbot.addWidget(again)
    assert QApplication.font().pointSizeF() == pytest.approx(grown)  # remembered
    again.act_smaller.trigger()
    assert QApplication.font().pointSizeF() == pytest.approx(base, rel=0.01)
    again.act_bigger.trigger()
    again.act_normal_size.trigger()
    assert QApplication.font().pointSizeF() == pytest.approx(base)
    again.close()


def test_a_hostile_font_scale_in_the_settings_is_ignored(qtbot, settings):
    settings.setValue("view/font_scale", "1e400")
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    assert win.fonts.scale == 1.0 and settings.value("view/font_scale") is None
    win.close()


# --- colours -----------------------------------------------------------------------------------
def test_console_colours_reach_4_5_to_1_on_its_background(qapp):
    console = ConsoleView()
    background = console.background()
    for index in [-1, *range(len(PROCESS_PALETTE))]:
        tag, body = console._formats(index, False, background)
        for fmt in (tag, body):
            assert contrast_ratio(fmt.foreground().color(), background) >= 4.5, (index, process_color(index))
        _tag, error = console._formats(index, True, background)
        assert contrast_ratio(error.foreground().color(), QColor(ERROR_BACKGROUND)) >= 4.5
    assert contrast_ratio(readable(ERROR_COLOR, ERROR_BACKGROUND), QColor(ERROR_BACKGROUND)) >= 4.5
    for color in PROCESS_PALETTE:  # a dark theme: lightened instead
        assert contrast_ratio(readable(color, "#202020"), QColor("#202020")) >= 4.5
    assert contrast_ratio(QColor("#000000"), QColor("#FFFFFF")) == pytest.approx(21)
    console.deleteLater()


def test_status_colours_are_readable_and_deadlock_has_its_own():
    for color in (GOOD, BAD, DEADLOCK):
        assert contrast_ratio(QColor(color), QColor("#FFFFFF")) >= 4.5, color
    assert len({GOOD, BAD, DEADLOCK}) == 3
    found = {"lesson": "deadlock", "status": "done", "result": {"detected": True}}
    assert outcome("done", found) == "deadlock found"
    assert outcome("done", {"lesson": "deadlock", "result": {"detected": False}}) == "done"
    assert outcome("stopped", None) == "stopped by the user"


# --- status that tells the truth ----------------------------------------------------------------
def test_a_run_shows_live_time_clears_the_old_message_and_a_stop_says_who(qtbot, window):
    configure(window, "counter", {"workers": 2, "hold_s": 30, "lock": "none"})
    window.statusBar().showMessage("Run ended: done")  # what the previous run left
    window.act_run.trigger()
    assert window.statusBar().currentMessage() == ""
    qtbot.waitUntil(lambda: window.controller.process_count() == 2, timeout=60_000)
    qtbot.waitUntil(lambda: float(window.replay.label.text().split()[0]) > 0, timeout=10_000)
    assert window.phase_label.text() == "running"
    pids = pids_of(window)
    with qtbot.waitSignal(window.controller.finished, timeout=30_000):
        window.act_stop.trigger()
    assert window.phase_label.text() == "stopped by the user"
    assert window.statusBar().currentMessage() == "Run stopped by the user"
    assert_all_gone(pids)


def test_a_found_deadlock_ends_as_deadlock_in_its_own_colour(qtbot, window):
    configure(window, "deadlock", {"workers": 2, "hold_s": 0.1})
    status, summary = run_and_wait(qtbot, window)
    assert status == "done" and summary["result"]["detected"] is True  # the CLI's contract is kept
    assert window.phase_label.text() == "deadlock found"
    assert DEADLOCK.lower() in window.phase_label.styleSheet().lower()
    assert "deadlock found" in window.statusBar().currentMessage()
    assert DEADLOCK.lower() in window.result.toHtml().lower()
    assert GOOD.lower() not in window.phase_label.styleSheet().lower()
    assert_all_gone(pids_of(window))


# --- the form follows an opened trace ------------------------------------------------------------
def test_the_form_follows_an_opened_trace_and_f5_reruns_it(qtbot, window, tmp_path):
    configure(window, "pool", {"pool_size": 2, "tasks": 3, "task_s": 0.05})
    run_and_wait(qtbot, window)
    path = tmp_path / "pool.pstrace"
    assert window.save_trace(str(path))
    configure(window, "counter", {"workers": 3, "hold_s": 0.05, "lock": "none"})
    assert window.open_trace(str(path))
    assert window.lesson_id() == "pool"
    assert window.form.raw_values()["pool_size"] == 2 and window.form.raw_values()["tasks"] == 3
    assert window.form.method() == "spawn" and window.form.valid
    with qtbot.waitSignal(window.controller.finished, timeout=90_000) as blocker:
        window.act_run.trigger()  # F5
    status, summary = blocker.args
    assert status == "done" and summary["lesson"] == "pool"
    assert window.trace.meta["params"]["pool_size"] == 2 and window.trace.meta["params"]["tasks"] == 3
    table = window.table  # every column as wide as its contents: the panel scrolls sideways, nothing squashed
    header = table.horizontalHeader()
    for column in range(table.columnCount()):
        widest = max([header.sectionSizeFromContents(column).width(),
                      *(table.sizeHintForColumn(column) for _ in [0] if table.rowCount())])
        assert table.columnWidth(column) >= widest, column
    assert_all_gone(pids_of(window))


def test_parameter_errors_are_shown_in_the_window_language(window):
    message = "unknown parameter 'pool_size' for lesson counter; allowed: workers, hold_s, lock, slow_motion"
    assert error_text(message) == message
    window.set_language("zh_CN")
    try:
        shown = error_text(message)
        assert "课程 counter" in shown and "'pool_size'" in shown
        assert "整数" in error_text("workers: 0 is not allowed; allowed: an integer from 1 to 64")
    finally:
        window.set_language("en")


def test_details_take_the_tabs_width_only_when_the_plots_keep_room():
    from app.gui.window_layout import details_width

    assert details_width(1366, 324) == 324
    assert details_width(1093, 324) == 324  # 1366×768 at 125 %: all tab names, plots keep 760 px with the lessons
    assert details_width(960, 324) == 240  # 1920×1080 at 200 %: a quarter, the tabs elide


def test_a_plots_export_menu_opens_the_export_dialog_on_that_plot_remembering_into_the_windows_settings(
        window, settings, monkeypatch):
    from app.gui import export_dialog

    seen = []

    def fake_exec(dialog):
        seen.append((dialog.target(), dialog._settings))
        return 0

    monkeypatch.setattr(export_dialog.ExportDialog, "exec", fake_exec)
    for plot in (window.activity, window.values_plot, window.resources):
        plot.exportAction.trigger()
    names = list(window.plots())
    assert [target.name for target, _store in seen] == names
    assert all(store is settings for _target, store in seen)
    assert window.activity.wholeRunAction in window.view_menu.actions()
