"""One name per process in every view; every explanation and result row in Chinese is Chinese;
a run that did not finish never claims the lesson's outcome."""

from __future__ import annotations

import re
import threading

import pytest

from app.core import events as ev
from app.core.lessons import LESSONS
from app.core.lessons.rows import Row, Table, Text
from app.core.names import display_names
from app.core.runner import Runner
from app.core.summary import build_summary
from app.core.trace import ProcessInfo
from tests.helpers import assert_all_gone, run_lesson

TINY = {
    "basics": {"workers": 2},
    "isolation": {"workers": 2},
    "shared_array": {"workers": 2},
    "manager": {"workers": 2},
    "queue_relay": {"workers": 3},
    "counter": {"workers": 2, "hold_s": 0.02},
    "pool": {"pool_size": 2, "tasks": 4, "task_s": 0.02},
    "sync": {"workers": 3, "hold_s": 0.02, "rounds": 1},
    "deadlock": {"workers": 2, "hold_s": 0.05},
    "speedup": {"job_size": 100_000, "max_workers": 2, "start_methods": "fork"},
}


@pytest.fixture(scope="module")
def runs() -> dict:
    """Every lesson once, tiny, under fork: lesson id → (trace, summary)."""
    assert set(TINY) == set(LESSONS), "a new lesson needs its tiny parameters here"
    out = {}
    for lesson, params in TINY.items():
        runner = Runner(lesson, {k: str(v) for k, v in params.items()}, "fork", sample_hz=None)
        trace = runner.run(timeout=60)
        summary = build_summary(trace)
        assert_all_gone(p["pid"] for p in summary["processes"])
        assert summary["status"] == "done", (lesson, summary["errors"])
        out[lesson] = (trace, summary)
    return out


# --- names -------------------------------------------------------------------------------------------


def test_pool_workers_and_manager_are_numbered_per_run_in_start_order():
    procs = [
        ProcessInfo(3, "SpawnPoolWorker-57", role="pool"),
        ProcessInfo(1, "SpawnPoolWorker-52", role="pool"),
        ProcessInfo(2, "SpawnPoolWorker-53", role="pool"),
        ProcessInfo(0, "SyncManager-10", role="manager"),
        ProcessInfo(4, "Process-5"),
        ProcessInfo(5, ""),
    ]
    assert display_names(procs) == {0: "SyncManager-1", 1: "SpawnPoolWorker-1", 2: "SpawnPoolWorker-2",
                                    3: "SpawnPoolWorker-3", 4: "Process-5", 5: "#5"}
    as_dicts = [{"index": p.index, "name": p.name, "role": p.role} for p in procs]
    assert display_names({"processes": as_dicts}) == display_names(procs)


def test_a_second_pool_in_the_session_is_numbered_from_1_again():
    for _ in range(2):  # multiprocessing's counter goes on: the real names of the second run are higher
        summary = run_lesson("pool", "fork", pool_size=2, tasks=3, task_s=0.01)
        names = display_names(summary)
        pool = sorted(names[p["index"]] for p in summary["processes"] if p["role"] == "pool")
        assert pool == ["ForkPoolWorker-1", "ForkPoolWorker-2"]
    real = [p["name"] for p in summary["processes"] if p["role"] == "pool"]
    assert real != pool  # the real name stays for tooltips and the process table
    table = next(item for item in LESSONS["pool"].result_rows(summary) if isinstance(item, Table))
    assert table.headers[0] == Text("Process", "进程")
    assert {row[0] for row in table.rows} <= set(pool)


def _strings(value, lang: str) -> list[str]:
    if isinstance(value, Text):
        return [value.get(lang)]
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v, lang)]
    return []


def _shown(lesson, summary, lang: str) -> list[str]:
    """Every text the result view shows for this summary in ``lang``: explanation, labels, values, cells."""
    out = [summary["result"].get("explanation", {}).get(lang, "")]
    for item in LESSONS[lesson].result_rows(summary):
        if isinstance(item, Row):
            out += _strings(item.label, lang) + _strings(item.value, lang)
        else:
            out += _strings(item.headers, lang) + [s for row in item.rows for s in _strings(row, lang)]
    return out


_INDEX_NAMES = re.compile(r"\b(worker|child) \d|进程 \d|子进程 \d|\[\d+, \d+\]")


def test_results_name_processes_as_the_lanes_do(runs):
    for lesson, (trace, summary) in runs.items():
        names = set(display_names(trace).values())
        for lang in ("en", "zh"):
            for text in _shown(lesson, summary, lang):
                assert not _INDEX_NAMES.search(text), f"{lesson} ({lang}) names a process by number: {text!r}"
        assert display_names(trace) == display_names(summary)
        if lesson in ("isolation", "queue_relay", "manager", "counter", "pool"):
            table = next(item for item in LESSONS[lesson].result_rows(summary) if isinstance(item, Table))
            column = [h.en for h in table.headers].index("Process" if lesson != "queue_relay" else "Getter")
            assert {row[column] for row in table.rows} <= names, lesson


def test_the_deadlock_cycle_uses_the_lanes_names_in_both_languages(runs):
    trace, summary = runs["deadlock"]
    names = display_names(trace)
    result = summary["result"]
    first, second = (names[i] for i in result["cycle"])
    assert result["cycle_names"] == [first, second]
    assert f"{first} waits for lock" in result["explanation"]["en"]
    assert f"{first} 等待锁" in result["explanation"]["zh"] and "waits for" not in result["explanation"]["zh"]
    cycle = next(r for r in LESSONS["deadlock"].result_rows(summary) if r.label.en == "Wait-for cycle")
    assert cycle.value.zh.startswith(f"{first} 等待锁") and cycle.value.zh.endswith(first)


# --- Chinese is Chinese ----------------------------------------------------------------------------------

# Three or more English words in a row: a sentence nobody translated. Code in backticks does not count.
_ENGLISH = re.compile(r"(?<![\w.-])[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,}){2,}(?![\w(])")
_CODE = re.compile(r"`[^`]*`")
_ALLOWED = ("python -m",)  # code the Chinese text quotes as it is


def _english_in(text: str) -> list[str]:
    text = _CODE.sub("", text)
    for code in _ALLOWED:
        text = text.replace(code, "")
    return _ENGLISH.findall(text)


def test_the_english_detector_finds_sentences_and_spares_code():
    assert _english_in("死锁：Process-1 waits for lock 1")
    assert not _english_in("Process-1 等待锁 1 → Process-2 等待锁 0")
    assert not _english_in("所以启动进程的代码必须放在 `if __name__ == '__main__':` 之下")
    assert not _english_in("apply_async 把任务同时交给全部 2 个进程；Pool(2) 中")


def test_every_explanation_and_result_row_is_chinese_in_chinese(runs):
    for lesson, (_trace, summary) in runs.items():
        for text in _shown(lesson, summary, "zh"):
            assert not _english_in(text), f"{lesson}: untranslated {_english_in(text)} in {text!r}"
    for lesson in LESSONS.values():
        example = {"result": lesson.example_result, "processes": [], "status": "done"}
        for text in _shown(lesson.id, example, "zh"):
            assert not _english_in(text), f"{lesson.id} example: untranslated {_english_in(text)} in {text!r}"


def test_broken_sync_violations_are_named_and_translated(monkeypatch):
    from tests.core import broken_sync

    monkeypatch.setitem(LESSONS, "sync", broken_sync.LESSON)
    summary = run_lesson("sync", "fork", primitive="event", workers=2, hold_s=0.2)
    result = summary["result"]
    assert result["invariant_held"] is False
    names = display_names(summary)
    assert all(any(name in v for name in names.values()) for v in result["violations"]), result["violations"]
    assert len(result["violations_zh"]) == len(result["violations"])
    for text in _shown("sync", summary, "zh"):
        assert not _english_in(text), f"untranslated {_english_in(text)} in {text!r}"


# --- a run that did not finish ------------------------------------------------------------------------


@pytest.mark.parametrize("status, en, zh", [
    ("stopped", "The run was stopped by the user", "被用户停止"),
    ("timeout", "time limit", "时间上限"),
])
def test_an_unfinished_run_says_so_first_and_claims_no_outcome(runs, status, en, zh):
    """The same events with the status of a run that was stopped: every lesson says so, first."""
    for lesson, (trace, _summary) in runs.items():
        trace.meta["status"] = status
        try:
            explanation = LESSONS[lesson].summarize(trace)["explanation"]
        finally:
            trace.meta["status"] = "done"
        assert explanation["en"].startswith(en) or en in explanation["en"].split(".")[0], (lesson, explanation)
        assert zh in explanation["zh"].split("。")[0], (lesson, explanation)
        claims = ("terminate() stopped the pool", "held in this run", "as in the tutorial", "prevents it",
                  "pays off", "still empty")
        assert not any(c in explanation["en"] for c in claims), (lesson, explanation["en"])


def test_a_pool_stopped_by_the_user_does_not_say_terminate_closed_it():
    """Stop after the first task: the finish was close_join, and the result says the user stopped it."""
    runner = None
    stopped = threading.Event()

    def listen(records, _texts):
        if records is not None and len(records) and not stopped.is_set():
            ends = records[(records[:, 2] == ev.TASK) & (records[:, 4] == ev.TASK_END)]
            if len(ends):
                stopped.set()
                runner.stop()

    runner = Runner("pool", {"pool_size": "2", "tasks": "12", "task_s": "0.3"}, "fork", listen, sample_hz=None)
    trace = runner.run(timeout=60)
    summary = build_summary(trace)
    assert_all_gone(p["pid"] for p in summary["processes"])
    assert summary["status"] == "stopped"
    result = summary["result"]
    assert result["done"] < 12
    assert result["explanation"]["en"].startswith("The run was stopped by the user")
    assert "terminate()" not in result["explanation"]["en"] and "terminate()" not in result["explanation"]["zh"]
    assert result["explanation"]["zh"].startswith("运行在完成之前被用户停止")
