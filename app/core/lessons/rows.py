"""A lesson's result as the rows the result view shows: plain data, no Qt.

``Lesson.result_rows(summary)`` returns a list of ``Row`` and ``Table``.
Labels and headers are ``Text`` (English and Chinese). A value or a cell is
``Text``, a ``str`` (shown as it is), ``None`` (shown as "—") or any other
JSON value (shown as JSON; a float with 6 significant digits). ``emphasis``
says whether a value is good or bad news (the view colours it); rows that
follow one another form one table of figures.

Imported by the result view and by ``result_rows`` methods (inside them: a
spawned worker imports its lesson module and needs none of this).
"""

from __future__ import annotations

GOOD = "good"
BAD = "bad"
NEUTRAL = "neutral"
DASH = "—"


class Text:
    """The same words in English and Chinese."""

    __slots__ = ("en", "zh")

    def __init__(self, en: str, zh: str):
        self.en = en
        self.zh = zh

    def get(self, key: str) -> str:
        return self.zh if key == "zh" else self.en

    def __eq__(self, other) -> bool:
        return isinstance(other, Text) and (self.en, self.zh) == (other.en, other.zh)

    def __hash__(self) -> int:
        return hash((self.en, self.zh))

    def __repr__(self) -> str:
        return f"Text({self.en!r}, {self.zh!r})"


class Row:
    """One labelled figure."""

    __slots__ = ("label", "value", "emphasis")

    def __init__(self, label: Text, value, emphasis: str = NEUTRAL):
        if emphasis not in (GOOD, BAD, NEUTRAL):
            raise ValueError(f"emphasis: {emphasis!r} is not allowed; allowed: {GOOD}, {BAD}, {NEUTRAL}")
        self.label = label
        self.value = value
        self.emphasis = emphasis

    def __repr__(self) -> str:
        return f"Row({self.label!r}, {self.value!r}, {self.emphasis!r})"


class Table:
    """A table with a header row; cells are values as for ``Row``."""

    __slots__ = ("headers", "rows")

    def __init__(self, headers: list[Text], rows: list[list]):
        self.headers = list(headers)
        self.rows = [list(row) for row in rows]

    def __repr__(self) -> str:
        return f"Table({self.headers!r}, {len(self.rows)} rows)"


YES = Text("yes", "是")
NO = Text("no", "否")


def yes_no(label: Text, flag, good_when: bool = True) -> Row:
    """Yes or no, good when it is ``good_when``; ``None`` (not measured) is a dash."""
    if flag is None:
        return Row(label, DASH)
    return Row(label, YES if flag else NO, GOOD if bool(flag) == good_when else BAD)


def lost(label: Text, count) -> Row:
    """A count of things that should be zero (lost updates, cancelled tasks)."""
    if count is None:
        return Row(label, DASH)
    return Row(label, count, BAD if count else GOOD)


def seconds(value) -> str:
    return DASH if value is None else f"{value:.3f}"


def process_names(summary: dict) -> dict[int, str]:
    """Process index → its display name (``app.core.names``: the lanes' names), from the summary."""
    from app.core.names import display_names

    return display_names(summary)
