"""Command line: no argument opens the GUI; subcommands run headless (DESIGN §4)."""

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

