"""A lesson's story chart as plain data: what the value plot draws, computed from the trace.

``Lesson.story(trace)`` returns a ``Story`` (or ``None``: the lesson plots its
shared-value slots, or nothing). It reads only the trace, so it works on a
growing live trace (the last point of every step series is "now") and on a
replayed file alike, and it is cheap enough to recompute at every refresh
(one pass over the relevant records per series, vectorised).

A time story (``x_is_time``) has x in seconds since the run's start, the
lanes' time axis. A step series holds each value until its next point; its
last point is at the end of what the trace holds. A non-time story (speedup)
has its own x axis (``x_label``).

Imported in the parent only (numpy), inside the lesson methods that need it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.core import events as ev
from app.core.lessons.rows import Text

STEP = "step"  # holds each value until the next point
LINE = "line"  # points joined by straight lines
POINTS = "points"  # markers only
DASHED = "dashed"  # a dashed straight-line curve (an ideal, a fit)
STYLES = (STEP, LINE, POINTS, DASHED)

TIME = Text("Time (s)", "时间（秒）")


@dataclass
class Series:
    """One curve: ``x`` and ``y`` float arrays of the same length."""

    name: Text
    x: np.ndarray
    y: np.ndarray
    style: str = STEP

    def __post_init__(self):
        if self.style not in STYLES:
            raise ValueError(f"style: {self.style!r} is not allowed; allowed: {', '.join(STYLES)}")
        self.x = np.asarray(self.x, dtype=np.float64)
        self.y = np.asarray(self.y, dtype=np.float64)
        if self.x.shape != self.y.shape:
            raise ValueError(f"series {self.name.en!r}: x has {len(self.x)} points, y has {len(self.y)}")

    def to_json(self) -> dict:
        return {"name": {"en": self.name.en, "zh": self.name.zh}, "style": self.style,
                "x": self.x.round(9).tolist(), "y": self.y.tolist()}


@dataclass
class Reference:
    """A horizontal line at ``y`` (a limit, a target) with its name."""

    name: Text
    y: float

    def to_json(self) -> dict:
        return {"name": {"en": self.name.en, "zh": self.name.zh}, "y": self.y}


@dataclass
class Story:
    title: Text
    y_label: Text
    series: list[Series] = field(default_factory=list)
    lines: list[Reference] = field(default_factory=list)
    x_is_time: bool = True  # linked to the lanes' time axis
    x_label: Text = TIME
    integer_y: bool = True  # counts: whole-number ticks

    def to_json(self) -> dict:
        return {
            "title": {"en": self.title.en, "zh": self.title.zh},
            "y_label": {"en": self.y_label.en, "zh": self.y_label.zh},
            "x_label": {"en": self.x_label.en, "zh": self.x_label.zh},
            "x_is_time": self.x_is_time,
            "integer_y": self.integer_y,
            "series": [s.to_json() for s in self.series],
            "lines": [line.to_json() for line in self.lines],
        }

    def series_named(self, en: str) -> Series:
        """The series whose English name is ``en`` (tests, tooltips)."""
        for s in self.series:
            if s.name.en == en:
                return s
        raise KeyError(f"story {self.title.en!r} has no series {en!r}; it has: "
                       + ", ".join(s.name.en for s in self.series))


# --- folds: event times and +1/-1 steps -> a count over time -------------------------------------------


def count_series(trace, name: Text, times_ns, deltas, initial: float = 0.0) -> Series:
    """A step series of ``initial`` plus the running sum of ``deltas`` at ``times_ns``.

    At equal times the decrements come first (an end at t closes before a start
    at t), and only the last value at each time is kept. It starts at 0 s and
    ends at the trace's end (now, on a live run).
    """
    times = np.asarray(times_ns, dtype=np.int64)
    steps = np.asarray(deltas, dtype=np.float64)
    order = np.lexsort((steps, times))
    times, steps = times[order], steps[order]
    values = initial + np.cumsum(steps)
    if len(times):
        last = np.append(times[1:] != times[:-1], True)  # the last step at each time
        times, values = times[last], values[last]
    t0, end = trace.t0_ns, trace.end_ns()
    if len(times):
        end = max(end, int(times[-1]))
    x = np.concatenate([[t0], times, [end]]).astype(np.float64)
    y = np.concatenate([[initial], values, [values[-1] if len(values) else initial]])
    return Series(name, (x - t0) / 1e9, y, STEP)


def state_edges(trace, codes, roles=None, detail=None):
    """Times and +1/-1 steps of every lane entering and leaving one of the state ``codes``.

    ``roles`` keeps only processes of those roles; ``detail`` only intervals with that detail.
    """
    starts, ends = [], []
    end_ns = trace.end_ns()
    codes = np.asarray(list(codes))
    for index, info in trace.processes().items():
        if roles is not None and info.role not in roles:
            continue
        iv = trace.intervals(index, info, end_ns)
        keep = np.isin(iv[:, 2], codes)
        if detail is not None:
            keep &= iv[:, 3] == detail
        starts.append(iv[keep, 0])
        ends.append(iv[keep, 1])
    return _edges(starts, ends)


def alive_edges(trace, roles=("worker",)):
    """Times and steps of processes being alive: asked for (or first seen) until they exit."""
    starts, ends = [], []
    end_ns = trace.end_ns()
    for info in trace.processes().values():
        if roles is not None and info.role not in roles:
            continue
        begin = info.requested_ns if info.requested_ns is not None else info.first_ns
        if begin is None:
            continue
        starts.append([begin])
        ends.append([info.exit_ns if info.exit_ns is not None else max(end_ns, begin)])
    return _edges(starts, ends)


def mark_edges(trace, kind: int, open_code: int, close_code: int, ids=None):
    """Times and steps from records of ``kind`` whose ``a`` opens (+1) or closes (-1) something."""
    recs = trace.records
    mine = recs[recs[:, 2] == kind]
    if ids is not None:
        mine = mine[np.isin(mine[:, 4], list(ids))]
    opening = mine[:, 3] == open_code
    closing = mine[:, 3] == close_code
    times = np.concatenate([mine[opening, 0], mine[closing, 0]])
    steps = np.concatenate([np.ones(opening.sum()), -np.ones(closing.sum())])
    return times, steps


def _edges(starts, ends):
    s = np.concatenate(starts).astype(np.int64) if starts else np.empty(0, np.int64)
    e = np.concatenate(ends).astype(np.int64) if ends else np.empty(0, np.int64)
    return np.concatenate([s, e]), np.concatenate([np.ones(len(s)), -np.ones(len(e))])


def task_edges(trace):
    """TASK records: a task (or work unit) opens at TASK_START and closes at TASK_END."""
    recs = trace.records
    marks = recs[recs[:, 2] == ev.TASK]
    opening = marks[:, 4] == ev.TASK_START
    times = np.concatenate([marks[opening, 0], marks[~opening, 0]])
    steps = np.concatenate([np.ones(opening.sum()), -np.ones((~opening).sum())])
    return times, steps
