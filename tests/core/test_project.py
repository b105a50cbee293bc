"""What pyproject.toml declares: one command per launcher, and the layering contracts lint-imports checks."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _project() -> dict:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))


def test_console_and_gui_launchers_have_different_names():
    """On Windows a console and a windowed launcher of one name collide (the windowed one swallows CLI output)."""
    project = _project()["project"]
    console, gui = project["scripts"], project["gui-scripts"]
    assert not set(console) & set(gui), set(console) & set(gui)
    assert console == {"procscope": "app.main:main"}
    assert gui == {"procscope-gui": "app.main:gui_main"}
    for target in (*console.values(), *gui.values()):
        module, _, name = target.partition(":")
        assert callable(getattr(importlib.import_module(module), name)), target


def test_the_layering_contracts_are_declared_and_their_checker_installed_by_the_test_extra():
    data = _project()
    assert any(dep.startswith("import-linter") for dep in data["project"]["optional-dependencies"]["test"])
    contracts = data["tool"]["importlinter"]["contracts"]
    core = next(c for c in contracts if c["source_modules"] == ["app.core"])
    assert {"PySide6", "pyqtgraph", "app.gui", "app.cli"} <= set(core["forbidden_modules"])
    views = next(c for c in contracts if set(c["source_modules"]) == {"app.gui.plots", "app.gui.panels"})
    assert set(views["forbidden_modules"]) == {"app.gui.main_window", "app.gui.controller"}
