"""Language: Simplified Chinese or English, following the system, switchable at run time.

Every visible string goes through Qt's ``tr()``. Translations live as JSON
tables under ``resources/i18n/<language>/`` (one file per area of the app,
``{"English source": "翻译"}``), read by a ``QTranslator`` whose ``translate``
looks the source text up — no generated ``.qm`` file to build or commit.
A missing entry falls back to the English source.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QCoreApplication, QLocale, QObject, QTranslator, Signal

from app.resources import resource_path

ENGLISH = "en"
CHINESE = "zh_CN"
LANGUAGES = {ENGLISH: "English", CHINESE: "简体中文"}


_APP_PROPERTY = "procscopeLanguage"  # on the QCoreApplication: the language a ``Language`` last set


def lesson_key_of(language: str) -> str:
    """The key of lesson texts and labels in ``language``: ``en`` or ``zh``."""
    return "zh" if language == CHINESE else "en"


def installed_lesson_key() -> str:
    """The lesson key of the language the app now shows (set by a ``Language``; English before any).

    For a view made without a ``Language``: it asks the app, not a translation of a marker string."""
    app = QCoreApplication.instance()
    return lesson_key_of(app.property(_APP_PROPERTY) if app is not None else None)


def system_language() -> str:
    return CHINESE if QLocale.system().name().startswith("zh") else ENGLISH


def load_table(language: str) -> dict[str, str]:
    """Every translation of a language, merged from its JSON files."""
    table: dict[str, str] = {}
    folder = resource_path("i18n", language)
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            table.update(json.loads(path.read_text(encoding="utf-8")))
    return table


class TableTranslator(QTranslator):
    def __init__(self, table: dict[str, str], parent: QObject | None = None):
        super().__init__(parent)
        self._table = table

    def translate(self, context, source, disambiguation=None, n=-1):  # noqa: ARG002 - Qt's signature
        return self._table.get(source)  # None: Qt falls back to the source text

    def isEmpty(self) -> bool:  # noqa: N802 - Qt's name
        return not self._table


class Language(QObject):
    """The app's current language; ``changed`` tells the window to retranslate."""

    changed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.current = ENGLISH
        self._translator: TableTranslator | None = None

    def set(self, language: str) -> None:
        if language not in LANGUAGES:
            language = ENGLISH
        app = QCoreApplication.instance()
        if self._translator is not None:
            app.removeTranslator(self._translator)
            self._translator = None
        if language != ENGLISH:
            self._translator = TableTranslator(load_table(language), self)
            app.installTranslator(self._translator)
        self.current = language
        app.setProperty(_APP_PROPERTY, language)
        self.changed.emit(language)

    @property
    def lesson_key(self) -> str:
        """The key of lesson texts and labels in this language: ``en`` or ``zh``."""
        return lesson_key_of(self.current)
