"""The monospace font of code and console text."""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontDatabase


def monospace_font() -> QFont:
    """The system's fixed-width font, asked for as such even where the platform names none."""
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setFixedPitch(True)
    return font
