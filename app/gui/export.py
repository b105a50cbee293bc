"""Export plots, the window and the recorded run to files: PNG, SVG, CSV, trace.

Pure functions, no dialogs. Every one of them

- checks the target first (``check_writable``): a missing folder, a folder
  that is not writable, a path that is a folder or lies under a regular file
  is refused before any work, with a message naming the path and the reason;
- never leaves a half-written or temporary file and never destroys what the
  path points to: images are drawn in memory and, like the core writers (CSV,
  trace, Chrome trace), written through ``app.core.atomic`` (a temporary file
  in the target's folder renamed over a regular file or a new path, a link
  followed, a FIFO or device streamed to). A failure removes the temporary
  file and leaves an existing target unchanged;
- raises ``ExportError`` for every failure (with ``path`` and ``reason``), so
  a caller needs one ``except``.

Plots are drawn by Qt itself (the scene rendered into a ``QImage`` for PNG, a
``QSvgGenerator`` for SVG) in memory, never straight to the target, at one
scale for every element: the picture is drawn in the plot's screen units and
the device scales it (the image's pixel ratio, the SVG's view box), so text,
legends, lines and markers grow together. Sizes: ``width`` and/or ``height`` in pixels, else ``scale`` times the
plot's size on screen. With one side given, the other follows the plot's
aspect ratio; with both, a PNG is exactly that size with the plot fitted in,
centred, undistorted (Qt's ``KeepAspectRatio``) and an SVG is scaled uniformly
to fit. The plot on screen is never resized or re-ranged by an export.
"""

from __future__ import annotations

import contextlib
import math
import os
import re

from PySide6.QtCore import QBuffer, QByteArray, QCoreApplication, QIODevice, QPoint, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPixmap, QRegion
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView, QWidget

from app.core.atomic import Outputs

translate = QCoreApplication.translate

FORMATS = ("png", "svg")
BACKGROUNDS = ("white", "themed")
MAX_SIDE = 16384  # pixels per side of an exported image (a 16k PNG already takes 1 GB to draw)
_INCHES_PER_METRE = 39.3701
_SCREEN_DPI = 96  # the DPI written into a scale-1 PNG; a scale-2 PNG says 192


class ExportError(Exception):
    """An export that could not be done; ``str()`` names the path and the reason."""

    def __init__(self, message: str, path: str = "", reason: str = ""):
        super().__init__(message)
        self.path = path
        self.reason = reason


def _error(path, reason: str) -> ExportError:
    shown = os.fspath(path) if path is not None else ""
    message = translate("Export", "Could not export to {path}: {reason}.").format(path=shown, reason=reason)
    return ExportError(message, shown, reason)


def _disk_error(path, exc: OSError) -> ExportError:
    detail = exc.strerror or str(exc) or type(exc).__name__
    return _error(path, translate("Export", "disk error ({error})").format(error=detail))


# --- the target -------------------------------------------------------------------------
def check_writable(path) -> str:
    """The absolute target path, or an ``ExportError`` saying why nothing can be written there."""
    given = os.fspath(path) if path is not None else ""
    if not given.strip() or given.endswith(("/", os.sep)) or (os.altsep and given.endswith(os.altsep)):
        raise _error(given, translate("Export", "no file name was given"))
    full = os.path.abspath(given)
    if os.path.isdir(full):
        raise _error(given, translate("Export", "it is a folder, not a file"))
    folder = os.path.dirname(full)
    if not os.path.isdir(folder):
        ancestor = folder
        while ancestor and not os.path.exists(ancestor):
            parent = os.path.dirname(ancestor)
            if parent == ancestor:
                break
            ancestor = parent
        if os.path.exists(ancestor) and not os.path.isdir(ancestor):
            raise _error(given, translate("Export", "{parent} is a file, not a folder").format(parent=ancestor))
        raise _error(given, translate("Export", "the folder {folder} does not exist").format(folder=folder))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _error(given, translate("Export", "the folder {folder} is not writable").format(folder=folder))
    if os.path.exists(full) and not os.access(full, os.W_OK):
        raise _error(given, translate("Export", "the file is read-only"))
    return full


def _write_bytes(given, full: str, data: bytes, outputs=None) -> None:
    """Write ``data`` to ``full`` as every writer of the app does (``app.core.atomic``): a temp file renamed
    over it, a link followed, a FIFO or device streamed to; with ``outputs``, renamed with the others."""
    try:
        with (contextlib.nullcontext(outputs) if outputs is not None else Outputs()) as outs, \
                outs.open(full, binary=True) as out:
            out.write(data)
    except OSError as exc:
        raise _disk_error(given, exc) from exc


# --- plots --------------------------------------------------------------------------------
def plot_item(plot_widget) -> QGraphicsItem | None:
    """The graphics item to export: a PlotWidget's plotItem, a layout's central item, or an item."""
    if isinstance(plot_widget, QGraphicsItem):
        return plot_widget
    for name in ("plotItem", "ci", "centralWidget"):
        item = getattr(plot_widget, name, None)
        if isinstance(item, QGraphicsItem):
            return item
    return None


def _themed_background(item: QGraphicsItem) -> QColor:
    """The colour the plot shows on screen: its view's background, else the view's palette."""
    views = item.scene().views() if item.scene() is not None else []
    if not views:
        return QColor("white")
    view: QGraphicsView = views[0]
    brush = view.backgroundBrush()
    if brush.style() != Qt.BrushStyle.NoBrush:
        return QColor(brush.color())
    return QColor(view.palette().color(QPalette.ColorRole.Window))


def _check_size(given, width, height, scale) -> None:
    for side in (width, height):
        if side is not None and (not isinstance(side, int) or isinstance(side, bool) or not 1 <= side <= MAX_SIDE):
            raise _error(given, translate("Export", "a side of {size} pixels is not possible (use 1 to {limit})")
                         .format(size=side, limit=MAX_SIDE))
    scale_ok = isinstance(scale, (int, float)) and not isinstance(scale, bool) and math.isfinite(scale) and scale > 0
    if width is None and height is None and not scale_ok:
        raise _error(given, translate("Export", "the scale {scale} is not possible (use a number above 0)")
                     .format(scale=scale))


def _target_size(given, source: QRectF, width, height, scale) -> tuple[int, int]:
    """Output pixels from the requested width/height/scale and the plot's size on screen."""
    sw, sh = source.width(), source.height()
    if width is not None and height is not None:
        w, h = width, height
    elif width is not None:
        w, h = width, max(1, round(width * sh / sw))
    elif height is not None:
        w, h = max(1, round(height * sw / sh)), height
    else:
        w, h = max(1, round(sw * scale)), max(1, round(sh * scale))
    if w > MAX_SIDE or h > MAX_SIDE:
        raise _error(given, translate("Export", "{width} × {height} pixels is too large (at most {limit} per side)")
                     .format(width=w, height=h, limit=MAX_SIDE))
    return w, h


def _encode_png(image: QImage, dots_per_inch: float) -> bytes | None:
    if dots_per_inch > 0:
        dots_per_metre = round(dots_per_inch * _INCHES_PER_METRE)
        image.setDotsPerMeterX(dots_per_metre)
        image.setDotsPerMeterY(dots_per_metre)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data()) if ok and data.size() else None


def _paint_items(item: QGraphicsItem) -> list[QGraphicsItem]:
    """``item`` and everything drawn with it."""
    items, stack = [], [item]
    while stack:
        current = stack.pop()
        items.append(current)
        stack.extend(current.childItems())
    return items


@contextlib.contextmanager
def _export_mode(item: QGraphicsItem, painter: QPainter, background: QColor):
    """pyqtgraph's export mode on every item while ``painter`` draws them: curves as lines (no screen raster),
    antialiased, the export's background."""
    items = [i for i in _paint_items(item) if hasattr(i, "setExportMode")]
    opts = {"antialias": True, "background": background, "painter": painter, "resolutionScale": 1.0}
    for each in items:
        each.setExportMode(True, opts)
    try:
        yield
    finally:
        for each in items:
            each.setExportMode(False)


def _paint_plot(item: QGraphicsItem, painter: QPainter, size: tuple[float, float], source: QRectF,
                background: QColor) -> None:
    """The plot drawn once, as on screen, with one scale for everything: lines, text, legend, markers.

    ``painter``'s device is in the plot's own (screen) units, ``size`` of them,
    the plot centred in it: the scale comes from the device (a PNG's pixel
    ratio, an SVG's view box), so no item can be drawn at another scale
    (pyqtgraph's exporters scaled some texts and not others, and the SVG one
    drew the view's clip as a frame).
    """
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    painter.fillRect(QRectF(0, 0, size[0], size[1]), background)
    target = QRectF((size[0] - source.width()) / 2, (size[1] - source.height()) / 2, source.width(), source.height())
    with _export_mode(item, painter, background):
        item.scene().render(painter, target, source, Qt.AspectRatioMode.IgnoreAspectRatio)


def _render_png(item: QGraphicsItem, size: tuple[int, int], source: QRectF, fit: float,
                background: QColor) -> QImage:
    """The plot drawn at ``fit`` × its size, centred on a ``size`` canvas of ``background``."""
    image = QImage(size[0], size[1], QImage.Format.Format_ARGB32)
    image.fill(background)
    image.setDevicePixelRatio(fit)  # painted in screen units: pens, dots and text all scale by ``fit``
    painter = QPainter(image)
    try:
        _paint_plot(item, painter, (size[0] / fit, size[1] / fit), source, background)
    finally:
        painter.end()
    if image.isNull():
        raise RuntimeError("the exporter drew no image")
    image.setDevicePixelRatio(1.0)
    return image


def _render_svg(item: QGraphicsItem, size: tuple[float, float], source: QRectF, background: QColor) -> bytes:
    from PySide6.QtSvg import QSvgGenerator

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(QSize(round(size[0]), round(size[1])))
    generator.setViewBox(QRectF(0, 0, source.width(), source.height()))  # the file's units: screen pixels
    generator.setResolution(_SCREEN_DPI)
    generator.setTitle("ProcScope")
    painter = QPainter(generator)
    try:
        _paint_plot(item, painter, (source.width(), source.height()), source, background)
    finally:
        painter.end()
    buffer.close()
    if not data.size():
        raise RuntimeError("the exporter wrote no SVG")
    # Qt gives the size in millimetres at its resolution: say the pixels asked for (a slide tool reads them)
    return re.sub(rb'<svg width="[^"]*" height="[^"]*"',
                  b'<svg width="%d" height="%d"' % (round(size[0]), round(size[1])), bytes(data.data()), count=1)


def export_plot(plot_widget, path, fmt: str = "png", width: int | None = None, height: int | None = None,
                scale: float = 1.0, background: str = "white") -> None:
    """Write a pyqtgraph plot (a PlotWidget, its plotItem) as PNG or SVG.

    ``width``/``height`` in pixels, else ``scale`` × the plot's size on screen
    (see the module docstring); ``background`` is ``"white"`` or ``"themed"``
    (the plot's own background colour). Everything the plot shows is drawn,
    custom ``GraphicsObject``s painting with ``QPainter`` included.
    """
    given = os.fspath(path) if path is not None else ""
    fmt = str(fmt).lower().lstrip(".")
    if fmt not in FORMATS:
        raise _error(given, translate("Export", "unknown format {format} (use PNG or SVG)").format(format=fmt))
    if background not in BACKGROUNDS:
        raise _error(given, translate("Export", "unknown background {background} (use white or themed)")
                     .format(background=background))
    item = plot_item(plot_widget)
    if item is None or item.scene() is None or not item.scene().views():
        raise _error(given, translate("Export", "there is no plot to export"))
    _check_size(given, width, height, scale)
    full = check_writable(given)
    source = item.sceneBoundingRect()
    if source.width() < 1 or source.height() < 1:
        raise _error(given, translate("Export", "the plot has no size yet (is it shown?)"))
    size = _target_size(given, source, width, height, scale)
    color = QColor("white") if background == "white" else _themed_background(item)
    try:
        fit = min(size[0] / source.width(), size[1] / source.height())
        if fmt == "png":
            image = _render_png(item, size, source, fit, color)
            data = _encode_png(image, _SCREEN_DPI * fit)
            if data is None:
                raise _error(given, translate("Export", "the image could not be encoded as PNG"))
        else:
            data = _render_svg(item, (source.width() * fit, source.height() * fit), source, color)
    except ExportError:
        raise
    except Exception as exc:  # pyqtgraph, Qt or a custom item failed while drawing
        raise _error(given, translate("Export", "drawing the plot failed ({error})")
                     .format(error=str(exc) or type(exc).__name__)) from exc
    _write_bytes(given, full, data)


# --- the window -------------------------------------------------------------------------
def export_window(widget: QWidget, path, scale: float = 1.0, outputs=None) -> None:
    """Write ``widget`` (the whole window) as PNG, as it looks on screen.

    ``scale`` 1 is ``widget.grab()``: the widget's size times its screen's
    device pixel ratio. Another scale renders the widgets again at
    ``devicePixelRatio × scale`` (sharp text, not an enlarged bitmap).
    """
    given = os.fspath(path) if path is not None else ""
    _check_size(given, None, None, scale)
    full = check_writable(given)
    logical = widget.size()
    if logical.width() < 1 or logical.height() < 1:
        raise _error(given, translate("Export", "the window has no size yet (is it shown?)"))
    ratio = widget.devicePixelRatioF() * scale
    pixels = QSize(math.ceil(logical.width() * ratio), math.ceil(logical.height() * ratio))
    if pixels.width() > MAX_SIDE or pixels.height() > MAX_SIDE:
        raise _error(given, translate("Export", "{width} × {height} pixels is too large (at most {limit} per side)")
                     .format(width=pixels.width(), height=pixels.height(), limit=MAX_SIDE))
    try:
        if scale == 1:
            pixmap = widget.grab()
        else:
            pixmap = QPixmap(pixels)
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            # QWidget's own render: a QGraphicsView (a PlotWidget) overrides render() to draw its scene
            flags = (QWidget.RenderFlag.DrawWindowBackground | QWidget.RenderFlag.DrawChildren
                     | QWidget.RenderFlag.IgnoreMask)
            QWidget.render(widget, pixmap, QPoint(), QRegion(widget.rect()), flags)
        if pixmap.isNull():
            raise RuntimeError("the window drew no image")
        data = _encode_png(pixmap.toImage(), _SCREEN_DPI * scale)
        if data is None:
            raise _error(given, translate("Export", "the image could not be encoded as PNG"))
    except ExportError:
        raise
    except Exception as exc:  # a widget failed while painting
        raise _error(given, translate("Export", "drawing the window failed ({error})")
                     .format(error=str(exc) or type(exc).__name__)) from exc
    _write_bytes(given, full, data, outputs)


# --- a finished run in one picture (``procscope run --png``) --------------------------------
RUN_IMAGE_SIZE = (1400, 900)  # logical pixels of the lanes over the values, as a maximised window shows them
RUN_IMAGE_AXIS_PX = 200  # room for the longest lane label, as in the window


def export_run_image(trace, path, size: tuple[int, int] = RUN_IMAGE_SIZE, outputs=None) -> None:
    """Write the activity lanes over the shared values of ``trace`` as one PNG (the window's plots, drawn by
    ``export_window``). Needs a QApplication; the plots are made, drawn off screen and thrown away."""
    from PySide6.QtWidgets import QApplication, QVBoxLayout

    from app.gui.plots.lanes import ActivityPlot
    from app.gui.plots.values import ValuePlot

    given = os.fspath(path) if path is not None else ""
    check_writable(given)  # before any drawing
    page = QWidget()
    page.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    page.setStyleSheet("background: white")
    layout = QVBoxLayout(page)
    layout.setContentsMargins(0, 0, 0, 0)
    lanes, values = ActivityPlot(), ValuePlot()
    values.setXLink(lanes)
    for plot, stretch in ((lanes, 5), (values, 3)):
        plot.getPlotItem().getAxis("left").setWidth(RUN_IMAGE_AXIS_PX)  # the time axes line up
        layout.addWidget(plot, stretch)
    try:
        page.resize(*size)
        page.show()  # laid out and sized, never on a screen
        QApplication.processEvents()
        for plot in (lanes, values):
            plot.set_trace(trace)
            plot.refresh()
        QApplication.processEvents()
        export_window(page, given, outputs=outputs)
    finally:
        page.close()
        page.deleteLater()


# --- the recorded run -------------------------------------------------------------------
def _run_core_writer(path, write) -> None:
    """Call an atomic core writer (temp file + rename) with the same checks and messages."""
    given = os.fspath(path) if path is not None else ""
    full = check_writable(given)
    try:
        write(full)
    except OSError as exc:
        raise _disk_error(given, exc) from exc
    except Exception as exc:  # the writer failed on the data itself
        raise _error(given, translate("Export", "writing the file failed ({error})")
                     .format(error=str(exc) or type(exc).__name__)) from exc


def export_csv(trace, path) -> None:
    """Every event of the run as a CSV row (``Trace.to_csv``)."""
    _run_core_writer(path, trace.to_csv)


def export_trace(trace, path) -> None:
    """The run as a ProcScope trace file (``.pstrace``, ``Trace.save``), to replay later."""
    _run_core_writer(path, trace.save)


def export_chrome_trace(trace, path) -> None:
    """The run in Chrome's Trace Event Format (``.json``) for Perfetto / chrome://tracing."""
    from app.core.chrome_trace import write_chrome_trace

    _run_core_writer(path, lambda full: write_chrome_trace(trace, full))
