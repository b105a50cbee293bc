"""The size of every text in the app: Ctrl+= / Ctrl+- / Ctrl+0, remembered; larger in presentation mode.

The scale multiplies the application font the app started with (asked once per
application, so a second window does not compound a first one's scale). The
user's scale is remembered in the settings; the presentation boost is not.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

MIN_SCALE, MAX_SCALE = 0.6, 3.0
STEP = 1.15  # one Ctrl+= : a visible step, ~8 steps from the smallest to the largest
PRESENTATION_BOOST = 1.5  # a projector at the back of a classroom
_BASE_PROPERTY = "procscopeBaseFont"


def clamp_scale(value: float) -> float:
    return max(MIN_SCALE, min(MAX_SCALE, value))


def base_font() -> QFont:
    """The application font before any scaling (kept on the application the first time it is asked)."""
    app = QApplication.instance()
    saved = app.property(_BASE_PROPERTY)
    if isinstance(saved, QFont):
        return QFont(saved)
    font = QFont(app.font())
    app.setProperty(_BASE_PROPERTY, font)
    return QFont(font)


def scaled(font: QFont, factor: float) -> QFont:
    """``font`` ``factor`` times as large, whether it was given in points or pixels."""
    out = QFont(font)
    if font.pointSizeF() > 0:
        out.setPointSizeF(font.pointSizeF() * factor)
    elif font.pixelSize() > 0:
        out.setPixelSize(max(1, round(font.pixelSize() * factor)))
    return out


class FontScale(QObject):
    """``scale`` (the user's, remembered) × ``boost`` (presentation) applied to the application font."""

    changed = Signal(float)  # the factor now applied

    def __init__(self, settings, parent: QObject | None = None):
        super().__init__(parent)
        self._settings = settings
        self._base = base_font()
        self.scale = clamp_scale(settings.font_scale())
        self.boost = 1.0

    @property
    def factor(self) -> float:
        return self.scale * self.boost

    def grow(self) -> None:
        self.set_scale(self.scale * STEP)

    def shrink(self) -> None:
        self.set_scale(self.scale / STEP)

    def reset(self) -> None:
        self.set_scale(1.0)

    def set_scale(self, scale: float) -> None:
        self.scale = round(clamp_scale(scale), 3)
        self._settings.set_font_scale(self.scale)
        self.apply()

    def set_boost(self, boost: float) -> None:
        self.boost = boost
        self.apply()

    def apply(self) -> None:
        QApplication.setFont(scaled(self._base, self.factor))
        self.changed.emit(self.factor)

    def restore_base(self) -> None:
        """The window is closing: leave the application font as it was found."""
        QApplication.setFont(self._base)
