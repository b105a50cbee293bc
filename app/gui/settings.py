"""What the app remembers between sessions (QSettings): lesson, parameters, language, layout.

The settings file is read on every start, so nothing in it may keep the window
from opening: every value is checked on read (type, size, range), and a wrong
one falls back to its default, is overwritten (removed) so the next start is
clean, and is reported in one log line. The other values are kept.
"""

from __future__ import annotations

import json
import logging
import math

from PySide6.QtCore import QByteArray, QSettings

from app.core import trace_schema

log = logging.getLogger("procscope.settings")

MAX_TEXT = 256  # a text in a saved parameter list
START_METHODS = ("spawn", "fork", "forkserver")  # the form keeps only those this OS has
MAX_LAYOUT_BYTES = 64 * 1024  # Qt's saved geometry and dock state are a few hundred bytes
MAX_PARAMS_JSON = 16 * 1024
MAX_PARAM_TEXT = 1024
MAX_PARAM_NUMBER = 2**53  # beyond this a spin box overflows and a float stops being exact
MAX_RECORDS_KEY = "trace/max_records"
FONT_SCALE_KEY = "view/font_scale"
FONT_SCALE_RANGE = (0.6, 3.0)  # app.gui.font_scale clamps to the same range
DEADLOCK_LINGER_KEY = "run/deadlock_linger_s"
DEADLOCK_LINGER_DEFAULT = 2.0  # seconds a found deadlock stays visibly stuck before the run is stopped
DEADLOCK_LINGER_RANGE = (0.0, 60.0)  # 0: stop at once


class AppSettings:
    def __init__(self, settings: QSettings | None = None):
        self._s = settings if settings is not None else QSettings("ProcScope", "ProcScope")

    @property
    def store(self) -> QSettings:
        """The QSettings behind these (for a dialog that remembers its own keys, e.g. Export)."""
        return self._s

    # --- checked reading --------------------------------------------------------------------
    def _discard(self, key: str, value, why: str) -> None:
        log.warning("settings: %s held %s (%s); using the default and removing it", key,
                    trace_schema.shown(value), why)
        self._s.remove(key)

    def _text(self, key: str, allowed) -> str | None:
        value = self._s.value(key)
        if value is None:
            return None
        if not isinstance(value, str) or value not in allowed:
            self._discard(key, value, "expected one of " + ", ".join(allowed))
            return None
        return value

    def language(self) -> str | None:
        from app.gui.i18n import LANGUAGES

        return self._text("language", LANGUAGES)

    def set_language(self, language: str) -> None:
        self._s.setValue("language", language)

    def last_lesson(self) -> str | None:
        from app.core.lessons import LESSONS

        return self._text("lesson", LESSONS)

    def set_last_lesson(self, lesson_id: str) -> None:
        self._s.setValue("lesson", lesson_id)

    def params(self, lesson_id: str) -> dict:
        """The saved parameter values of a lesson; a malformed one is dropped (the form shows its default)."""
        key = f"params/{lesson_id}"
        value = self._s.value(key)
        if value is None:
            return {}
        if not isinstance(value, str) or len(value) > MAX_PARAMS_JSON:
            self._discard(key, value, f"expected a JSON object of at most {MAX_PARAMS_JSON} characters")
            return {}
        try:
            if trace_schema.json_depth(value.encode("utf-8", "replace")) > 2:
                raise ValueError("nested too deep")
            loaded = json.loads(value)
        except (ValueError, RecursionError) as exc:
            self._discard(key, value, f"not JSON: {exc}")
            return {}
        if not isinstance(loaded, dict):
            self._discard(key, value, "expected a JSON object")
            return {}
        kept = {name: raw for name, raw in loaded.items() if _param_value_ok(raw)}
        if len(kept) != len(loaded):
            bad = next(name for name in loaded if name not in kept)
            log.warning("settings: %s held %s for %s; using its default", key, trace_schema.shown(loaded[bad]), bad)
            self._s.setValue(key, json.dumps(kept))
        return kept

    def set_params(self, lesson_id: str, raw: dict) -> None:
        self._s.setValue(f"params/{lesson_id}", json.dumps(raw))

    def start_method(self) -> str | None:
        return self._text("start_method", START_METHODS)

    def set_start_method(self, method: str) -> None:
        self._s.setValue("start_method", method)

    def layout(self) -> tuple[QByteArray | None, QByteArray | None]:
        return self._layout_value("geometry"), self._layout_value("window_state")

    def _layout_value(self, key: str) -> QByteArray | None:
        value = self._s.value(key)
        if value is None:
            return None
        if not isinstance(value, QByteArray) or value.isEmpty() or value.size() > MAX_LAYOUT_BYTES:
            self._discard(key, value, "expected the bytes Qt saved")
            return None
        return value

    def discard_layout(self, key: str, value) -> None:
        """Qt could not restore a saved geometry or state: forget it."""
        self._discard(key, value, "Qt could not restore it")

    def set_layout(self, geometry: QByteArray, state: QByteArray) -> None:
        self._s.setValue("geometry", geometry)
        self._s.setValue("window_state", state)

    def trace_max_records(self) -> int:
        """The most records a trace file may hold to be opened (the core's default unless set)."""
        value = self._s.value(MAX_RECORDS_KEY)
        if value is None:
            return trace_schema.MAX_RECORDS
        try:
            number = int(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else -1
        except ValueError:
            number = -1
        if not 0 < number <= 2**40:
            self._discard(MAX_RECORDS_KEY, value, "expected a positive whole number")
            return trace_schema.MAX_RECORDS
        return number

    def font_scale(self) -> float:
        """The text size the user chose with Ctrl+= / Ctrl+- (1.0 unless set)."""
        value = self._s.value(FONT_SCALE_KEY)
        if value is None:
            return 1.0
        try:
            number = float(value) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else -1.0
        except ValueError:
            number = -1.0
        low, high = FONT_SCALE_RANGE
        if not (math.isfinite(number) and low <= number <= high):
            self._discard(FONT_SCALE_KEY, value, f"expected a number from {low} to {high}")
            return 1.0
        return number

    def set_font_scale(self, scale: float) -> None:
        self._s.setValue(FONT_SCALE_KEY, float(scale))

    def deadlock_linger_s(self) -> float:
        """How long a found deadlock stays visibly stuck before the run is stopped (0: at once)."""
        value = self._s.value(DEADLOCK_LINGER_KEY)
        if value is None:
            return DEADLOCK_LINGER_DEFAULT
        try:
            number = float(value) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else -1.0
        except ValueError:
            number = -1.0
        low, high = DEADLOCK_LINGER_RANGE
        if not (math.isfinite(number) and low <= number <= high):
            self._discard(DEADLOCK_LINGER_KEY, value, f"expected a number of seconds from {low} to {high}")
            return DEADLOCK_LINGER_DEFAULT
        return number

    def set_deadlock_linger_s(self, seconds: float) -> None:
        self._s.setValue(DEADLOCK_LINGER_KEY, float(seconds))

    def sync(self) -> None:
        self._s.sync()


def _param_value_ok(value) -> bool:
    """A value the form can show: a small number, a short text, yes/no, or a short list of texts."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) <= MAX_PARAM_NUMBER
    if isinstance(value, float):
        return math.isfinite(value) and abs(value) <= MAX_PARAM_NUMBER
    if isinstance(value, str):
        return len(value) <= MAX_PARAM_TEXT
    if isinstance(value, list):
        return len(value) <= 64 and all(isinstance(item, str) and len(item) <= MAX_TEXT for item in value)
    return False
