"""Replay of a long run: opening a 2.5M-event trace in the window (the targets: ≤ 3 s and ≤ 300 MB).

The trace is made first by the command line: ``procscope run counter --set workers=64 --set increments=10000
--set hold_s=0.000001 --set lock=none --trace T`` (about 2.57M events: 640k prints, the 64 workers' lists of
reads and writes, and a sleep recorded around every update). Then each repeat is a fresh Python process
(``--measure``) that imports everything, shows the main window (fresh settings), and opens the file as the
Open menu does — read and checked off the GUI thread, summarised, every view given the trace — until the
window has painted itself once with it. Figures: those seconds, and the process's peak resident set
(``ru_maxrss``, which includes the empty window's own ~100 MB: the baseline is that resident size before
the open).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.common import figure

ROOT = Path(__file__).resolve().parents[2]
TARGET_S = 3.0
TARGET_MB = 300.0
MB = 1024 * 1024
FULL = ("--set", "workers=64", "--set", "increments=10000", "--set", "hold_s=0.000001", "--set", "lock=none")
QUICK = ("--set", "workers=4", "--set", "increments=500", "--set", "hold_s=0.000001", "--set", "lock=none")
TIMEOUT_S = 120.0


def measure(path: str) -> dict:
    """In this (fresh) process: open ``path`` in a shown main window, until its first paint with it."""
    import resource

    import psutil
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from app.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory(prefix="procscope-replay-") as home:
        settings = QSettings(os.path.join(home, "procscope.ini"), QSettings.Format.IniFormat)
        settings.setValue("language", "en")
        window = MainWindow(settings=settings)
        window.resize(1400, 860)
        window.show()
        for _ in range(5):
            app.processEvents()
        before = psutil.Process().memory_info().rss
        loop = QEventLoop()
        outcome: dict = {}

        def opened(*_args):
            outcome["opened"] = True
            loop.quit()

        def failed(_path, exc):
            outcome["error"] = repr(exc)
            loop.quit()

        started = time.perf_counter()
        if not window.open_trace_in_background(path):
            raise RuntimeError("the window refused to open the trace")
        window.opener.opened.connect(opened)
        window.opener.failed.connect(failed)
        QTimer.singleShot(int(TIMEOUT_S * 1000), loop.quit)
        loop.exec()
        if "opened" not in outcome:
            raise RuntimeError(f"the trace did not open: {outcome.get('error', 'timed out')}")
        window.repaint()  # the first paint with the trace (the views were given it when it opened)
        app.processEvents()
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = peak if sys.platform == "darwin" else peak * 1024
        events = len(window.trace)
        window.close()
    return {"seconds": seconds, "peak": peak, "before": before, "events": events}


def _make_trace(args: tuple[str, ...], path: str) -> float:
    started = time.monotonic()
    cmd = [sys.executable, "-m", "app", "run", "counter", *args, "--trace", path]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=400)
    if out.returncode != 0:
        raise RuntimeError(f"the run failed ({out.returncode}): {out.stderr.strip()[-2000:]}")
    return time.monotonic() - started


def run(quick: bool) -> list[dict]:
    args, repeats = (QUICK, 1) if quick else (FULL, 3)
    with tempfile.TemporaryDirectory(prefix="procscope-replay-") as folder:
        path = os.path.join(folder, "run.pstrace")
        _make_trace(args, path)
        results = []
        for _ in range(repeats):
            out = subprocess.run([sys.executable, "-m", "tests.bench.bench_replay", "--measure", path], cwd=ROOT,
                                 capture_output=True, text=True, timeout=TIMEOUT_S + 60,
                                 env=dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen")))
            if out.returncode != 0:
                raise RuntimeError(f"the replay measurement failed: {out.stderr.strip()[-2000:]}")
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        size = os.path.getsize(path)
    events = results[0]["events"]
    label = "2m" if not quick else "quick"
    note = (f"counter, {' '.join(args[1::2])}: {events:,} events, a {size / MB:.0f} MB file; the window opens it "
            "(load, check, summary, views) and paints once, in a fresh process")
    return [
        figure(f"replay_open_{label}", [r["seconds"] for r in results], "s", TARGET_S, quick=quick, note=note),
        figure(f"memory_replay_{label}", [r["peak"] / MB for r in results], "MB", TARGET_MB,
               [r["before"] / MB for r in results], quick=quick, timing=False,
               note="peak RSS of that process (Qt and the empty window included); baseline: its resident size "
                    "before the open"),
    ]


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        print(json.dumps(measure(sys.argv[2])))
    else:
        print(json.dumps(run("--quick" in sys.argv), indent=2))
