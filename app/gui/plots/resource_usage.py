"""CPU and memory of every process of the run, one curve per process in its colour.

The runner's sampler records psutil readings as SAMPLE events (a = CPU % × 100,
b = resident bytes) at 2–4 Hz. A combo box in the corner under the value axis
switches the plot between CPU % and memory (MB); the legend under the time axis
names the processes (as many as fit in two rows, one in a short plot; the lanes name all). Neither
lies on the curves. The y axis spans at least 0–100 % (CPU) or 0 to the
highest reading (memory): three samples of 35.96–35.97 % are not a mountain. The x axis is meant to be linked
to the activity lanes by the window; unlinked, the plot shows the whole run.
All curves are drawn by one item and the y range fits the visible samples
(``_curves``): 64 processes' curves scroll with a live run at every frame.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtWidgets
from PySide6.QtCore import Signal

from app.core import events as ev
from app.core.folds import Samples
from app.core.names import display_names
from app.core.trace import Trace
from app.gui.colors import process_brush, process_color
from app.gui.plots._controls import PlotControls
from app.gui.plots._curves import CurveData, CurvesItem, DotsData
from app.gui.plots._decimate import curve_points, decimate
from app.gui.plots._style import (
    BACKGROUND,
    LEGEND_ROWS,
    RunTimeAxis,
    axis_items,
    capped_entries,
    fit_layout,
    follow_app_font,
    is_font_change,
    legend_grid,
    legend_room,
    make_legend,
    place_legend_below,
    plot_alive,
    sync_legend,
)
from app.gui.view import TraceViewMixin

METRICS = ("cpu", "memory")
SHORT_PLOT_PX = 260  # a plot lower than this gets a one-row legend
CPU_SPAN = (0.0, 100.0)  # the CPU axis shows at least this (one core fully used is 100 %)
_NONE, _NONE_INT = np.empty(0), np.empty(0, dtype=np.int64)
LEGEND_NEW_LIVE = 2  # during a run, legend entries added per refresh (64 processes come up at once)
MAX_MARKERS = 240  # samples get a dot while no more than this many are visible (all curves)


class ResourcePlot(PlotControls, RunTimeAxis, pg.PlotWidget, TraceViewMixin):
    """CPU % or memory per process; ``objectName`` ``resourcePlot``."""

    exportRequested = Signal()  # noqa: N815 - Qt naming: the context menu's "Export…"

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent=parent, background=BACKGROUND, axisItems=axis_items())
        self.setObjectName("resourcePlot")
        self._samples = Samples()
        self._curves: dict[int, CurveData] = {}
        self._names: dict[int, str] = {}
        self._texts_seen = -1
        self._legend_entries: list[tuple[int, str]] | None = None
        self._metric = "cpu"
        self._end_s = 0.0
        self._in_redraw = False
        item = self._setup_time_plot()
        view = item.getViewBox()
        self._lines = CurvesItem(5, process_color)
        item.addItem(self._lines)
        self.legend = make_legend()
        place_legend_below(item, self.legend)
        self._legend_width = 0.0
        self._legend_short = False
        self._setup_controls()
        self._markers = DotsData()  # the samples, while few are visible (drawn by the curves' item)
        self.metric_box = QtWidgets.QComboBox(self)
        self.metric_box.setObjectName("resourceMetric")
        self.metric_box.addItems(["", ""])
        self.metric_box.currentIndexChanged.connect(self._on_metric_index)
        view.sigXRangeChanged.connect(self._on_x_range)
        view.sigResized.connect(self._on_resized)
        follow_app_font(self)
        self.retranslate()
        self.redraw(None)

    # --- public API ------------------------------------------------------------------------
    def current_metric(self) -> str:
        return self._metric

    def set_metric(self, metric: str) -> None:
        """``"cpu"`` (CPU %) or ``"memory"`` (resident MB)."""
        if metric not in METRICS:
            raise ValueError(f"metric {metric!r}; allowed: {', '.join(METRICS)}")
        self._metric = metric
        if self.metric_box.currentIndex() != METRICS.index(metric):
            self.metric_box.setCurrentIndex(METRICS.index(metric))
        self._set_axis_label()
        self._fit.reset()
        self._draw_curves()

    def _on_metric_index(self, index: int) -> None:
        self.set_metric(METRICS[index])

    def set_trace(self, trace: Trace | None) -> None:
        self._fit.reset()  # a new run: fit its values again
        super().set_trace(trace)

    def fit_view(self) -> None:
        """Values fitted again, time as the lanes frame it (or the whole run, unlinked)."""
        self._fit.reset()
        master = self.master_plot()
        if master is not self:
            master.fit_view()
        elif self._trace is not None:
            self.redraw(self._trace)
        self._draw_curves()

    def curves(self) -> dict[int, CurveData]:
        """One curve per sampled process, by lane index (``getData()``, ``opts["pen"]``; see ``_curves``)."""
        return dict(self._curves)

    def legend_texts(self) -> list[str]:
        return [label.text for _sample, label in self.legend.items]

    def retranslate(self) -> None:
        self.getPlotItem().setLabel("bottom", self.tr("time (s)"))
        self.metric_box.setItemText(0, self.tr("CPU %"))
        self.metric_box.setItemText(1, self.tr("Memory (MB)"))
        self.metric_box.setToolTip(self.tr("Show CPU use or resident memory per process"))
        self._retranslate_controls()
        self.metric_box.adjustSize()
        self._place_box()
        self._set_axis_label()
        self._legend_entries = None
        self._update_legend()

    # --- drawing ---------------------------------------------------------------------------
    def redraw(self, trace: Trace | None) -> None:
        item = self.getPlotItem()
        if trace is None or trace is not self._samples.trace:
            self._curves = {}
            self._lines.set_items([], [self._markers])
            self._markers.set_points(_NONE, _NONE, _NONE_INT, None)
            self._names = {}
            self._texts_seen = -1
            self._samples.reset(trace)
        if trace is None:
            self._end_s = 0.0
            self._update_legend()
            if self._unlinked():
                item.setXRange(0, 1, padding=0)
            return
        self._samples.update(trace)
        texts_now = len(trace.texts)
        if texts_now != self._texts_seen:  # names come from META/HELLO texts; prints can be many
            new = trace.texts[max(self._texts_seen, 0):texts_now]
            self._texts_seen = texts_now
            if np.isin(new.kinds(), (ev.META, ev.HELLO)).any():  # by column: prints are not decoded
                procs = trace.processes()
                shown = display_names(list(procs.values()))  # the lanes' names: pool workers numbered per run
                self._names = {i: (shown[i] if p.name else str(i)) for i, p in procs.items()}
        new = [index for index in sorted(self._samples.series) if index not in self._curves]
        for index in new:
            color = process_color(index)
            self._curves[index] = CurveData(pg.mkPen(color, width=1.5))
        if new:
            self._lines.set_items([self._curves[i] for i in sorted(self._curves)], [self._markers])
        self._fit_time(trace, self._samples.latest_ns)
        self._draw_curves()
        self._update_legend()

    def _draw_curves(self) -> None:
        trace = self._trace
        if trace is None:
            return
        (x0, x1), _y = self.getPlotItem().getViewBox().viewRange()
        column = METRICS.index(self._metric)
        points = curve_points(self.getPlotItem().getViewBox().width())
        dots_x, dots_y, dots_who = [], [], []
        for index, curve in self._curves.items():
            series = self._samples.series[index]
            t = series.times()
            if self._cursor_ns is not None:
                t = t[: int(np.searchsorted(t, self._cursor_ns, side="right"))]
            x = (t - trace.t0_ns) / 1e9
            xs, ys = decimate(x, series.column(column)[: len(t)], x0, x1, points)
            curve.set_points(xs, ys)
            dots_x.append(xs)
            dots_y.append(ys)
            dots_who.append(np.full(len(xs), index))
        # a sample or two draw no line: show the samples themselves while few are visible
        total = sum(len(d) for d in dots_x)
        if 0 < total <= MAX_MARKERS:
            xs, ys, who = np.concatenate(dots_x), np.concatenate(dots_y), np.concatenate(dots_who)
        else:
            xs, ys, who = np.empty(0), np.empty(0), np.empty(0, dtype=np.int64)
        self._markers.set_points(xs, ys, who, process_brush)
        self._lines.changed()
        shown = np.concatenate(dots_y) if dots_y else np.empty(0)
        if not len(shown) and self._metric == "cpu":  # no sample in view (a short run): still a CPU axis
            self._fit.fit(*CPU_SPAN)
        elif not len(shown):
            self._fit.fit(None, None)
        elif self._metric == "cpu":
            self._fit.fit(min(CPU_SPAN[0], float(shown.min())), max(CPU_SPAN[1], float(shown.max())))
        else:
            self._fit.fit(0.0, max(float(shown.max()), 1.0))

    def _on_x_range(self, *_args) -> None:
        trace = self._trace
        if self._in_redraw or (trace is not None and trace.version != self._drawn_version):
            return  # new data is on its way: the refresh that brings it draws (once, not twice)
        self._draw_curves()

    def _set_axis_label(self) -> None:
        text = self.tr("CPU %") if self._metric == "cpu" else self.tr("memory (MB)")
        self.getPlotItem().setLabel("left", text)

    def _update_legend(self) -> None:
        entries = [(index, self._names.get(index, str(index))) for index in sorted(self._curves)]
        if entries == self._legend_entries:
            return
        more = self.tr("+{n} more (see the lanes)")
        self._legend_width = legend_room(self)
        self._legend_short = self.height() < SHORT_PLOT_PX
        rows = 1 if self._legend_short else LEGEND_ROWS  # a short plot keeps its height for the curves
        columns, limit = legend_grid([name for _index, name in entries], self._legend_width, more.format(n=99), rows)
        shown = capped_entries([(self._curves[index], name) for index, name in entries],
                               lambda n: more.format(n=n), limit)
        live = (self._trace is not None and self._trace.meta.get("status") == ev.RunStatus.RUNNING
                and self._cursor_ns is None)
        done = sync_legend(self.legend, shown, min(columns, max(len(shown), 1)), LEGEND_NEW_LIVE if live else None)
        self._legend_entries = entries if done else None  # not all there yet: more at the next refresh

    def _on_resized(self, *_args) -> None:
        self._place_box()
        if abs(legend_room(self) - self._legend_width) >= 1 or (
                (self.height() < SHORT_PLOT_PX) != self._legend_short):
            self._legend_entries = None  # as many legend entries as fit the new width
            self._update_legend()
            fit_layout(self, self.legend)

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if plot_alive(self) and is_font_change(event):
            follow_app_font(self)  # the texts in the new size, the legend's entries for it
            self.metric_box.adjustSize()
            self._legend_entries = None
            self._legend_width = -1.0
            self._on_resized()

    # --- the metric box sits in the corner under the value axis, left of the time axis ----------
    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._place_box()
        if plot_alive(self):
            self._on_resized()  # a legend too wide for a narrower widget keeps the view box's width

    def _place_box(self) -> None:
        box = self.__dict__.get("metric_box")  # resizeEvent comes already during PlotWidget.__init__
        item = self.__dict__.get("plotItem")  # None once closed
        if box is None or item is None:
            return
        corner = self.mapFromScene(item.getViewBox().sceneBoundingRect().bottomLeft())
        left = self.mapFromScene(item.getAxis("left").sceneBoundingRect().topLeft()).x()
        x = max(0, min(corner.x() - box.width() - 4, self.width() - box.width()))
        x = max(x, left) if corner.x() - left >= box.width() else x
        y = min(corner.y() + 4, self.height() - box.height())
        box.move(int(x), int(max(0, y)))
        box.raise_()
