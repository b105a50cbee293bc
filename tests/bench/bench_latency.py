"""Latency: a worker's timestamp → the display tick that can draw it (the target: p99 ≤ 33 ms).

64 workers of the paced lesson change state 10k times a second in all.
``latency_*``: as the issue defines it — the real controller thread runs the
lesson, and a ``QTimer`` at the window's ``FRAME_MS`` in the GUI thread polls
``trace.records`` as the window's display timer does; latency is the moment
a record is first seen there minus its ``t_ns`` (``perf_counter_ns`` is
system-wide monotonic). ``latency_window_*``: the same, in the real window
started from its Run button, its views refreshing and painting offscreen as they
do for a user (lanes and values at every tick, the CPU/memory plot in turn) — a
probe slot runs first in each display tick. The baseline: bare processes at
the same rate sending each event through a Pipe at once, timed on arrival —
the transport alone.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from time import perf_counter_ns

import numpy as np

from app.core import events as ev
from tests.bench import bare
from tests.bench.common import figure, percentile
from tests.bench.group import BareGroup
from tests.bench.lessons import Paced, register

TARGET_P99_MS = 33.0
METHOD = "spawn"


class Seen:
    """What a display tick sees: for each new worker state record, its t_ns and the tick's time."""

    def __init__(self):
        self.count, self.t, self.at = 0, [], []

    def tick(self, trace) -> None:
        if trace is None:
            return
        now = perf_counter_ns()
        recs = trace.records
        new = recs[self.count:]
        self.count = len(recs)
        mine = new[(new[:, 2] == ev.STATE) & (new[:, 1] >= 0)]
        self.t.append(mine[:, 0].copy())
        self.at.append(np.full(len(mine), now, dtype=np.int64))

    def latencies_ms(self, trace) -> np.ndarray:
        go_ns = next(r["go_ns"] for r in trace.results() if "go_ns" in r)
        t, at = np.concatenate(self.t), np.concatenate(self.at)
        keep = t >= go_ns  # the run's paced part: every worker up and waiting, then the gun
        return (at[keep] - t[keep]) / 1e6


def _wait_for(signal, seconds: float) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    signal.connect(lambda *_: loop.quit())
    guard = QTimer(singleShot=True, interval=int(seconds * 1000))
    guard.timeout.connect(loop.quit)
    guard.start()
    loop.exec()
    guard.stop()


def timer_latencies(workers: int, rate: int, seconds: float) -> tuple[np.ndarray, int]:
    """Latencies (ms) seen by a QTimer at the window's FRAME_MS polling the live trace; and FRAME_MS."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.gui.controller import RunController
    from app.gui.main_window import FRAME_MS

    app = QApplication.instance() or QApplication([])
    register(Paced(workers, rate, seconds))
    controller = RunController()
    seen = Seen()
    timer = QTimer(interval=FRAME_MS)
    timer.timeout.connect(lambda: seen.tick(controller.trace))
    controller.start("bench_paced", {}, METHOD)
    timer.start()
    _wait_for(controller.finished, seconds + 180)
    timer.stop()
    status, trace = controller.phase, controller.trace
    controller.shutdown()
    controller.deleteLater()
    app.processEvents()
    if status != "done":
        raise RuntimeError(f"the paced run ended {status}")
    return seen.latencies_ms(trace), FRAME_MS


def window_latencies(workers: int, rate: int, seconds: float) -> tuple[np.ndarray, dict]:
    """Latencies (ms) of every paced event of one run shown in the real window, and what was painted."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.gui import main_window
    from app.gui.settings import AppSettings

    app = QApplication.instance() or QApplication([])
    register(Paced(workers, rate, seconds))
    with tempfile.TemporaryDirectory(prefix="procscope-bench-") as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        AppSettings(settings).set_last_lesson("bench_paced")
        AppSettings(settings).set_start_method(METHOD)
        window = main_window.MainWindow(settings=settings)
        window.show()
        seen = Seen()
        timer = window.frame_timer  # the probe runs first in each tick, then the window's own refresh
        timer.timeout.disconnect(window.refresh_live)
        timer.timeout.connect(lambda: seen.tick(window.trace))
        timer.timeout.connect(window.refresh_live)
        window.start_run()
        _wait_for(window.controller.finished, seconds + 180)
        status, trace = window.controller.phase, window.trace
        painted = dict(window.activity.segments.last_stats)
        window.close()
        window.deleteLater()
        app.processEvents()
    if status != "done":
        raise RuntimeError(f"the paced run in the window ended {status}")
    return seen.latencies_ms(trace), {"frame_ms": main_window.FRAME_MS, "painted": painted.get("mode")}


def bare_latencies(workers: int, rate: int, seconds: float) -> np.ndarray:
    interval = int(workers * 1e9 / rate)
    count = int(seconds * rate / workers)
    group = BareGroup(METHOD, bare.pipe_paced, lambda i: (interval, count, interval * i // workers), workers)
    out = []
    try:
        group.fire()
        group.receive(lambda recs, arrival: out.append((arrival - recs[:, 0]) / 1e6))
    finally:
        group.close()
    return np.concatenate(out)


def run(quick: bool) -> list[dict]:
    workers, rate, seconds, repeats = (8, 2_000, 1.0, 1) if quick else (64, 10_000, 4.0, 3)
    p50, p99, win50, win99, bare50, bare99 = [], [], [], [], [], []
    frame_ms = None
    for _ in range(repeats):  # alternate, so that the machine's noise hits all alike
        base = bare_latencies(workers, rate, seconds)
        bare50.append(percentile(base, 50))
        bare99.append(percentile(base, 99))
        lat, frame_ms = timer_latencies(workers, rate, seconds)
        p50.append(percentile(lat, 50))
        p99.append(percentile(lat, 99))
        lat, _info = window_latencies(workers, rate, seconds)
        win50.append(percentile(lat, 50))
        win99.append(percentile(lat, 99))
    what = f"{workers} workers, {rate} events/s in all, {seconds} s, {METHOD}, display timer {frame_ms} ms"
    return [
        figure("latency_p50", p50, "ms", None, bare50, quick=quick,
               note=f"{what}; seen by a QTimer polling the trace; baseline: bare Pipe, on arrival"),
        figure("latency_p99", p99, "ms", TARGET_P99_MS, bare99, quick=quick),
        figure("latency_window_p50", win50, "ms", None, bare50, quick=quick,
               note=f"{what}; seen by the real window's display tick, its views drawing"),
        figure("latency_window_p99", win99, "ms", TARGET_P99_MS, bare99, quick=quick),
    ]
