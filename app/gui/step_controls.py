"""Step by step in the window: hold the workers at their step points, let one through at a time, pause.

Run menu → Step by step (F9) makes the next run start held: each worker of a
lesson with step points waits at its first one, and its lane says what it is
about to do. Step (F10) lets the selected process (a click on its lane or on
its row of the process table, or the keys 1–9) through one step point; Run free
(F5 while held) opens every gate. Pause (F6) during a free run closes the gates
again (each worker stops at its next step point) or, for a lesson without step
points, suspends the run's processes; Pause again resumes.

The stepper answers from its own thread: the answer crosses to the GUI thread
as a queued signal, and the window never waits for it. The steps taken are
shown as the schedule text that ``run --schedule`` replays.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from app.core import suspend
from app.core.lessons import LESSONS
from app.core.summary import build_summary
from app.gui.panels.process_table import COL_NAME, INDEX_ROLE
from app.gui.state_names import STOPPING

NOTES_MS = 100  # how often held lanes' notes follow the stepper while a stepped run is going
DIGITS = 9


def _t(text: str) -> str:
    return QCoreApplication.translate("Steps", text)


def point_text(kind: str, obj: str) -> str:
    """What a worker held at a step point is about to do, in the current language: "read counter"."""
    verbs = {
        "read": _t("read {0}"), "write": _t("write {0}"), "acquire": _t("acquire {0}"),
        "release": _t("release {0}"), "get": _t("get from {0}"), "put": _t("put into {0}"),
        "wait": _t("wait on {0}"), "set": _t("set {0}"), "notify": _t("notify {0}"),
    }
    return verbs.get(kind, "{0} " + str(kind)).format(_object_text(str(obj)))


def _object_text(obj: str) -> str:
    named = {"queue": _t("the queue"), "event": _t("the event"), "condition": _t("the condition"),
             "barrier": _t("the barrier")}
    if obj in named:
        return named[obj]
    if obj.startswith("lock ") and obj[5:].isdigit():
        return _t("lock {0}").format(obj[5:])
    if obj.endswith(" proxy"):
        return _t("the {0} proxy").format(obj[:-6])
    return obj  # a variable of the lesson's code: counter, temp[0]


def refusal_text(answer: dict) -> str:
    """Why a step was refused, in the current language (the parts of ``Stepper._why_parts``)."""
    parts = answer.get("reason") or {}
    why = parts.get("why")
    number = answer.get("process")
    if why == "absent":
        return _t("Step refused: this run has no process {0}").format(number)
    if why == "free":
        return _t("Step refused: the run goes on freely; Pause holds the workers again")
    if why == "ending":
        return _t("Step refused: the run is ending")
    name = parts.get("name", f"Process-{number}")
    if why == "ended":
        return _t("Step refused: {0} has ended").format(name)
    if "lock" in parts:
        holders = ", ".join(parts.get("holders") or []) or "?"
        return _t("Step refused: {0} is waiting for lock {1}, held by {2}").format(name, parts["lock"], holders)
    if parts.get("queue"):
        return _t("Step refused: {0} is blocked: it waits on a queue").format(name)
    return _t("Step refused: {0} is blocked").format(name)


class StepControls(QObject):
    """The step and pause controls of the window (made and placed by ``MainWindow``)."""

    answered = Signal(object)  # noqa: N815 - Qt naming: the stepper's answer, from its thread

    def __init__(self, win):
        super().__init__(win)
        self.win = win
        self.controller = win.controller
        self._stepper = None  # the running run's stepper, or None
        self._held = False  # its gates are closed
        self._paused = False  # Pause is on (the clock stands still)
        self._suspended: list = []  # processes Pause suspended (a lesson without step points)
        self._selected = 1
        self._steps: list[int] = []  # process numbers of the steps taken, in order
        self._asking = False  # a step asked and not yet answered
        self._last_held: dict = {}  # the held workers as last shown
        self._build_actions()
        self._build_panel()
        self.timer = QTimer(self)
        self.timer.setObjectName("stepNotesTimer")
        self.timer.setInterval(NOTES_MS)
        self.timer.timeout.connect(self._show_held)
        self.answered.connect(self._on_answer)
        self.controller.started.connect(self._on_started)
        self.controller.finished.connect(self._on_finished)
        self.controller.phaseChanged.connect(self._on_phase)
        win.lesson_list.currentItemChanged.connect(lambda *_a: self._update())
        win.language.changed.connect(self.retranslate)
        win.activity.scene().sigMouseClicked.connect(self._on_lane_click)
        win.table.itemSelectionChanged.connect(self._on_table_select)
        self.retranslate()

    def _build_actions(self) -> None:
        win = self.win

        def action(name, shortcut, slot, checkable=False):
            act = QAction(win)
            act.setObjectName(name)
            if shortcut:
                act.setShortcut(QKeySequence(shortcut))
            act.setCheckable(checkable)
            (act.toggled if checkable else act.triggered).connect(slot)
            win.addAction(act)
            return act

        self.act_mode = action("stepModeAction", "F9", self._on_mode, checkable=True)
        self.act_step = action("actionStep", "F10", self.step)
        self.act_free = action("actionRunFree", None, self.run_free)  # F5 while held (Run has it otherwise)
        self.act_pause = action("actionPause", "F6", self.toggle_pause)
        self.act_select = [action(f"actionSelectProcess{k}", str(k), lambda _c=False, k=k: self.select(k))
                           for k in range(1, DIGITS + 1)]
        win.run_menu.addSeparator()
        for act in (self.act_mode, self.act_step, self.act_free, self.act_pause):
            win.run_menu.addAction(act)
        win.run_menu.setToolTipsVisible(True)  # the disabled Step by step says why

    def _build_panel(self) -> None:
        self.panel = QWidget()
        self.panel.setObjectName("stepPanel")
        grid = QGridLayout(self.panel)
        grid.setContentsMargins(0, 0, 0, 0)
        self.step_button = QPushButton()
        self.step_button.setObjectName("stepButton")
        self.step_button.clicked.connect(self.step)
        self.free_button = QPushButton()
        self.free_button.setObjectName("runFreeButton")
        self.free_button.clicked.connect(self.run_free)
        self.pause_button = QPushButton()
        self.pause_button.setObjectName("pauseButton")
        self.pause_button.setCheckable(True)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.selected_label = QLabel()
        self.selected_label.setObjectName("stepSelectedLabel")
        self.selected_label.setWordWrap(True)
        self.schedule_label = QLabel()
        self.schedule_view = QLineEdit()
        self.schedule_view.setObjectName("scheduleView")
        self.schedule_view.setReadOnly(True)
        self.copy_button = QPushButton()
        self.copy_button.setObjectName("copyScheduleButton")
        self.copy_button.clicked.connect(self.copy_schedule)
        # two buttons a row: the lessons panel is narrow, and a third would cut its text ("un free (F5")
        grid.addWidget(self.step_button, 0, 0)
        grid.addWidget(self.free_button, 0, 1)
        grid.addWidget(self.pause_button, 1, 0, 1, 2)
        grid.addWidget(self.selected_label, 2, 0, 1, 2)
        self.schedule_row = QWidget()
        row = QHBoxLayout(self.schedule_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.schedule_label)
        row.addWidget(self.schedule_view, 1)
        row.addWidget(self.copy_button)
        grid.addWidget(self.schedule_row, 3, 0, 1, 2)
        self.win.left_panel.layout().addWidget(self.panel)

    # --- what the user does ----------------------------------------------------------------
    def select(self, number: int) -> None:
        """The process the next Step lets through (Process-``number`` on its lane)."""
        self._selected = number
        self._show_selected()

    def step(self) -> None:
        if self._stepper is None or not self._held or self._asking:
            return
        self._asking = True
        self._update()
        self._stepper.request(self._selected, self.answered.emit)

    def run_free(self) -> None:
        if self._stepper is not None and self._held:
            self._set_paused(False)

    def toggle_pause(self) -> None:
        if self.controller.running and self.controller.phase != STOPPING:
            self._set_paused(not (self._held or self._suspended))
        else:
            self._update()

    def copy_schedule(self) -> None:
        QApplication.clipboard().setText(self.schedule_view.text())
        self.win.statusBar().showMessage(_t("Schedule copied: give it to run --schedule to replay this run"), 8000)

    @property
    def schedule(self) -> str:
        return ",".join(map(str, self._steps))

    @property
    def held(self) -> bool:
        return self._held

    @property
    def paused(self) -> bool:
        return bool(self._held or self._suspended)

    # --- the run's life ----------------------------------------------------------------------
    def _on_mode(self, on: bool) -> None:
        self.controller.step_mode = bool(on)
        self._update()

    def _lesson_steps(self) -> bool:
        lesson = LESSONS.get(self.win.lesson_id())
        return bool(lesson is not None and lesson.step_points)

    def _on_started(self, _trace) -> None:
        runner = self.controller.runner
        self._stepper = runner.stepper if runner is not None else None
        self._held = self._stepper is not None and not self._stepper.gates_open
        self._paused = False
        self._suspended = []
        self._steps = []
        self._asking = False
        self._last_held = {}
        self.schedule_view.clear()
        self.select(1)
        if self._stepper is not None:
            self.timer.start()
        self._update()

    def _on_phase(self, phase) -> None:
        if phase == STOPPING:  # Stop while paused: the processes must be able to hear it
            self._resume_processes()
            self.win.activity.set_lane_notes({})
        self._update()

    def _on_finished(self, *_args) -> None:
        self.timer.stop()
        self._resume_processes()
        if self._paused:
            self.controller.pause_clock(False)
        self._stepper = None
        self._held = self._paused = self._asking = False
        self.win.activity.set_lane_notes({})
        self._update()

    def _set_paused(self, paused: bool) -> None:
        runner = self.controller.runner
        if runner is None:
            return
        if self._stepper is not None:
            if paused:
                self._stepper.hold_all()
                self.win.result.set_summary(None)
            else:
                self._stepper.release_all()
                self.win.result.set_summary(None)  # "Running…" again: figures of a free run come at its end
                self.win.activity.set_lane_notes({})
            self._held = paused
        elif paused:
            self._suspended = suspend.suspend(runner.live_pids().values())
        else:
            self._resume_processes()
        self._paused = paused
        self.controller.pause_clock(paused)
        self._update()

    def _resume_processes(self) -> None:
        suspended, self._suspended = self._suspended, []
        suspend.resume(suspended)

    def _on_answer(self, answer: dict) -> None:
        self._asking = False
        if self._stepper is None:
            return
        if answer.get("taken"):
            self._steps.append(answer["process"])
            self.schedule_view.setText(self.schedule)
            self.win.statusBar().showMessage(_t("Step {0}: Process-{1} passed \u201c{2}\u201d").format(
                answer.get("step"), answer["process"], point_text(answer.get("point"), answer.get("object"))), 8000)
        else:
            self.win.statusBar().showMessage(refusal_text(answer), 15000)
        self._update()

    def _show_result(self) -> None:
        """The lesson's figures as they stand now: the result tab follows each step."""
        trace = self.controller.trace
        if trace is None:
            return
        try:
            summary = build_summary(trace)
        except Exception:  # noqa: BLE001 - a run mid-way may not be summarisable yet: the tab keeps "Running…"
            return
        self.win.result.set_summary(summary)

    # --- selection ---------------------------------------------------------------------------
    def _on_lane_click(self, event) -> None:
        if self._stepper is None:
            return
        view = self.win.activity.getPlotItem().getViewBox()
        if not view.sceneBoundingRect().contains(event.scenePos()):
            return
        row = int(round(view.mapSceneToView(event.scenePos()).y()))
        order = self.win.activity.lane_order()
        if 0 <= row < len(order):
            self._select_index(order[row])

    def _on_table_select(self) -> None:
        if self._stepper is None:
            return
        items = self.win.table.selectedItems()
        if items:
            name = self.win.table.item(items[0].row(), COL_NAME)
            if name is not None and name.data(INDEX_ROLE) is not None:
                self._select_index(int(name.data(INDEX_ROLE)))

    def _select_index(self, index: int) -> None:
        number = self._stepper.numbers().get(index) if self._stepper is not None else None
        if number is None:
            self.win.statusBar().showMessage(_t("This process has no step points: choose a worker"), 8000)
        else:
            self.select(number)

    # --- showing -----------------------------------------------------------------------------
    def _show_held(self) -> None:
        stepper = self._stepper
        if stepper is None or self.controller.phase == STOPPING:
            return
        held = stepper.held() if self._held else {}
        if held != self._last_held:  # a step's effect is complete (its worker is at its next point, or ended)
            self._last_held = held
            if self._steps:
                self._show_result()
        notes = {index: _t("[{0}] next: {1}").format(number, point_text(kind, obj))
                 for index, (number, kind, obj) in held.items()}
        self.win.activity.set_lane_notes(notes)

    def _show_selected(self) -> None:
        self.selected_label.setText(_t("Next step: Process-{0} (choose with keys 1–9 or a click on its lane)").format(
            self._selected))

    def _update(self) -> None:
        running = self.controller.running and self.controller.phase != STOPPING
        has_steps = self._lesson_steps()
        self.act_mode.setEnabled(has_steps and not self.controller.running)
        self.act_mode.setToolTip(_t("Hold every worker at its step points and let them through one at a time")
                                 if has_steps else
                                 _t("This lesson has no step points: no shared state to race on"))
        if not has_steps and self.act_mode.isChecked() and not self.controller.running:
            self.act_mode.setChecked(False)
        can_step = running and self._stepper is not None and self._held
        for widget in (self.act_step, self.step_button):
            widget.setEnabled(can_step and not self._asking)
        for widget in (self.act_free, self.free_button):
            widget.setEnabled(can_step)
        # F5 runs a lesson; while a stepped run is held it lets every worker go instead
        self.act_free.setShortcut(QKeySequence("F5") if can_step else QKeySequence())
        for act in self.act_select:
            act.setEnabled(running and self._stepper is not None)
        self.act_pause.setEnabled(running)
        self.pause_button.setEnabled(running)
        self.pause_button.setChecked(running and self.paused)
        self.act_pause.setText(_t("Resume (F6)") if running and self.paused else _t("Pause (F6)"))
        self.pause_button.setText(self.act_pause.text())
        self.panel.setVisible(self.act_mode.isChecked() or running)
        # a free run shows only Pause; stepping's own controls appear in step mode or once workers are held
        stepping = self.act_mode.isChecked() or (running and self._held)
        for widget in (self.step_button, self.free_button, self.schedule_row):
            widget.setVisible(stepping)
        self.selected_label.setVisible(stepping and self._stepper is not None and running)

    def retranslate(self, *_args) -> None:
        self.act_mode.setText(_t("Step by step"))
        self.act_step.setText(_t("Step (F10)"))
        self.act_free.setText(_t("Run free (F5)"))
        self.step_button.setText(_t("Step (F10)"))
        self.step_button.setToolTip(_t("Let the selected process through one step point"))
        self.free_button.setText(_t("Run free (F5)"))
        self.free_button.setToolTip(_t("Let every worker go on freely"))
        self.pause_button.setToolTip(_t("Hold every worker at its next step point, or suspend the processes"))
        self.schedule_label.setText(_t("Schedule:"))
        self.schedule_view.setToolTip(_t("The steps taken: give them to run --schedule to replay this run"))
        self.copy_button.setText(_t("Copy"))
        self._show_selected()
        self._update()
        if self._stepper is not None:
            self._show_held()
