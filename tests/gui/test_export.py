"""Export of plots (PNG, SVG), the window (PNG) and the run (CSV, trace, Chrome trace), and its dialog."""

from __future__ import annotations

import ast
import errno
import json
import math
import os
import re
import stat
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget

from app.core import events as ev
from app.core.trace import Trace
from app.gui import export
from app.gui.export import (
    ExportError,
    check_writable,
    export_chrome_trace,
    export_csv,
    export_plot,
    export_trace,
    export_window,
)
from app.gui.export_dialog import ExportDialog
from app.gui.i18n import CHINESE, TableTranslator, load_table

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "app" / "gui" / "export.py", ROOT / "app" / "gui" / "export_dialog.py"]
TABLE = ROOT / "resources" / "i18n" / "zh_CN" / "export.json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG_NS = "{http://www.w3.org/2000/svg}"
RECT_COLOR = "#d55e00"  # "holding a lock"
THEMED = "#202840"
PLOT_W, PLOT_H = 400, 300


class RectsItem(pg.GraphicsObject):
    """Like the activity lanes: one item drawing all its rectangles with ``QPainter.drawRects``."""

    def __init__(self, rects):
        super().__init__()
        self._rects = [QRectF(*r) for r in rects]
        bounds = QRectF(self._rects[0])
        for rect in self._rects[1:]:
            bounds = bounds.united(rect)
        self._bounds = bounds

    def boundingRect(self):  # noqa: N802 - Qt's name
        return QRectF(self._bounds)

    def paint(self, painter, option, widget=None):
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(RECT_COLOR))
        painter.drawRects(self._rects)


def _make_plot() -> pg.PlotWidget:
    widget = pg.PlotWidget()
    widget.setBackground(THEMED)
    widget.plot([0, 1, 2, 3, 4], [0, 3, 1, 4, 2], pen="#0072B2")
    widget.rects = RectsItem([(1, 1, 1, 1), (2.5, 0.5, 1, 2)])
    widget.addItem(widget.rects)
    widget.setXRange(0, 4, padding=0)
    widget.setYRange(0, 4, padding=0)
    return widget


def _host(qtbot, child: QWidget, width: int, height: int, label: str | None = None) -> QWidget:
    """A top-level window holding ``child``.

    The plot is never a top-level widget itself: the leak fixture closes every
    top-level widget after pytest-qt already closed it, and a PlotWidget closed
    twice raises (pyqtgraph's ``close()`` drops its plotItem).
    """
    top = QWidget()
    layout = QVBoxLayout(top)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    if label is not None:
        layout.addWidget(QLabel(label))
    layout.addWidget(child)
    top.resize(width, height)
    qtbot.addWidget(top)
    top.show()
    qtbot.waitExposed(top)
    return top


@pytest.fixture
def plot(qtbot):
    widget = _make_plot()
    widget.host = _host(qtbot, widget, PLOT_W, PLOT_H)  # pytest-qt only keeps a weak reference
    assert widget.size().toTuple() == (PLOT_W, PLOT_H)
    return widget


@pytest.fixture
def window(qtbot):
    """A small "main window": a label above a plot."""
    return _host(qtbot, _make_plot(), 320, 240, label="ProcScope")


@pytest.fixture
def trace():
    t = Trace({"t0_ns": 0, "lesson": "counter", "params": {}, "value_slots": [{"name": "counter"}],
               "parent_pid": 100})
    t.append(
        np.array([[1_000, 0, ev.STATE, ev.WORKING, 0],
                  [2_000, 0, ev.VALUE, 0, 9],
                  [3_000, 0, ev.STATE, ev.WAITING, 1],
                  [4_000, 0, ev.STATE, ev.DONE, 0]], dtype=np.int64),
        texts=[(500, 0, ev.HELLO, {"name": "Process-1", "pid": 4242, "ppid": 100}),
               (1_500, 0, ev.PRINT, "hello from Process-1")],
    )
    return t


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _temps(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if p.name.startswith(".procscope-") or p.suffix == ".tmp"]


def _scene_to_pixel(plot, x: float, y: float, scale: float = 1.0) -> tuple[int, int]:
    point = plot.plotItem.vb.mapViewToScene(QPointF(x, y)) - plot.plotItem.sceneBoundingRect().topLeft()
    return int(point.x() * scale), int(point.y() * scale)


def _color(image: QImage, x: int, y: int) -> str:
    return image.pixelColor(x, y).name()


# --- PNG -----------------------------------------------------------------------------------
def test_png_has_the_requested_size(plot, tmp_path):
    path = tmp_path / "plot.png"
    export_plot(plot, path, fmt="png", width=640, height=480)
    assert path.read_bytes()[:8] == PNG_MAGIC
    image = QImage(str(path))
    assert (image.width(), image.height()) == (640, 480)


def test_png_one_side_keeps_the_aspect_ratio(plot, tmp_path):
    export_plot(plot, tmp_path / "w.png", width=800)
    export_plot(plot, tmp_path / "h.png", height=150)
    assert QImage(str(tmp_path / "w.png")).size().toTuple() == (800, 600)
    assert QImage(str(tmp_path / "h.png")).size().toTuple() == (200, 150)


def test_png_scale_two_doubles_the_size(plot, tmp_path):
    export_plot(plot, tmp_path / "one.png", scale=1.0)
    export_plot(plot, tmp_path / "two.png", scale=2.0)
    one, two = QImage(str(tmp_path / "one.png")), QImage(str(tmp_path / "two.png"))
    assert one.size().toTuple() == (PLOT_W, PLOT_H)
    assert two.size().toTuple() == (2 * PLOT_W, 2 * PLOT_H)


def test_png_white_background_and_custom_item(plot, tmp_path):
    for scale in (1.0, 2.0):
        path = tmp_path / f"white-{scale}.png"
        export_plot(plot, path, scale=scale, background="white")
        image = QImage(str(path))
        for x, y in ((0, 0), (image.width() - 1, 0), (image.width() - 1, image.height() - 1)):
            assert _color(image, x, y) == "#ffffff"
        # the middle of each rectangle the custom item drew with drawRects
        assert _color(image, *_scene_to_pixel(plot, 1.5, 1.5, scale)) == RECT_COLOR
        assert _color(image, *_scene_to_pixel(plot, 3.0, 1.5, scale)) == RECT_COLOR
        # and a point of the plot outside them is background
        assert _color(image, *_scene_to_pixel(plot, 0.5, 3.5, scale)) == "#ffffff"


def test_png_themed_background_is_the_plots_own(plot, tmp_path):
    path = tmp_path / "themed.png"
    export_plot(plot, path, background="themed")
    image = QImage(str(path))
    assert _color(image, 0, 0) == THEMED
    assert _color(image, *_scene_to_pixel(plot, 0.5, 3.5)) == THEMED
    assert _color(image, *_scene_to_pixel(plot, 1.5, 1.5)) == RECT_COLOR


def test_png_other_aspect_ratio_is_fitted_not_stretched(plot, tmp_path):
    path = tmp_path / "wide.png"
    export_plot(plot, path, width=1200, height=300)  # the plot is 4:3; the picture 4:1
    image = QImage(str(path))
    assert image.size().toTuple() == (1200, 300)
    # fitted by height (scale 1), centred: 400 px of margin on either side
    assert _color(image, 10, 150) == "#ffffff"
    assert _color(image, 1190, 150) == "#ffffff"
    x, y = _scene_to_pixel(plot, 1.5, 1.5)
    assert _color(image, x + 400, y) == RECT_COLOR


def test_exporting_does_not_touch_the_plot(plot, tmp_path):
    before = (plot.size().toTuple(), plot.plotItem.vb.viewRange(), plot.plotItem.sceneBoundingRect())
    export_plot(plot, tmp_path / "a.png", width=900, height=200)
    export_plot(plot, tmp_path / "a.svg", fmt="svg", width=900, height=200)
    assert (plot.size().toTuple(), plot.plotItem.vb.viewRange(), plot.plotItem.sceneBoundingRect()) == before


# --- SVG -----------------------------------------------------------------------------------
def test_svg_is_xml_with_the_custom_items_rects(plot, tmp_path):
    path = tmp_path / "plot.svg"
    export_plot(plot, path, fmt="svg", background="white")
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG_NS}svg"
    # the custom item's two rectangles, in their colour
    filled = [g for g in root.iter(f"{SVG_NS}g") if g.get("fill") == RECT_COLOR]
    assert sum(len(list(g.iter(f"{SVG_NS}rect"))) for g in filled) == 2
    # the curve is there too (a path in its colour), and the background is a white rect the size of the picture
    assert any(g.get("stroke") == "#0072b2" and list(g.iter(f"{SVG_NS}polyline")) + list(g.iter(f"{SVG_NS}path"))
               for g in root.iter(f"{SVG_NS}g"))
    background = next(root.iter(f"{SVG_NS}rect"))
    assert [g.get("fill") for g in root.iter(f"{SVG_NS}g") if list(g) and list(g)[0] is background] == ["#ffffff"]
    assert (background.get("width"), background.get("height")) == (str(PLOT_W), str(PLOT_H))


def test_svg_themed_background(plot, tmp_path):
    path = tmp_path / "plot.svg"
    export_plot(plot, path, fmt="svg", background="themed")
    root = ET.parse(path).getroot()
    background = next(root.iter(f"{SVG_NS}rect"))
    assert [g.get("fill") for g in root.iter(f"{SVG_NS}g") if list(g) and list(g)[0] is background] == [THEMED]


def test_svg_size_scales_uniformly(plot, tmp_path):
    path = tmp_path / "big.svg"
    export_plot(plot, path, fmt="svg", scale=2.0)
    root = ET.parse(path).getroot()
    assert (root.get("width"), root.get("height")) == (str(2 * PLOT_W), str(2 * PLOT_H))
    view_box = [float(v) for v in root.get("viewBox").split()]
    assert view_box == [0, 0, PLOT_W, PLOT_H]  # drawn in screen units, scaled as a whole


# --- every element scales together (the lanes with their legend) ---------------------------
def _pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    return np.frombuffer(image.constBits(), dtype=np.uint32).reshape(image.height(), image.bytesPerLine() // 4)[
        :, :image.width()].copy()


def _dark(pixels: np.ndarray) -> np.ndarray:
    """Text-black pixels (every channel below 90)."""
    r, g, b = (pixels >> 16) & 255, (pixels >> 8) & 255, pixels & 255
    return (r < 90) & (g < 90) & (b < 90)


def _row_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) row of each run of rows holding any pixel of ``mask``."""
    rows = np.flatnonzero(mask.any(axis=1))
    if not len(rows):
        return []
    breaks = np.flatnonzero(np.diff(rows) > 1)
    starts = [rows[0], *rows[breaks + 1].tolist()]
    ends = [*rows[breaks].tolist(), rows[-1]]
    return list(zip(starts, ends, strict=True))


def _svg_image(path: Path, width: int, height: int) -> QImage:
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(path))
    assert renderer.isValid()
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    renderer.render(painter, QRectF(0, 0, width, height))
    painter.end()
    return image


def _measures(image: QImage, scale: float, lanes) -> dict:
    """Text heights and the legend's size in ``image`` (an export of ``lanes`` at ``scale``)."""
    pixels = _pixels(image)
    item = lanes.getPlotItem()
    origin = item.sceneBoundingRect().topLeft()
    axis = item.getAxis("left").sceneBoundingRect().translated(-origin)
    legend = lanes.legend.sceneBoundingRect().translated(-origin)
    labels = pixels[:, : int(axis.right() * scale) - 2]  # the lane labels, left of the lanes
    label_runs = _row_runs(_dark(labels))
    # where the legend is on screen (a legend drawn smaller or elsewhere measures smaller there)
    left, top = int((legend.left() - 4) * scale), int((legend.top() - 4) * scale)
    crop = pixels[max(top, 0): int((legend.bottom() + 4) * scale), max(left, 0): int((legend.right() + 4) * scale)]
    dark = _dark(crop)  # the legend's texts and its "crashed" cross
    rows, cols = np.flatnonzero(dark.any(axis=1)), np.flatnonzero(dark.any(axis=0))
    legend_text = _row_runs(dark)
    return {
        "label": label_runs[0][1] - label_runs[0][0] + 1,
        "legend_w": cols[-1] - cols[0] + 1,
        "legend_h": rows[-1] - rows[0] + 1,
        "legend_text": legend_text[0][1] - legend_text[0][0] + 1,
        "legend_centre": (max(left, 0) + (cols[-1] + cols[0]) / 2) / scale,
    }


def test_png_and_svg_scale_every_element_together(qtbot, tmp_path):
    from app.gui.plots.lanes import ActivityPlot
    from tests.gui.plot_helpers import simple_trace

    lanes = ActivityPlot()
    lanes.host = _host(qtbot, lanes, 700, 400)
    lanes.set_trace(simple_trace())
    qtbot.wait(1)  # let the layout settle: the export draws what the screen shows
    export_plot(lanes, tmp_path / "one.png", scale=1.0)
    export_plot(lanes, tmp_path / "two.png", scale=2.0)
    export_plot(lanes, tmp_path / "two.svg", fmt="svg", scale=2.0)
    one = _measures(QImage(str(tmp_path / "one.png")), 1.0, lanes)
    two = _measures(QImage(str(tmp_path / "two.png")), 2.0, lanes)
    svg = _measures(_svg_image(tmp_path / "two.svg", 1400, 800), 2.0, lanes)
    for name in ("label", "legend_w", "legend_h", "legend_text"):
        assert two[name] == pytest.approx(2 * one[name], abs=3), (name, one, two)
        assert svg[name] == pytest.approx(two[name], abs=3), (name, two, svg)
    assert two["legend_centre"] == pytest.approx(one["legend_centre"], abs=2)  # not off-centre
    # and the pictures agree as a whole: the 2× PNG and the SVG drawn at 2× differ only in antialiasing
    difference = np.abs(_pixels(QImage(str(tmp_path / "two.png"))).astype(np.int64) & 255
                        - (_pixels(_svg_image(tmp_path / "two.svg", 1400, 800)).astype(np.int64) & 255))
    assert difference.mean() < 6


# --- the window --------------------------------------------------------------------------
def test_window_png_has_the_widgets_size(window, tmp_path):
    path = tmp_path / "window.png"
    export_window(window, path)
    assert path.read_bytes()[:8] == PNG_MAGIC
    ratio = window.devicePixelRatioF()
    image = QImage(str(path))
    assert image.size().toTuple() == (round(320 * ratio), round(240 * ratio))
    assert image.size() == window.grab().size()


def test_window_png_scale_two_doubles_the_size_and_is_drawn(window, tmp_path):
    path = tmp_path / "window2.png"
    export_window(window, path, scale=2.0)
    ratio = window.devicePixelRatioF()
    image = QImage(str(path))
    assert image.size().toTuple() == (round(640 * ratio), round(480 * ratio))
    plot = window.findChild(pg.PlotWidget)
    corner = plot.mapTo(window, plot.rect().bottomRight())
    # the plot's own background is drawn all the way to its bottom-right corner, at twice the size
    pixel = image.pixelColor(int((corner.x() - 2) * 2 * ratio), int((corner.y() - 2) * 2 * ratio))
    assert pixel.alpha() == 255
    assert pixel.name() == THEMED


# --- the run -----------------------------------------------------------------------------
def test_csv_export(trace, tmp_path):
    path = tmp_path / "run.csv"
    export_csv(trace, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "t_s,process,name,kind,what,value,detail,text"
    assert len(lines) > 1
    assert any("hello from Process-1" in line for line in lines)


def test_trace_export_is_a_zip_that_loads(trace, tmp_path):
    path = tmp_path / "run.pstrace"
    export_trace(trace, path)
    assert path.stat().st_size > 0
    assert zipfile.is_zipfile(path)
    again = Trace.load(str(path))
    assert np.array_equal(again.records, trace.records)
    assert again.meta["lesson"] == "counter"


def test_chrome_trace_export(trace, tmp_path):
    path = tmp_path / "run.json"
    export_chrome_trace(trace, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data["traceEvents"], list) and data["traceEvents"]
    assert any(e.get("name") == "working" for e in data["traceEvents"])


# --- where it cannot write -----------------------------------------------------------------
def _bad_targets(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "plain-file").write_text("not a folder")
    return {
        "missing folder": (tmp_path / "no" / "such" / "x.png", "does not exist"),
        "a directory": (tmp_path / "folder.png", "folder"),
        # tests run as root, who may write in a read-only folder: a path under a regular file
        # is refused for every user
        "parent is a file": (tmp_path / "plain-file" / "x.png", "is a file, not a folder"),
    }


EXPORTS = {
    "png": lambda plot, window, trace, path: export_plot(plot, path, fmt="png"),
    "svg": lambda plot, window, trace, path: export_plot(plot, path, fmt="svg"),
    "window": lambda plot, window, trace, path: export_window(window, path),
    "csv": lambda plot, window, trace, path: export_csv(trace, path),
    "trace": lambda plot, window, trace, path: export_trace(trace, path),
    "chrome": lambda plot, window, trace, path: export_chrome_trace(trace, path),
}


@pytest.mark.parametrize("kind", sorted(EXPORTS))
def test_unwritable_targets_raise_and_write_nothing(kind, plot, window, trace, tmp_path):
    for case, (path, reason) in _bad_targets(tmp_path).items():
        before = _files(tmp_path)
        with pytest.raises(ExportError) as caught:
            EXPORTS[kind](plot, window, trace, path)
        message = str(caught.value)
        assert str(path) in message, case
        assert reason in message, case
        assert caught.value.path == str(path)
        assert _files(tmp_path) == before, case


def test_check_writable(tmp_path):
    assert check_writable(tmp_path / "ok.png") == str(tmp_path / "ok.png")
    for bad in ("", "   ", str(tmp_path) + os.sep):
        with pytest.raises(ExportError, match="no file name"):
            check_writable(bad)
    with pytest.raises(ExportError, match="folder"):
        check_writable(tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_folder_is_refused(tmp_path):  # pragma: no cover - the suite runs as root here
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ExportError, match="not writable"):
            check_writable(locked / "x.png")
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize("kwargs", [
    {"width": 0}, {"height": -5}, {"width": export.MAX_SIDE + 1}, {"width": 2.5},
    {"scale": 0}, {"scale": -1.0}, {"scale": math.nan}, {"scale": 1000.0},
    {"fmt": "jpg"}, {"background": "pink"},
])
def test_impossible_options_raise_and_write_nothing(plot, tmp_path, kwargs):
    path = tmp_path / "x.png"
    with pytest.raises(ExportError) as caught:
        export_plot(plot, path, **kwargs)
    assert str(path) in str(caught.value)
    assert _files(tmp_path) == []


def test_not_a_plot(tmp_path, qtbot):
    label = QLabel("no plot here")
    qtbot.addWidget(label)
    with pytest.raises(ExportError, match="no plot"):
        export_plot(label, tmp_path / "x.png")
    assert _files(tmp_path) == []


# --- failures midway ---------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_exporter_failure_leaves_an_existing_file_unchanged(plot, tmp_path, monkeypatch, fmt):
    path = tmp_path / f"old.{fmt}"
    path.write_bytes(b"the slide from last week")

    def broken(*args, **kwargs):
        raise RuntimeError("the GPU caught fire")

    monkeypatch.setattr(export, "_paint_plot", broken)
    with pytest.raises(ExportError, match="the GPU caught fire") as caught:
        export_plot(plot, path, fmt=fmt)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == b"the slide from last week"
    assert _temps(tmp_path) == []
    assert _files(tmp_path) == [path.name]


def test_disk_full_while_writing_leaves_no_temp_file(plot, tmp_path, monkeypatch):
    path = tmp_path / "old.png"
    path.write_bytes(b"old")

    def full_disk(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(export.os, "fsync", full_disk)
    with pytest.raises(ExportError) as caught:
        export_plot(plot, path)
    message = str(caught.value)
    assert str(path) in message
    assert os.strerror(errno.ENOSPC) in message
    assert "disk error" in message
    assert path.read_bytes() == b"old"
    assert _temps(tmp_path) == []


def test_rename_failure_leaves_no_temp_file(window, tmp_path, monkeypatch):
    path = tmp_path / "win.png"

    def refuse(src, dst):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(export.os, "replace", refuse)
    with pytest.raises(ExportError, match="disk error"):
        export_window(window, path)
    assert _files(tmp_path) == []


def test_core_writer_failure_midway_leaves_the_old_file(trace, tmp_path, monkeypatch):
    from app.core import chrome_trace

    path = tmp_path / "run.json"
    path.write_text("old", encoding="utf-8")
    real = chrome_trace.iter_events

    def dies_halfway(t):
        for n, event in enumerate(real(t)):
            if n == 3:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            yield event

    monkeypatch.setattr(chrome_trace, "iter_events", dies_halfway)
    with pytest.raises(ExportError) as caught:
        export_chrome_trace(trace, path)
    assert str(path) in str(caught.value)
    assert os.strerror(errno.EIO) in str(caught.value)
    assert path.read_text(encoding="utf-8") == "old"
    assert _temps(tmp_path) == []


def test_core_writer_unexpected_error_is_an_export_error(trace, tmp_path, monkeypatch):
    def broken(self, path):
        raise ValueError("cannot encode")

    monkeypatch.setattr(Trace, "to_csv", broken)
    with pytest.raises(ExportError, match="cannot encode"):
        export_csv(trace, tmp_path / "x.csv")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_permissions_like_any_new_file_and_kept_on_replace(plot, tmp_path):
    umask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.png"
        export_plot(plot, fresh)
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        kept = tmp_path / "kept.png"
        kept.write_bytes(b"old")
        kept.chmod(0o640)
        export_plot(plot, kept)
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640
        assert kept.read_bytes()[:8] == PNG_MAGIC
    finally:
        os.umask(umask)


# --- the dialog ----------------------------------------------------------------------------
@pytest.fixture
def dialog(qtbot, plot, window, trace, tmp_path):
    dlg = ExportDialog({"Activity": plot}, window=window, trace=trace, directory=str(tmp_path),
                       settings=_settings(tmp_path))
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    dlg.errors = []
    dlg._show_error = dlg.errors.append  # a modal warning would block the test
    dlg._ask_save_path = lambda suggested, name_filter: pytest.fail("no file dialog expected")
    dlg._confirm_overwrite = lambda path: pytest.fail(f"no overwrite question expected for {path}")
    return dlg


def _settings(folder: Path):
    from PySide6.QtCore import QSettings

    return QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)


def _click_export(qtbot, dlg) -> None:
    qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)


def test_dialog_exports_a_plot_as_svg(qtbot, dialog, tmp_path):
    written = []
    dialog.exported.connect(written.append)
    dialog.set_target("plot", "Activity")
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("svg"))
    path = tmp_path / "activity.svg"
    dialog.set_path(str(path))
    _click_export(qtbot, dialog)
    assert ET.parse(path).getroot().tag == f"{SVG_NS}svg"
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert not dialog.isVisible()
    assert written == [str(path)]
    assert dialog.errors == []


def test_dialog_exports_pixels_keeping_the_aspect_ratio(qtbot, dialog, tmp_path):
    dialog.set_target("plot", "Activity")
    dialog.by_pixels.setChecked(True)
    assert dialog.width_box.isEnabled() and not dialog.scale_box.isEnabled()
    dialog.width_box.setValue(800)
    assert dialog.height_box.value() == 600
    dialog.background_box.setCurrentIndex(dialog.background_box.findData("white"))
    dialog.set_path(str(tmp_path / "activity"))  # no extension: the format's is added
    _click_export(qtbot, dialog)
    image = QImage(str(tmp_path / "activity.png"))
    assert image.size().toTuple() == (800, 600)
    assert _color(image, 0, 0) == "#ffffff"


def test_dialog_exports_the_window_and_the_run(qtbot, dialog, tmp_path, window):
    checks = {
        ("window", "w.png"): lambda p: p.read_bytes()[:8] == PNG_MAGIC,
        ("csv", "d.csv"): lambda p: p.read_text(encoding="utf-8").startswith("t_s,process"),
        ("trace", "r.pstrace"): zipfile.is_zipfile,
        ("chrome", "c.json"): lambda p: "traceEvents" in json.loads(p.read_text(encoding="utf-8")),
    }
    for (kind, name), check in checks.items():
        dialog.show()
        dialog.set_target(kind)
        if kind == "window":
            dialog.scale_box.setValue(1.0)
            assert not dialog.format_box.isEnabled() and not dialog.by_pixels.isEnabled()
        else:
            assert not dialog.scale_box.isEnabled() and not dialog.background_box.isEnabled()
        dialog.set_path(str(tmp_path / name))
        assert dialog.export(), dialog.errors
        assert check(tmp_path / name), kind
    assert QImage(str(tmp_path / "w.png")).size() == window.grab().size()


def test_dialog_shows_the_error_and_stays_open(qtbot, dialog, tmp_path):
    path = tmp_path / "missing" / "x.png"
    dialog.set_path(str(path))
    _click_export(qtbot, dialog)
    assert len(dialog.errors) == 1
    error = dialog.errors[0]
    assert isinstance(error, ExportError)
    assert str(path) in str(error) and "does not exist" in str(error)
    assert dialog.isVisible()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert _files(tmp_path) == []
    # fixing the path and exporting again works
    dialog.set_path(str(tmp_path / "x.png"))
    _click_export(qtbot, dialog)
    assert (tmp_path / "x.png").exists() and not dialog.isVisible()


def test_dialog_asks_before_replacing_a_typed_path(qtbot, dialog, tmp_path):
    path = tmp_path / "old.png"
    path.write_bytes(b"old")
    asked = []
    dialog._confirm_overwrite = lambda p: asked.append(p) or False
    dialog.set_path(str(path))
    _click_export(qtbot, dialog)
    assert asked == [str(path)] and path.read_bytes() == b"old" and dialog.isVisible()
    dialog._confirm_overwrite = lambda p: True
    _click_export(qtbot, dialog)
    assert path.read_bytes()[:8] == PNG_MAGIC and not dialog.isVisible()


def test_dialog_browse_uses_the_chosen_file(qtbot, dialog, tmp_path):
    picked = tmp_path / "picked"
    (tmp_path / "picked.png").write_bytes(b"old")  # the file dialog already asked about replacing it
    seen = []

    def ask(suggested, name_filter):
        seen.append((suggested, name_filter))
        return str(picked)

    dialog._ask_save_path = ask
    qtbot.mouseClick(dialog.browse_button, Qt.MouseButton.LeftButton)
    assert dialog.path() == str(tmp_path / "picked.png")
    assert seen[0][0].startswith(str(tmp_path)) and "*.png" in seen[0][1]
    _click_export(qtbot, dialog)
    assert (tmp_path / "picked.png").read_bytes()[:8] == PNG_MAGIC


def test_dialog_browse_cancelled_keeps_the_path(qtbot, dialog):
    before = dialog.path()
    dialog._ask_save_path = lambda suggested, name_filter: ""
    dialog.browse()
    assert dialog.path() == before


def test_dialog_suggests_names_and_fixes_extensions(dialog, tmp_path):
    assert dialog.path() == str(tmp_path / "counter-Activity.png")
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("svg"))
    assert dialog.path() == str(tmp_path / "counter-Activity.svg")
    dialog.set_target("csv")
    assert dialog.path() == str(tmp_path / "counter-data.csv")
    dialog.set_path(str(tmp_path / "mine.csv"))
    dialog.set_target("chrome")
    assert dialog.path() == str(tmp_path / "mine.json")  # the user's name, the right extension


def test_dialog_without_a_run_disables_the_data_entries(qtbot, plot):
    dlg = ExportDialog({"Activity": plot, "Values": plot})
    qtbot.addWidget(dlg)
    model = dlg.target_box.model()
    texts = [dlg.target_box.itemText(row) for row in range(dlg.target_box.count())]
    assert texts == ["Activity", "Values", "Data (CSV)", "Trace (.pstrace)", "Chrome trace (.json)"]
    assert [model.item(row).isEnabled() for row in range(len(texts))] == [True, True, False, False, False]
    assert dlg.target().kind == "plot"


# --- translations ----------------------------------------------------------------------------
def _translated_literals() -> list[tuple[str, int, object]]:
    """(file, line, argument) of every tr(...) and translate(..., text) call in the export files."""
    found = []
    for source in SOURCES:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name == "tr":
                arg = node.args[0]
            elif name == "translate":
                context = node.args[0]
                assert isinstance(context, ast.Constant) and context.value == "Export", (source.name, node.lineno)
                arg = node.args[1]
            else:
                continue
            found.append((source.name, node.lineno, arg.value if isinstance(arg, ast.Constant) else arg))
    return found


def test_every_translated_string_has_a_chinese_entry():
    table = json.loads(TABLE.read_text(encoding="utf-8"))
    literals = _translated_literals()
    assert len(literals) > 30
    not_literal = [(f, line) for f, line, text in literals if not isinstance(text, str)]
    assert not not_literal, f"tr()/translate() need string literals: {not_literal}"
    missing = sorted({text for _f, _line, text in literals} - set(table))
    assert not missing, f"missing in {TABLE.name}: {missing}"
    for english, chinese in table.items():
        assert chinese and chinese != english
        assert sorted(re.findall(r"{\w+}", chinese)) == sorted(re.findall(r"{\w+}", english)), english
    assert set(load_table(CHINESE)) >= set(table)


def test_dialog_and_errors_speak_chinese(qapp, qtbot, dialog, tmp_path):
    translator = TableTranslator(load_table(CHINESE))
    qapp.installTranslator(translator)
    try:
        # Qt posts LanguageChange to the application, which posts it on to every window
        qtbot.waitUntil(lambda: dialog.windowTitle() == "导出", timeout=2000)
        assert dialog.export_button.text() == "导出"
        assert dialog.target_box.itemText(1) == "整个窗口"
        with pytest.raises(ExportError) as caught:
            export_plot(dialog._plots["Activity"], tmp_path / "no" / "x.png")
        assert "无法导出到" in str(caught.value) and "不存在" in str(caught.value)
    finally:
        qapp.removeTranslator(translator)
    qtbot.waitUntil(lambda: dialog.windowTitle() == "Export", timeout=2000)
    assert dialog.export_button.text() == "Export"


def test_dialog_enter_exports_even_after_browse(qtbot, dialog, tmp_path):
    chosen = str(tmp_path / "picked.png")
    dialog._ask_save_path = lambda suggested, name_filter: chosen
    assert dialog.export_button.isDefault() and not dialog.browse_button.autoDefault()
    qtbot.mouseClick(dialog.browse_button, Qt.MouseButton.LeftButton)
    dialog.browse_button.setFocus()
    qtbot.keyClick(dialog.browse_button, Qt.Key.Key_Return)
    assert (tmp_path / "picked.png").is_file()  # exported, not the file dialog again
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_dialog_remembers_the_last_folder_and_format(qtbot, plot, tmp_path):
    folder = tmp_path / "slides"
    folder.mkdir()
    settings = _settings(tmp_path)
    first = ExportDialog({"Activity": plot}, settings=settings)
    qtbot.addWidget(first)
    first.format_box.setCurrentIndex(first.format_box.findData("svg"))
    first.set_path(str(folder / "lanes.svg"))
    assert first.export()
    again = ExportDialog({"Activity": plot}, settings=settings)
    qtbot.addWidget(again)
    assert again.fmt() == "svg"
    assert os.path.dirname(again.path()) == str(folder)


@pytest.mark.skipif(os.name != "posix", reason="symbolic links and FIFOs of POSIX")
def test_every_window_writer_follows_a_link_and_streams_to_a_fifo(qtbot, plot, trace, tmp_path):
    """Export (image, CSV, trace, Chrome trace), Save and the script's Save go through ``app.core.atomic``:
    a link is kept and its target written; a FIFO is written to, not replaced by a file."""
    import threading

    from app.gui.panels.code_view import CodeView

    view = CodeView()
    qtbot.addWidget(view)
    view.set_code("print('hi')\n")
    writers = {
        "png": lambda p: export_plot(plot, p, "png"),
        "csv": lambda p: export.export_csv(trace, p),
        "pstrace": lambda p: export.export_trace(trace, p),
        "json": lambda p: export.export_chrome_trace(trace, p),
        "py": lambda p: view.save_to(p),
    }
    for suffix, write in writers.items():
        target, link = tmp_path / f"target.{suffix}", tmp_path / f"link.{suffix}"
        target.write_bytes(b"old")
        link.symlink_to(target)
        write(str(link))
        assert link.is_symlink(), f"{suffix}: the link was replaced"
        assert target.read_bytes() != b"old", f"{suffix}: the link's target was not written"
        fifo = tmp_path / f"pipe.{suffix}"
        os.mkfifo(fifo)
        received = []
        reader = threading.Thread(target=lambda f=fifo, got=received: got.append(f.read_bytes()), daemon=True)
        reader.start()
        write(str(fifo))
        reader.join(30)
        assert received and received[0], f"{suffix}: nothing came through the FIFO"
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode), f"{suffix}: the FIFO was replaced"
    assert _temps(tmp_path) == []
