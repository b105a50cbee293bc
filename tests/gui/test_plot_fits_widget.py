"""What a plot draws stays inside its widget on a 1366×768 projector at 125 %: a long title or a wide legend
never widens the plot's scene beyond the space between the side panels (it would be clipped there, with the
end of the run under the Details panel)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, QSize
from PySide6.QtWidgets import QApplication

from app.gui.main_window import MainWindow
from tests.gui.test_classroom_window import small
from tests.gui.test_window import configure, pids_of, run_and_wait
from tests.helpers import assert_all_gone

RUNS = {
    "deadlock": {"workers": 2, "hold_s": 0.05},  # the long red title over the lanes
    "pool": {"pool_size": 2, "tasks": 3, "task_s": 0.05},
    "counter": {"workers": 3, "hold_s": 0.02, "lock": "none"},
}


@pytest.fixture(params=["en", "zh_CN"])
def window(request, qtbot, tmp_path):
    store = QSettings(str(tmp_path / "procscope.ini"), QSettings.Format.IniFormat)
    store.setValue("language", request.param)
    store.setValue("run/deadlock_linger_s", 0)  # a found deadlock stops at once: its start-up is then folded
    win = MainWindow(settings=store)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


def finish_run(qtbot, window, lesson: str) -> None:
    """The lesson run to its end in a 1366×768 window at 125 %."""
    small(window, qtbot)
    configure(window, lesson, RUNS[lesson])
    run_and_wait(qtbot, window)
    QApplication.processEvents()


def overflow(plot) -> list[str]:
    """The parts of a plot's scene that reach past its widget's visible width."""
    visible = plot.viewport().width()
    item = plot.getPlotItem()
    parts = {"plot": item.sceneBoundingRect(), "data": item.getViewBox().sceneBoundingRect()}
    if item.titleLabel.isVisible():
        parts["title"] = item.titleLabel.sceneBoundingRect()
    return [f"{name} ends at {rect.right():.0f} > {visible}"
            for name, rect in parts.items() if rect.right() > visible + 1]


@pytest.mark.parametrize("lesson", list(RUNS))
def test_every_plot_fits_its_widget_after_a_run(qtbot, window, lesson):
    finish_run(qtbot, window, lesson)
    for plot in (window.activity, window.values_plot, window.resources):
        if plot.isVisible():
            assert not overflow(plot), (lesson, plot.objectName(), overflow(plot))
    assert_all_gone(pids_of(window))


def test_a_reference_lines_label_stays_inside_a_short_plot(qtbot, window):
    finish_run(qtbot, window, "deadlock")
    view = window.values_plot.getPlotItem().getViewBox()
    inside = view.sceneBoundingRect()
    lines = window.values_plot.story_layer.lines
    assert lines
    for line in lines:
        label = line.label.sceneBoundingRect()
        assert inside.top() - 1 <= label.top() and label.bottom() <= inside.bottom() + 1, (label, inside)
    assert_all_gone(pids_of(window))


def test_the_cpu_axis_reads_0_to_100_even_with_no_sample_in_view(qtbot, window):
    finish_run(qtbot, window, "deadlock")
    low, high = window.resources.getPlotItem().getViewBox().viewRange()[1]
    assert low <= 0.0 and high >= 100.0, (low, high)
    assert_all_gone(pids_of(window))


def test_the_time_axis_label_fits_under_the_axis_at_200_percent(qtbot, window):
    configure(window, "deadlock", RUNS["deadlock"])
    run_and_wait(qtbot, window)
    small(window, qtbot, QSize(960, 540))  # 1920×1080 at 200 %
    QApplication.processEvents()
    axis = window.activity.getPlotItem().getAxis("bottom")
    text = axis.labelText
    assert window.activity._startup_s is not None, "the run should fold its start-up"
    assert text.startswith(("time (s)", "时间（秒）"))
    width = axis.label.boundingRect().width()
    assert width <= axis.width(), (text, width, axis.width())
    assert_all_gone(pids_of(window))


def test_the_time_axis_label_is_centred_under_the_axis(qtbot, window):
    finish_run(qtbot, window, "deadlock")
    axis = window.activity.getPlotItem().getAxis("bottom")
    label = axis.label.mapRectToParent(axis.label.boundingRect())
    assert label.left() >= -1 and label.right() <= axis.width() + 1, (axis.labelText, label, axis.width())
    assert abs(label.center().x() - axis.width() / 2) <= 2, (label.center().x(), axis.width())
    assert_all_gone(pids_of(window))


def test_reference_labels_never_print_over_each_other(qtbot, window):
    finish_run(qtbot, window, "pool")  # "tasks" at 3 and "pool size" at 2: close in a short plot
    lines = window.values_plot.story_layer.lines
    assert len(lines) >= 2
    rects = [line.label.sceneBoundingRect() for line in lines]
    for a in range(len(rects)):
        for b in range(a + 1, len(rects)):
            assert not rects[a].intersects(rects[b]), (lines[a].label.toPlainText(), lines[b].label.toPlainText())
    assert_all_gone(pids_of(window))
