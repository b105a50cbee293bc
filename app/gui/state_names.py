"""What states and run statuses are called in the current language: the one label table of the GUI.

``state_texts``: the states of a process (lanes' legend, process table).
``run_status_texts``: the run's status (``RunStatus``) and the window's two phases of its own, ``IDLE``
before any run and ``STOPPING`` between Stop and the end (status bar, process table, result view).
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from app.core.events import RunStatus

IDLE = "idle"
STOPPING = "stopping"


def state_texts() -> dict[str, str]:
    # Literal calls, so the translation-completeness test finds every string.
    return {
        "starting": QCoreApplication.translate("States", "starting"),
        "working": QCoreApplication.translate("States", "working"),
        "waiting": QCoreApplication.translate("States", "waiting"),
        "holding": QCoreApplication.translate("States", "holding a lock"),
        "blocked": QCoreApplication.translate("States", "blocked on a queue"),
        "sleeping": QCoreApplication.translate("States", "sleeping / I/O"),
        "idle": QCoreApplication.translate("States", "idle"),
        "done": QCoreApplication.translate("States", "done"),
        "crashed": QCoreApplication.translate("States", "crashed"),
    }


def run_status_texts() -> dict[str, str]:
    """Every ``RunStatus`` and phase, by its string value."""
    translate = QCoreApplication.translate
    return {
        IDLE: translate("RunStatus", "ready"),
        RunStatus.READY: translate("RunStatus", "ready"),
        RunStatus.RUNNING: translate("RunStatus", "running"),
        STOPPING: translate("RunStatus", "stopping"),
        RunStatus.DONE: translate("RunStatus", "done"),
        RunStatus.CRASHED: translate("RunStatus", "a worker crashed"),
        RunStatus.STOPPED: translate("RunStatus", "stopped"),
        RunStatus.TIMEOUT: translate("RunStatus", "timed out"),
        RunStatus.FAILED: translate("RunStatus", "failed"),
        RunStatus.DEADLOCK: translate("RunStatus", "deadlock"),
    }


def run_status_text(status) -> str:
    """The label of one status or phase; an unknown one (a foreign trace) as it is."""
    return run_status_texts().get(status, str(status))
