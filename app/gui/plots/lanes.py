"""Activity lanes: one lane per process, its states over time in their colours.

Every segment of every lane is drawn by one graphics item (``SegmentsItem``):
exact ``drawRects`` per colour when few are visible, a per-pixel level of
detail when many are. Lane intervals are folded incrementally from the trace
(``LaneStore``), so a frame of a live 1M-record run costs the new records,
not the whole trace. During a run the view follows the live edge until the
user zooms or pans; ``follow_live(True)`` brings it back, ``followChanged``
tells the window.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Signal
from PySide6.QtGui import QAction

from app.core import events as ev
from app.core.folds import LaneStore
from app.core.names import display_names
from app.core.trace import Trace
from app.gui.colors import state_color, state_outline, state_pattern_brush
from app.gui.plots._controls import PlotControls
from app.gui.plots._segments import LANE_HEIGHT, SegmentsItem
from app.gui.plots._style import (
    BACKGROUND,
    Swatch,
    axis_items,
    fit_layout,
    follow_app_font,
    is_font_change,
    legend_grid,
    legend_room,
    make_legend,
    place_legend_below,
    plot_alive,
    style_plot,
)
from app.gui.state_names import state_texts
from app.gui.view import TraceViewMixin

LIVE_WINDOW_S = 30.0  # a live run longer than this shows its last 30 s (shorter: the whole run)
MAX_STEP_NUMBERS = 40  # more steps taken than this: their marks without numbers (they would overlap)
NICE_STEPS = (1.0, 1.5, 2.0, 3.0, 5.0, 7.5)  # a live view shorter than LIVE_WINDOW_S widens in these steps
LIVE_MARGIN = 0.02  # room right of the live edge, as a fraction of the shown time
MAX_TASK_LABELS = 200  # label pool tasks only when fewer task segments than this are visible
MIN_TASK_LABEL_PX = 44  # a task segment narrower than this (pixels) gets no label
LABEL_GAP = 1.15  # a lane label needs this × its font's height: closer labels are thinned (every k-th)
FOLD_FROM = 0.2  # a finished run whose first work starts after this share of it is framed from that work
FOLD_MARGIN = 0.04  # room left of the first work, as a share of the framed time
LEGEND_STATES = ("starting", "working", "waiting", "holding", "blocked", "sleeping", "idle", "crashed")
DEADLOCK_RED = "#C00000"
_LIVE_STATUSES = ev.LIVE_STATUSES


def nice_span(seconds: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 5, 7.5 × 10^k that is at least ``seconds``."""
    decade = 10.0 ** math.floor(math.log10(seconds))
    for step in NICE_STEPS:
        if step * decade >= seconds * (1 - 1e-12):
            return step * decade
    return 10.0 * decade


class ActivityPlot(PlotControls, pg.PlotWidget, TraceViewMixin):
    """Lanes of every process of a run; ``objectName`` ``activityPlot``.

    When a run has ended the view frames its work: if start-up (the grey lanes)
    takes more than ``FOLD_FROM`` of the run, the view begins just before the
    first worker's work and a note at the left edge says what is left out.
    ``wholeRunAction`` (checkable, objectName ``wholeRunAction``; the window can
    put it in its View menu) shows the whole run instead; ``fitAction`` goes
    back to the framed (or live) view.
    """

    followChanged = Signal(bool)  # noqa: N815 - Qt naming: True while the view follows the live edge
    exportRequested = Signal()  # noqa: N815 - Qt naming: the context menu's "Export…"

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent=parent, background=BACKGROUND, axisItems=axis_items())
        self.setObjectName("activityPlot")
        self.live_window_s = LIVE_WINDOW_S
        self._store = LaneStore()
        self._following = True
        self._setting_range = False
        self._order: list[int] = []
        self._labels: list[str] = []
        self._tips: list[str] = []  # per lane: its label and, when the display name differs, the real name
        self._lane_data: dict[int, np.ndarray] = {}  # index -> intervals (4, n) as drawn
        self._crashes: list[tuple[float, int, int | None]] = []  # (x, row, exit code)
        self._deadlock: list[dict] = []
        self._deadlock_found: dict | None = None
        self._texts_seen = -1
        self._processes_seen = -1
        self._title: str | None = None
        self._label_step = 1
        self._startup_s: float | None = None  # the start-up left out of the framed view (None: nothing)
        self._bottom_text = ""

        item = self.getPlotItem()
        style_plot(self)
        view = item.getViewBox()
        view.invertY(True)
        view.setMouseEnabled(x=True, y=False)
        view.enableAutoRange(x=False, y=False)
        view.setDefaultPadding(0.0)
        item.getAxis("left").setStyle(tickLength=0)
        item.getAxis("bottom").enableAutoSIPrefix(False)
        item.showGrid(x=False, y=False)
        item.setYRange(-0.5, 0.5, padding=0)
        item.setXRange(0, 1, padding=0)

        self.segments = SegmentsItem()
        item.addItem(self.segments)
        self._crash_marks = pg.ScatterPlotItem(symbol="x", size=16, pen=pg.mkPen("#000000", width=2.5),
                                               brush=pg.mkBrush("#000000"))
        item.addItem(self._crash_marks, ignoreBounds=True)
        self._crash_texts: list[pg.TextItem] = []
        # step mode: each step taken, a small triangle on the top edge of its lane with the step's number
        self._step_marks = pg.ScatterPlotItem(symbol="t", size=9, pen=pg.mkPen("#000000"),
                                              brush=pg.mkBrush("#FFFFFF"))
        self._step_marks.setZValue(20)
        item.addItem(self._step_marks, ignoreBounds=True)
        self._step_texts: list[pg.TextItem] = []
        self._steps: list[tuple[int, int, int]] = []  # (t_ns, lane index, step number) of the steps taken
        self._steps_shown: list | None = None  # (x, y, step) of the step marks shown
        self._deadlock_outline = QtWidgets.QGraphicsPathItem()
        pen = QtGui.QPen(QtGui.QColor(DEADLOCK_RED), 3)
        pen.setCosmetic(True)
        self._deadlock_outline.setPen(pen)
        item.addItem(self._deadlock_outline, ignoreBounds=True)
        self._deadlock_texts: list[pg.TextItem] = []
        self._task_texts: list[pg.TextItem] = []
        self._notes: dict[int, str] = {}  # lane index -> what it is about to do (step mode), at its live edge
        self._note_texts: list[pg.TextItem] = []
        self._cursor_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(DEADLOCK_RED, width=2))
        self._cursor_line.setVisible(False)
        item.addItem(self._cursor_line, ignoreBounds=True)
        self._setup_controls()
        self.wholeRunAction = QAction(self)
        self.wholeRunAction.setObjectName("wholeRunAction")
        self.wholeRunAction.setCheckable(True)
        self.wholeRunAction.toggled.connect(lambda _on: self.follow_live(True))

        self.legend = make_legend(colCount=4)
        for name in LEGEND_STATES:
            code = ev.STATE_NAMES.index(name)
            swatch = Swatch("#000000", marker="x") if name == "crashed" else Swatch(
                state_color(code), pattern=state_pattern_brush(code), outline=state_outline(code))
            self.legend.addItem(swatch, name)
        place_legend_below(item, self.legend)

        view.sigXRangeChanged.connect(self._on_x_range)
        view.sigResized.connect(self._fit_lane_labels)
        view.sigResized.connect(self._fit_legend)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        follow_app_font(self)
        self.retranslate()
        self.redraw(None)

    # --- public API ------------------------------------------------------------------------
    def lane_count(self) -> int:
        return len(self._order)

    def lane_order(self) -> list[int]:
        """Process indexes, top lane first."""
        return list(self._order)

    def lane_labels(self) -> list[str]:
        """The y-axis label of each lane, top first: ``display name (pid)`` (``app.core.names``)."""
        return list(self._labels)

    def lane_tooltip(self, row: int) -> str:
        """What the tooltip over lane ``row`` says: its label, and the process's real name if it differs."""
        return self._tips[row] if 0 <= row < len(self._tips) else ""

    def lane_intervals(self, index: int) -> np.ndarray:
        """``(n, 4)`` start_ns, end_ns, state, detail of a lane as last drawn (before the cursor clip)."""
        data = self._lane_data.get(index)
        return np.empty((0, 4), dtype=np.int64) if data is None else data.T.copy()

    def crash_markers(self) -> list[tuple[float, int, int | None]]:
        """(x seconds, lane row, exit code) of every crash marker shown."""
        return list(self._crashes)

    def deadlock_marks(self) -> list[dict]:
        """The highlighted deadlock: per lane of the cycle its row, lock, holder and text."""
        return [dict(mark) for mark in self._deadlock]

    def task_labels(self) -> list[str]:
        """The pool-task labels shown now (``task N``)."""
        return [t.toPlainText() for t in self._task_texts if t.isVisible()]

    def shown_lane_labels(self) -> list[tuple[int, str]]:
        """(row, text) of the lane labels on the axis: every ``k``-th when all would not be readable."""
        return [(row, self._labels[row]) for row in range(0, len(self._labels), self._label_step)]

    def startup_folded(self) -> float | None:
        """The seconds of start-up the framed view leaves out, or None."""
        return self._startup_s

    def set_lane_notes(self, notes: dict[int, str]) -> None:
        """A short text at the live edge of lanes (step mode: what a held worker is about to do)."""
        if notes != self._notes:
            self._notes = dict(notes)
            self._update_notes()

    def lane_notes(self) -> dict[int, str]:
        """The lane notes shown, by lane index."""
        return dict(self._notes)

    def fit_view(self) -> None:
        """The live edge during a run, the framed (or whole) run after it."""
        self.follow_live(True)

    def is_following(self) -> bool:
        return self._following

    def follow_live(self, follow: bool = True) -> None:
        """Follow the live edge again (True) or stay where the user looks (False)."""
        self._set_following(follow)
        if follow:
            self._apply_follow()

    def retranslate(self) -> None:
        item = self.getPlotItem()
        item.getAxis("left").showLabel(False)  # the lane labels name the processes; keep their room
        self._retranslate_controls()
        self.wholeRunAction.setText(self.tr("Whole run"))
        self.wholeRunAction.setToolTip(self.tr("Show the whole run, start-up included"))
        self._update_startup_note()
        texts = self._state_texts()
        for (_sample, label), name in zip(self.legend.items, LEGEND_STATES, strict=True):
            label.setText(texts[name])
        self._fit_legend()
        if self._trace is not None:
            self._update_markers(self._trace)
            self._update_deadlock(self._trace)
            self._update_task_labels()

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if plot_alive(self) and is_font_change(event):
            follow_app_font(self)
            self._label_step = 0  # the labels' room and thinning follow the new size
            self._fit_lane_labels()
            self._fit_legend()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if plot_alive(self):
            self._fit_legend()  # here too: a legend too wide for a narrower widget keeps the view box's width
            self._fit_title()
            self._update_startup_note()

    def _fit_legend(self, *_args) -> None:
        """The states' legend in as many rows as the plot's width needs: every state always shown, never
        wider than the data (a narrow window, 200 % scaling, long names)."""
        texts = [label.text for _sample, label in self.legend.items]
        columns, _most = legend_grid(texts, legend_room(self), rows=None)
        if columns != self.legend.columnCount:
            self.legend.setColumnCount(columns)
        fit_layout(self, self.legend)

    # --- drawing ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """A live run's lanes grow with the clock, so they redraw every frame, events or not."""
        trace = self._trace
        if trace is not None and trace.meta.get("status") == ev.RunStatus.RUNNING:
            self._drawn_version = -1
        super().refresh()

    def redraw(self, trace: Trace | None) -> None:
        if trace is None:
            self._store.reset(None)
            self._order, self._labels, self._tips, self._lane_data = [], [], [], {}
            self._texts_seen = self._processes_seen = -1
            self.segments.set_lanes([], 0, 0)
            self._set_ticks()
            self._crashes, self._deadlock, self._deadlock_found = [], [], None
            self._crash_marks.setData([], [])
            self._crash_marks.setVisible(False)
            self._steps = []
            self._steps_shown = []
            self._step_marks.setData([], [])
            self._step_marks.setVisible(False)
            self._show_texts(self._step_texts, [])
            self._show_texts(self._crash_texts, [])
            self._deadlock_outline.setPath(QtGui.QPainterPath())
            self._deadlock_outline.setVisible(False)
            self._show_texts(self._deadlock_texts, [])
            self._show_texts(self._task_texts, [])
            self._show_texts(self._note_texts, [])
            self._cursor_line.setVisible(False)
            self._set_title(None)
            self._set_range(0.0, 1.0)
            return
        if trace is not self._store.trace:
            self._texts_seen = self._processes_seen = -1
            self._deadlock_found = None
        self._store.update(trace)
        order = self._start_order()
        if order != self._order or self._store.processes_version != self._processes_seen:
            self._order = order
            self._processes_seen = self._store.processes_version
            self._set_ticks()
        end_ns = self._store.end_ns()
        rows = {index: row for row, index in enumerate(self._order)}
        self._lane_data = {index: self._store.lanes[index].intervals(end_ns)
                           for index in self._order if index in self._store.lanes}
        self.segments.set_lanes([(rows[i], iv) for i, iv in self._lane_data.items()], trace.t0_ns,
                                len(self._order), self._cursor_ns,
                                (id(trace), self._store.generation, tuple(self._order)))
        self._update_markers(trace)
        texts_now = len(trace.texts)
        if texts_now != self._texts_seen:  # only the new texts: prints can be many
            if self._texts_seen < 0:
                self._steps = []
            new_texts = trace.texts[max(self._texts_seen, 0):texts_now]
            # only the parent's results and steps are read here: decoding every print of a long replay costs seconds
            for t_ns, index, kind, payload in new_texts.select((ev.RESULT, ev.STEP), ev.PARENT_INDEX):
                if (index == ev.PARENT_INDEX and kind == ev.RESULT and isinstance(payload, dict)
                        and isinstance(payload.get("deadlock"), dict) and self._deadlock_found is None):
                    self._deadlock_found = payload["deadlock"]
                elif (index == ev.PARENT_INDEX and kind == ev.STEP and isinstance(payload, dict)
                      and isinstance(payload.get("index"), int) and isinstance(payload.get("step"), int)):
                    self._steps.append((t_ns, payload["index"], payload["step"]))
            self._texts_seen = texts_now
        self._update_step_marks(trace)
        self._update_deadlock(trace)
        if self._cursor_ns is None:
            self._cursor_line.setVisible(False)
        else:
            self._cursor_line.setValue(trace.seconds(self._cursor_ns))
            self._cursor_line.setVisible(True)
        if self.getPlotItem().getViewBox().viewRange()[1] != [-0.5, max(len(self._order), 1) - 0.5]:
            self.getPlotItem().setYRange(-0.5, max(len(self._order), 1) - 0.5, padding=0)
        if self._following:
            self._apply_follow()
        self._update_task_labels()
        self._update_notes()

    def _update_step_marks(self, trace: Trace) -> None:
        """The steps taken (step mode, or a replayed stepped run): where each worker was let through."""
        rows = {index: row for row, index in enumerate(self._order)}
        shown = [(trace.seconds(t_ns), rows[index] - LANE_HEIGHT / 2, step) for t_ns, index, step in self._steps
                 if index in rows and (self._cursor_ns is None or t_ns <= self._cursor_ns)]
        if shown == self._steps_shown:
            return  # a live frame without a new step: nothing to hand pyqtgraph
        self._steps_shown = shown
        self._step_marks.setData([x for x, _y, _n in shown], [y for _x, y, _n in shown])
        self._step_marks.setVisible(bool(shown))  # an empty scatter item still costs a paint at every frame
        # the number just right of its mark, inside the lane's top (above it, the first lane's would be cut)
        numbers = [(str(n), x, y, (-0.1, 0)) for x, y, n in shown] if len(shown) <= MAX_STEP_NUMBERS else []
        self._show_texts(self._step_texts, numbers, anchor=(-0.1, 0), fill="#FFFFFFC0")

    def _update_notes(self) -> None:
        """Each note ends at its lane's live edge (kept inside the view), on a white ground."""
        if self._trace is None or not self._notes:
            self._show_texts(self._note_texts, [])
            return
        (_v0, v1), _y = self.getPlotItem().getViewBox().viewRange()
        edge = min(self._trace.seconds(self._store.end_ns()), v1)
        rows = {index: row for row, index in enumerate(self._order)}
        texts = [(text, edge, rows[i], (1, 0.5)) for i, text in self._notes.items() if i in rows]
        self._show_texts(self._note_texts, texts, anchor=(1, 0.5), fill="#FFFFFFE0", bold=True)

    def _start_order(self) -> list[int]:
        """Lane indexes in the order their processes were started (asked for, else first seen); lanes
        not known yet after them, by index. A pool's workers already take their indexes as they start."""
        procs = self._store.processes

        def start(index: int) -> tuple:
            info = procs.get(index)
            when = None if info is None else (info.requested_ns if info.requested_ns is not None else info.first_ns)
            return (0, when, index) if when is not None else (1, 0, index)

        return sorted(self._store.order(), key=start)

    def _set_ticks(self) -> None:
        procs = self._store.processes
        names = display_names(list(procs.values()))
        labels, tips = [], []
        for index in self._order:
            info = procs.get(index)
            name = names.get(index) if info is not None and info.name else None
            name = name or self.tr("process {n}").format(n=index)
            label = f"{name} ({info.pid})" if info is not None and info.pid else name
            labels.append(label)
            real = info.name if info is not None else ""
            tips.append(label if not real or real == name else self.tr("{label} · real name: {name}").format(
                label=label, name=real))
        self._labels, self._tips = labels, tips
        self._label_step = 0  # lay the ticks out again
        self._fit_lane_labels()

    def _fit_lane_labels(self, *_args) -> None:
        """Lane labels in the application's font (it follows the screen's scaling), every k-th of them
        when a lane is lower than a label (64 lanes on a projector): the others are in the tooltip."""
        axis = self.getPlotItem().getAxis("left")
        font = QtGui.QFont(QtWidgets.QApplication.font())
        metrics = QtGui.QFontMetrics(font)
        lane_px = self.getPlotItem().getViewBox().height() / max(len(self._labels), 1)
        step = max(1, math.ceil(metrics.height() * LABEL_GAP / lane_px)) if lane_px > 0 else 1
        if step != self._label_step:
            self._label_step = step
            axis.setTicks([[(row, text) for row, text in self.shown_lane_labels()], []])
        # size the axis for its labels now: pyqtgraph would only widen it after a first paint,
        # so a first grab() or export would lose the labels
        width = max((metrics.horizontalAdvance(label) for label in self._labels), default=0) + 6
        if font != axis.style.get("tickFont") or width != axis.style.get("tickTextWidth"):
            axis.setStyle(autoExpandTextSpace=False, tickTextWidth=width, tickFont=font)

    def _on_mouse_moved(self, pos) -> None:
        """Over the lanes or their labels: the lane's full label as the tooltip (labels may be thinned)."""
        item = self.getPlotItem()
        view = item.getViewBox()
        axis = item.getAxis("left")
        tip = ""
        over_axis = axis.sceneBoundingRect().contains(pos)
        if self._labels and (over_axis or view.sceneBoundingRect().contains(pos)):
            row = round(view.mapSceneToView(pos).y())
            if 0 <= row < len(self._labels):
                tip = self.lane_tooltip(row)
        if tip != self.toolTip():
            self.setToolTip(tip)

    def _update_markers(self, trace: Trace) -> None:
        rows = {index: row for row, index in enumerate(self._order)}
        crashes = []
        for index, info in self._store.processes.items():
            if info.ended != "crashed" or info.exit_ns is None or index not in rows:
                continue
            if self._cursor_ns is not None and info.exit_ns > self._cursor_ns:
                continue
            crashes.append((trace.seconds(info.exit_ns), rows[index], info.exitcode))
        if crashes != self._crashes:
            self._crash_marks.setData([c[0] for c in crashes], [c[1] for c in crashes])
            self._crash_marks.setVisible(bool(crashes))  # an empty scatter item still costs a paint
        self._crashes = crashes
        texts = []
        (x0, x1), _y = self.getPlotItem().getViewBox().viewRange()
        for x, row, code in crashes:
            text = (self.tr("crashed, exit code {code}").format(code=code) if code is not None
                    else self.tr("crashed, exit code unknown"))
            # right of the marker, or left of it near the right edge (where a fresh crash is)
            texts.append((text, x, row, (1.08, 0.5) if x > x0 + 0.7 * (x1 - x0) else (-0.08, 0.5)))
        self._show_texts(self._crash_texts, texts, color="#000000", fill=(255, 255, 255, 200))

    def _update_deadlock(self, trace: Trace) -> None:
        found = self._deadlock_found
        marks = []
        path = QtGui.QPainterPath()
        if found and (self._cursor_ns is None or found.get("detected_ns", 0) <= self._cursor_ns):
            cycle, locks = list(found.get("cycle", [])), list(found.get("locks", []))
            rows = {index: row for row, index in enumerate(self._order)}
            names = display_names(list(self._store.processes.values()))
            detected = found.get("detected_ns")
            for k, (index, lock) in enumerate(zip(cycle, locks, strict=False)):
                iv = self._lane_data.get(index)
                if iv is None or index not in rows:
                    continue
                waits = np.flatnonzero((iv[2] == ev.WAITING) & ((iv[0] <= detected) if detected else True))
                if not len(waits):
                    continue
                start, end = int(iv[0, waits[-1]]), int(iv[1, waits[-1]])
                if self._cursor_ns is not None:
                    end = min(end, self._cursor_ns)
                x0, x1 = trace.seconds(start), trace.seconds(max(end, start))
                row = rows[index]
                half = LANE_HEIGHT / 2 + 0.06
                path.addRect(QtCore.QRectF(x0, row - half, max(x1 - x0, 0.0), 2 * half))
                holder = cycle[(k + 1) % len(cycle)]
                text = self.tr("waits for lock {lock}, held by {holder}").format(lock=lock,
                                                                                 holder=names.get(holder, holder))
                marks.append({"index": index, "row": row, "lock": lock, "holder": holder, "x0": x0, "x1": x1,
                              "text": text})
        if not marks and not self._deadlock and not self._deadlock_outline.isVisible():
            self._set_title(None)
            return  # no deadlock before either: nothing to take down (a new empty path costs a repaint)
        self._deadlock = marks
        self._deadlock_outline.setPath(path)
        self._deadlock_outline.setVisible(bool(marks))  # an empty path would be invalid SVG in an export
        self._show_texts(self._deadlock_texts, self._deadlock_places(marks),
                         color=DEADLOCK_RED, anchor=(0, 0.5), fill=(255, 255, 255, 225), bold=True)
        self._set_title(self.tr("Deadlock: each process waits for a lock that the next one holds") if marks else None)

    def _deadlock_places(self, marks: list[dict]) -> list[tuple]:
        """Each deadlock text on its lane's waiting segment: from where the wait begins (or the view's left
        edge), or ending at the wait's end when the view has no room right of its beginning."""
        view = self.getPlotItem().getViewBox()
        (v0, v1), _y = view.viewRange()
        pixel = view.viewPixelSize()[0] or 0.0
        metrics = QtGui.QFontMetrics(self._deadlock_font())
        places = []
        for m in marks:
            start = max(m["x0"], v0)
            width = (metrics.horizontalAdvance(m["text"]) + 12) * pixel  # the text's width, in seconds
            if start + width > v1:  # no room right of where the wait begins: end where the wait ends
                places.append((m["text"], min(m["x1"], v1), m["row"], (1, 0.5)))
            else:
                places.append((m["text"], start, m["row"], (0, 0.5)))
        return places

    def _deadlock_font(self) -> QtGui.QFont:
        font = self._deadlock_texts[0].textItem.font() if self._deadlock_texts else QtGui.QFont(
            QtWidgets.QApplication.font())
        font.setBold(True)
        return font

    def _set_title(self, title: str | None) -> None:
        if title != self._title:
            self._title = title
            self.getPlotItem().setTitle(title, color=DEADLOCK_RED, bold=True)
            self._fit_title()

    def _fit_title(self) -> None:
        """The title wraps at word boundaries to the data's width: pyqtgraph would make the plot as wide as
        the title's one line, pushing the end of the run out of the widget (a narrow or scaled window)."""
        label = self.getPlotItem().titleLabel
        if not self._title or not label.isVisible():
            return
        axis = self.getPlotItem().getAxis("left")
        room = max(120.0, self.viewport().width() - axis.width() - 16)
        label.item.setTextWidth(room)
        height = label.itemRect().height()
        label.setMinimumWidth(0)
        label.setMinimumHeight(height)
        label._sizeHint[QtCore.Qt.SizeHint.MinimumSize] = (0, height)  # pyqtgraph's own hint: its text's width
        label._sizeHint[QtCore.Qt.SizeHint.PreferredSize] = (0, height)
        label.updateGeometry()

    def _update_task_labels(self) -> None:
        """Label pool tasks on their segments when few enough are visible and wide enough."""
        trace = self._trace
        view = self.getPlotItem().getViewBox()
        texts = []
        if trace is not None and self._order:
            (x0, x1), _y = view.viewRange()
            pixel = view.viewPixelSize()[0] or 1.0
            if self._cursor_ns is not None:
                x1 = min(x1, trace.seconds(self._cursor_ns))
            rows = {index: row for row, index in enumerate(self._order)}
            candidates = []
            for index in self._order:
                info = self._store.processes.get(index)
                iv = self._lane_data.get(index)
                if iv is None or info is None or info.role != "pool" or not iv.shape[1]:
                    continue
                a_ns = trace.t0_ns + int(x0 * 1e9)
                b_ns = trace.t0_ns + int(x1 * 1e9)
                first = int(np.searchsorted(iv[1], a_ns, side="right"))
                stop = int(np.searchsorted(iv[0], b_ns, side="left"))
                part = iv[:, first:stop]
                tasks = np.flatnonzero((part[2] == ev.WORKING) & (part[3] > 0))
                candidates.append((rows[index], part[:, tasks]))
                if sum(c[1].shape[1] for c in candidates) >= MAX_TASK_LABELS:
                    candidates = []
                    break
            for row, part in candidates:
                start = np.maximum((part[0] - trace.t0_ns) / 1e9, x0)
                end = np.minimum((part[1] - trace.t0_ns) / 1e9, x1)
                for s, e, task in zip(start.tolist(), end.tolist(), part[3].tolist(), strict=True):
                    if (e - s) / pixel >= MIN_TASK_LABEL_PX:
                        texts.append((self.tr("task {n}").format(n=task - 1), s, row))
        self._show_texts(self._task_texts, texts, color="#FFFFFF", anchor=(0, 0.5))

    def _show_texts(self, pool: list[pg.TextItem], texts: list[tuple], color: str = "#000000",
                    anchor=(0, 0.5), fill=None, bold: bool = False) -> None:
        """Reuse a pool of text items: as many shown as ``texts`` ((text, x, y[, anchor])), the rest hidden."""
        item = self.getPlotItem()
        while len(pool) < len(texts):
            text_item = pg.TextItem(color=color, anchor=anchor, fill=pg.mkBrush(fill) if fill else None)
            if bold:
                font = text_item.textItem.font()
                font.setBold(True)
                text_item.setFont(font)
            item.addItem(text_item, ignoreBounds=True)
            pool.append(text_item)
        for text_item, (text, x, y, *where) in zip(pool, texts, strict=False):
            if text_item.toPlainText() != text:
                text_item.setText(text)
            if where and tuple(text_item.anchor) != tuple(where[0]):
                text_item.setAnchor(where[0])
            text_item.setPos(x, y)
            text_item.setVisible(True)
        for text_item in pool[len(texts):]:
            text_item.setVisible(False)

    # --- following the live edge --------------------------------------------------------------
    def _set_following(self, follow: bool) -> None:
        if follow != self._following:
            self._following = follow
            self.followChanged.emit(follow)

    def _apply_follow(self) -> None:
        trace = self._trace
        if trace is None:
            self._set_range(0.0, 1.0)
            return
        edge_ns = self._cursor_ns if self._cursor_ns is not None else self._store.end_ns()
        edge = max(trace.seconds(edge_ns), 0.0)
        live = trace.meta.get("status") in _LIVE_STATUSES
        if edge <= 0.0:
            self._set_range(0.0, 1.0)
            return
        if not live:
            start = 0.0 if self.wholeRunAction.isChecked() else self._first_work_s(trace, edge)
            self._startup_s = start if start > 0 else None
            self._update_startup_note()
            self._set_range(start, edge)
            return
        self._startup_s = None
        self._update_startup_note()
        span = self.live_window_s * (1.0 + LIVE_MARGIN)
        if edge <= self.live_window_s:
            # The whole run so far, in a view that widens in steps (1, 1.5, 2, 3, 5, 7.5 × 10^k s), not at
            # every frame: between steps the time axis and everything already drawn stay put.
            self._set_range(0.0, min(span, nice_span(edge * (1.0 + LIVE_MARGIN))))
            return
        # The last live_window_s seconds, scrolled by whole pixels: the view (and the time axis, whose
        # ticks pyqtgraph lays out anew whenever the range moves) changes only when the live edge has moved
        # a pixel; at 30 s over ~1000 px that is every second or third frame, and a sub-pixel scroll
        # shows nothing anyway.
        end = edge + self.live_window_s * LIVE_MARGIN
        pixels = self.getPlotItem().getViewBox().width()
        if pixels > 0:
            pixel = span / pixels
            end = math.ceil(end / pixel) * pixel
        self._set_range(end - span, end)

    def _first_work_s(self, trace: Trace, edge: float) -> float:
        """Where the framed view of a finished run begins: 0, or just before the first work when start-up
        fills more than ``FOLD_FROM`` of the run (spawned interpreters take ~1 s, a lesson's work ms)."""
        firsts = []
        for iv in self._lane_data.values():
            working = np.flatnonzero(iv[2] != ev.STARTING)
            if len(working):
                firsts.append(trace.seconds(int(iv[0, working[0]])))
        first = min(firsts, default=0.0)
        if first <= FOLD_FROM * edge or first >= edge:
            return 0.0
        return max(0.0, first - FOLD_MARGIN * (edge - first))

    def _update_startup_note(self) -> None:
        """The time axis's label says when start-up is left out of the view (outside the lanes, not on them)."""
        texts = [self.tr("time (s)")]
        if self._startup_s is not None:
            texts = [self.tr("time (s) · start-up 0–{s} s hidden").format(s=f"{self._startup_s:.2f}"),
                     self.tr("time (s) · start-up hidden"), texts[0]]
        axis = self.getPlotItem().getAxis("bottom")
        room = axis.width() or self.width()
        for text in texts:  # the longest that fits under the axis (200 %, Chinese): pyqtgraph would clip it
            if text != self._bottom_text:
                self._bottom_text = text
                self.getPlotItem().setLabel("bottom", text)
                axis.resizeEvent(None)  # pyqtgraph centres the label only on a resize: else it keeps the old x
            if axis.label.boundingRect().width() <= room:
                break

    def _set_range(self, x0: float, x1: float) -> None:
        self._setting_range = True
        try:
            self.getPlotItem().setXRange(x0, x1, padding=0)
        finally:
            self._setting_range = False

    def _on_x_range(self, *_args) -> None:
        if not self._setting_range:
            self._set_following(False)  # the user (or a linked plot) moved the view
        self._update_task_labels()
        if self._crashes and self._trace is not None:
            self._update_markers(self._trace)
        if self._deadlock:
            self._show_texts(self._deadlock_texts, self._deadlock_places(self._deadlock))

    # --- texts ---------------------------------------------------------------------------------
    def _state_texts(self) -> dict[str, str]:
        return state_texts()
