"""The ProcScope window: composition only — docks, menus, toolbar, status bar.

Lessons and the parameter form on the left; activity lanes, shared values and
CPU/memory in the centre (time axes linked); lesson text, result, processes,
console and code on the right. One display timer refreshes the views while a
run is live; each view redraws only what changed.

Made for a classroom screen: the first window fits the screen it opens on, the
plots always own the centre (side panels have a fixed or shrinking width, scroll,
or collapse from the View menu), presentation mode (F11) goes full screen with
larger text, and Ctrl+= / Ctrl+- / Ctrl+0 set the text size at any time.
"""

from __future__ import annotations

import logging
from time import monotonic

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QFontMetrics, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.codegen import generate
from app.core.lessons import LESSONS
from app.core.params import ParamError
from app.core.script import SCRIPT_LESSON
from app.core.summary import build_summary
from app.core.trace import Trace, TraceFormatError
from app.diagnostics import count
from app.gui.controller import RunController
from app.gui.export_dialog import ExportDialog
from app.gui.font_scale import PRESENTATION_BOOST, FontScale, scaled
from app.gui.forms import ParamForm, error_text
from app.gui.gui_gc import collect_in_gui_thread
from app.gui.i18n import LANGUAGES, Language, system_language
from app.gui.icons import window_icon
from app.gui.panels._fonts import monospace_font
from app.gui.panels.code_view import CodeView
from app.gui.panels.console import ConsoleView
from app.gui.panels.lesson_text import LessonText
from app.gui.panels.process_table import ProcessTable
from app.gui.panels.result_view import ResultView
from app.gui.panels.run_outcome import outcome, outcome_color, outcome_text
from app.gui.plots._countdown import DeadlockCountdown
from app.gui.plots._style import share_left_axis
from app.gui.plots.lanes import ActivityPlot
from app.gui.plots.resource_usage import ResourcePlot
from app.gui.plots.values import ValuePlot
from app.gui.replay_bar import ReplayBar
from app.gui.script_mode import ScriptMode
from app.gui.settings import AppSettings
from app.gui.state_names import run_status_text
from app.gui.step_controls import StepControls
from app.gui.trace_opener import TraceOpener
from app.gui.view import FrameSchedule, refresh_views
from app.gui.window_layout import details_width, first_geometry, fits, left_panel_width

FRAME_MS = 16  # ~60 Hz: an event reaches the screen within two frames, ≤ 33 ms (the latency target)
OTHER_VIEWS_S = 0.25  # during a run the table, console and CPU/memory refresh at ~4 Hz, in turn (view.py)
STATUS_MS = 250  # the status bar's elapsed time and process count
# Closable: a panel collapses (its View menu action brings it back) rather than squeeze the plots.
DOCK_FEATURES = QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
LEFT_AXIS_PX = 200  # room for the longest lane label at the default text size
LONGEST_LANE_LABEL = "SpawnPoolWorker-64 (1234567)"
PLOT_DATA_MIN_PX = 160  # the docks give way before the plots' data area is narrower than this


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, language: Language | None = None):
        super().__init__()
        count("window")
        collect_in_gui_thread()  # never mid-paint nor in a run's thread: there freeing a Qt object crashes
        self.setObjectName("mainWindow")
        self.setWindowIcon(window_icon())
        self.settings = AppSettings(settings)
        self.language = language or Language(self)
        self.controller = RunController(self)
        self.trace: Trace | None = None
        self.summary: dict | None = None
        self.fonts = FontScale(self.settings, self)
        self._presenting = False
        self._before_presentation = None
        self._build_views()
        self._build_left()
        self._build_right()
        self._build_centre()
        self._build_actions()
        self._build_status()
        self._wire()
        self.script_mode = ScriptMode(self)  # "Your script": its list entry, editor and File actions
        self._restore()
        self.steps = StepControls(self)  # Step by step (F9), Step (F10), Run free, Pause (F6), the schedule

    # --- building ----------------------------------------------------------------------
    def _build_views(self) -> None:
        self.activity = ActivityPlot()
        self.values_plot = ValuePlot()
        self.resources = ResourcePlot()
        self.values_plot.setXLink(self.activity)
        self.resources.setXLink(self.activity)
        # One width for every left axis, so the linked time axes line up on screen too.
        share_left_axis((self.activity, self.values_plot, self.resources), LEFT_AXIS_PX)
        self.table = ProcessTable()
        self.console = ConsoleView()
        self.result = ResultView(self.language)
        self.code = CodeView()
        self.lesson_text = LessonText(self.language)
        self.replay = ReplayBar()
        self.views = [self.activity, self.values_plot, self.resources, self.table, self.console, self.result]
        self.schedule = FrameSchedule(self.views[:2], self.views[2:], OTHER_VIEWS_S)

    def _build_left(self) -> None:
        self.lesson_list = QListWidget()
        self.lesson_list.setObjectName("lessonList")
        for lesson in LESSONS.values():
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, lesson.id)
            self.lesson_list.addItem(item)
        self.form = ParamForm()
        self.run_button = QPushButton()
        self.run_button.setObjectName("runButton")
        self.stop_button = QPushButton()
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.stop_button)
        # Long titles wrap: the panel's width is fixed by the font, never by a title or a language.
        self.lesson_list.setWordWrap(True)
        self.lesson_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.addWidget(self.lesson_list)
        layout.addWidget(self.form)
        layout.addStretch(1)
        # On a short screen the lessons and the form scroll rather than push the window past the screen;
        # Run and Stop stay in view under them.
        scroll = QScrollArea()
        scroll.setObjectName("lessonsScroll")
        scroll.setWidget(panel)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.left_panel = QWidget()
        self.left_panel.setObjectName("lessonsPanel")
        outer = QVBoxLayout(self.left_panel)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll, 1)
        outer.addLayout(buttons)
        self.left_dock = QDockWidget()
        self.left_dock.setObjectName("lessonsDock")
        self.left_dock.setWidget(self.left_panel)
        self.left_dock.setFeatures(DOCK_FEATURES)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.left_dock)

    def _build_right(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.setObjectName("sideTabs")
        for widget in (self.lesson_text, self.result, self.table, self.console, self.code):
            self.tabs.addTab(widget, "")
        # Every tab stays reachable in a narrow panel: tabs shrink and elide (full name in the tooltip)
        # instead of hiding behind scroll arrows.
        self.tabs.setUsesScrollButtons(False)
        self.tabs.setElideMode(Qt.TextElideMode.ElideRight)
        self.tabs.tabBar().setExpanding(True)
        self.tabs.tabBar().setStyleSheet("QTabBar::tab { padding: 4px 8px; }")  # the style's padding hid names
        self.right_dock = QDockWidget()
        self.right_dock.setObjectName("detailsDock")
        self.right_dock.setWidget(self.tabs)
        self.right_dock.setFeatures(DOCK_FEATURES)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.right_dock)

    def _build_centre(self) -> None:
        splitter = self.splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setObjectName("plotSplitter")
        for plot, stretch in ((self.activity, 5), (self.values_plot, 3), (self.resources, 2)):
            splitter.addWidget(plot)
            splitter.setStretchFactor(splitter.indexOf(plot), stretch)
        centre = self.centre = QWidget()
        centre.setMinimumWidth(LEFT_AXIS_PX + PLOT_DATA_MIN_PX)
        layout = QVBoxLayout(centre)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.replay)
        self.setCentralWidget(centre)

    def _build_actions(self) -> None:
        def action(shortcuts, slot, name):
            act = QAction(self)
            act.setObjectName(name)
            act.setShortcuts([QKeySequence(s) for s in shortcuts])
            act.triggered.connect(slot)
            self.addAction(act)
            return act

        self.act_open = action(["Ctrl+O"], self.open_trace_dialog, "actionOpen")
        self.act_save = action(["Ctrl+S"], self.save_trace_dialog, "actionSave")
        self.act_export = action(["Ctrl+E"], self.export_dialog, "actionExport")
        self.act_quit = action(["Ctrl+Q"], self.close, "actionQuit")
        self.act_run = action(["F5"], self.start_run, "actionRun")
        self.act_stop = action(["Esc", "Shift+F5"], self.stop_run, "actionStop")
        self.act_live = action([], self.go_live, "actionLive")
        self.file_menu = self.menuBar().addMenu("")
        for act in (self.act_open, self.act_save, self.act_export):
            self.file_menu.addAction(act)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.act_quit)
        self.run_menu = self.menuBar().addMenu("")
        self.run_menu.addAction(self.act_run)
        self.run_menu.addAction(self.act_stop)
        self.act_presentation = action(["F11"], self.set_presentation, "presentationAction")
        self.act_presentation.setCheckable(True)
        self.act_bigger = action(["Ctrl+=", "Ctrl++"], self.fonts.grow, "actionBiggerText")
        self.act_smaller = action(["Ctrl+-"], self.fonts.shrink, "actionSmallerText")
        self.act_normal_size = action(["Ctrl+0"], self.fonts.reset, "actionNormalText")
        # Checkable, and remembered with the window's state (saveState keeps which dock is shown).
        self.act_show_lessons = self.left_dock.toggleViewAction()
        self.act_show_lessons.setObjectName("actionShowLessons")
        self.act_show_details = self.right_dock.toggleViewAction()
        self.act_show_details.setObjectName("actionShowDetails")
        self.view_menu = self.menuBar().addMenu("")
        self.view_menu.addAction(self.act_live)
        self.view_menu.addAction(self.activity.fitAction)
        self.view_menu.addAction(self.activity.wholeRunAction)
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.act_show_lessons)
        self.view_menu.addAction(self.act_show_details)
        self.view_menu.addAction(self.act_presentation)
        self.view_menu.addSeparator()
        for act in (self.act_bigger, self.act_smaller, self.act_normal_size):
            self.view_menu.addAction(act)
        self.language_menu = self.menuBar().addMenu("")
        group = QActionGroup(self)
        self.language_actions = {}
        for code, name in LANGUAGES.items():
            act = QAction(name, self, checkable=True)
            act.setObjectName(f"language_{code}")
            act.setData(code)
            act.triggered.connect(self._on_language_action)
            group.addAction(act)
            self.language_menu.addAction(act)
            self.language_actions[code] = act

    def _build_status(self) -> None:
        self.phase_label = QLabel()
        self.phase_label.setObjectName("phaseLabel")
        self.elapsed_label = QLabel()
        self.count_label = QLabel()
        for label in (self.phase_label, self.elapsed_label, self.count_label):
            self.statusBar().addPermanentWidget(label)
        self.frame_timer = QTimer(self)
        self.frame_timer.setObjectName("frameTimer")
        self.frame_timer.setInterval(FRAME_MS)
        self.frame_timer.timeout.connect(self.refresh_live)
        self.status_timer = QTimer(self)
        self.status_timer.setObjectName("statusTimer")
        self.status_timer.setInterval(STATUS_MS)
        self.status_timer.timeout.connect(self._update_status)
        self.countdown = DeadlockCountdown(self.activity, self.statusBar(), self)  # a found deadlock lingers

    def _wire(self) -> None:
        for plot in (self.activity, self.values_plot, self.resources):
            plot.exportRequested.connect(lambda *_args, plot=plot: self.export_dialog(plot))
        self.lesson_list.currentItemChanged.connect(self._on_lesson_changed)
        self.form.changed.connect(self._on_form_changed)
        self.form.validityChanged.connect(self._update_buttons)
        self.run_button.clicked.connect(self.start_run)
        self.stop_button.clicked.connect(self.stop_run)
        self.controller.finished.connect(self._on_finished)
        self.controller.phaseChanged.connect(self._update_status)
        self.replay.cursorChanged.connect(self._on_cursor)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.replay.liveRequested.connect(self.go_live)
        self.activity.followChanged.connect(self.replay.set_following)
        self.language.changed.connect(self.retranslate)
        self.fonts.changed.connect(self._on_font_scale)

    def _restore(self) -> None:
        geometry, state = self.settings.layout()
        available = self.screen().availableGeometry()
        restored = geometry is not None and self.restoreGeometry(geometry)
        if geometry is not None and not restored:
            self.settings.discard_layout("geometry", geometry)
        elif restored and not fits(self.normalGeometry(), available):
            restored = False  # saved on a bigger screen: this one gets a window that fits it
            self.setWindowState(Qt.WindowState.WindowNoState)
        if not restored:
            self.place_on_screen(available)
        if state is not None and not self.restoreState(state):
            self.settings.discard_layout("window_state", state)
            state = None
        self._details_pending = state is None  # sized at the first show: docks are not sized before it
        self.fonts.apply()
        method = self.settings.start_method()
        if method is not None and self.form.start_method.findData(method) >= 0:
            self.form.start_method.setCurrentIndex(self.form.start_method.findData(method))
        self.language.set(self.settings.language() or system_language())
        ids = list(LESSONS)
        last = self.settings.last_lesson()
        self.lesson_list.setCurrentRow(ids.index(last) if last in ids else 0)

    def place_on_screen(self, available) -> None:
        """The first window: the screen's available area, up to a comfortable size."""
        rect, fills = first_geometry(available)
        self.setGeometry(rect)
        if fills:
            self.setWindowState(Qt.WindowState.WindowMaximized)

    def fit_details(self) -> None:
        """The Details panel as wide as its tabs' names, within a third of the window."""
        wanted = self.tabs.tabBar().sizeHint().width() + 12
        self.resizeDocks([self.right_dock], [details_width(self.width(), wanted)], Qt.Orientation.Horizontal)

    def _on_font_scale(self, factor: float) -> None:
        metrics = QFontMetrics(QApplication.font())
        self.left_panel.setFixedWidth(left_panel_width(metrics))
        # One width for every left axis, so the linked time axes line up; it grows with the text size.
        axis = share_left_axis((self.activity, self.values_plot, self.resources),
                               max(LEFT_AXIS_PX, metrics.horizontalAdvance(LONGEST_LANE_LABEL) + 8))
        self.centre.setMinimumWidth(axis + PLOT_DATA_MIN_PX)
        self._fit_lesson_list()
        mono = scaled(monospace_font(), factor)
        for editor in (self.console.text, self.code.editor):
            editor.setFont(mono)

    def _fit_lesson_list(self) -> None:
        """The list as tall as its (wrapped) titles: every lesson in view; the panel scrolls if need be."""
        lessons = self.lesson_list
        lessons.doItemsLayout()
        rows = sum(max(lessons.sizeHintForRow(r), lessons.visualItemRect(lessons.item(r)).height())
                   for r in range(lessons.count()))
        lessons.setFixedHeight(rows + 2 * lessons.frameWidth() + 4)

    def set_presentation(self, on: bool) -> None:
        """Full screen for a classroom: the lessons panel hidden, the lesson text beside the plots,
        larger text and lanes. Off: the window as it was."""
        on = bool(on)
        self.act_presentation.setChecked(on)
        if on == self._presenting:
            return
        self._presenting = on
        if on:
            self._before_presentation = (self.saveState(), self.isMaximized(), self.splitter.saveState())
            self.fonts.set_boost(PRESENTATION_BOOST)
            self.showFullScreen()
            self.left_dock.hide()
            self.right_dock.show()
            self.tabs.setCurrentWidget(self.lesson_text)
            self.fit_details()  # the lesson text beside the plots, its tabs named in the larger font
            total = sum(self.splitter.sizes())
            self.splitter.setSizes([total * 6 // 10, total * 25 // 100, total * 15 // 100])  # taller lanes
        else:
            state, maximized, splitter = self._before_presentation
            self.fonts.set_boost(1.0)
            if maximized:
                self.showMaximized()
            else:
                self.showNormal()
            self.restoreState(state)
            self.splitter.restoreState(splitter)

    @property
    def presenting(self) -> bool:
        return self._presenting

    # --- lessons and the form -------------------------------------------------------------
    def lesson_id(self) -> str:
        item = self.lesson_list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else next(iter(LESSONS))

    def _on_lesson_changed(self, current, _previous) -> None:
        if current is None:
            return
        if self.lesson_id() == SCRIPT_LESSON:
            self.script_mode.enter()
            return
        self.script_mode.leave()
        lesson = LESSONS[self.lesson_id()]
        self.form.set_lesson(lesson, self.settings.params(lesson.id), self.language.lesson_key)
        self.lesson_text.show_lesson(lesson.id, self.language.lesson_key)
        self.values_plot.set_lesson(lesson.id, self.form.raw_values())  # its empty chart until a run is shown
        self.settings.set_last_lesson(lesson.id)
        self._on_form_changed()

    def _on_form_changed(self) -> None:
        self._update_buttons()
        if not self.form.valid:
            return
        lesson_id = self.lesson_id()
        self.settings.set_start_method(self.form.method())
        if lesson_id == SCRIPT_LESSON:
            return
        self.settings.set_params(lesson_id, self.form.raw_values())
        try:
            self.code.set_code(generate(lesson_id, self.form.values(), self.form.method()))
        except ParamError as exc:
            self.code.set_code(f"# {exc}\n")

    def _update_buttons(self, *_args) -> None:
        running = self.controller.running
        self.run_button.setEnabled(self.form.valid and not running)
        self.act_run.setEnabled(self.form.valid and not running)
        self.stop_button.setEnabled(running)
        self.lesson_list.setEnabled(not running)
        self.form.setEnabled(not running)
        self.act_open.setEnabled(not running)

    # --- running ------------------------------------------------------------------------
    def start_run(self) -> None:
        if self.controller.running or not self.form.valid:
            return
        params = self.form.raw_values()
        if self.lesson_id() == SCRIPT_LESSON:
            params = self.script_mode.run_params()  # the editor's text, saved first
            if params is None:
                return
        try:
            trace = self.controller.start(self.lesson_id(), params, self.form.method(),
                                          deadlock_linger_s=self.settings.deadlock_linger_s())
        except ParamError as exc:  # the form validated, but the core has the last word
            QMessageBox.warning(self, self.tr("Cannot run"), error_text(str(exc)))
            return
        self.statusBar().clearMessage()  # the previous run's "Run ended" no longer applies
        self._show_trace(trace, None, live=True)
        self.frame_timer.start()
        self.status_timer.start()
        self.countdown.set_trace(trace)
        self._update_buttons()

    def stop_run(self) -> None:
        self.controller.stop()

    def _on_finished(self, status: str, summary) -> None:
        self.frame_timer.stop()
        self.status_timer.stop()
        self.countdown.set_trace(None)
        self.summary = summary
        self.result.set_summary(summary)
        self.replay.set_trace(self.trace, live=False)
        self.refresh_views()
        self._update_buttons()
        self._update_status()
        if status == "stopped":
            self.statusBar().showMessage(self.tr("Run stopped by the user"))
        else:
            self.statusBar().showMessage(self.tr("Run ended: {0}").format(outcome_text(status, summary)))

    def refresh_views(self) -> None:
        """Every view (a run ended, a trace opened, the cursor moved)."""
        refresh_views(self.views)

    def refresh_live(self) -> None:
        """A display tick of a live run: the live views, and whichever other view's turn it is."""
        refresh_views(self.schedule.due(monotonic()))

    def _on_tab_changed(self, _index: int) -> None:
        shown = self.tabs.currentWidget()
        if shown in self.views:
            shown.refresh()  # hidden during a run it was not refreshed: bring it up to date now

    def go_live(self) -> None:
        self.activity.follow_live(True)

    def _show_trace(self, trace: Trace | None, summary: dict | None, live: bool) -> None:
        self.trace = trace
        self.summary = summary
        for view in self.views:
            if view is self.result:
                view.set_trace(trace, summary)
            elif view is self.console:
                view.set_trace(trace, defer=not live)  # an opened run's lines: when its tab is shown
            else:
                view.set_trace(trace)
        self.replay.set_trace(trace, live=live)
        self.activity.follow_live(True)

    def _on_cursor(self, cursor) -> None:
        for view in self.views:
            view.set_cursor(cursor)

    # --- files --------------------------------------------------------------------------
    def open_trace_dialog(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, self.tr("Open a recorded run"), "",
                                                    self.tr("ProcScope traces (*.pstrace);;All files (*)"))
        if path:
            self.open_trace_in_background(path)

    def open_trace_in_background(self, path: str) -> bool:
        """Replay a saved run, read off the GUI thread with progress and Cancel (a big file takes seconds)."""
        if self.controller.running:
            return False
        if getattr(self, "opener", None) is None:
            self.opener = TraceOpener(self)
            self.opener.opened.connect(self._show_opened)
            self.opener.failed.connect(self._refuse_open)
        return self.opener.start(path, self.settings.trace_max_records())

    def open_trace(self, path: str) -> bool:
        """Replay a saved run; a corrupt or foreign file is reported and changes nothing."""
        if self.controller.running:
            return False
        try:
            trace = Trace.load(path, self.settings.trace_max_records())
            summary = build_summary(trace)
        except Exception as exc:  # noqa: BLE001 - an untrusted file: whatever it trips is reported, the run kept
            self._refuse_open(path, exc)
            return False
        self._show_opened(path, trace, summary)
        return True

    def _refuse_open(self, path: str, exc: Exception) -> None:
        if isinstance(exc, TraceFormatError):  # one sentence naming the file and the field, in this language
            text = exc.message(self.language.lesson_key)
        else:  # a checked file a lesson still cannot summarise
            logging.getLogger("procscope").warning("cannot summarise %s", path, exc_info=exc)
            text = self.tr("{0}: the lesson cannot summarise this run ({1}).").format(path, exc)
        QMessageBox.warning(self, self.tr("Cannot open"), text)

    def _show_opened(self, path: str, trace: Trace, summary: dict) -> None:
        if self.controller.running:  # a run started while the file was read: the run's views stay
            return
        self._follow_trace_form(trace)
        self._show_trace(trace, summary, live=False)
        self.statusBar().showMessage(self.tr("Replaying {0}").format(path), 8000)

    def _follow_trace_form(self, trace: Trace) -> None:
        """The form shows the opened run's lesson, parameters and start method: Run reruns that run."""
        if trace.meta.get("lesson") == SCRIPT_LESSON:
            self.script_mode.show_trace_script(trace)  # its text in the editor; nothing runs
            return
        lesson = LESSONS.get(trace.meta.get("lesson"))
        if lesson is None:
            return
        params = trace.meta.get("params")
        names = {spec.name for spec in lesson.params}
        values = {k: v for k, v in params.items() if k in names} if isinstance(params, dict) else {}
        method = trace.meta.get("start_method")
        if isinstance(method, str) and self.form.start_method.findData(method) >= 0:
            self.form.start_method.blockSignals(True)
            self.form.start_method.setCurrentIndex(self.form.start_method.findData(method))
            self.form.start_method.blockSignals(False)
        self.lesson_list.blockSignals(True)
        self.lesson_list.setCurrentRow(list(LESSONS).index(lesson.id))
        self.lesson_list.blockSignals(False)
        self.settings.set_last_lesson(lesson.id)
        self.lesson_text.show_lesson(lesson.id, self.language.lesson_key)
        self.form.set_lesson(lesson, values, self.language.lesson_key)  # emits changed: settings and code follow

    def save_trace_dialog(self) -> None:
        if self.trace is None or self.controller.running:
            return
        path, _filter = QFileDialog.getSaveFileName(self, self.tr("Save the run"), f"{self.lesson_id()}.pstrace",
                                                    self.tr("ProcScope traces (*.pstrace)"))
        if path:
            self.save_trace(path)

    def save_trace(self, path: str) -> bool:
        from app.gui.export import ExportError, export_trace

        try:
            export_trace(self.trace, path)
        except ExportError as exc:
            QMessageBox.warning(self, self.tr("Cannot save"), str(exc))
            return False
        return True

    def export_dialog(self, plot=None) -> None:
        """Ctrl+E, or a plot's own menu (Export…): then that plot is the dialog's target."""
        dialog = ExportDialog(self.plots(), self, self.trace, parent=self, settings=self.settings.store)
        if plot is not None:
            dialog.set_target("plot", next(name for name, view in self.plots().items() if view is plot))
        dialog.exec()

    def plots(self) -> dict:
        return {self.tr("Activity lanes"): self.activity, self.tr("Shared values"): self.values_plot,
                self.tr("CPU and memory"): self.resources}

    # --- language and status -------------------------------------------------------------
    def _on_language_action(self) -> None:
        self.set_language(self.sender().data())

    def set_language(self, language: str) -> None:
        self.language.set(language)
        self.settings.set_language(self.language.current)

    def retranslate(self, *_args) -> None:
        key = self.language.lesson_key
        self.setWindowTitle(self.tr("ProcScope — see multiprocessing happen"))
        self.file_menu.setTitle(self.tr("&File"))
        self.run_menu.setTitle(self.tr("&Run"))
        self.view_menu.setTitle(self.tr("&View"))
        self.language_menu.setTitle(self.tr("&Language"))
        self.act_open.setText(self.tr("&Open trace…"))
        self.act_save.setText(self.tr("&Save trace…"))
        self.act_export.setText(self.tr("&Export…"))
        self.act_quit.setText(self.tr("&Quit"))
        self.act_run.setText(self.tr("Run"))
        self.act_stop.setText(self.tr("Stop"))
        self.act_live.setText(self.tr("Back to live"))
        self.act_show_lessons.setText(self.tr("Show the lessons panel"))
        self.act_show_details.setText(self.tr("Show the details panel"))
        self.act_presentation.setText(self.tr("Presentation mode"))
        self.act_bigger.setText(self.tr("Larger text"))
        self.act_smaller.setText(self.tr("Smaller text"))
        self.act_normal_size.setText(self.tr("Normal text size"))
        self.run_button.setText(self.tr("Run (F5)"))
        self.stop_button.setText(self.tr("Stop (Esc)"))
        self.left_dock.setWindowTitle(self.tr("Lessons"))
        self.right_dock.setWindowTitle(self.tr("Details"))
        for index, title in enumerate((self.tr("Lesson"), self.tr("Result"), self.tr("Processes"),
                                       self.tr("Console"), self.tr("Code"))):
            self.tabs.setTabText(index, title)
            self.tabs.setTabToolTip(index, title)  # the full name when the tab is elided
        for row in range(self.lesson_list.count()):
            item = self.lesson_list.item(row)
            lesson = LESSONS.get(item.data(Qt.ItemDataRole.UserRole))
            if lesson is None:  # "Your script": named by the script mode
                continue
            item.setText(lesson.title_zh if key == "zh" else lesson.title_en)
            item.setToolTip(lesson.summary_zh if key == "zh" else lesson.summary_en)
        self.language_actions[self.language.current].setChecked(True)
        self._fit_lesson_list()
        self.form.retranslate(key)
        self.replay.retranslate()
        for view in (*self.views, self.code, self.lesson_text):
            view.retranslate()
        self.lesson_text.show_lesson(self.lesson_id(), key)
        self.result.set_summary(self.summary)
        self._update_status()

    def _update_status(self, *_args) -> None:
        phase = self.controller.phase
        final = not self.controller.running and self.summary is not None and phase == self.summary.get("status")
        if final:  # a finished run: what happened, in its colour (a found deadlock is not a green "done")
            self.phase_label.setText(outcome_text(phase, self.summary))
            self.phase_label.setProperty("outcome", outcome(phase, self.summary))
            self.phase_label.setStyleSheet(f"color: {outcome_color(phase, self.summary)}; font-weight: bold;")
        else:
            self.phase_label.setText(run_status_text(phase))
            self.phase_label.setProperty("outcome", str(phase))
            self.phase_label.setStyleSheet("")
        if self.controller.running and self.controller.started_ns is not None:
            elapsed = self.controller.elapsed_s()
            self.replay.show_elapsed(elapsed)  # live figures while running, not the first frame's 0.000 s
        elif self.trace is not None:
            elapsed = (self.trace.end_ns() - self.trace.t0_ns) / 1e9
        else:
            elapsed = 0.0
        self.elapsed_label.setText(self.tr("{0:.1f} s").format(elapsed))
        count = self.controller.process_count() if self.controller.running else (
            len(self.trace.processes()) if self.trace is not None else 0)
        self.count_label.setText(self.tr("{0} processes").format(count))

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._fit_lesson_list()  # the titles wrap at the list's shown width
        if self._details_pending:
            self._details_pending = False
            self.fit_details()

    # --- closing ------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        """Closing during a run stops it and waits until no process of it is left."""
        self.frame_timer.stop()
        self.status_timer.stop()
        self.controller.shutdown()
        if getattr(self, "opener", None) is not None:
            self.opener.wait()  # a file being opened: cancel it, no thread outlives the window
        if self._presenting:  # remember the window as it is outside presentation mode
            self.set_presentation(False)
        self.settings.set_layout(self.saveGeometry(), self.saveState())
        self.settings.sync()
        self.fonts.restore_base()
        event.accept()


