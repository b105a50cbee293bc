"""The app's icons: one source image (``resources/icon.svg``), every other size derived from it.

``python -m app.gui.icons`` renders ``resources/icons/``: PNGs at the sizes
desktops ask for, ``procscope.ico`` (Windows) and ``procscope.icns`` (macOS),
which ``build.spec`` gives PyInstaller. ``window_icon()`` is the window's icon.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from app.resources import resource_path

PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZE = 256  # Windows scales the 256 px image for every smaller use
ICNS_SIZE = 512


def render(size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(resource_path("icon.svg"))).render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image


def write_icons() -> list[str]:
    folder = resource_path("icons")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for size in PNG_SIZES:
        path = folder / f"procscope-{size}.png"
        render(size).save(str(path), "PNG")
        written.append(str(path))
    for name, size, fmt in (("procscope.ico", ICO_SIZE, "ICO"), ("procscope.icns", ICNS_SIZE, "ICNS")):
        if not render(size).save(str(folder / name), fmt):
            raise OSError(f"Qt could not write {name}")
        written.append(str(folder / name))
    return written


def window_icon() -> QIcon:
    icon = QIcon()
    for size in PNG_SIZES:
        path = resource_path("icons", f"procscope-{size}.png")
        if path.exists():
            icon.addFile(str(path))
    return icon if not icon.isNull() else QIcon(str(resource_path("icon.svg")))


if __name__ == "__main__":
    app = QGuiApplication(sys.argv[:1])
    print("\n".join(write_icons()))
