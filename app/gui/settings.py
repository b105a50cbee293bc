"""What the app remembers between sessions (QSettings): lesson, parameters, language, layout."""

from __future__ import annotations

import json

from PySide6.QtCore import QByteArray, QSettings


class AppSettings:
    def __init__(self, settings: QSettings | None = None):
        self._s = settings if settings is not None else QSettings("ProcScope", "ProcScope")

    def language(self) -> str | None:
        value = self._s.value("language")
        return str(value) if value else None

    def set_language(self, language: str) -> None:
        self._s.setValue("language", language)

    def last_lesson(self) -> str | None:
        value = self._s.value("lesson")
        return str(value) if value else None

    def set_last_lesson(self, lesson_id: str) -> None:
        self._s.setValue("lesson", lesson_id)

    def params(self, lesson_id: str) -> dict:
        try:
            value = json.loads(str(self._s.value(f"params/{lesson_id}", "{}")))
        except (TypeError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def set_params(self, lesson_id: str, raw: dict) -> None:
        self._s.setValue(f"params/{lesson_id}", json.dumps(raw))

    def start_method(self) -> str | None:
        value = self._s.value("start_method")
        return str(value) if value else None

    def set_start_method(self, method: str) -> None:
        self._s.setValue("start_method", method)

    def layout(self) -> tuple[QByteArray | None, QByteArray | None]:
        return self._s.value("geometry"), self._s.value("window_state")

    def set_layout(self, geometry: QByteArray, state: QByteArray) -> None:
        self._s.setValue("geometry", geometry)
        self._s.setValue("window_state", state)

    def sync(self) -> None:
        self._s.sync()
