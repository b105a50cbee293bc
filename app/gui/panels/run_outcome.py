"""How a finished run is called in the window, and its colour: one answer for the status bar and the result.

The core's status of the ``deadlock`` lesson is "done" when it found a deadlock,
because showing one is its point (the command line's exit code keeps that). A
class must still read what happened: a result with a detected deadlock is
shown as "deadlock found" in its own colour, never a green "done". A run the
user stopped says so.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from app.core.events import RunStatus
from app.gui.state_names import run_status_text

GOOD = "#007A5A"  # Okabe–Ito bluish green, darkened to 4.5:1 on white
BAD = "#B34700"  # Okabe–Ito vermillion, darkened to 4.5:1 on white
DEADLOCK = "#8E2C8E"  # its own: neither success green nor failure orange
DEADLOCK_FOUND = "deadlock found"
STOPPED_BY_USER = "stopped by the user"


def outcome(status, summary: dict | None) -> str:
    """``status``, or ``DEADLOCK_FOUND`` when the summary's result detected one, ``STOPPED_BY_USER`` for a stop."""
    result = (summary or {}).get("result")
    if status == RunStatus.DEADLOCK or (isinstance(result, dict) and result.get("detected") is True
                                        and (summary or {}).get("lesson") == "deadlock"):
        return DEADLOCK_FOUND
    if status == RunStatus.STOPPED:
        return STOPPED_BY_USER
    return str(status)


def outcome_text(status, summary: dict | None) -> str:
    translate = QCoreApplication.translate
    name = outcome(status, summary)
    if name == DEADLOCK_FOUND:
        return translate("RunOutcome", "deadlock found")
    if name == STOPPED_BY_USER:
        return translate("RunOutcome", "stopped by the user")
    return run_status_text(status)


def outcome_color(status, summary: dict | None) -> str:
    name = outcome(status, summary)
    if name == DEADLOCK_FOUND:
        return DEADLOCK
    return GOOD if name == RunStatus.DONE else BAD
