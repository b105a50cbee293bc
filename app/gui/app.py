"""Open the window: ``python -m app`` with no argument, and the ``procscope`` gui-script."""

from __future__ import annotations

import sys

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from app.resources import resource_path


def run_gui(argv: list[str] | None = None) -> int:
    app = QApplication.instance() or QApplication([sys.argv[0], *(argv or [])])
    app.setApplicationName("ProcScope")
    app.setOrganizationName("ProcScope")
    app.setWindowIcon(QIcon(str(resource_path("icon.svg"))))
    from app.gui.main_window import MainWindow  # after QApplication: widgets need it

    window = MainWindow()
    window.show()
    return app.exec()
