"""The display tick's schedule (app/gui/view.py): live views every tick, the others in turn, hidden ones wait."""

from __future__ import annotations

from app.gui.view import FrameSchedule


class FakeView:
    def __init__(self, name: str, visible: bool = True):
        self.name, self.visible = name, visible

    def isVisible(self) -> bool:  # noqa: N802 - Qt's name
        return self.visible

    def __repr__(self) -> str:
        return self.name


def test_live_views_every_tick_and_one_other_view_at_a_time_at_most_every_period():
    lanes, values = FakeView("lanes"), FakeView("values")
    table, console, cpu = FakeView("table"), FakeView("console"), FakeView("cpu")
    schedule = FrameSchedule([lanes, values], [table, console, cpu], every_s=0.25)
    ticks = [schedule.due(k * 0.016) for k in range(64)]  # ~1 s at 60 Hz
    assert all(tick[:2] == [lanes, values] and len(tick) <= 3 for tick in ticks)
    others = [(k, tick[2]) for k, tick in enumerate(ticks) if len(tick) == 3]
    assert [view for _k, view in others[:3]] == [table, console, cpu]  # in turn, one per tick
    for view in (table, console, cpu):
        at = [k * 0.016 for k, v in others if v is view]
        assert len(at) == 4 and all(b - a >= 0.25 for a, b in zip(at, at[1:], strict=False))


def test_a_hidden_view_is_not_refreshed_until_shown():
    table, console = FakeView("table", visible=False), FakeView("console")
    schedule = FrameSchedule([], [table, console], every_s=0.25)
    seen = [v for k in range(40) for v in schedule.due(k * 0.016)]
    assert table not in seen and console in seen
    table.visible = True
    assert schedule.due(1.0) == [table]
