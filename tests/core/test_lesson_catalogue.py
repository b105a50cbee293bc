"""Every registered lesson is complete: its two texts, its plain script, its words in both languages
and result rows the view can show. A lesson that lacks one fails here, naming the lesson and the part."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.core.lessons import LESSONS, rows
from app.core.lessons.base import Lesson

REPO = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")  # Chinese characters or punctuation


def _words(what: str, en, zh, prose: bool) -> list[str]:
    """What is wrong with one English/Chinese pair: prose must be Chinese; a label may be a code
    name without Chinese only if it is one token (``PID``, ``id()``, ``chunksize``)."""
    if not isinstance(en, str) or not en.strip():
        return [f"{what}: no English"]
    if not isinstance(zh, str) or not zh.strip():
        return [f"{what} {en!r}: no Chinese"]
    if (prose or " " in zh.strip()) and not CJK.search(zh):
        return [f"{what} {en!r}: the Chinese {zh!r} is not a translation"]
    return []


def _example_summary(lesson: Lesson) -> dict:
    procs = [{"index": i, "name": f"Process-{i + 1}", "pid": 100 + i, "ppid": 1, "role": "worker",
              "time_in_state_s": {"working": 0.5}} for i in range(2)]
    return {"lesson": lesson.id, "status": "done", "start_method": "spawn", "duration_s": 1.0, "parent_pid": 1,
            "processes": procs, "result": {**lesson.example_result, "explanation": {"en": "x", "zh": "解释"}},
            "errors": []}


def _texts_of(items: list) -> list[tuple[str, rows.Text]]:
    """(where, Text) for every label, header and bilingual value of the rows."""
    found = []
    for item in items:
        if isinstance(item, rows.Row):
            found.append(("result row label", item.label))
            if isinstance(item.value, rows.Text):
                found.append(("result row value", item.value))
        elif isinstance(item, rows.Table):
            found += [("result table header", h) for h in item.headers]
            found += [("result table cell", c) for row in item.rows for c in row if isinstance(c, rows.Text)]
        else:
            found.append(("result rows", item))
    return found


def missing_parts(lesson: Lesson) -> list[str]:
    problems = []
    for key in ("en", "zh"):
        path = REPO / "resources" / "lessons" / f"{lesson.id}.{key}.md"
        if not path.is_file() or not path.read_text(encoding="utf-8").strip():
            problems.append(f"its text {path.relative_to(REPO).as_posix()}")
    if not lesson.has_script:
        problems.append("a code builder (define script(values, start_method))")
    problems += _words("title", lesson.title_en, lesson.title_zh, prose=True)
    problems += _words("summary", lesson.summary_en, lesson.summary_zh, prose=True)
    for spec in lesson.specs:
        problems += _words(f"parameter {spec.name} label", spec.label_en, spec.label_zh, prose=False)
    if not isinstance(lesson.example_result, dict):
        problems.append("example_result (a typical summarize() result, to check the result rows)")
        return problems
    try:
        items = lesson.result_rows(_example_summary(lesson))
    except Exception as exc:  # noqa: BLE001 - report it as a missing part, naming the lesson
        return [*problems, f"result rows: result_rows(example_result) raised {type(exc).__name__}: {exc}"]
    if not items:
        problems.append("result rows (result_rows returns none for example_result)")
    for where, text in _texts_of(items):
        if not isinstance(text, rows.Text):
            problems.append(f"{where}: {text!r} is not a rows.Text / Row / Table")
        else:
            problems += _words(where, text.en, text.zh, prose=False)
    return problems


@pytest.mark.parametrize("lesson_id", list(LESSONS))
def test_every_lesson_is_complete(lesson_id):
    problems = missing_parts(LESSONS[lesson_id])
    assert not problems, f"lesson {lesson_id} lacks: " + "; ".join(problems)


def test_a_bare_lesson_is_told_what_it_lacks():
    class Bare(Lesson):
        id = "bare_lesson_for_test"
        title_en = "Bare"
        title_zh = "Bare"
        summary_en = "A lesson with nothing else."

    text = "; ".join(missing_parts(Bare()))
    for part in ("resources/lessons/bare_lesson_for_test.en.md", "resources/lessons/bare_lesson_for_test.zh.md",
                 "a code builder", "title 'Bare': the Chinese 'Bare' is not a translation",
                 "summary 'A lesson with nothing else.': no Chinese", "example_result"):
        assert part in text, (part, text)


def test_untranslated_result_labels_are_named():
    class Half(Lesson):
        id = "half_lesson_for_test"
        example_result = {"n": 1}

        def result_rows(self, summary):
            return [rows.Row(rows.Text("Lost updates", "Lost updates"), summary["result"]["n"]),
                    rows.Table([rows.Text("Process", "")], [])]

    text = "; ".join(missing_parts(Half()))
    assert "result row label 'Lost updates': the Chinese 'Lost updates' is not a translation" in text
    assert "result table header 'Process': no Chinese" in text


def test_a_deadlock_lesson_says_so_and_the_others_do_not():
    assert Lesson.expects_deadlock is False
    assert [i for i, lesson in LESSONS.items() if lesson.expects_deadlock] == ["deadlock"]


def test_emphasis_is_checked():
    with pytest.raises(ValueError, match="emphasis: 'red'.*allowed: good, bad, neutral"):
        rows.Row(rows.Text("a", "甲"), 1, "red")
