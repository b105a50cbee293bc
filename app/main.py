"""Entry points. ``procscope`` / ``python -m app``: no argument opens the window, subcommands run headless.
``procscope-gui``: the window only (a windowed launcher on Windows, where it has no console to print to)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from app.diagnostics import count

    count("main")
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        from app.gui.app import run_gui

        return run_gui()
    from app.cli import run_cli

    return run_cli(argv)



def gui_main() -> int:
    from app.diagnostics import count

    count("main")
    from app.gui.app import run_gui

    return run_gui()
