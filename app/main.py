"""Command line: no argument opens the GUI; subcommands run headless (DESIGN §4)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        from app.cli import gui_unavailable

        return gui_unavailable()
    from app.cli import run_cli

    return run_cli(argv)

