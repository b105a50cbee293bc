"""Parameter specs (type, range, default, labels zh/en) and their validation.

A spec turns user text (``--set NAME=VALUE``, a form field, a saved setting)
into a typed value, or raises ``ParamError`` with a message that names the
parameter, the value and what is allowed.
"""

from __future__ import annotations

import math
import re

MAX_PROCESSES = 64  # a classroom projector shows 64 lanes; more is refused
SHOWN_CHARS = 40  # a value longer than this is cut in a message (a 5,000-digit number is not echoed in full)
# Numbers as people type them, in ASCII only: Python's int()/float() would also take fullwidth or Arabic-Indic
# digits and underscores (``２``, ``1_0``), which no other tool reading the same settings or scripts would.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


class ParamError(ValueError):
    """Bad input: the message names the field, the value and what is allowed."""


class FrozenInstanceError(AttributeError):
    """A ``ParamSpec`` is immutable (like ``dataclasses.FrozenInstanceError``)."""


_FIELDS = ("name", "kind", "default", "label_en", "label_zh", "minimum", "maximum", "choices",
           "help_en", "help_zh", "choice_labels")
_NEW_DICT = object()  # ``choice_labels`` not given: a fresh ``{}`` for each spec


class ParamSpec:
    """One parameter: its type, range or choices, default and labels zh/en.

    Immutable, compared and printed by its fields, like the frozen dataclass it
    was; written out by hand because ``dataclasses`` imports ``inspect`` (~15 ms),
    and every lesson module, so every spawned worker, imports this module
    (the target: a lesson starts within 1.1× of bare multiprocessing).
    """

    __match_args__ = _FIELDS

    name: str
    kind: str  # "int", "float", "choice", "choices" (a comma-separated subset), "bool"
    default: object
    label_en: str
    label_zh: str
    minimum: float | None
    maximum: float | None
    choices: tuple[str, ...]
    help_en: str
    help_zh: str
    choice_labels: dict  # choice -> {"en":…, "zh":…}

    def __init__(self, name: str, kind: str, default: object, label_en: str, label_zh: str,
                 minimum: float | None = None, maximum: float | None = None, choices: tuple[str, ...] = (),
                 help_en: str = "", help_zh: str = "", choice_labels: dict = _NEW_DICT) -> None:
        if choice_labels is _NEW_DICT:
            choice_labels = {}
        values = (name, kind, default, label_en, label_zh, minimum, maximum, choices, help_en, help_zh,
                  choice_labels)
        self.__dict__.update(zip(_FIELDS, values, strict=True))

    def _astuple(self) -> tuple:
        return tuple(self.__dict__[f] for f in _FIELDS)

    def __setattr__(self, name: str, value) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return self._astuple() == other._astuple()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._astuple())

    def __repr__(self) -> str:
        fields = ", ".join(f"{f}={self.__dict__[f]!r}" for f in _FIELDS)
        return f"{self.__class__.__qualname__}({fields})"

    def allowed(self) -> str:
        """What is allowed, in words (for error messages and tooltips)."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "choices":
            return "one or more of " + ", ".join(self.choices) + ", separated by commas"
        if self.kind == "bool":
            return "true or false"
        noun = "an integer" if self.kind == "int" else "a number"
        return f"{noun} from {_fmt(self.minimum)} to {_fmt(self.maximum)}"

    def _fail(self, value) -> ParamError:
        return ParamError(f"{self.name}: {shown(value)} is not allowed; allowed: {self.allowed()}")

    def parse(self, text):
        """A typed value from user text (or an already typed value)."""
        if self.kind == "bool":
            if isinstance(text, bool):
                return text
            lowered = str(text).strip().lower()
            if lowered in ("true", "1", "yes", "on"):
                return True
            if lowered in ("false", "0", "no", "off"):
                return False
            raise self._fail(text)
        if self.kind == "choice":
            value = str(text).strip()
            if value not in self.choices:
                raise self._fail(text)
            return value
        if self.kind == "choices":
            items = text if isinstance(text, (list, tuple)) else str(text).split(",")
            values = [str(item).strip() for item in items if str(item).strip()]
            if not values or any(v not in self.choices for v in values):
                raise self._fail(text)
            return list(dict.fromkeys(values))  # keep the order given, drop repeats
        try:
            if isinstance(text, bool) or (isinstance(text, str) and not _NUMBER.fullmatch(text.strip())):
                raise ValueError
            if self.kind == "int":
                number = float(text)
                if not number.is_integer():
                    raise ValueError
                value = int(number)
            else:
                value = float(text)
                if not math.isfinite(value):
                    raise ValueError
        except (TypeError, ValueError):
            raise self._fail(text) from None
        if (self.minimum is not None and value < self.minimum) or (
            self.maximum is not None and value > self.maximum
        ):
            raise self._fail(text)
        return value

    def to_json(self) -> dict:
        data = {
            "name": self.name,
            "type": self.kind,
            "default": self.default,
            "label": {"en": self.label_en, "zh": self.label_zh},
            "allowed": self.allowed(),
        }
        if self.kind in ("int", "float"):
            data["min"], data["max"] = self.minimum, self.maximum
        if self.kind in ("choice", "choices"):
            data["choices"] = list(self.choices)
        if self.help_en:
            data["help"] = {"en": self.help_en, "zh": self.help_zh}
        return data


def shown(value) -> str:
    """``value`` as a message shows it: its repr, cut after ``SHOWN_CHARS`` with how long it was."""
    text = repr(value)
    if len(text) <= SHOWN_CHARS:
        return text
    raw = str(value)
    unit = "digits" if raw.strip().lstrip("+-").isdigit() else "characters"
    return f"{text[:SHOWN_CHARS - 8]}…({len(raw)} {unit})"


def _fmt(number) -> str:
    if isinstance(number, float) and number.is_integer():
        return str(int(number)) if abs(number) >= 1 else str(number)
    return str(number)


def workers(default: int, name: str = "workers") -> ParamSpec:
    return ParamSpec(
        name, "int", default, "Workers", "进程数", 1, MAX_PROCESSES,
        help_en="How many worker processes to start (1…64).",
        help_zh="启动多少个工作进程（1…64）。",
    )


TEMPO = ParamSpec(
    "tempo", "float", 1.0, "Slow motion", "慢放倍数", 0.01, 20.0,
    help_en="Stretches every sleep and hold time, so interleavings can be watched.",
    help_zh="拉长每一次休眠和持锁时间，便于观察交错执行。",
)


def resolve(specs: list[ParamSpec], given: dict, lesson: str) -> dict:
    """Defaults overlaid with ``given`` (text or typed), every value checked."""
    by_name = {spec.name: spec for spec in specs}
    unknown = [name for name in given if name not in by_name]
    if unknown:
        raise ParamError(
            f"unknown parameter {unknown[0]!r} for lesson {lesson}; "
            f"allowed: {', '.join(by_name)}"
        )
    values = {spec.name: spec.default for spec in specs}
    for name, raw in given.items():
        values[name] = by_name[name].parse(raw)
    return values


def parse_assignments(pairs: list[str]) -> dict:
    """``["workers=3", "lock=none"]`` → ``{"workers": "3", "lock": "none"}``."""
    result = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ParamError(f"--set: {shown(pair)} is not NAME=VALUE; allowed: NAME=VALUE, e.g. workers=3")
        if name.strip() in result:
            raise ParamError(f"--set: {shown(name.strip())} is given twice; allowed: each parameter once")
        result[name.strip()] = value.strip()
    return result
