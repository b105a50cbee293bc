"""The lesson's middle chart: its story (``Lesson.story``) or its shared values.

A lesson says what its chart is (``Lesson.plot``): "story" (a count over time on
the lanes' time axis: live processes, tasks waiting / running / done, processes
inside a critical section…), "chart" (its own x axis: speedup against workers;
the x axis is unlinked from the lanes while it is shown, and linked again for the
next lesson), "values" (the shared values, below) or None (the plot hides). A
story is drawn by ``_story.StoryLayer``; the rest of this module is the values.

Per value slot of ``trace.meta["value_slots"]``:

* the actual value as a step curve (it holds until the next write);
* each write as a dot in the writing process's colour;
* where the slot has ``initial`` and ``step``: the ideal value after k writes,
  ``initial + k·step``, as a dashed step curve — the race's lost updates show
  as the gap between the two curves;
* where it has ``expected``: the final expected value as a dashed line.

The x axis is meant to be linked to the activity lanes by the window
(``setXLink``); unlinked, the plot shows the whole run itself. The y axis fits
the visible values (computed here from the decimated curves: pyqtgraph's own
auto-range asks every item for its bounds at every frame) until the user
zooms or pans it.

A frame of a live run costs the visible curves, not the run (``tests/bench``:
``render``): every curve and dot of every slot is drawn by one item
(``_curves.CurvesItem``), the curves are computed once per frame (a range
change that comes with new data waits for the refresh that brings it), dots
only mark writes while few are visible in all, and the legend's "now" values
follow a live run a few labels at a time (``LEGEND_LIVE``): a changed text
resizes the legend, which costs the plot a second paint in that frame.
"""

from __future__ import annotations

import logging
from time import monotonic, perf_counter_ns

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtWidgets
from PySide6.QtCore import Signal

from app.core.events import LIVE_STATUSES
from app.core.folds import ValueWrites
from app.core.params import resolve
from app.core.trace import Trace
from app.gui.colors import process_brush, process_color
from app.gui.i18n import installed_lesson_key
from app.gui.plots._columns import ColumnGrid, StepColumnCache, column_bounds
from app.gui.plots._controls import PlotControls
from app.gui.plots._curves import CurveData, CurvesItem, DotsData
from app.gui.plots._decimate import curve_points, visible_steps
from app.gui.plots._story import STORY_EVERY_S, StoryLayer
from app.gui.plots._style import (
    BACKGROUND,
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

SLOT_COLORS = ("#000000", "#009E73", "#0072B2", "#CC79A7", "#D55E00", "#56B4E9")
EXPECTED_COLOR = "#D55E00"
MAX_DOTS = 2000  # more visible writes than this (all slots together): curves alone (dots would be a smear)
COLUMNS_FROM = 5000  # more visible writes than this: curves drawn as pixel columns (``_columns``), not lines
DOT_SIZE = 9
LEGEND_LIVE = (8, 0.25)  # during a live run: at most 8 legend texts change, at most every 0.25 s
_LIVE_STATUSES = LIVE_STATUSES
VALUES, STORY, CHART = "values", "story", "chart"  # what the plot shows (``Lesson.plot``)
_log = logging.getLogger(__name__)


class _Slot:
    """What one value slot draws: three curves and the dots of its writes (drawn by the plot's CurvesItem)."""

    def __init__(self, k: int, spec: dict):
        self.spec = spec
        color = SLOT_COLORS[k % len(SLOT_COLORS)]
        self.actual = CurveData(pg.mkPen(color, width=2.5))
        self.ideal = CurveData(pg.mkPen(color, width=1.5, style=QtCore.Qt.PenStyle.DashLine))
        self.expected = CurveData(pg.mkPen(EXPECTED_COLOR if k == 0 else color, width=2,
                                           style=QtCore.Qt.PenStyle.DashLine))
        self.dots = DotsData()
        self.dots_key: tuple | None = None
        self._ideal = np.empty(0)

    def ideal_values(self, n: int) -> np.ndarray:
        """``initial + k·step`` after each of the first ``n`` writes (k = 1 … n), kept as the run grows."""
        if len(self._ideal) < n:  # room for a live run to grow by a quarter (a replay's 640k writes: 5 MB more)
            self._ideal = self.spec["initial"] + self.spec["step"] * np.arange(1, n + n // 4 + 64, dtype=np.float64)
        return self._ideal[:n]

    def has_ideal(self) -> bool:
        return self.spec.get("initial") is not None and self.spec.get("step") is not None

    def has_expected(self) -> bool:
        return self.spec.get("expected") is not None


class ValuePlot(PlotControls, RunTimeAxis, pg.PlotWidget, TraceViewMixin):
    """The lesson's story chart, or actual vs expected shared values; ``objectName`` ``valuePlot``.

    The legend sits under the x axis (never on the curves); the mouse zooms
    and pans x only, the values stay fitted to what is visible (``_controls``).
    The lesson shown is the trace's, or before any run the one ``set_lesson`` names.
    """

    exportRequested = Signal()  # noqa: N815 - Qt naming: the context menu's "Export…"

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent=parent, background=BACKGROUND, axisItems=axis_items())
        self.setObjectName("valuePlot")
        self.__dict__.pop("setXLink", None)  # PlotWidget copies its plot item's method here: ours must win
        self._writes = ValueWrites()
        self._columns = StepColumnCache()
        self._slots: list[_Slot] = []
        self._specs: list[dict] = []
        self._end_s = 0.0
        self._in_redraw = False
        self._drawn_key: tuple | None = None
        self._legend_next = 0  # where the next live frame's legend updates begin
        self._legend_at = 0.0  # when they last changed (monotonic s)
        self._legend_for: list | None = None  # the slots the legend was made for
        self._note: str | None = None
        self._mode = VALUES
        self._time_link = None  # the plot (the lanes) whose time axis a time chart follows: setXLink
        self._lesson: tuple[str | None, dict | None] = (None, None)  # shown while there is no trace
        self._hidden = False  # hidden because the lesson has no chart
        self._kind_key: tuple | None = None  # (what it was asked for, ``Lesson.plot``'s answer)
        self._story_key: tuple | None = None  # (trace, version, live) the story was computed for
        self._story_at = 0.0
        self._chart_x: tuple | None = None  # the x range a chart was fitted to
        self._labels: tuple | None = None  # (bottom, left) axis labels shown
        item = self._setup_time_plot()
        view = item.getViewBox()
        self.curves = CurvesItem(DOT_SIZE, process_color)
        item.addItem(self.curves)
        self.story_layer = StoryLayer(item)
        self.legend = make_legend()
        place_legend_below(item, self.legend)
        self._setup_controls()
        view.sigXRangeChanged.connect(self._on_x_range)
        view.sigResized.connect(self._on_resized)
        follow_app_font(self)
        self.retranslate()
        self.redraw(None)

    # --- public API ------------------------------------------------------------------------
    def slot_count(self) -> int:
        return len(self._slots)

    def slot_items(self, k: int) -> dict:
        """The curves of slot k as drawn: ``actual``, ``ideal``, ``expected`` (``getData()``, ``opts["pen"]``)
        and ``dots`` (``getData()``, ``points()`` with each dot's ``brush()``) — see ``_curves``."""
        slot = self._slots[k]
        return {"actual": slot.actual, "ideal": slot.ideal, "expected": slot.expected, "dots": slot.dots}

    def legend_texts(self) -> list[str]:
        return [label.text for _sample, label in self.legend.items]

    def mode(self) -> str:
        """What the plot shows: ``"values"``, ``"story"`` (time, linked to the lanes) or ``"chart"`` (own x)."""
        return self._mode

    def title_text(self) -> str:
        return self._note or ""

    def axis_labels(self) -> tuple[str, str]:
        """(x axis label, y axis label) as shown."""
        item = self.getPlotItem()
        return item.getAxis("bottom").labelText, item.getAxis("left").labelText

    def story(self):
        """The ``app.core.story.Story`` drawn (story and chart modes), else None."""
        return self.story_layer.story if self._mode != VALUES else None

    def set_lesson(self, lesson_id: str | None, params: dict | None = None) -> None:
        """The lesson whose (empty) chart shows while no run is shown: its title, axes and x axis link."""
        self._lesson = (lesson_id, dict(params or {}))
        if self._trace is None:
            self._drawn_version = -1
            self._story_key = None
            self.refresh()

    def setXLink(self, view) -> None:  # noqa: N802 - pyqtgraph's name
        """Follow ``view``'s time axis (the lanes), except while a chart with its own x axis is shown."""
        self._time_link = view
        if self._mode != CHART:
            self.getPlotItem().setXLink(view)

    def retranslate(self) -> None:
        self._labels = None
        self._retranslate_controls()
        self._apply_texts()
        if self._mode == VALUES:
            self._rebuild_legend()
        else:
            self.story_layer.retranslate(installed_lesson_key())
            self._story_legend()

    def set_trace(self, trace: Trace | None) -> None:
        self._fit.reset()  # a new run: fit its values again
        self._chart_x = None
        super().set_trace(trace)

    def refresh(self) -> None:
        """A story computed from an older state of the trace (at most every ``STORY_EVERY_S`` during a run)
        is computed again once it is due, even when no new event comes (a run that ended, a hang)."""
        trace = self._trace
        if self._mode != VALUES and trace is not None and self._story_key != self._story_state(trace):
            self._drawn_version = -1
        super().refresh()

    def fit_view(self) -> None:
        """Values fitted again, time as the lanes frame it (or the whole run, unlinked; a chart: all of it)."""
        self._fit.reset()
        self._drawn_key = None
        self._chart_x = None
        master = self.master_plot()
        if master is not self:
            master.fit_view()
        elif self._trace is not None:
            self.redraw(self._trace)
        self._draw_curves()

    def _on_resized(self, *_args) -> None:
        self._legend_for = None  # the legend's columns follow the width
        if self._mode == VALUES:
            self._rebuild_legend()
        else:
            self._story_legend()
        fit_layout(self, self.legend)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if plot_alive(self):
            self._on_resized()  # a legend too wide for a narrower widget keeps the view box's width

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if plot_alive(self) and is_font_change(event):
            follow_app_font(self)  # the texts in the new size, the legend's columns for it
            self._on_resized()

    def _show_empty_note(self) -> None:
        """Say why the plot is empty, rather than show bare axes (a trace of a lesson without a chart)."""
        note = ""
        if self._trace is not None and not self._specs:
            note = self.tr("This lesson has no shared value to plot")
        self._set_title(note, "#666666")

    def _set_title(self, title: str, color: str = "#000000") -> None:
        if title != self._note:  # setTitle re-lays out the plot: only when the title changes
            self._note = title
            self.getPlotItem().setTitle(title or None, color=color, size="10pt")

    def _set_labels(self, bottom: str, left: str) -> None:
        if (bottom, left) != self._labels:
            self._labels = (bottom, left)
            item = self.getPlotItem()
            item.setLabel("bottom", bottom)
            item.setLabel("left", left)

    def _apply_texts(self) -> None:
        """Title and axis labels in the current language."""
        story = self.story()
        if self._mode == VALUES or story is None:
            self._set_labels(self.tr("time (s)"), self.tr("value"))
            if self._mode == VALUES:
                self._show_empty_note()
            else:
                self._set_title("")
            return
        lang = installed_lesson_key()
        self._set_labels(story.x_label.get(lang), story.y_label.get(lang))
        self._set_title(story.title.get(lang))

    # --- which chart: the lesson's -----------------------------------------------------------
    def _lesson_of(self, trace: Trace | None):
        """(lesson, params) of the trace, or of ``set_lesson`` without one; (None, None) if unknown."""
        from app.core.lessons import LESSONS

        if trace is not None:
            lesson_id, params = trace.meta.get("lesson"), trace.meta.get("params")
        else:
            lesson_id, params = self._lesson
        lesson = LESSONS.get(lesson_id) if isinstance(lesson_id, str) else None
        if lesson is None:
            return None, None
        if trace is None or not isinstance(params, dict):
            try:
                params = resolve(lesson.params, params if isinstance(params, dict) else {}, lesson.id)
            except Exception:  # noqa: BLE001 - a form being edited: the defaults tell the chart as well
                params = resolve(lesson.params, {}, lesson.id)
        return lesson, params

    def _kind(self, trace: Trace | None) -> str | None:
        """``Lesson.plot`` of the trace's lesson (asked once per trace: the plot redraws at every frame)."""
        key = (trace, trace.meta.get("lesson"), trace.meta.get("params")) if trace is not None else (
            None, *self._lesson)
        if self._kind_key is not None and all(a is b for a, b in zip(self._kind_key[0], key, strict=True)):
            return self._kind_key[1]
        kind = self._ask_kind(trace)
        self._kind_key = (key, kind)
        return kind

    def _ask_kind(self, trace: Trace | None) -> str | None:
        lesson, params = self._lesson_of(trace)
        if lesson is None:
            return VALUES
        try:
            return lesson.plot(params)
        except Exception:  # noqa: BLE001 - a hostile or old trace's parameters: show its values, if any
            _log.exception("lesson %s: plot() failed", lesson.id)
            return VALUES

    def _set_mode(self, kind: str | None) -> None:
        hide = kind is None
        if hide != self._hidden:  # a lesson without a chart: no plot at all (and back for the next lesson)
            self._hidden = hide
            self.setVisible(not hide)
        mode = kind if kind in (STORY, CHART) else VALUES
        if mode == self._mode:
            return
        self._mode = mode
        item = self.getPlotItem()
        if mode == VALUES:
            self.story_layer.set_story(None)
            self._story_key = None
        else:  # leave the value slots
            self._slots, self._specs = [], []
            self.curves.set_items([], [])
            self._writes.reset(None)
            self._columns.reset()
            self._legend_for = None
        self.legend.clear()
        item.getViewBox().setXLink(None if mode == CHART else self._time_link)
        self._chart_x = None
        item.getAxis("bottom").integer = mode == CHART
        self._fit.reset()
        self._labels = None
        self._apply_texts()

    # --- drawing a story ---------------------------------------------------------------------
    def _story_state(self, trace: Trace) -> tuple:
        live = trace.meta.get("status") in _LIVE_STATUSES and self._cursor_ns is None
        return id(trace), trace.version, live

    def _redraw_story(self, trace: Trace | None) -> None:
        state = self._story_state(trace) if trace is not None else (None, -1, False)
        due = (self._story_key is None or self._story_key[0] != state[0] or not state[2]
               or monotonic() - self._story_at >= STORY_EVERY_S)
        if state != self._story_key and due:
            self._story_key, self._story_at = state, monotonic()
            self._compute_story(trace)
        if trace is not None and self._mode == STORY:
            extent = self.story_layer.x_extent()  # unlinked: the whole story (linked: the lanes say)
            self._fit_time(trace, trace.t0_ns + int(extent[1] * 1e9) if extent else None)
        elif trace is None and self._mode == STORY and self._unlinked():
            self.getPlotItem().setXRange(0, 1, padding=0)
        self._draw_story()

    def _compute_story(self, trace: Trace | None) -> None:
        lesson, params = self._lesson_of(trace)
        story = None
        if lesson is not None:
            if trace is None:  # before any run: the lesson's chart with nothing in it yet
                trace = Trace({"lesson": lesson.id, "params": params, "start_method": "spawn", "t0_ns": 0})
            try:
                story = lesson.story(trace)
            except Exception:  # noqa: BLE001 - a trace the lesson cannot read: an empty chart, not a crash
                _log.exception("lesson %s: story() failed", lesson.id)
        layer = self.story_layer
        old = layer.story
        layer.set_story(story)
        layer.retranslate(installed_lesson_key())
        axis = self.getPlotItem().getAxis("left")
        integer = bool(story is not None and story.integer_y)
        if axis.integer != integer:
            axis.integer = integer
            axis.picture = None
            axis.update()
        if old is None or story is None or (old.title, old.y_label, old.x_label) != (
                story.title, story.y_label, story.x_label):
            self._apply_texts()
        self._story_legend()
        if self._mode == CHART:
            self._fit_chart_x()

    def _fit_chart_x(self) -> None:
        """A chart's own x axis: all its points, half a step of room each side (workers 1…n: 0.5…n + 0.5)."""
        extent = self.story_layer.x_extent() or (1.0, 2.0)
        if extent != self._chart_x:
            self._chart_x = extent
            self._in_redraw = True
            try:
                self.getPlotItem().setXRange(extent[0] - 0.5, extent[1] + 0.5, padding=0)
            finally:
                self._in_redraw = False

    def _draw_story(self) -> None:
        view = self.getPlotItem().getViewBox()
        (x0, x1), _y = view.viewRange()
        trace = self._trace
        clip = now = None
        if trace is not None and self._mode == STORY:
            if self._cursor_ns is not None:
                clip = trace.seconds(self._cursor_ns)
            elif trace.meta.get("status") in _LIVE_STATUSES and "end_ns" not in trace.meta:
                now = trace.seconds(perf_counter_ns())  # the workers' clock: a count holds until now
        low, high = self.story_layer.draw(x0, x1, curve_points(view.width()), clip, now, view.height())
        self._fit.fit(low, high)

    def _story_legend(self) -> None:
        entries = self.story_layer.legend_entries(installed_lesson_key())
        columns, limit = legend_grid([text for _item, text in entries], legend_room(self))
        entries = capped_entries(entries, lambda n: self.tr("… and {n} more values").format(n=n), limit)
        sync_legend(self.legend, entries, min(columns, max(len(entries), 1)))

    # --- drawing ---------------------------------------------------------------------------
    def redraw(self, trace: Trace | None) -> None:
        self._set_mode(self._kind(trace))
        if self._mode != VALUES:
            self._redraw_story(trace)
            return
        item = self.getPlotItem()
        specs = list(trace.meta.get("value_slots") or []) if trace is not None else []
        if specs != self._specs or trace is None or trace is not self._writes.trace:
            self._slots = [_Slot(k, spec) for k, spec in enumerate(specs)]
            self.curves.set_items([c for s in self._slots for c in (s.ideal, s.expected, s.actual)],
                                  [s.dots for s in self._slots])
            self._specs = specs
            self._writes.reset(trace)
            self._columns.reset()
            self._drawn_key = None
            self._legend_next = 0
        if trace is None:
            self._end_s = 0.0
            self._rebuild_legend()
            self._show_empty_note()
            if self._unlinked():
                item.setXRange(0, 1, padding=0)
            return
        self._writes.update(trace)
        self._fit_time(trace, self._writes.latest_ns)
        self._draw_curves()
        live = trace.meta.get("status") in _LIVE_STATUSES and self._cursor_ns is None
        self._rebuild_legend(live)
        self._show_empty_note()

    def _series(self, k: int):
        """Times (s), values and writers of slot k up to the cursor."""
        trace = self._trace
        series = self._writes.series.get(k)
        if series is None or trace is None:
            return np.empty(0), np.empty(0), np.empty(0, dtype=np.int64)
        x = series.seconds()
        if self._cursor_ns is not None:
            x = x[: int(np.searchsorted(series.times(), self._cursor_ns, side="right"))]
        n = len(x)
        return x, series.column(0)[:n], series.column(1)[:n]

    def _draw_curves(self) -> None:
        if self._mode != VALUES:
            self._draw_story()
            return
        if self._trace is None or not self._slots:
            return  # no value to draw (and nothing to repaint at every frame of a run)
        view = self.getPlotItem().getViewBox()
        (x0, x1), _y = view.viewRange()
        # what the curves show: a new write, or "now" (where the last values end) a pixel further on
        end_px = round(self._end_s * view.width() / max(x1 - x0, 1e-12))
        key = (x0, x1, end_px, self._cursor_ns, self._writes.kept, view.width(), len(self._slots))
        if key == self._drawn_key:
            return  # nothing this plot shows has changed (the lanes' states moved on: not our business)
        self._drawn_key = key
        series = [self._series(k) for k in range(len(self._slots))]
        spans = [_span(x, x0, x1) for x, _v, _w in series]
        visible = sum(stop - first for first, stop in spans)
        dotted = visible <= MAX_DOTS
        points = curve_points(view.width())
        grid = ColumnGrid(x0, x1, view.width()) if visible > COLUMNS_FROM else None
        lows, highs = [], []
        columns = []  # (curve, (x, y, x_start, y_start, x_end)) of the curves drawn as pixel columns
        for slot, (x, v, _writers) in zip(self._slots, series, strict=True):
            initial = slot.spec.get("initial")
            start = 0.0 if initial is not None else None
            curves = [(slot.actual, v)]
            if slot.has_ideal():
                curves.append((slot.ideal, slot.ideal_values(len(x))))
            for curve, y in curves:
                if grid is not None:
                    columns.append((curve, (x, y, start, initial, self._end_s)))
                    continue
                shown = _show(curve, *visible_steps(x, y, start, initial, self._end_s, x0, x1, points))
                if len(shown):
                    lows.append(float(shown.min()))
                    highs.append(float(shown.max()))
            if slot.has_expected():
                expected = float(slot.spec["expected"])
                _show(slot.expected, np.array([0.0, max(self._end_s, 1e-3)]), np.array([expected, expected]))
                lows.append(expected)
                highs.append(expected)
        changed_ns = self._writes.take_changed()
        if grid is None:
            self._columns.reset()  # the changes just taken are not in its columns: start again next time
        if columns:
            changed = None if changed_ns is None else self._trace.seconds(changed_ns)
            names = (id(self._trace), id(self._slots), self._cursor_ns)
            low, high = self._columns.columns(names, [c for _curve, c in columns], grid, changed, self._end_s)
            self.curves.columns_changed(self._columns.redone_from)
            boxes = column_bounds(grid, low, high)
            for k, (curve, _c) in enumerate(columns):
                curve.set_columns(grid, low[k], high[k], boxes[k])
            shown = [box for box in boxes if box is not None]
            if shown:
                lows.append(min(box[2] for box in shown))
                highs.append(max(box[3] for box in shown))
        for slot, (x, v, writers), (first, stop) in zip(self._slots, series, spans, strict=True):
            if not (dotted and stop > first):
                first = stop = 0
            key = (first, stop, len(x) if stop else 0)  # no dots: nothing to hand over at every new write
            if key != slot.dots_key:
                slot.dots_key = key
                slot.dots.set_points(x[first:stop], v[first:stop], writers[first:stop].astype(np.int64), process_brush)
        self.curves.changed()
        self._fit.fit(min(lows, default=None), max(highs, default=None))

    def _on_x_range(self, *_args) -> None:
        trace = self._trace
        if self._in_redraw or (trace is not None and trace.version != self._drawn_version):
            return  # new data is on its way: the refresh that brings it draws (once, not twice)
        self._draw_curves()  # clip-to-view and decimation follow the visible range

    def _rebuild_legend(self, live: bool = False) -> None:
        """The legend's entries and texts (during a live run: a few changed texts now, the others later)."""
        if live and self._legend_for is self._slots and monotonic() - self._legend_at < LEGEND_LIVE[1]:
            return  # not yet the time for the next few texts: nothing to compute either
        self._legend_for = self._slots
        entries = []
        lang = installed_lesson_key()
        for k, slot in enumerate(self._slots):
            label = slot.spec.get("label")
            name = label.get(lang) if isinstance(label, dict) else None
            name = str(name or slot.spec.get("name") or self.tr("value {n}").format(n=k))
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
        columns, limit = legend_grid([text for _item, text in entries], legend_room(self))
        entries = capped_entries(entries, lambda n: self.tr("… and {n} more values").format(n=n), limit)
        columns = min(columns, max(len(entries), 1))
        if self.legend.columnCount != columns:
            self.legend.setColumnCount(columns)
        self.legend.setVisible(bool(entries))
        same_items = len(self.legend.items) == len(entries) and all(
            sample.item is item for (sample, _label), (item, _text) in zip(self.legend.items, entries, strict=True))
        if same_items:  # only texts changed ("now 7"): a new legend entry costs ~10 ms, a new text ~0.3 ms
            changed = [(label, text) for (_sample, label), (_item, text) in zip(self.legend.items, entries,
                                                                                 strict=True) if label.text != text]
            at_most, every_s = LEGEND_LIVE
            if live and changed:
                if monotonic() - self._legend_at < every_s:
                    return
                self._legend_at = monotonic()
                if len(changed) > at_most:  # round robin: every label gets its turn
                    start = self._legend_next % len(changed)
                    changed = (changed[start:] + changed[:start])[:at_most]
                    self._legend_next += at_most
            for label, text in changed:
                label.setText(text)
            return
        self.legend.clear()
        for item, label in entries:
            self.legend.addItem(item, label)
        self.legend.layout.activate()  # its new size, and its place under the plot, now: not after a paint
        self.getPlotItem().layout.activate()


def _span(x: np.ndarray, x0: float, x1: float) -> tuple[int, int]:
    """The writes inside [x0, x1]; a live view usually holds all of a slot's (no search then)."""
    n = len(x)
    if not n:
        return 0, 0
    first = 0 if x[0] >= x0 else int(np.searchsorted(x, x0, side="left"))
    stop = n if x[-1] <= x1 else int(np.searchsorted(x, x1, side="right"))
    return first, stop


def _show(curve: CurveData, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    curve.set_points(x, y)
    return y


def _fmt(value) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.6g}"
