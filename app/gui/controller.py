"""Runs a lesson off the GUI thread and reports its life as signals.

The ``Runner`` blocks while the lesson runs, so it lives in a ``QThread``; the
GUI thread never waits on a process, a queue or a lock. The live ``Trace`` is
shared: the runner's threads append to it (under its lock) and the window's
display timer reads it — no per-event signal crosses threads.

Phases: idle → running → stopping → one of ``FINAL_STATUSES`` (``RunStatus``), kept until the next run.
"""

from __future__ import annotations

from time import perf_counter_ns

from PySide6.QtCore import QObject, QThread, Signal

from app.core.events import RunStatus
from app.core.lessons import get_lesson
from app.core.runner import Runner
from app.core.script import SCRIPT_LESSON
from app.core.summary import summarize
from app.core.trace import Trace
from app.gui.state_names import IDLE, STOPPING


class _RunThread(QThread):
    done = Signal(str, object)  # status, summary (None if the summary itself failed)

    def __init__(self, runner: Runner, parent: QObject | None = None):
        super().__init__(parent)
        self.runner = runner

    def run(self) -> None:
        # Whatever happens, the window hears that the run ended: it must never stay "running".
        try:
            trace = self.runner.run()
        except Exception as exc:  # noqa: BLE001 - reported to the window, not lost in a thread
            summary = summarize(None, RunStatus.FAILED, exc)
        else:
            summary = summarize(trace, RunStatus.FAILED)  # "failed" if the summary itself fails
        self.done.emit(summary["status"], summary)


def WindowScriptRun(script: str, args=(), start_method: str | None = None):  # noqa: N802 - a class to callers
    """A ``ScriptRun`` as the window drives a lesson's ``Runner``: ``run()``, ``stop()``, ``trace``,
    ``live_pids()``, no stepper (Pause suspends its processes); no terminal in or out (the console tab
    shows what it prints); its working folder is the script's own, wherever the window was started from; its
    processes run at a lower priority than the window, as a lesson's do."""
    import os

    from app.core.script.session import ScriptRun

    run = ScriptRun(script, args, start_method, quiet=True, cwd=os.path.dirname(os.path.abspath(script)),
                    lower_priority=True)
    run.stepper = None
    return run


class RunController(QObject):
    started = Signal(object)  # the live Trace
    phaseChanged = Signal(str)  # noqa: N815 - Qt signal naming
    finished = Signal(str, object)  # final status, --json summary dict

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._thread: _RunThread | None = None
        self.runner: Runner | None = None
        self.phase: str = IDLE  # IDLE, STOPPING or a RunStatus
        self.started_ns: int | None = None
        self.step_mode = False  # the next run holds its workers at their step points (the step controls set it)
        self._paused_ns: int | None = None  # the run's clock stands still from then (Pause)
        self._paused_total_ns = 0

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def trace(self) -> Trace | None:
        return self.runner.trace if self.runner is not None else None

    def start(self, lesson_id: str, params: dict, start_method: str, deadlock_linger_s: float = 0.0) -> Trace:
        """Start a run; raises ``ParamError`` for bad input before anything starts. ``deadlock_linger_s``:
        how long a found deadlock stays visibly stuck before the run is stopped."""
        if self.running:
            raise RuntimeError("a run is already going")
        if lesson_id == SCRIPT_LESSON:  # the user's own script: params are {"script": path, "args": [...]}
            runner = WindowScriptRun(params["script"], params.get("args", ()), start_method or None)
        else:
            # A lesson with step points always runs with its gates (open unless in step mode): Pause can then
            # hold every worker at its next step point
            stepping = self.step_mode or bool(get_lesson(lesson_id).step_points)
            runner = Runner(lesson_id, params, start_method, stepping=stepping, gates_open=not self.step_mode,
                            deadlock_linger_s=deadlock_linger_s, lower_priority=True)
        self.runner = runner
        self._paused_ns, self._paused_total_ns = None, 0
        self._thread = _RunThread(runner, self)
        self._thread.done.connect(self._on_done)
        self.started_ns = perf_counter_ns()
        self._set_phase(RunStatus.RUNNING)
        self._thread.start()
        self.started.emit(runner.trace)
        return runner.trace

    def stop(self) -> None:
        if self.runner is not None and self.running:
            self._set_phase(STOPPING)
            self.runner.stop()

    def shutdown(self, timeout_s: float = 15.0) -> bool:
        """Stop and wait for the run to end (closing the window): True if it ended."""
        if not self.running:
            return True
        self.stop()
        thread = self._thread
        ended = thread.wait(int(timeout_s * 1000))
        if ended:
            self._finish(thread)
        return ended

    def pause_clock(self, paused: bool) -> None:
        """Pause stops the run's clock; resuming starts it again where it stood."""
        now = perf_counter_ns()
        if paused and self._paused_ns is None:
            self._paused_ns = now
        elif not paused and self._paused_ns is not None:
            self._paused_total_ns += now - self._paused_ns
            self._paused_ns = None

    def elapsed_s(self) -> float:
        """Seconds the run has been going, its paused time left out."""
        if self.started_ns is None:
            return 0.0
        now = self._paused_ns if self._paused_ns is not None else perf_counter_ns()
        return (now - self.started_ns - self._paused_total_ns) / 1e9

    def process_count(self) -> int:
        """The processes of the run still alive (as far as the run knows)."""
        return len(self.runner.live_pids()) if self.runner is not None else 0

    def _on_done(self, status: str, summary) -> None:
        thread = self._thread
        if thread is None:
            return
        thread.wait()
        self._finish(thread)
        self._set_phase(status)
        self.finished.emit(status, summary)

    def _finish(self, thread: _RunThread) -> None:
        if self._thread is thread:
            self._thread = None
            thread.deleteLater()

    def _set_phase(self, phase: str) -> None:
        self.phase = phase
        self.phaseChanged.emit(phase)
