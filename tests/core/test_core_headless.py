"""``app.core`` and the CLI work without Qt, and what a worker imports stays light.

- In a subprocess where PySide6, shiboken6 and pyqtgraph cannot be imported, every core module and
  the CLI import and a lesson runs under spawn (the spawned children do not inherit the blocker; they
  import even less than the parent).
- No file under ``app/core`` imports them (read with ``ast``, so a lazy import inside a function counts).
- The modules a worker imports do not import numpy (0.6 s per spawned child).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CORE = REPO_ROOT / "app" / "core"
GUI_PACKAGES = ("PySide6", "shiboken6", "pyqtgraph")
RUN_TIMEOUT_S = 60
SUBPROCESS_TIMEOUT_S = 100  # above the run's own timeout, so the runner can clean up first


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


CORE_FILES = sorted(CORE.rglob("*.py"))
CORE_MODULES = [_module_name(p) for p in CORE_FILES]
LESSON_MODULES = [_module_name(p) for p in sorted((CORE / "lessons").glob("*.py"))]
WORKER_MODULES = ["app.core.probe", "app.core.events", "app.core.params", *LESSON_MODULES]


def _python(code: str, *args: str, timeout: float = SUBPROCESS_TIMEOUT_S) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )


def test_core_modules_were_found():
    assert "app.core.runner" in CORE_MODULES and "app.core.trace" in CORE_MODULES
    assert "app.core.lessons" in LESSON_MODULES and "app.core.lessons.counter" in LESSON_MODULES


_HEADLESS_RUN = """
    import json
    import sys

    BLOCKED = tuple(sys.argv[1].split(","))
    OUT = sys.argv[2]
    MODULES = sys.argv[3].split(",")


    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked by test_core_headless")
            return None


    sys.meta_path.insert(0, Blocker())
    for name in BLOCKED:
        sys.modules.pop(name, None)
        try:
            __import__(name)
        except ImportError:
            pass
        else:
            raise SystemExit(f"the blocker did not block {name}")

    import importlib

    for module in MODULES:
        importlib.import_module(module)

    import app.cli
    from app.core.runner import Runner
    from app.core.summary import build_summary

    trace = Runner("basics", {"workers": "2"}, "spawn").run(timeout=60)
    summary = build_summary(trace)
    cli_code = app.cli.run_cli(["run", "basics", "--set", "workers=1", "--json", OUT + ".cli.json"])
    with open(OUT, "w", encoding="utf-8") as out:
        json.dump({
            "status": trace.meta.get("status"),
            "summary_status": summary["status"],
            "start_method": summary["start_method"],
            "workers": [p["exitcode"] for p in summary["processes"] if p["role"] == "worker"],
            "cli_code": cli_code,
            "gui_modules": sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED),
        }, out)
"""


def test_core_and_cli_run_a_lesson_with_qt_and_pyqtgraph_unimportable(tmp_path):
    out = tmp_path / "headless.json"
    modules = ["app.core", *CORE_MODULES, "app.cli", "app.main"]
    result = _python(_HEADLESS_RUN, ",".join(GUI_PACKAGES), str(out), ",".join(modules))
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["status"] == "done", (report, result.stderr[-4000:])
    assert report["summary_status"] == "done"
    assert report["start_method"] == "spawn"
    assert report["workers"] == [0, 0]
    assert report["cli_code"] == 0
    assert report["gui_modules"] == []
    cli_summary = json.loads((tmp_path / "headless.json.cli.json").read_text(encoding="utf-8"))
    assert cli_summary["status"] == "done" and cli_summary["lesson"] == "basics"


def _imported_roots(tree: ast.AST) -> list[tuple[int, str]]:
    """Top-level package of every import: statements anywhere, and import_module/__import__ calls."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in ("import_module", "__import__") and isinstance(first, ast.Constant) \
                    and isinstance(first.value, str):
                found.append((node.lineno, first.value))
    return [(line, name.partition(".")[0]) for line, name in found]


@pytest.mark.parametrize("path", CORE_FILES, ids=[_module_name(p) for p in CORE_FILES])
def test_no_core_file_imports_qt_or_pyqtgraph(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = [(line, root) for line, root in _imported_roots(tree) if root in GUI_PACKAGES]
    assert not bad, f"{path.relative_to(REPO_ROOT)} imports {bad}"


def test_the_static_check_sees_lazy_imports():
    tree = ast.parse(textwrap.dedent("""
        def f():
            import PySide6.QtCore
            from pyqtgraph import PlotWidget
            importlib.import_module("shiboken6")
    """))
    assert sorted(root for _line, root in _imported_roots(tree)) == sorted(GUI_PACKAGES)


_WORKER_IMPORTS = """
    import importlib
    import json
    import sys
    import traceback

    HEAVY = ("numpy", "PySide6", "shiboken6", "pyqtgraph")
    first_request = {}


    class Witness:
        def find_spec(self, name, path=None, target=None):
            root = name.partition(".")[0]
            if root in HEAVY and root not in first_request:
                first_request[root] = "".join(traceback.format_stack(limit=30))
            return None


    sys.meta_path.insert(0, Witness())
    already = sorted(m for m in sys.modules if m.partition(".")[0] in HEAVY)
    for module in sys.argv[1:]:
        importlib.import_module(module)
    print(json.dumps({
        "already": already,
        "heavy": sorted({m.partition(".")[0] for m in sys.modules} & set(HEAVY)),
        "who": first_request,
    }))
"""


@pytest.mark.parametrize("modules", [pytest.param([m], id=m) for m in WORKER_MODULES]
                         + [pytest.param(WORKER_MODULES, id="all-together")])
def test_modules_a_worker_imports_do_not_import_numpy(modules):
    result = _python(_WORKER_IMPORTS, *modules, timeout=60)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["already"] == [], "the interpreter started with them already imported"
    assert report["heavy"] == [], f"importing {modules} imported {report['heavy']}:\n" + "\n".join(
        f"--- first import of {root} ---\n{stack}" for root, stack in report["who"].items()
    )


_SPAWNED_IMPORTS = """
    import json

    from app.core.lessons import LESSONS
    from app.core.runner import Runner
    from tests.core import worker_imports

    LESSONS[worker_imports.LESSON.id] = worker_imports.LESSON
    trace = Runner(worker_imports.LESSON.id, {}, "spawn").run(timeout=60)
    print(json.dumps({"status": trace.meta.get("status"), "results": trace.results()}))
"""


def test_a_spawned_worker_imports_its_lesson_only():
    """Not the catalogue, not the other lessons, not ``dataclasses`` (the target: start ≤ 1.1× bare)."""
    result = _python(_SPAWNED_IMPORTS, timeout=90)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["status"] == "done", result.stderr[-4000:]
    (modules,) = [r["modules"] for r in report["results"] if "modules" in r]
    lessons = {m for m in modules if m.startswith("app.core.lessons")}
    assert lessons == {"app.core.lessons", "app.core.lessons.base", "app.core.lessons.basics"}, modules
    assert not {"dataclasses", "inspect", "numpy", "psutil"} & set(modules), modules
    assert "app.core.runner" not in modules and "app.core.trace" not in modules


def test_the_catalogue_loads_on_first_use():
    result = _python("""
        import sys
        import app.core.lessons as lessons
        before = sorted(m for m in sys.modules if m.startswith("app.core.lessons."))
        from app.core.lessons import LESSONS, get_lesson
        assert get_lesson("basics") is LESSONS["basics"] is lessons.LESSONS["basics"]
        from app.core.lessons.catalogue import LESSONS as same
        assert same is LESSONS
        print(before, len(LESSONS))
    """, timeout=60)
    assert result.returncode == 0, result.stderr[-4000:]
    from app.core.lessons import LESSONS

    assert result.stdout.split() == ["[]", str(len(LESSONS))]
