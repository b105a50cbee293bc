"""The app held to the tutorial (../shared/seed/multiprocess-tutorial.zh.md): where the tutorial is wrong, the
lesson texts say so, marked as errata, in English and Chinese."""

from __future__ import annotations

from pathlib import Path

import pytest

TEXTS = Path(__file__).resolve().parents[2] / "resources" / "lessons"

# lesson -> words every erratum of that lesson must contain, (en, zh)
ERRATA = {
    "basics": [("Windows has no `fork()`", "Windows 没有 `fork()`")],
    "pool": [("`close()` does not wait", "`close()` 并不等待")],
    "queue_relay": [("`multiprocessing.Queue` is a factory", "`multiprocessing.Queue` 是一个工厂函数"),
                    ("the missing `join()`", "缺少的 `join()`")],
    "shared_array": [("output without code", "只有输出没有代码"), ("the missing `join()`", "缺少的 `join()`")],
    "counter": [("the missing `join()`", "缺少的 `join()`")],
}


def _errata(text: str, marker: str) -> list[str]:
    """The erratum items of a text: list items that start with the marker, with their continuation lines."""
    items, current = [], None
    for line in text.splitlines():
        if line.startswith("- "):
            current = [line] if line.startswith(f"- **{marker}") else None
            if current is not None:
                items.append(current)
        elif current is not None and line.startswith("  "):
            current.append(line.strip())
        else:
            current = None
    return [" ".join(item) for item in items]


@pytest.mark.parametrize("lesson", sorted(ERRATA))
def test_the_tutorials_mistakes_are_marked_as_errata(lesson):
    en = _errata((TEXTS / f"{lesson}.en.md").read_text(encoding="utf-8"), "Erratum")
    zh = _errata((TEXTS / f"{lesson}.zh.md").read_text(encoding="utf-8"), "勘误")
    assert len(en) == len(zh) == len(ERRATA[lesson])
    for (want_en, want_zh), got_en, got_zh in zip(ERRATA[lesson], en, zh, strict=True):
        assert want_en in got_en and want_zh in got_zh


def test_the_missing_join_erratum_names_the_crash_and_the_cure():
    for lesson in ("shared_array", "queue_relay", "counter"):
        en = _errata((TEXTS / f"{lesson}.en.md").read_text(encoding="utf-8"), "Erratum")[-1]
        zh = _errata((TEXTS / f"{lesson}.zh.md").read_text(encoding="utf-8"), "勘误")[-1]
        for words in ("FileNotFoundError", "SemLock._rebuild", "spawn", "forkserver", "Windows", "join=false"):
            assert words in en and words in zh, (lesson, words)
