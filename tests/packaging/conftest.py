"""Build the frozen bundle once per session, and report how long everything took."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_S = 1200
TIMINGS: list[tuple[str, float]] = []


def exe_path(dist: Path) -> Path:
    if sys.platform == "darwin":
        return dist / "ProcScope.app" / "Contents" / "MacOS" / "ProcScope"
    return dist / "ProcScope" / ("ProcScope.exe" if os.name == "nt" else "ProcScope")


def build_bundle(workdir: Path, broken: bool = False) -> Path:
    """Run PyInstaller on build.spec into ``workdir``; the path of the frozen executable."""
    env = dict(os.environ)
    env.pop("PROCSCOPE_BROKEN_BUILD", None)
    if broken:
        env["PROCSCOPE_BROKEN_BUILD"] = "1"
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(workdir / "dist"), "--workpath", str(workdir / "build"), str(ROOT / "build.spec")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S,
    )
    TIMINGS.append(("build" + (" (broken, no freeze_support)" if broken else ""), time.monotonic() - started))
    assert proc.returncode == 0, proc.stderr[-4000:]
    exe = exe_path(workdir / "dist")
    assert exe.exists(), f"no executable at {exe}"
    return exe


def folder_size_mb(folder: Path) -> float:
    # Qt's libraries come with symlinks to them: count each file once.
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


@pytest.fixture(scope="session")
def frozen_exe(tmp_path_factory) -> Path:
    """The one-folder bundle: built here, or PROCSCOPE_BUNDLE to reuse an existing executable."""
    existing = os.environ.get("PROCSCOPE_BUNDLE")
    if existing:
        return Path(existing)
    if shutil.which("pyinstaller") is None and not _has_pyinstaller():
        pytest.fail("PyInstaller is not installed: pip install -e '.[test]'")
    exe = build_bundle(tmp_path_factory.mktemp("bundle"))
    TIMINGS.append((f"bundle size {folder_size_mb(exe.parent):.0f} MB", 0.0))
    return exe


def pytest_collection_modifyitems(items):
    """The first test to ask for the bundle waits for its build (minutes on a loaded machine, bounded by
    BUILD_TIMEOUT_S), which the suite's per-test timeout does not allow for; every run of the frozen executable
    has its own timeout (tests/packaging/frozen.py)."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(BUILD_TIMEOUT_S + 300))


def _has_pyinstaller() -> bool:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        return False
    return True


def pytest_terminal_summary(terminalreporter):
    if not TIMINGS:
        return
    terminalreporter.section("packaging: timings")
    for what, seconds in TIMINGS:
        terminalreporter.write_line(f"{what:<60} {seconds:7.2f} s" if seconds else what)
