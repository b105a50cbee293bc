"""Open the window: ``python -m app`` with no argument, and the ``procscope`` gui-script."""

from __future__ import annotations

import os
import sys

from PySide6.QtWidgets import QApplication

from app.gui.icons import window_icon


def run_gui(argv: list[str] | None = None) -> int:
    from app.core.fdlimit import raise_limit

    raise_limit()  # 64 spawned workers need more descriptors than macOS's default ulimit -n allows
    app = QApplication.instance() or QApplication([sys.argv[0], *(argv or [])])
    app.setApplicationName("ProcScope")
    app.setOrganizationName("ProcScope")
    app.setWindowIcon(window_icon())
    from app.gui.main_window import MainWindow  # after QApplication: widgets need it

    window = MainWindow()
    window.show()
    if os.environ.get("PROCSCOPE_SMOKE"):
        from app.gui.smoke import run_smoke

        run_smoke(window)
    return app.exec()
