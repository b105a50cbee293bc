"""The lanes survive a washed-out projector and a greyscale print: the states a lesson tells apart differ in
more than hue (a hatching, a grid, an outline or a clear lightness step), checked on a greyscale PNG export."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from app.core import events as ev
from app.gui import export
from app.gui.plots import _segments
from app.gui.plots.lanes import LEGEND_STATES, ActivityPlot
from tests.gui.plot_helpers import make_trace, paint, shown

STATES = ("starting", "working", "waiting", "holding", "blocked", "sleeping", "idle")
FROM_S, TO_S = 0.2, 0.8  # each lane is in its state from 0.2 s to 0.8 s of a 1 s run


def _trace():
    """One lane per state: starting up to 0.2 s, then the lane's state, then done."""
    codes = [ev.STATE_NAMES.index(name) for name in STATES]
    states = {row: [(0.0, ev.STARTING, 0), (FROM_S, code, 1), (TO_S, ev.DONE, 0)] for row, code in enumerate(codes)}
    return make_trace(states, end_s=1.0)


def _luminance(path) -> np.ndarray:
    return _luminance_of(QImage(str(path)))


def _luminance_of(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    rgb = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * height).reshape(height, stride)
    rgb = rgb[:, : width * 3].reshape(height, width, 3).astype(np.float64)
    return rgb @ np.array([0.299, 0.587, 0.114])  # what a greyscale print or a washed-out projector keeps


def _segment_box(plot: ActivityPlot, row: int, scale: float, inset: float) -> tuple[slice, slice]:
    """The pixels of lane ``row``'s segment from FROM_S to TO_S in the export, ``inset`` px inside it."""
    view = plot.getPlotItem().getViewBox()
    origin = plot.getPlotItem().sceneBoundingRect().topLeft()
    half = _segments.LANE_HEIGHT / 2
    a = (view.mapViewToScene(QPointF(FROM_S, row - half)) - origin) * scale
    b = (view.mapViewToScene(QPointF(TO_S, row + half)) - origin) * scale
    return (slice(int(a.y() + inset), int(b.y() - inset)), slice(int(a.x() + inset), int(b.x() - inset)))


@pytest.mark.parametrize(("mode", "scale"), [("exact", 1.0), ("exact", 2.0), ("lod-runs", 1.0), ("lod", 1.0)])
def test_greyscale_export_tells_the_states_apart(qtbot, tmp_path, monkeypatch, mode, scale):
    """Exact rectangles (few segments), the level of detail as exported (vector runs) and as on screen
    (an image per lane, with the patterns drawn over it)."""
    if mode != "exact":  # as if there were many segments
        monkeypatch.setattr(_segments, "EXACT_LIMIT", 0)
    plot = shown(qtbot, ActivityPlot(), 900, 520)
    plot.wholeRunAction.setChecked(True)
    plot.set_trace(_trace())
    path = tmp_path / "lanes.png"
    if mode == "lod":  # the screen's own picture
        assert plot.grab().save(str(path))
    else:
        export.export_plot(plot, path, "png", scale=scale)
    assert plot.segments.last_stats["mode"] == mode
    grey = _luminance(path)
    features = {}
    for row, name in enumerate(STATES):
        inner = grey[_segment_box(plot, row, scale, 3 * scale)]
        assert inner.size > 100, name
        # lightness, pattern strength, and how much it varies along a row (none for horizontal lines)
        features[name] = (float(inner.mean()), float(inner.std()), float(inner.std(axis=1).mean()))
    for a, b in itertools.combinations(STATES, 2):
        (mean_a, std_a, row_a), (mean_b, std_b, row_b) = features[a], features[b]
        # a clear lightness step, or one is patterned and the other not (or patterned otherwise)
        assert abs(mean_a - mean_b) >= 12 or abs(std_a - std_b) >= 15 or abs(row_a - row_b) >= 15, (
            a, b, features[a], features[b])
    # the ones the lessons hinge on differ in pattern, not only in lightness
    for a, b in (("waiting", "holding"), ("starting", "waiting"), ("waiting", "blocked")):
        assert abs(features[a][1] - features[b][1]) >= 15 or (
            features[a][1] >= 15 and features[b][1] >= 15 and abs(features[a][0] - features[b][0]) >= 12), (a, b)
    # the idle lane stays visible on the white plot: its outline is dark
    idle = grey[_segment_box(plot, STATES.index("idle"), scale, -1)]
    assert idle.min() < 140
    assert features["idle"][0] < 250  # and its fill is not the background


def test_the_legend_shows_the_patterns(qtbot, tmp_path):
    plot = shown(qtbot, ActivityPlot(), 900, 400)
    plot.set_trace(_trace())
    swatches = {name: sample for name, (sample, _label) in zip(LEGEND_STATES, plot.legend.items, strict=True)}
    assert swatches["waiting"].pattern is not None and swatches["blocked"].pattern is not None
    assert swatches["waiting"].pattern.textureImage() != swatches["blocked"].pattern.textureImage()
    assert swatches["holding"].pattern is None and swatches["starting"].pattern is None
    assert swatches["idle"].outline is not None


def test_svg_export_keeps_the_hatching(qtbot, tmp_path):
    """In an SVG the hatching keeps its 8-pixel tile (not 8 of the lanes' units, seconds) and the picture
    stays in place (Qt's own SVG renderer misplaces everything around a pattern style's mask)."""
    plot = shown(qtbot, ActivityPlot(), 900, 520)
    plot.wholeRunAction.setChecked(True)
    plot.set_trace(_trace())
    paint(plot)  # shown first, as a user exports it
    path = tmp_path / "lanes.svg"
    export.export_plot(plot, path, "svg")
    renderer = QSvgRenderer(str(path))
    assert renderer.isValid()
    size = renderer.defaultSize()
    image = QImage(size, QImage.Format.Format_RGB888)
    image.fill(0xFFFFFF)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    png = tmp_path / "svg.png"
    assert image.save(str(png))
    grey = _luminance(png)
    scale = size.width() / plot.getPlotItem().sceneBoundingRect().width()
    std = {name: float(grey[_segment_box(plot, STATES.index(name), scale, 3 * scale)].std())
           for name in ("waiting", "holding", "blocked", "starting")}
    assert std["waiting"] > 15 and std["blocked"] > 15, std
    assert std["holding"] < 5 and std["starting"] < 5, std
    # in place: a lane ends where the time axis says 0.8 s, with white after it
    rows, columns = _segment_box(plot, STATES.index("sleeping"), scale, 3 * scale)
    assert grey[rows, columns.stop - 4].mean() < 200
    assert grey[rows, columns.stop + int(12 * scale)].min() > 250
