"""The states of DESIGN §3 in the current language: one table for the lanes' legend and the process table."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication


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
