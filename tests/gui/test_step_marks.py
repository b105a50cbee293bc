"""The lanes mark each step taken (step mode, or a replayed stepped run): a triangle on the top edge of
the lane of the process let through, numbered in the schedule's order."""

from __future__ import annotations

from app.core.runner import Runner
from app.gui.plots.lanes import ActivityPlot
from tests.helpers import assert_all_gone

COUNTER = {"workers": "2", "lock": "none", "increments": "1", "start_value": "0", "step": "1", "hold_s": "0"}


def test_a_replayed_stepped_run_marks_its_steps_on_the_lanes(qtbot):
    runner = Runner("counter", COUNTER, "spawn", sample_hz=None, schedule=[1, 2, 1, 2])
    trace = runner.run(timeout=60)
    assert_all_gone(p.pid for p in trace.processes().values() if p.pid)
    plot = ActivityPlot()
    qtbot.addWidget(plot)
    plot.resize(900, 400)
    plot.set_trace(trace)
    xs, ys = plot._step_marks.getData()
    assert len(xs) == 4
    rows = {index: row for row, index in enumerate(plot._order)}
    steps = [s for s in plot._steps]
    assert [rows[index] for _t, index, _n in steps] == [rows[steps[0][1]], rows[steps[1][1]]] * 2
    assert [n for _t, _i, n in steps] == [1, 2, 3, 4]
    numbers = [t.toPlainText() for t in plot._step_texts if t.isVisible()]
    assert numbers == ["1", "2", "3", "4"]
    # a replay cursor before the third step shows the first two only
    plot.set_cursor(steps[2][0] - 1)
    assert len(plot._step_marks.getData()[0]) == 2
