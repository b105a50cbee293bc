"""The result view says what a dead process left waiting for ever, where a deadlock is explained."""

from __future__ import annotations

import numpy as np

from app.core import events as ev
from app.core.summary import build_summary
from app.core.trace import Trace
from app.gui.panels.result_view import ResultView

STUCK = {"kind": "lock", "how": "held", "resource": 0, "dead": "Process-2", "dead_index": 1, "dead_pid": 42,
         "waiting": ["Process-1", "Process-3"], "waiting_indexes": [0, 2],
         "explanation": {"en": "Process-2 died holding the lock; nobody can ever take it, so Process-1 and "
                               "Process-3 wait forever.",
                         "zh": "Process-2 在持有锁时死亡；没有人能再拿到这把锁，"
                               "所以 Process-1 和 Process-3 永远等待下去。"}}


def _crashed_counter_trace() -> Trace:
    trace = Trace({"lesson": "counter", "status": "crashed", "start_method": "spawn", "t0_ns": 0,
                   "params": {"workers": 3, "sharing": "array", "lock": "lock", "start_value": 10, "step": -1,
                              "increments": 1, "hold_s": 30.0, "tempo": 1.0}})
    texts = [(1, i, ev.META, {"name": f"Process-{i + 1}", "role": "worker", "pid": 40 + i, "requested_ns": 1})
             for i in range(3)]
    texts.append((5, ev.PARENT_INDEX, ev.RESULT, {"stuck": STUCK}))
    records = np.array([[9, i, ev.EXIT, -9 if i == 1 else -15, ev.EXIT_CRASHED if i == 1 else ev.EXIT_STOPPED]
                        for i in range(3)], dtype=np.int64)
    trace.append(records, texts)
    return trace


def test_the_summary_carries_the_stuck_finding_and_the_view_shows_it(qtbot):
    summary = build_summary(_crashed_counter_trace())
    assert summary["stuck"]["dead"] == "Process-2"
    view = ResultView()
    qtbot.addWidget(view)
    view.set_language_key("en")
    view.set_summary(summary)
    assert STUCK["explanation"]["en"] in " ".join(view.toPlainText().split())
    view.set_language_key("zh")
    assert STUCK["explanation"]["zh"] in view.toPlainText()
