"""The lesson's text: ``resources/lessons/<lesson>.<en|zh>.md``, rendered as Markdown.

``show_lesson(lesson_id, key)`` shows one; a missing or unreadable file shows a
message naming the file instead. ``retranslate()`` shows the current lesson
again in the language now chosen: the ``Language`` given to the constructor,
or else the language the app now shows (``installed_lesson_key``).
"""

from __future__ import annotations

from PySide6.QtWidgets import QTextBrowser, QWidget

from app.gui.i18n import installed_lesson_key
from app.resources import resource_path


def lesson_path(lesson_id: str, key: str):
    return resource_path("lessons", f"{lesson_id}.{key}.md")


class LessonText(QTextBrowser):
    """Public: ``show_lesson(lesson_id, key)``, ``lesson_id``, ``key``, ``retranslate()``."""

    def __init__(self, language=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("lessonText")
        self.setOpenExternalLinks(True)
        self.setReadOnly(True)
        self._language = language  # app.gui.i18n.Language or None
        self.lesson_id: str | None = None
        self.key = "en"
        self.retranslate()

    def show_lesson(self, lesson_id: str | None, key: str | None = None) -> None:
        """Render ``lesson_id`` in ``key`` ("en" or "zh"; default: the current one)."""
        self.lesson_id = lesson_id
        if key is not None:
            self.key = "zh" if key == "zh" else "en"
        self._render()

    def retranslate(self) -> None:
        if self._language is not None:
            self.key = self._language.lesson_key
        else:
            self.key = installed_lesson_key()
        self._render()

    def _render(self) -> None:
        if self.lesson_id is None:
            self.setPlainText(self.tr("Choose a lesson on the left to read about it here."))
            return
        path = lesson_path(self.lesson_id, self.key)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            message = self.tr("The text of lesson {lesson} is missing: {path} could not be read ({reason}).").format(
                lesson=self.lesson_id, path=path, reason=exc.strerror or type(exc).__name__)
            self.setPlainText(message)
            return
        self.setMarkdown(text)
        self.verticalScrollBar().setValue(0)
