"""Rendering: the real ActivityPlot and ValuePlot of a live run, offscreen (the target: ≤ 16 ms at 100k, ≤ 40 ms at 1M).

``render_<N>``: N state segments over 64 lanes and N writes over 64 value
curves, all inside the live window; each frame appends what arrives between
two frames (a state change per lane, a write per slot), lets both plots fold
it (``refresh``, as the window's display timer does), follows the live edge,
and repaints both plots synchronously (``repaint`` + ``processEvents``).
``render_lanes_<N>``: the activity lanes alone with N segments — the target's
row ("frame time, 64 lanes"). Baseline: the same frame with no segments and
no writes (the fixed cost of the plots scrolling).

Each row also gives ``cpu_ms``: the median CPU time of the GUI thread per frame
(``time.thread_time``). On a shared 2-core machine the wall time of a frame
moves by up to 2× from run to run (the thread waits for a core); its CPU time
moves far less, so it tells a change in the code from a change in the load.
"""

from __future__ import annotations

import statistics
from time import perf_counter_ns, thread_time_ns

from app.gui.view import refresh_views
from tests.bench.common import figure
from tests.bench.synth import LiveFeed, make_run

SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1m": 1_000_000}
TARGET_MS = {"1k": None, "10k": None, "100k": 16.0, "1m": 40.0}  # the targets name 100k and 1M
WIDTH, LANES_PX, VALUES_PX = 1000, 480, 300  # the plots' size in a 1400 × 860 window
LEFT_AXIS_PX = 200


class Scene:
    """The activity lanes (and the value plot, x-linked as in the window) in one offscreen widget."""

    def __init__(self, with_values: bool = True):
        from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

        from app.gui.plots.lanes import ActivityPlot
        from app.gui.plots.values import ValuePlot

        self.app = QApplication.instance() or QApplication([])
        self.cpu_ms: list[float] = []  # CPU time of this thread per frame (see the module's docstring)
        self.widget = QWidget()
        layout = QVBoxLayout(self.widget)
        self.activity = ActivityPlot()
        self.plots = [(self.activity, LANES_PX)]
        if with_values:
            values = ValuePlot()
            values.setXLink(self.activity)
            self.plots.append((values, VALUES_PX))
        for plot, height in self.plots:
            plot.getPlotItem().getAxis("left").setWidth(LEFT_AXIS_PX)
            plot.setFixedHeight(height)
            layout.addWidget(plot)
        self.widget.resize(WIDTH, sum(h for _p, h in self.plots) + 20)
        self.widget.show()
        self.app.processEvents()

    def show(self, trace) -> float:
        """Give the plots the trace and draw it once; the first frame's time (ms)."""
        t = perf_counter_ns()
        for plot, _height in self.plots:
            plot.set_trace(trace)
        self.activity.follow_live(True)
        self._paint()
        return (perf_counter_ns() - t) / 1e6

    def frame(self, feed: LiveFeed) -> float:
        t, cpu = perf_counter_ns(), thread_time_ns()
        feed()
        refresh_views([plot for plot, _height in self.plots])  # as the window's display timer does
        self._paint()
        self.cpu_ms.append((thread_time_ns() - cpu) / 1e6)
        return (perf_counter_ns() - t) / 1e6

    def _paint(self) -> None:
        self.widget.repaint()
        self.app.processEvents()

    def close(self) -> None:
        self.widget.close()
        self.widget.deleteLater()
        self.app.processEvents()


def frames(scene: Scene, segments: int, writes: int, count: int) -> tuple[list[float], float, dict]:
    """Per-frame times (ms) of a live run, the first frame's, and how the lanes were drawn."""
    trace = make_run(segments, writes)
    first = scene.show(trace)
    feed = LiveFeed(trace)
    scene.cpu_ms = []
    times = [scene.frame(feed) for _ in range(count)]
    stats = dict(scene.activity.segments.last_stats)
    if stats.get("error") or (segments and not stats.get("visible")):
        raise RuntimeError(f"the lanes were not drawn: {stats}")
    return times, first, stats


def _series(with_values: bool, sizes: dict, count: int, quick: bool) -> list[dict]:
    scene = Scene(with_values)
    try:
        writes = (lambda n: n) if with_values else (lambda n: 0)
        base = statistics.median(frames(scene, 0, 0, count)[0])  # frames are not paired: median vs median
        rows = []
        for name, size in sizes.items():
            times, first, stats = frames(scene, size, writes(size), count if size < 1_000_000 else count // 2)
            cpu = statistics.median(scene.cpu_ms)
            what = f"{size:,} segments / 64 lanes" + (f" + {size:,} writes / 64 curves" if with_values else "")
            note = (f"{what}, {WIDTH} px wide; lanes drawn as {stats.get('mode')}; "
                    f"first frame (folds everything) {first:.0f} ms; GUI thread's CPU per frame {cpu:.1f} ms")
            prefix = "render_" if with_values else "render_lanes_"
            row = figure(prefix + name, times, "ms", TARGET_MS[name], base, quick=quick, note=note)
            row["cpu_ms"] = round(cpu, 2)
            rows.append(row)
        return rows
    finally:
        scene.close()


def run(quick: bool) -> list[dict]:
    sizes = {"1k": 1_000, "10k": 10_000} if quick else SIZES
    count = 5 if quick else 40
    return _series(True, sizes, count, quick) + _series(False, sizes, count, quick)
