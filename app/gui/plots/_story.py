"""A lesson's story chart (``app.core.story.Story``) drawn on the value plot's plot item.

The lesson says what tells its story (``Lesson.plot``): processes inside a
critical section with the limit k, tasks waiting / running / done, locks held,
speedup against workers… ``StoryLayer`` draws any such ``Story``: its series
(step, line, points, dashed) in distinct Okabe–Ito colours by one
``CurvesItem``, its reference lines dashed and labelled at their right end, and
hands the legend entries and the texts (title, axis labels) to the plot.

The story itself is computed by the lesson from the trace (~15 ms at worst), so
the plot computes it at most every ``STORY_EVERY_S`` during a live run and once
when the run ends; between two computations the curves follow the visible range
(clipped and decimated, cheap at every frame) and a step series reaches "now".
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore

from app.core import story as st
from app.gui.plots._curves import CurveData, CurvesItem, DotsData
from app.gui.plots._decimate import decimate, visible_steps

# Okabe–Ito, told apart by colour-blind eyes; yellow last (weak on white)
STORY_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
REFERENCE_COLOR = "#555555"
REFERENCE_ROOM = 0.12  # above the highest reference line, as a share of the span: its label's room
RIGHT_LABEL_POSITION = 0.98  # along its line, where a reference line's label sits (its right end)
LEFT_LABEL_POSITION = 0.55  # where it moves when a neighbouring line's label would cover it
MAX_LABEL_ROOM = 0.45  # at most this share of the plot's height is kept free for the labels above the lines
STORY_EVERY_S = 0.25  # a live run's story is computed again at most this often
DOT_SIZE = 9
LINE_MARKERS = 60  # a line series marks its points while no more than this many are visible
MIN_STEP_S = 1e-6  # a step shorter than this is merged into the next: a hand-over is not a 1-pixel dip


def merge_short_steps(x: np.ndarray, y: np.ndarray, shortest: float = MIN_STEP_S) -> tuple[np.ndarray, np.ndarray]:
    """A step series without the values that hold for less than ``shortest`` seconds.

    When one process leaves a critical section and the next enters it, the count
    drops and rises again within a microsecond: drawn, a dip one pixel wide that
    looks like a moment with nobody inside. The value before such a step holds
    until the next one instead (at most ``shortest`` longer per dropped point).
    """
    if len(x) < 2:
        return x, y
    keep = np.empty(len(x), dtype=bool)
    keep[:-1] = np.diff(x) >= shortest
    keep[-1] = True
    if keep.all():
        return x, y
    x, y = x[keep], y[keep]
    same = np.empty(len(y), dtype=bool)  # and a step to the value it already had is no step
    same[0] = False
    same[1:] = y[1:] == y[:-1]
    same[-1] = False  # the last point says how far the series reaches
    return x[~same], y[~same]


def story_color(k: int) -> str:
    return STORY_COLORS[int(k) % len(STORY_COLORS)]


class _PointsCurve(CurveData):
    """The legend entry of a points series: a dot as its sample; hiding it hides the dots."""

    def __init__(self, color: str, dots: DotsData):
        super().__init__(pg.mkPen(None))
        self.opts.update(symbol="o", size=DOT_SIZE, brush=pg.mkBrush(color))
        self.opts["pen"] = pg.mkPen(None)
        self.dots = dots
        self._points = (np.empty(0), np.empty(0), np.empty(0, dtype=np.int64))

    def show_points(self, x: np.ndarray, y: np.ndarray, who: np.ndarray) -> None:
        self._points = (x, y, who)
        self._apply()

    def setVisible(self, visible: bool) -> None:  # noqa: N802 - Qt's name
        self._visible = bool(visible)
        self._apply()
        super().setVisible(visible)

    def _apply(self) -> None:
        x, y, who = self._points if self._visible else (x[:0] for x in self._points)
        self.dots.set_points(x, y, who, _brush)


_BRUSHES: dict[int, object] = {}


def _brush(k: int):
    brush = _BRUSHES.get(k)
    if brush is None:
        brush = _BRUSHES[k] = pg.mkBrush(story_color(k))
    return brush


class StoryLayer:
    """What a ``Story`` draws on ``plot_item``: curves, dots, reference lines (see module doc)."""

    def __init__(self, plot_item: pg.PlotItem):
        self._item = plot_item
        self.curves = CurvesItem(DOT_SIZE, story_color)
        plot_item.addItem(self.curves)
        self.story: st.Story | None = None
        self.entries: list[tuple[st.Series, CurveData, DotsData | None]] = []
        self._points: list[tuple[np.ndarray, np.ndarray]] = []  # per entry: its points as drawn
        self.lines: list[pg.InfiniteLine] = []
        self._signature: tuple | None = None

    # --- what is drawn -------------------------------------------------------------------------
    def set_story(self, story: st.Story | None) -> None:
        """A new story (or None: draw nothing); the curves keep their items while the series stay the same."""
        self.story = story
        series = story.series if story is not None else []
        signature = tuple((s.name.en, s.style) for s in series)
        if signature != self._signature:
            self._signature = signature
            self.entries = []
            for k, s in enumerate(series):
                color = story_color(k)
                if s.style == st.POINTS:
                    dots = DotsData()
                    self.entries.append((s, _PointsCurve(color, dots), dots))
                    continue
                dashed = s.style == st.DASHED
                pen = pg.mkPen(color, width=2 if dashed else 2.5,
                               style=QtCore.Qt.PenStyle.DashLine if dashed else QtCore.Qt.PenStyle.SolidLine)
                # a measured line marks its points (one measurement draws no line at all)
                self.entries.append((s, CurveData(pen), DotsData() if s.style == st.LINE else None))
            self.curves.set_items([curve for _s, curve, _d in self.entries],
                                  [dots for _s, _c, dots in self.entries if dots is not None])
        else:
            self.entries = [(s, curve, dots) for s, (_old, curve, dots) in zip(series, self.entries, strict=True)]
        self._points = [merge_short_steps(s.x, s.y) if s.style == st.STEP else (s.x, s.y)
                        for s, _c, _d in self.entries]
        self._set_lines(story.lines if story is not None else [])

    def _set_lines(self, references: list) -> None:
        while len(self.lines) > len(references):
            self._item.removeItem(self.lines.pop())
        while len(self.lines) < len(references):
            pen = pg.mkPen(REFERENCE_COLOR, width=1.5, style=QtCore.Qt.PenStyle.DashLine)
            line = pg.InfiniteLine(angle=0, movable=False, pen=pen, label="",
                                   labelOpts={"position": RIGHT_LABEL_POSITION, "anchors": [(1, 1), (1, 1)],
                                              "color": REFERENCE_COLOR, "fill": pg.mkBrush(255, 255, 255, 200)})
            self._item.addItem(line, ignoreBounds=True)
            self.lines.append(line)
        for line, ref in zip(self.lines, references, strict=True):
            if line.value() != ref.y:
                line.setValue(ref.y)

    def retranslate(self, lang: str) -> None:
        """The reference lines' labels in ``lang`` (the legend and titles are the plot's)."""
        references = self.story.lines if self.story is not None else []
        for line, ref in zip(self.lines, references, strict=True):
            text = ref.name.get(lang).replace("{", "{{").replace("}", "}}")
            if line.label.format != text:
                line.label.format = text
                line.label.valueChanged()

    def legend_entries(self, lang: str) -> list[tuple[CurveData, str]]:
        return [(curve, s.name.get(lang)) for s, curve, _dots in self.entries]

    def line_texts(self) -> list[str]:
        return [line.label.toPlainText() for line in self.lines]

    # --- drawing a frame -----------------------------------------------------------------------
    def draw(self, x0: float, x1: float, points: int, clip_s: float | None = None,
             now_s: float | None = None, height_px: float = 0.0) -> tuple[float | None, float | None]:
        """The visible part of every series in [x0, x1]; the lowest and highest value shown (with 0 and the
        reference lines: a count is read from 0, a limit must be in view).

        ``clip_s``: the replay cursor (time stories only): nothing after it, a step holds up to it.
        ``now_s``: a live run's present moment: step series reach it.
        """
        lows, highs = [], []
        for (s, curve, dots), (x, y) in zip(self.entries, self._points, strict=True):
            if clip_s is not None and len(x):
                stop = int(np.searchsorted(x, clip_s, side="right"))
                if s.style == st.STEP and stop:
                    x, y = np.append(x[:stop], clip_s), np.append(y[:stop], y[stop - 1])
                else:
                    x, y = x[:stop], y[:stop]
            elif now_s is not None and s.style == st.STEP and len(x) and x[-1] < now_s:
                x, y = np.append(x, now_s), np.append(y, y[-1])
            if isinstance(curve, _PointsCurve):
                keep = (x >= x0) & (x <= x1)
                curve.show_points(x[keep], y[keep], np.full(int(keep.sum()), self._index(s), dtype=np.int64))
                shown = y[keep]
            elif s.style == st.STEP and len(x):
                xs, shown = visible_steps(x, y, None, None, float(x[-1]), x0, x1, points)
                curve.set_points(xs, shown)
            else:
                xs, shown = decimate(x, y, x0, x1, points)
                curve.set_points(xs, shown)
                if dots is not None:
                    marked = len(xs) <= LINE_MARKERS and curve.isVisible()
                    n = len(xs) if marked else 0
                    dots.set_points(xs[:n], shown[:n], np.full(n, self._index(s), dtype=np.int64), _brush)
            if len(shown) and curve.isVisible():
                lows.append(float(np.nanmin(shown)))
                highs.append(float(np.nanmax(shown)))
        self.curves.changed()
        if self.story is None:
            return None, None
        refs = [line.y for line in self.story.lines]
        low = min([0.0, *lows, *refs])
        high = max([*highs, *refs], default=None)
        if high is None:
            return None, None
        high = max(high, 1.0)
        if refs:  # a reference line's label sits above it: room for it under the top of the plot
            top = max(refs)
            label_px = max((line.label.boundingRect().height() for line in self.lines), default=0.0)
            needed = label_px / height_px if height_px > 0 else 0.0
            above = needed <= MAX_LABEL_ROOM  # a very short plot: the labels go under their lines instead
            for line in self.lines:
                anchor = (1, 1) if above else (1, 0)
                if line.label.anchors[0] != anchor:
                    line.label.anchors = [anchor, anchor]
                    line.label.updatePosition()
            share = max(REFERENCE_ROOM, needed) if above else REFERENCE_ROOM
            high = max(high, (top - share * low) / (1.0 - share))  # the label's height above the top line
            self._stagger_labels(label_px, height_px / (high - low) if height_px > 0 and high > low else 0.0)
        return low, high

    def _stagger_labels(self, label_px: float, px_per_unit: float) -> None:
        """Labels of lines closer than a label's height (a pool's "tasks" and "pool size" in a short plot)
        would print over each other at the right end: every other one of such a pair moves left."""
        ordered = sorted(self.lines, key=lambda line: line.value())
        last_y = None
        moved = False
        for line in ordered:
            y = line.value() * px_per_unit
            moved = last_y is not None and abs(y - last_y) < label_px and not moved
            position = LEFT_LABEL_POSITION if moved else RIGHT_LABEL_POSITION
            if abs(line.label.orthoPos - position) > 1e-9:
                line.label.setPosition(position)
            last_y = y

    def _index(self, series: st.Series) -> int:
        for k, (s, _c, _d) in enumerate(self.entries):
            if s is series:
                return k
        return 0

    def x_extent(self) -> tuple[float, float] | None:
        """The smallest and largest x of all series (a chart's own x axis), or None."""
        xs = [s.x for s, _c, _d in self.entries if len(s.x)]
        if not xs:
            return None
        every = np.concatenate(xs)
        return float(np.nanmin(every)), float(np.nanmax(every))
