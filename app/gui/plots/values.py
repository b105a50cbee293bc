"""Shared values: what each slot really holds, every write, and what it should hold (DESIGN §5).

Per value slot of ``trace.meta["value_slots"]``:

* the actual value as a step curve (it holds until the next write);
* each write as a dot in the writing process's colour;
* where the slot has ``initial`` and ``step``: the ideal value after k writes,
  ``initial + k·step``, as a dashed step curve — the race's lost updates show
  as the gap between the two curves;
* where it has ``expected``: the final expected value as a dashed line.

The x axis is meant to be linked to the activity lanes by the window
(``setXLink``); unlinked, the plot shows the whole run itself.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtWidgets

from app.core.trace import Trace
from app.gui.colors import process_color
from app.gui.plots._series import ValueWrites, set_curve, visible_steps
from app.gui.plots._style import BACKGROUND, make_legend, style_plot
from app.gui.view import TraceViewMixin

SLOT_COLORS = ("#000000", "#009E73", "#0072B2", "#CC79A7", "#D55E00", "#56B4E9")
EXPECTED_COLOR = "#D55E00"
MAX_DOTS = 2000  # more visible writes than this: the curve alone (dots would be a smear)
DOT_SIZE = 9


class _Slot:
    """The graphics items of one value slot."""

    def __init__(self, plot: pg.PlotItem, k: int, spec: dict):
        self.spec = spec
        color = SLOT_COLORS[k % len(SLOT_COLORS)]
        self.actual = pg.PlotCurveItem(pen=pg.mkPen(color, width=2.5), skipFiniteCheck=True)
        self.ideal = pg.PlotCurveItem(pen=pg.mkPen(color, width=1.5, style=QtCore.Qt.PenStyle.DashLine),
                                      skipFiniteCheck=True)
        expected_pen = pg.mkPen(EXPECTED_COLOR if k == 0 else color, width=2, style=QtCore.Qt.PenStyle.DashLine)
        self.expected = pg.PlotCurveItem(pen=expected_pen, skipFiniteCheck=True)
        self.dots = pg.ScatterPlotItem(size=DOT_SIZE, pen=pg.mkPen("#FFFFFF", width=1), symbol="o")
        for item in (self.ideal, self.expected, self.actual, self.dots):
            plot.addItem(item)
        self.items = (self.actual, self.ideal, self.expected, self.dots)
        self.dots_key: tuple | None = None

    def has_ideal(self) -> bool:
        return self.spec.get("initial") is not None and self.spec.get("step") is not None

    def has_expected(self) -> bool:
        return self.spec.get("expected") is not None

    def remove(self, plot: pg.PlotItem) -> None:
        for item in self.items:
            plot.removeItem(item)


class ValuePlot(pg.PlotWidget, TraceViewMixin):
    """Actual vs expected shared values; ``objectName`` ``valuePlot``."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent=parent, background=BACKGROUND)
        self.setObjectName("valuePlot")
        self._writes = ValueWrites()
        self._slots: list[_Slot] = []
        self._specs: list[dict] = []
        self._brushes: dict[int, object] = {}
        self._end_s = 0.0
        self._in_redraw = False
        item = self.getPlotItem()
        style_plot(self)
        item.showGrid(x=True, y=True, alpha=0.15)
        item.getAxis("bottom").enableAutoSIPrefix(False)
        view = item.getViewBox()
        view.enableAutoRange(x=False, y=True)
        view.setAutoVisible(y=True)
        self.legend = make_legend(offset=(10, 10))
        self.legend.setParentItem(view)
        view.sigXRangeChanged.connect(self._on_x_range)
        self.retranslate()
        self.redraw(None)

    # --- public API ------------------------------------------------------------------------
    def slot_count(self) -> int:
        return len(self._slots)

    def slot_items(self, k: int) -> dict:
        """The curves of slot k: ``actual``, ``ideal``, ``expected`` (PlotCurveItem), ``dots`` (ScatterPlotItem)."""
        slot = self._slots[k]
        return {"actual": slot.actual, "ideal": slot.ideal, "expected": slot.expected, "dots": slot.dots}

    def legend_texts(self) -> list[str]:
        return [label.text for _sample, label in self.legend.items]

    def retranslate(self) -> None:
        item = self.getPlotItem()
        item.setLabel("bottom", self.tr("time (s)"))
        item.setLabel("left", self.tr("value"))
        self._rebuild_legend()
        self._show_empty_note()

    def _show_empty_note(self) -> None:
        """Say why the plot is empty, rather than show bare axes."""
        note = ""
        if self._trace is not None and not self._specs:
            note = self.tr("This lesson has no shared value to plot")
        self.getPlotItem().setTitle(note or None, color="#666666", size="10pt")

    # --- drawing ---------------------------------------------------------------------------
    def redraw(self, trace: Trace | None) -> None:
        item = self.getPlotItem()
        specs = list(trace.meta.get("value_slots") or []) if trace is not None else []
        if specs != self._specs or trace is None or trace is not self._writes.trace:
            for slot in self._slots:
                slot.remove(item)
            self._slots = [_Slot(item, k, spec) for k, spec in enumerate(specs)]
            self._specs = specs
            self._writes.reset(trace)
        if trace is None:
            self._end_s = 0.0
            self._rebuild_legend()
            self._show_empty_note()
            if self._unlinked():
                item.setXRange(0, 1, padding=0)
            return
        self._writes.update(trace)
        end_ns = self._cursor_ns
        if end_ns is None:
            end_ns = int(trace.meta["end_ns"]) if "end_ns" in trace.meta else (self._writes.latest_ns or trace.t0_ns)
        self._end_s = max(trace.seconds(end_ns), 0.0)
        if self._unlinked():
            self._in_redraw = True
            try:
                item.setXRange(0, max(self._end_s, 1e-3), padding=0.02)
            finally:
                self._in_redraw = False
        self._draw_curves()
        self._rebuild_legend()
        self._show_empty_note()

    def _unlinked(self) -> bool:
        return self.getPlotItem().getViewBox().linkedView(0) is None

    def _series(self, k: int):
        """Times (s), values and writers of slot k up to the cursor."""
        trace = self._trace
        series = self._writes.series.get(k)
        if series is None or trace is None:
            return np.empty(0), np.empty(0), np.empty(0, dtype=np.int64)
        t = series.times()
        if self._cursor_ns is not None:
            t = t[: int(np.searchsorted(t, self._cursor_ns, side="right"))]
        n = len(t)
        return (t - trace.t0_ns) / 1e9, series.column(0)[:n], series.column(1)[:n].astype(np.int64)

    def _draw_curves(self) -> None:
        if self._trace is None:
            return
        (x0, x1), _y = self.getPlotItem().getViewBox().viewRange()
        for k, slot in enumerate(self._slots):
            x, v, writers = self._series(k)
            initial = slot.spec.get("initial")
            start = 0.0 if initial is not None else None
            set_curve(slot.actual, *visible_steps(x, v, start, initial, self._end_s, x0, x1))
            if slot.has_ideal():
                ideal = initial + slot.spec["step"] * np.arange(1, len(x) + 1, dtype=np.float64)
                set_curve(slot.ideal, *visible_steps(x, ideal, 0.0, float(initial), self._end_s, x0, x1))
            else:
                set_curve(slot.ideal, np.empty(0), np.empty(0))
            if slot.has_expected():
                expected = float(slot.spec["expected"])
                set_curve(slot.expected, np.array([0.0, max(self._end_s, 1e-3)]), np.array([expected, expected]))
            else:
                set_curve(slot.expected, np.empty(0), np.empty(0))
            first = int(np.searchsorted(x, x0, side="left"))
            stop = int(np.searchsorted(x, x1, side="right"))
            if not 0 < stop - first <= MAX_DOTS:
                first = stop = 0
            key = (first, stop, len(x))
            if key != slot.dots_key:  # setData of a scatter costs: only when the dots change
                slot.dots_key = key
                who = writers[first:stop]
                slot.dots.setData(x=x[first:stop], y=v[first:stop], brush=[self._brush(w) for w in who.tolist()],
                                  data=who)

    def _brush(self, index: int):
        brush = self._brushes.get(index)
        if brush is None:
            brush = self._brushes[index] = pg.mkBrush(process_color(index))
        return brush

    def _on_x_range(self, *_args) -> None:
        if not self._in_redraw:
            self._draw_curves()  # clip-to-view and decimation follow the visible range

    def _rebuild_legend(self) -> None:
        entries = []
        for k, slot in enumerate(self._slots):
            name = str(slot.spec.get("name") or self.tr("value {n}").format(n=k))
            _x, v, _w = self._series(k)
            if len(v):
                label = self.tr("{name} (now {value})").format(name=name, value=_fmt(v[-1]))
            elif slot.spec.get("initial") is not None:
                label = self.tr("{name} (now {value})").format(name=name, value=_fmt(slot.spec["initial"]))
            else:
                label = name
            entries.append((slot.actual, label))
            if slot.has_ideal():
                entries.append((slot.ideal, self.tr("{name}: ideal after k writes").format(name=name)))
            if slot.has_expected():
                entries.append((slot.expected, self.tr("{name}: expected {value}").format(
                    name=name, value=_fmt(slot.spec["expected"]))))
        self.legend.setVisible(bool(entries))
        same_items = len(self.legend.items) == len(entries) and all(
            sample.item is item for (sample, _label), (item, _text) in zip(self.legend.items, entries, strict=True))
        if same_items:  # only texts changed ("now 7"): a new legend entry costs ~10 ms, a new text little
            for (_sample, label), (_item, text) in zip(self.legend.items, entries, strict=True):
                if label.text != text:
                    label.setText(text)
            return
        self.legend.clear()
        for item, label in entries:
            self.legend.addItem(item, label)


def _fmt(value) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.6g}"
