"""Launch: from starting ``python -m app`` to its first shown window (the target: ≤ 1.0 s).

"Shown" is the moment Qt first flushes the window's painted backing store to
the screen: with ``QT_LOGGING_RULES=qt.widgets.painting=true`` Qt logs that
flush ("Flushing QRegion(…) of MainWindow … to QWidgetWindow") on stderr,
which this process reads as it comes. The same works for the frozen
one-folder bundle (``dist/ProcScope/ProcScope``, measured when it exists) and
for the baseline, a minimal PySide6 window started the same way
(``PROCSCOPE_BUNDLE`` names another executable, as in ``tests/packaging``). The clock
starts just before the process is created; each launch gets fresh settings.
The logging costs the app a few milliseconds: the figures are, if anything,
a little high.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from time import perf_counter_ns

from tests.bench.common import figure, skipped

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = Path(os.environ.get("PROCSCOPE_BUNDLE") or ROOT / "dist" / "ProcScope" / "ProcScope")  # as tests/packaging
TARGET_S = 1.0
TIMEOUT_S = 30.0
SHOWN = ("Flushing QRegion(", "to QWidgetWindow(")
MINIMAL_APP = (
    "import sys\n"
    "from PySide6.QtWidgets import QApplication, QLabel, QMainWindow\n"
    "app = QApplication(sys.argv)\n"
    "window = QMainWindow()\n"
    "window.setCentralWidget(QLabel('minimal'))\n"
    "window.resize(1400, 860)\n"
    "window.show()\n"
    "app.exec()\n"
)


def first_window_s(cmd: list[str]) -> float:
    """Seconds from creating the process to its first flushed window; the process is then ended."""
    with tempfile.TemporaryDirectory(prefix="procscope-launch-") as home:
        env = dict(os.environ, QT_LOGGING_RULES="qt.widgets.painting=true", XDG_CONFIG_HOME=home,
                   QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
        lines: queue.Queue = queue.Queue()
        start = perf_counter_ns()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, errors="replace")
        reader = threading.Thread(target=_read, args=(proc.stderr, lines), daemon=True)
        reader.start()
        try:
            while True:
                line, at = lines.get(timeout=TIMEOUT_S)
                if line is None:
                    raise RuntimeError(f"{cmd[0]} exited (code {proc.wait()}) before showing a window")
                if all(mark in line for mark in SHOWN):
                    return (at - start) / 1e9
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            reader.join(5)


def _read(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put((line, perf_counter_ns()))
    lines.put((None, perf_counter_ns()))


def run(quick: bool) -> list[dict]:
    repeats = 1 if quick else 5
    app_cmd = [sys.executable, "-m", "app"]
    minimal_cmd = [sys.executable, "-c", MINIMAL_APP]
    first_window_s(app_cmd)  # warm-up: page cache, bytecode cache
    first_window_s(minimal_cmd)
    app, minimal = [], []
    for _ in range(repeats):  # alternate, so that the machine's noise hits both alike
        minimal.append(first_window_s(minimal_cmd))
        app.append(first_window_s(app_cmd))
    rows = [figure("launch", app, "s", TARGET_S, minimal, quick=quick,
                   note="python -m app to the first flushed window; baseline: a minimal PySide6 window")]
    if BUNDLE.exists():
        first_window_s([str(BUNDLE)])
        frozen = [first_window_s([str(BUNDLE)]) for _ in range(repeats)]
        rows.append(figure("launch_frozen", frozen, "s", TARGET_S, minimal, quick=quick,
                           note=f"{BUNDLE} to the first flushed window; baseline: a minimal PySide6 window"))
    else:
        rows.append(skipped("launch_frozen", "s", TARGET_S, f"no bundle at {BUNDLE} (pyinstaller build.spec makes "
                                                           "it; PROCSCOPE_BUNDLE=path names another)"))
    return rows
