"""Side panels: process table, console, result view, code view, lesson text (pytest-qt, offscreen)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication

from app.core import events as ev
from app.core.lessons import LESSONS, rows
from app.core.runner import Runner
from app.core.summary import build_summary
from app.core.trace import EXIT_CRASHED, EXIT_DONE, Trace
from app.gui.colors import process_color
from app.gui.i18n import Language
from app.gui.panels import process_table as pt
from app.gui.panels._highlight import COLORS
from app.gui.panels.code_view import CodeView
from app.gui.panels.console import ERROR_COLOR, ConsoleView
from app.gui.panels.lesson_text import LessonText, lesson_path
from app.gui.panels.process_table import ProcessTable
from app.gui.panels.result_view import BAD, GOOD, ResultView
from app.resources import resource_path

PANELS = Path(__file__).resolve().parents[2] / "app" / "gui" / "panels"
MB = 1024 * 1024
MS = 1_000_000


# --- data ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def counter_run():
    """A real short counter run without a lock: (trace, summary)."""
    trace = Runner("counter", {"workers": "3", "hold_s": "0.05", "lock": "none"}, "spawn").run(timeout=60)
    return trace, build_summary(trace)


@pytest.fixture(scope="module")
def deadlock_run():
    trace = Runner("deadlock", {}, "fork").run(timeout=60)
    return trace, build_summary(trace)


def handmade_trace() -> Trace:
    """Two workers (pids 9 and 10): one prints and finishes, the other prints, fails and crashes."""
    trace = Trace({"lesson": "counter", "t0_ns": 0, "parent_pid": 100})
    texts = [
        (10, 0, ev.META, {"name": "Process-1", "role": "worker", "requested_ns": 10}),
        (12, 0, ev.META, {"pid": 9}),
        (20, 1, ev.META, {"name": "Process-2", "role": "worker", "requested_ns": 20}),
        (22, 1, ev.META, {"pid": 10}),
        (1 * MS + 10, 0, ev.HELLO, {"name": "Process-1", "pid": 9, "ppid": 100, "role": "worker",
                                    "main_module": "__mp_main__"}),
        (2 * MS + 20, 1, ev.HELLO, {"name": "Process-2", "pid": 10, "ppid": 100, "role": "worker",
                                    "main_module": "__mp_main__"}),
        (3 * MS, 0, ev.PRINT, "hello from one"),
        (4 * MS, 1, ev.PRINT, "hello from two"),
        (5 * MS, 1, ev.ERROR, 'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\n'
                              "ZeroDivisionError: division by zero\n"),
    ]
    records = np.array([
        [1 * MS + 100, 0, ev.STATE, ev.WORKING, 0],
        [2 * MS + 100, 1, ev.STATE, ev.WORKING, 0],
        [3 * MS + 500_000, 0, ev.STATE, ev.HOLDING, 1],
        [4 * MS + 500_000, 0, ev.SAMPLE, 5000, 50 * MB],
        [6 * MS, 1, ev.STATE, ev.CRASHED, 0],
        [7 * MS, 0, ev.STATE, ev.DONE, 0],
        [7 * MS + 100_000, 0, ev.EXIT, 0, EXIT_DONE],
        [6 * MS + 100_000, 1, ev.EXIT, 1, EXIT_CRASHED],
    ], dtype=np.int64)
    trace.append(records, texts)
    return trace


def cells(table: ProcessTable, row: int) -> list[str]:
    return [table.item(row, col).text() for col in range(table.columnCount())]


def row_named(table: ProcessTable, name: str) -> list[str]:
    for row in range(table.rowCount()):
        if table.item(row, pt.COL_NAME).text() == name:
            return cells(table, row)
    raise AssertionError(f"no row {name}")


# --- process table -------------------------------------------------------------------------
def test_table_real_run(qtbot, counter_run):
    trace, summary = counter_run
    table = ProcessTable()
    qtbot.addWidget(table)
    table.set_trace(trace)
    assert table.objectName() == "processTable"
    assert table.columnCount() == 10
    assert table.rowCount() == len(summary["processes"]) == 3
    for proc in summary["processes"]:
        row = row_named(table, proc["name"])
        assert row[pt.COL_PID] == str(proc["pid"])
        assert row[pt.COL_PPID] == str(summary["parent_pid"])
        assert row[pt.COL_ROLE] == "worker"
        assert row[pt.COL_STATE] == "done"
        assert row[pt.COL_EXIT] == "0"
        assert row[pt.COL_ENDED] == "done"
        assert float(row[pt.COL_LATENCY]) == pytest.approx(proc["start_latency_s"] * 1000, abs=0.06)


def test_table_handmade_values_colours_and_cursor(qtbot):
    trace = handmade_trace()
    table = ProcessTable()
    qtbot.addWidget(table)
    table.set_trace(trace)
    one, two = row_named(table, "Process-1"), row_named(table, "Process-2")
    assert one[pt.COL_PID] == "9" and two[pt.COL_PID] == "10"
    assert one[pt.COL_EXIT] == "0" and one[pt.COL_ENDED] == "done" and one[pt.COL_STATE] == "done"
    assert two[pt.COL_EXIT] == "1" and two[pt.COL_ENDED] == "crashed" and two[pt.COL_STATE] == "crashed"
    assert one[pt.COL_LATENCY] == "1.0"  # requested at 10 ns, first sign of life 1 ms later
    assert one[pt.COL_CPU] == "50.0" and one[pt.COL_MEMORY] == "50.0"
    assert two[pt.COL_CPU] == "—"

    table.set_cursor(3 * MS + 600_000)  # Process-1 holds the lock, nobody has exited
    one, two = row_named(table, "Process-1"), row_named(table, "Process-2")
    assert one[pt.COL_STATE] == "holding a lock" and two[pt.COL_STATE] == "working"
    assert one[pt.COL_EXIT] == "—" and one[pt.COL_ENDED] == "running"
    assert one[pt.COL_CPU] == "—"  # the only sample is later
    state = table.item(table.row_of(0), pt.COL_STATE)
    assert state.background().color() == QColor(ev.STATE_COLORS["holding"])

    table.set_cursor(5)  # before anything was requested
    assert row_named(table, "Process-1")[pt.COL_STATE] == "not started"
    table.set_cursor(None)
    assert row_named(table, "Process-1")[pt.COL_STATE] == "done"


def test_table_deadlocked_workers_show_how_they_were_stopped(qtbot, deadlock_run):
    trace, summary = deadlock_run
    table = ProcessTable()
    qtbot.addWidget(table)
    table.set_trace(trace)
    assert table.rowCount() == len(summary["processes"]) == 2
    for proc in summary["processes"]:
        row = row_named(table, proc["name"])
        assert row[pt.COL_ENDED] == row[pt.COL_STATE] == proc["ended"] == "stopped"
        assert row[pt.COL_EXIT] == str(proc["exitcode"])
    just_before_the_stop = min(info.exit_ns for info in trace.processes().values()) - 1
    table.set_cursor(just_before_the_stop)  # every worker waits for the lock the other holds
    assert {row_named(table, p["name"])[pt.COL_STATE] for p in summary["processes"]} == {"waiting"}


def test_table_sorts_numerically_and_keeps_selection_live(qtbot):
    trace = handmade_trace()
    table = ProcessTable()
    qtbot.addWidget(table)
    table.set_trace(trace)
    table.sortByColumn(pt.COL_PID, Qt.SortOrder.AscendingOrder)
    assert [table.item(r, pt.COL_PID).text() for r in range(2)] == ["9", "10"]  # numbers, not text
    table.sortByColumn(pt.COL_PID, Qt.SortOrder.DescendingOrder)
    assert [table.item(r, pt.COL_PID).text() for r in range(2)] == ["10", "9"]

    table.selectRow(table.row_of(0))
    item_before = table.item(table.row_of(0), pt.COL_NAME)
    # a third process appears and the first one's sample changes: rows update in place
    trace.append(np.array([[8 * MS, 0, ev.SAMPLE, 1234, 10 * MB]], dtype=np.int64),
                 [(8 * MS, 2, ev.META, {"name": "Process-3", "role": "worker", "requested_ns": 8 * MS, "pid": 11})])
    table.refresh()
    assert table.rowCount() == 3
    assert [table.item(r, pt.COL_PID).text() for r in range(3)] == ["11", "10", "9"]  # still sorted
    selected = {table.item(i.row(), pt.COL_NAME).text() for i in table.selectedIndexes()}
    assert selected == {"Process-1"}
    assert table.item(table.row_of(0), pt.COL_NAME) is item_before
    assert row_named(table, "Process-1")[pt.COL_CPU] == "12.3"
    assert row_named(table, "Process-3")[pt.COL_STATE] == "starting"


def test_latest_per_index_any_order():
    """The state/sample at a cursor is the latest by time, even if records arrived out of order."""
    from app.gui.panels._latest import LatestRecords, latest_per_index

    recs = np.array([[5, 0, ev.STATE, 1, 0], [3, 0, ev.STATE, 2, 0], [4, 1, ev.STATE, 3, 0],
                     [9, 1, ev.SAMPLE, 7, 7], [6, 1, ev.STATE, 4, 0]], dtype=np.int64)
    assert latest_per_index(recs, ev.STATE) == {0: (5, 1, 0), 1: (6, 4, 0)}
    assert latest_per_index(recs, ev.STATE, until_ns=4) == {0: (3, 2, 0), 1: (4, 3, 0)}
    live = LatestRecords(ev.STATE)
    assert live.update(recs[:3]) == {0: (5, 1, 0), 1: (4, 3, 0)}
    assert live.update(recs) == {0: (5, 1, 0), 1: (6, 4, 0)}


def test_table_retranslates_headers(qtbot):
    table = ProcessTable()
    qtbot.addWidget(table)
    language = Language()
    try:
        language.set("zh_CN")
        table.retranslate()
        assert table.horizontalHeaderItem(pt.COL_NAME).text() == "名称"
        assert table.horizontalHeaderItem(pt.COL_STATE).text() == "状态"
    finally:
        language.set("en")
    table.retranslate()
    assert table.horizontalHeaderItem(pt.COL_NAME).text() == "Name"
    assert table.horizontalHeaderItem(pt.COL_STATE).text() == "State"


# --- console ------------------------------------------------------------------------------
def test_console_real_run_tags_every_line(qtbot, counter_run):
    trace, summary = counter_run
    console = ConsoleView()
    qtbot.addWidget(console)
    console.set_trace(trace)
    assert console.text.objectName() == "consoleView"
    assert console.text.isReadOnly()
    lines = console.lines()
    for proc in summary["processes"]:
        mine = [line for line in lines if line.startswith(f"[{proc['name']}] ")]
        assert mine and all("say hi" in line for line in mine)
    assert any(line.startswith("[parent] parent sees") for line in lines)


def test_console_appends_only_new_lines(qtbot):
    trace = handmade_trace()
    console = ConsoleView()
    qtbot.addWidget(console)
    console.set_trace(trace)
    before = console.lines()
    assert before[:2] == ["[Process-1] hello from one", "[Process-2] hello from two"]
    changes = []
    console.text.document().contentsChange.connect(lambda pos, removed, added: changes.append((pos, removed)))
    length = console.text.document().characterCount()
    trace.append(texts=[(8 * MS, 0, ev.PRINT, "more from one"), (8 * MS, 0, ev.RESULT, {"x": 1})])
    console.refresh()
    assert console.lines() == [*before, "[Process-1] more from one"]
    assert changes and all(removed == 0 and pos >= length - 1 for pos, removed in changes)
    changes.clear()
    console.refresh()  # nothing new: nothing touched
    assert changes == []


def test_console_errors_are_red_and_filter_and_cursor(qtbot):
    trace = handmade_trace()
    console = ConsoleView()
    qtbot.addWidget(console)
    console.set_trace(trace)
    lines = console.lines()
    assert "[Process-2] ZeroDivisionError: division by zero" in lines
    assert "[Process-2] Traceback (most recent call last):" in lines
    doc = console.text.document()
    block = doc.findBlockByNumber(lines.index("[Process-2] ZeroDivisionError: division by zero"))
    colors = set()
    fragments = block.begin()
    while not fragments.atEnd():
        colors.add(fragments.fragment().charFormat().foreground().color().name().upper())
        fragments += 1
    assert ERROR_COLOR.upper() in colors  # the text; the tag keeps the process's colour
    assert process_color(1).upper() in colors

    combo = console.filter_combo
    combo.setCurrentIndex(combo.findData(0))  # Process-1 only
    assert console.lines() == ["[Process-1] hello from one"]
    combo.setCurrentIndex(0)
    assert len(console.lines()) == len(lines)

    console.set_cursor(3 * MS + 1)  # replay: up to the cursor
    assert console.lines() == ["[Process-1] hello from one"]
    console.set_cursor(None)
    assert console.lines() == lines


def test_console_line_limit_is_announced(qtbot):
    trace = Trace({"lesson": "counter", "t0_ns": 0})
    console = ConsoleView(max_lines=5)
    qtbot.addWidget(console)
    console.set_trace(trace)
    trace.append(texts=[(k, 0, ev.PRINT, f"line {k}") for k in range(8)])
    console.refresh()
    assert console.lines()[-1] == "[#0] line 7"
    assert len(console.lines()) == 5
    assert console.total_lines == 8
    assert not console.note.isHidden()
    assert "5" in console.note.text() and "8" in console.note.text()


# --- result view --------------------------------------------------------------------------
def test_result_counter(qtbot, counter_run):
    _trace, summary = counter_run
    view = ResultView()
    qtbot.addWidget(view)
    assert view.objectName() == "resultView"
    view.set_summary(summary)
    text = view.toPlainText()
    r = summary["result"]
    assert r["explanation"]["en"] in text
    for label, value in (("Expected", r["expected"]), ("Actual (the parent sees)", r["actual"]),
                         ("Lost updates", r["lost_updates"])):
        assert re.search(rf"{re.escape(label)}\s+{value}\b", text), (label, value, text)
    view.set_language_key("zh")
    assert r["explanation"]["zh"] in view.toPlainText()


def test_result_deadlock_cycle(qtbot, deadlock_run):
    _trace, summary = deadlock_run
    r = summary["result"]
    assert r["detected"], summary
    view = ResultView()
    qtbot.addWidget(view)
    view.set_summary(summary)
    text = view.toPlainText()
    names = {p["index"]: p["name"] for p in summary["processes"]}
    for index, lock in zip(r["cycle"], r["locks"], strict=True):
        assert f"{names[index]} waits for lock {lock}" in text
    assert "Wait-for cycle" in text and "Deadlock detected" in text


SPEEDUP = {
    "lesson": "speedup", "status": "done", "start_method": "spawn", "duration_s": 3.0, "processes": [],
    "result": {
        "points": [
            {"workers": 1, "start_method": "spawn", "wall_s": 2.0, "speedup": 1.0},
            {"workers": 2, "start_method": "spawn", "wall_s": 1.0, "speedup": 2.0},
            {"workers": 4, "start_method": "spawn", "wall_s": 0.625, "speedup": 3.2},
        ],
        "start_cost_s": {"spawn": 0.07}, "serial_fraction": 0.083, "cpu_count": 4,
        "explanation": {"en": "Speedup explained.", "zh": "加速比的解释。"},
    },
}


def test_result_speedup_table(qtbot):
    view = ResultView()
    qtbot.addWidget(view)
    view.set_summary(SPEEDUP)
    text = view.toPlainText()
    assert "Speedup explained." in text
    for header in ("Workers", "Start method", "Wall time (s)", "Speedup"):
        assert header in text
    assert re.search(r"4\s+spawn\s+0\.625\s+3\.20×\s+4×", text), text
    assert re.search(r"Serial fraction \(Amdahl fit\)\s+0\.083", text)
    assert "spawn 70 ms" in text


def test_result_running_and_language(qtbot):
    language = Language()
    view = ResultView(language)
    qtbot.addWidget(view)
    assert "No result yet" in view.toPlainText()
    view.set_trace(Trace({"lesson": "speedup"}))  # no final status: running
    assert "Running…" in view.toPlainText()
    view.set_summary(SPEEDUP)
    try:
        language.set("zh_CN")
        view.retranslate()
        assert view.language_key == "zh"
        text = view.toPlainText()
        assert "加速比的解释。" in text and "进程数" in text
    finally:
        language.set("en")
    view.retranslate()
    assert "Speedup explained." in view.toPlainText()


def test_result_follows_the_translator_without_a_language_object(qtbot):
    view = ResultView()  # as a window that only calls retranslate() on a language change
    qtbot.addWidget(view)
    view.set_summary(SPEEDUP)
    language = Language()
    try:
        language.set("zh_CN")
        view.retranslate()
        assert view.language_key == "zh" and "加速比的解释。" in view.toPlainText()
    finally:
        language.set("en")
    view.retranslate()
    assert view.language_key == "en" and "Speedup explained." in view.toPlainText()
    view.set_language_key("zh")  # an explicit key wins
    view.retranslate()
    assert view.language_key == "zh"


def test_result_built_from_a_finished_trace(qtbot, counter_run):
    trace, summary = counter_run
    view = ResultView()
    qtbot.addWidget(view)
    view.set_trace(trace)  # finished and no summary given: built from the trace
    assert summary["result"]["explanation"]["en"] in view.toPlainText()


def _summary(lesson: str, result: dict) -> dict:
    result = {**result, "explanation": {"en": f"{lesson} explained", "zh": "解释"}}
    procs = [{"index": 0, "name": "Process-1", "pid": 9, "ppid": 1, "role": "worker", "time_in_state_s": {}},
             {"index": 1, "name": "Process-2", "pid": 10, "ppid": 1, "role": "worker", "time_in_state_s": {}}]
    return {"lesson": lesson, "status": "done", "start_method": "spawn", "duration_s": 1.0, "parent_pid": 1,
            "processes": procs, "result": result, "errors": []}


FIGURES = {
    "basics": ({"names": ["Process-1"], "pids": [9], "ppids": [1], "main_modules": ["__mp_main__"],
                "all_ppid_is_parent": True, "start_order": [0], "run_order": [0]}, ["__mp_main__", "Run order"]),
    "isolation": ({"parent_list": [], "child_lists": [[0], [1]], "child_list_ids": [77, 77]},
                  ["Parent's list after join", "77"]),
    "shared_array": ({"typecode": "b", "ctype": "c_byte", "expected": -23, "expected_unbounded": 1001,
                      "overflowed": True, "actual": -23, "array": [-23, 2], "lost_updates": 0},
                     ["'b' (c_byte)", "1001", "Overflowed"]),
    "manager": ({"proxy": "dict", "final": {"num": 101}, "expected_final": {"num": 101},
                 "final_as_expected": True, "server_pid": 4242, "observed": [{"worker": 0, "saw": [["num", 100]]}]},
                ['{"num": 101}', "4242"]),
    "queue_relay": ({"chain": [{"worker": 1, "got": 0, "put": 1}, {"worker": 0, "got": 1, "put": 0}],
                     "chain_intact": True, "left_in_queue": [0]}, ["0 → 1 → 0", "Chain intact"]),
    "pool": ({"mode": "apply_async", "tasks": [{"task": 0, "worker_pid": 9, "status": "done"},
                                                {"task": 1, "worker_pid": 8, "status": "killed"},
                                                {"task": 2, "worker_pid": None, "status": "not_started"}],
              "done": 1, "killed": 1, "not_started": 1, "cancelled": 2, "distinct_workers": 1, "wall_s": 1.5,
              "ideal_s": 1.0, "pool_start_s": 0.3},
             ["Wall time (s)", "1.500", "Ideal time (s)", "Tasks running when terminated (killed)",
              "Tasks never started"]),
    "sync": ({"primitive": "semaphore", "invariant": {"en": "never more than k", "zh": "最多 k"},
              "invariant_held": True, "violations": [], "max_concurrent": 2, "k": 2},
             ["never more than k", "Invariant held", "2 (k = 2)"]),
}


@pytest.mark.parametrize("lesson", sorted(FIGURES))
def test_result_figures_of_every_lesson(qtbot, lesson):
    result, expected = FIGURES[lesson]
    view = ResultView()
    qtbot.addWidget(view)
    view.set_summary(_summary(lesson, result))
    text = view.toPlainText()
    assert f"{lesson} explained" in text
    assert "missing" not in text
    for snippet in expected:
        assert snippet in text, (snippet, text)


def _labels(items: list) -> list:
    found = []
    for item in items:
        found += [item.label] if isinstance(item, rows.Row) else list(item.headers)
    return found


@pytest.mark.parametrize("lesson", list(LESSONS))
def test_result_shows_the_rows_each_lesson_gives(qtbot, lesson):
    """Whatever rows a lesson returns for its example result are shown, in both languages."""
    summary = _summary(lesson, LESSONS[lesson].example_result)
    labels = _labels(LESSONS[lesson].result_rows(summary))
    assert labels, lesson
    view = ResultView()
    qtbot.addWidget(view)
    view.set_summary(summary)
    text = view.toPlainText()
    assert "missing" not in text
    assert all(label.en in text for label in labels), text
    view.set_language_key("zh")
    text = view.toPlainText()
    assert all(label.zh in text for label in labels), text


def test_result_colours_good_and_bad_news(qtbot):
    view = ResultView()
    qtbot.addWidget(view)
    view.set_summary(_summary("shared_array", {**LESSONS["shared_array"].example_result, "lost_updates": 0}))
    html = view.toHtml().lower()
    assert GOOD.lower() in html and BAD.lower() in html  # nothing lost (good), overflowed (bad)
    view.set_summary(_summary("isolation", {"parent_list": [], "child_lists": [], "child_list_ids": []}))
    html = view.toHtml().lower()
    assert GOOD.lower() in html and BAD.lower() not in html


@pytest.mark.parametrize("lesson", list(LESSONS))
def test_result_of_an_old_file_says_figures_are_missing(qtbot, lesson):
    view = ResultView()
    qtbot.addWidget(view)
    view.set_summary(_summary(lesson, {"cycle": None, "chain": 5, "points": [{}]}))  # broken or foreign keys
    text = view.toPlainText()
    assert f"{lesson} explained" in text  # the rest of the result is still shown
    rendered = LESSONS[lesson].result_rows(_summary(lesson, LESSONS[lesson].example_result))
    assert "Some figures are missing from this result" in text or _labels(rendered)[0].en in text


def test_result_rows_of_a_wrong_type_give_a_message(qtbot, monkeypatch):
    monkeypatch.setattr(type(LESSONS["basics"]), "result_rows", lambda self, summary: ["not a row"])
    view = ResultView()
    qtbot.addWidget(view)
    view.set_summary(_summary("basics", {}))
    assert "Some figures are missing from this result: result rows: str is not a Row or a Table" \
        in view.toPlainText()


# --- code view ----------------------------------------------------------------------------
SCRIPT = 'import os\n\n\ndef main():\n    """Doc."""\n    return 42  # the answer\n\n\nprint("hi", main())\n'


def _formats(view: CodeView) -> list[tuple[int, str]]:
    found = []
    block = view.editor.document().firstBlock()
    while block.isValid():
        for r in block.layout().formats():
            found.append((block.blockNumber(), r.format.foreground().color().name().upper()))
        block = block.next()
    return found


def test_code_view_highlights(qtbot):
    view = CodeView()
    qtbot.addWidget(view)
    view.set_code(SCRIPT)
    view.highlighter.rehighlight()
    assert view.editor.objectName() == "codeView" and view.editor.isReadOnly()
    assert view.editor.font().fixedPitch()
    colors = {color for _block, color in _formats(view)}
    for kind in ("keyword", "string", "comment", "number"):
        assert COLORS[kind].upper() in colors, kind
    assert view.code() == SCRIPT


def test_code_view_multiline_string_state(qtbot):
    view = CodeView()
    qtbot.addWidget(view)
    view.set_code('x = """first\nsecond def\nthird"""\ny = 1\n')
    view.highlighter.rehighlight()
    by_block = {}
    for block, color in _formats(view):
        by_block.setdefault(block, set()).add(color)
    assert by_block[1] == {COLORS["string"].upper()}  # the middle line is all string, "def" included
    assert COLORS["number"].upper() in by_block[3]


def test_code_view_copy(qtbot):
    view = CodeView()
    qtbot.addWidget(view)
    view.set_code(SCRIPT)
    with qtbot.waitSignal(view.copied, timeout=1000):
        qtbot.mouseClick(view.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == SCRIPT


def test_code_view_save(qtbot, tmp_path, monkeypatch):
    view = CodeView()
    qtbot.addWidget(view)
    view.set_code(SCRIPT)
    target = tmp_path / "lesson.py"
    view.ask_save_path = lambda: str(target)  # instead of the file dialog
    with qtbot.waitSignal(view.saved, timeout=1000) as blocker:
        qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [str(target)]
    assert target.read_text(encoding="utf-8") == SCRIPT
    assert [p.name for p in tmp_path.iterdir()] == ["lesson.py"]  # no temporary file left

    shown = []
    monkeypatch.setattr("app.gui.panels.code_view.QMessageBox.critical",
                        lambda parent, title, text: shown.append((title, text)))
    bad = tmp_path / "no such folder" / "lesson.py"
    assert view.save_to(str(bad)) is False
    assert len(shown) == 1
    assert str(bad) in shown[0][1] and "No such file or directory" in shown[0][1]

    view.ask_save_path = lambda: ""  # cancelled: nothing happens
    view.save()
    assert len(shown) == 1


# --- lesson text --------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["en", "zh"])
@pytest.mark.parametrize("lesson", sorted(LESSONS))
def test_lesson_text_exists_and_renders(qtbot, lesson, key):
    assert lesson_path(lesson, key).is_file()
    view = LessonText()
    qtbot.addWidget(view)
    view.show_lesson(lesson, key)
    assert view.objectName() == "lessonText"
    assert len(view.toPlainText()) > 200
    block = view.document().firstBlock()
    levels = []
    while block.isValid():
        levels.append(block.blockFormat().headingLevel())
        block = block.next()
    assert 1 in levels and 2 in levels  # a title and sections
    text = lesson_path(lesson, key).read_text(encoding="utf-8")
    assert "__name__ == '__main__'" in text  # every lesson reminds of the guard
    if key == "zh":
        assert re.search(r"[\u4e00-\u9fff]", view.toPlainText())


def test_lesson_text_missing_and_language(qtbot):
    language = Language()
    view = LessonText(language)
    qtbot.addWidget(view)
    view.show_lesson("no_such_lesson", "en")
    assert "no_such_lesson" in view.toPlainText() and "missing" in view.toPlainText()
    view.show_lesson("counter")
    english = view.toPlainText()
    try:
        language.set("zh_CN")
        view.retranslate()
        assert view.key == "zh" and view.toPlainText() != english
        assert "进程锁" in view.toPlainText()
    finally:
        language.set("en")
    view.retranslate()
    assert view.toPlainText() == english


# --- translations -------------------------------------------------------------------------
def _tr_literals() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(PANELS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "tr":
                arg = node.args[0] if node.args else None
                assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), \
                    f"{path.name}:{node.lineno}: tr() needs a string literal"
                found.setdefault(arg.value, []).append(f"{path.name}:{node.lineno}")
    return found


def test_every_tr_literal_is_translated():
    table = json.loads(resource_path("i18n", "zh_CN", "panels.json").read_text(encoding="utf-8"))
    literals = _tr_literals()
    assert len(literals) > 30  # the panels' own words (a lesson's result words live in its module)
    missing = {text: where for text, where in literals.items() if not table.get(text)}
    assert not missing, f"add to resources/i18n/zh_CN/panels.json: {missing}"
    for text in literals:
        assert set(re.findall(r"{\w+}", text)) == set(re.findall(r"{\w+}", table[text])), text
