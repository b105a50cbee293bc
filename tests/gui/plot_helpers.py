"""What the plot tests share: traces made by hand, a live run's next frame, showing and painting a plot."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from app.core import events as ev
from app.core.trace import EXIT_DONE, Trace
from app.gui.plots.lanes import ActivityPlot

T0 = 5_000_000_000_000
S = 1_000_000_000  # ns per second


def ns(seconds: float) -> int:
    return T0 + int(round(seconds * S))


def make_trace(states: dict, exits: dict | None = None, status: str | None = "done", records=(),
               texts=(), value_slots=(), pool: bool = False, end_s: float | None = None) -> Trace:
    """A trace by hand: ``states`` {index: [(t_s, code, detail), ...]}, ``exits`` {index: (t_s, code, how)}."""
    meta = {"lesson": "test", "t0_ns": T0, "value_slots": list(value_slots), "params": {}}
    if status is not None:
        meta["status"] = status
    if end_s is not None:
        meta["end_ns"] = ns(end_s)
    trace = Trace(meta)
    rows = [(ns(t), i, ev.STATE, code, detail) for i, seq in states.items() for t, code, detail in seq]
    rows += [(ns(t), i, ev.EXIT, code, how) for i, (t, code, how) in (exits or {}).items()]
    rows += list(records)
    meta_texts = []
    for i in states:
        role = "pool" if pool else "worker"
        name = f"PoolWorker-{i + 1}" if pool else f"Process-{i + 1}"
        meta_texts.append((ns(0.001 * i), i, ev.META, {"name": name, "role": role,
                                                        "requested_ns": None if pool else ns(0.001 * i)}))
        meta_texts.append((ns(0.002 * i + 0.01), i, ev.META, {"pid": 100 + i}))
    trace.append(np.array(rows, dtype=np.int64).reshape(-1, 5), meta_texts + list(texts))
    return trace


def simple_trace(**kwargs) -> Trace:
    """Three workers: starting → working → waiting → holding → working → done."""
    states = {
        i: [(0.1 + i * 0.1, ev.WORKING, 0), (1.0 + i, ev.WAITING, 1), (1.5 + i, ev.HOLDING, 1),
            (2.0 + i, ev.WORKING, 0), (2.5 + i, ev.DONE, 0)]
        for i in range(3)
    }
    exits = {i: (2.6 + i, 0, EXIT_DONE) for i in range(3)}
    return make_trace(states, exits, **kwargs)


def shown(qtbot, widget, width: int = 900, height: int = 500):
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def paint(widget) -> QImage:
    """Render the widget now and return the picture."""
    image = widget.grab().toImage()
    assert not image.isNull()
    if isinstance(widget, ActivityPlot):
        assert "error" not in widget.segments.last_stats  # paint() must never raise (PySide6 would crash)
    return image


def distinct_colors(image: QImage) -> int:
    image = image.convertToFormat(QImage.Format.Format_ARGB32)
    data = np.frombuffer(image.constBits(), dtype=np.uint32, count=image.width() * image.height())
    return len(np.unique(data))


def expected_counts(trace: Trace, until_ns: int | None = None) -> dict[int, int]:
    counts: dict[int, int] = {}
    procs = trace.processes()
    for index, info in procs.items():
        iv = trace.intervals(index, info)
        if until_ns is not None:
            iv = iv[iv[:, 0] < until_ns]
        for code in iv[:, 2].tolist():
            counts[code] = counts.get(code, 0) + 1
    return counts


class StepFeed:
    """A live run's next frame, 20 ms of run time later whatever the wall clock (the view must scroll):
    one state per lane and one ±1 write per slot."""

    def __init__(self, trace: Trace, lanes: int, slots: int):
        self.trace, self.lanes, self.slots = trace, lanes, slots
        self.t = int(trace.records[:, 0].max())
        self.rng = np.random.default_rng(5)
        self.values = np.zeros(slots, dtype=np.int64)

    def __call__(self) -> None:
        self.t += 20_000_000
        states = [(self.t - i, i, ev.STATE, int(self.rng.integers(ev.WORKING, ev.IDLE + 1)), 0)
                  for i in range(self.lanes)]
        self.values += self.rng.choice([-1, 1], self.slots)
        writes = [(self.t - k, k % self.lanes, ev.VALUE, k, int(v)) for k, v in enumerate(self.values.tolist())]
        self.trace.append(np.array(states + writes, dtype=np.int64).reshape(-1, 5))


COUNTER_SLOT = {"name": "counter", "initial": 10, "step": -1, "expected": 7}


def counter_trace(values=(9, 8, 7)) -> Trace:
    states = {i: [(0.1, ev.WORKING, 0), (1.0 + i, ev.DONE, 0)] for i in range(3)}
    writes = [(ns(0.5 + 0.25 * i), i, ev.VALUE, 0, v) for i, v in enumerate(values)]
    return make_trace(states, {i: (1.1 + i, 0, EXIT_DONE) for i in range(3)}, records=writes,
                      value_slots=[COUNTER_SLOT], end_s=3.5)


def sampled_trace() -> Trace:
    samples = [(ns(0.25 * k), i, ev.SAMPLE, 1000 * (i + 1) + k, (20 + i) * 1_000_000) for i in range(2)
               for k in range(1, 9)]
    return make_trace({i: [(0.1, ev.WORKING, 0)] for i in range(3)}, records=samples, end_s=2.5)
