"""``PROCSCOPE_SMOKE=1``: show the window, run the first lesson small, close — for the packaging tests.
With ``PROCSCOPE_SMOKE_SCRIPT=FILE`` it opens that script (File → Open script…) and runs it instead.

It drives the real window the way a user would (pick the first lesson, press
Run, wait, close), so a frozen build is checked end to end without a person.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QSpinBox

from app.diagnostics import count

GIVE_UP_MS = 120_000  # a smoke run that has not ended by then closes anyway (and the test fails)


def run_smoke(window) -> None:
    count("shown")
    script = os.environ.get("PROCSCOPE_SMOKE_SCRIPT")
    if script:
        window.script_mode.open_script(script)
    else:
        window.lesson_list.setCurrentRow(0)
    workers = window.findChild(QSpinBox, "param_workers")
    if workers is not None:
        workers.setValue(2)
    window.controller.finished.connect(lambda status, _summary: _finish(window, status))
    QTimer.singleShot(100, window.start_run)
    QTimer.singleShot(GIVE_UP_MS, window.close)


def _finish(window, status: str) -> None:
    count(f"finished:{status}")
    QTimer.singleShot(100, window.close)
