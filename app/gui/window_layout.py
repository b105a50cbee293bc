"""Where the window goes and how wide its side panels are, for any classroom screen.

A projector is often 1366×768, and at 125 % scaling that leaves about 1093×614
logical pixels: a fixed first size (it was 1400×860) put Run/Stop, the time
slider and the status bar off screen. The first window takes the screen's
available area, up to a comfortable size; a remembered geometry is used only
if it still fits the screen the window opens on (a laptop's layout must not
spill over a projector's smaller screen).
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QFontMetrics

PREFERRED = QSize(1400, 860)  # on a big screen: room for the plots, not the whole desktop
LEFT_PANEL_DIGITS = 26  # the lessons panel's width in digits of the font: one width for every lesson and language


def first_geometry(available: QRect, preferred: QSize = PREFERRED) -> tuple[QRect, bool]:
    """The first window's rectangle inside ``available``, and whether it fills the screen (maximise it:
    the window manager then fits the frame too)."""
    width = min(preferred.width(), available.width())
    height = min(preferred.height(), available.height())
    fills = width >= available.width() * 0.9 or height >= available.height() * 0.9
    if fills:
        return QRect(available), True
    left = available.left() + (available.width() - width) // 2
    top = available.top() + (available.height() - height) // 2
    return QRect(left, top, width, height), False


def fits(frame: QRect, available: QRect) -> bool:
    """A remembered window rectangle is wholly on the screen it opens on."""
    return frame.isValid() and available.contains(frame)


def left_panel_width(metrics: QFontMetrics) -> int:
    """The lessons panel's width: fixed by the font, not by a lesson's labels or the language."""
    return LEFT_PANEL_DIGITS * metrics.horizontalAdvance("0")


PLOTS_AND_LESSONS = 760  # logical px the lessons panel and the plots want before Details gets more


def details_width(window_width: int, tabs_width: int) -> int:
    """The Details panel's first width: every tab's full name (``tabs_width``) if the lessons and the
    plots keep ``PLOTS_AND_LESSONS``; on a smaller window a quarter of it (the tabs then elide, their
    names in tooltips)."""
    return max(200, min(tabs_width, max(window_width // 4, window_width - PLOTS_AND_LESSONS)))
