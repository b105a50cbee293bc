"""The lanes' level of detail composed as one device image (``_lane_image``) gives Qt's own pixels: the same
plot grabbed with the image composed by numpy and drawn by Qt (an image row per lane, then the hatching and
outlines of every run as rectangles) is the same picture, pixel for pixel."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtGui import QImage

from app.gui.plots import _lane_image, _segments
from app.gui.plots.lanes import ActivityPlot
from tests.bench.synth import LiveFeed, make_run
from tests.gui.plot_helpers import shown


def _pixels(plot) -> np.ndarray:
    image = plot.grab().toImage().convertToFormat(QImage.Format.Format_ARGB32)
    return np.frombuffer(image.constBits(), dtype=np.uint32).reshape(image.height(), image.width()).copy()


def _both(plot, monkeypatch) -> tuple[np.ndarray, np.ndarray, dict]:
    monkeypatch.setattr(_segments, "COMPOSE", False)
    plot.segments.update()
    by_qt = _pixels(plot)
    monkeypatch.setattr(_segments, "COMPOSE", True)
    plot.segments.update()
    composed = _pixels(plot)
    return by_qt, composed, dict(plot.segments.last_stats)


@pytest.mark.parametrize(("width", "height", "lanes"), [(900, 500, 64), (1000, 480, 16), (700, 300, 8),
                                                         (1234, 777, 40), (640, 900, 64), (800, 333, 64),
                                                         (1100, 401, 29), (1000, 700, 3)])
def test_composed_lanes_are_qt_s_own_pixels(qtbot, monkeypatch, width, height, lanes):
    """A live run scrolling (random states: every hatched and outlined state, runs of one column and more)."""
    trace = make_run(60_000, 0, lanes=lanes, slots=0, seed=lanes)
    plot = shown(qtbot, ActivityPlot(), width, height)
    plot.set_trace(trace)
    plot.follow_live(True)
    feed = LiveFeed(trace, lanes=lanes, slots=0)
    for _frame in range(3):
        feed()
        plot.refresh()
        by_qt, composed, stats = _both(plot, monkeypatch)
        assert stats["mode"] == "lod" and stats["images"] == 1  # composed, not drawn by Qt
        assert np.array_equal(by_qt, composed), np.argwhere(by_qt != composed)[:5].tolist()


def test_a_widening_live_view_composes_only_its_newest_columns(qtbot, monkeypatch):
    """While the live view keeps its range (it widens in steps), each frame composes the columns from the
    first changed one on; the picture stays Qt's, frame after frame, also after a paint that drew with Qt."""
    trace = make_run(60_000, 0, lanes=32, slots=0, seed=9)
    plot = shown(qtbot, ActivityPlot(), 900, 500)
    plot.set_trace(trace)
    plot.follow_live(True)
    feed = LiveFeed(trace, lanes=32, slots=0)
    composed_some = False
    for _frame in range(6):
        feed()
        plot.refresh()
        plot.segments.update()
        composed = _pixels(plot)  # composed: after the previous frame's Qt paint (see _both)
        stats = dict(plot.segments.last_stats)
        assert stats["images"] == 1
        composed_some |= 0 < stats["columns_composed"] < stats["columns"]
        by_qt, again, _stats = _both(plot, monkeypatch)
        assert np.array_equal(by_qt, composed) and np.array_equal(by_qt, again)
    assert composed_some


def test_edges_on_pixel_centres_are_filled_as_qt_fills_them(qtbot, monkeypatch):
    """Where a column's edge may fall on a pixel's centre the hatching follows each run's own rectangle."""
    monkeypatch.setattr(_lane_image, "_one_pixel_per_column", lambda *_args: False)
    trace = make_run(60_000, 0, lanes=24, slots=0, seed=5)
    plot = shown(qtbot, ActivityPlot(), 900, 500)
    plot.set_trace(trace)
    plot.follow_live(True)
    by_qt, composed, stats = _both(plot, monkeypatch)
    assert stats["images"] == 1
    assert np.array_equal(by_qt, composed)


@pytest.mark.parametrize("height", [260, 160])
def test_lanes_a_few_pixels_high(qtbot, monkeypatch, height):
    """64 lanes in a short plot: a lane's outline reaches into the next lane's rows, as Qt draws it."""
    trace = make_run(60_000, 0, lanes=64, slots=0, seed=2)
    plot = shown(qtbot, ActivityPlot(), 700, height)
    plot.set_trace(trace)
    plot.follow_live(True)
    by_qt, composed, stats = _both(plot, monkeypatch)
    assert stats["mode"] == "lod"
    assert np.array_equal(by_qt, composed)


def test_a_scaled_column_is_left_to_qt():
    """Columns that are not one device pixel each: no image (the caller draws with Qt)."""
    codes = np.ones((2, 10), dtype=np.int64)
    rows = np.array([0.0, 1.0])
    out = _lane_image.compose(codes, rows, 0.0, 1.0, (1.5, 10.0, 5.0, 5.0), _segments._LOOK, 0.8, (0, 0, 100, 100))
    assert out is None
    out = _lane_image.compose(codes, rows, 0.0, 1.0, (1.0, 10.0, 5.0, 5.0), _segments._LOOK, 0.8, (0, 0, 100, 100))
    assert out is not None and out[0].shape[1] >= 10


def _random_lanes(rng, count: int = 12) -> list:
    lanes = []
    for row in range(count):
        n = int(rng.integers(0, 40))
        starts = np.cumsum(rng.integers(1, 50, n)) + 1_000
        ends = np.append(starts[1:], starts[-1:] + rng.integers(1, 50, min(n, 1)))
        lanes.append((row, np.stack([starts, ends, rng.integers(0, 7, n), np.zeros(n, np.int64)]).astype(np.int64)))
    return lanes


@pytest.mark.parametrize("seed", range(6))
def test_visible_slices_are_the_binary_searches_of_every_lane(qapp, seed):
    """Lanes wholly in view are taken without a search: the same slices as two searches per lane give."""
    rng = np.random.default_rng(seed)
    item = _segments.SegmentsItem()
    lanes = _random_lanes(rng)
    item.set_lanes(lanes, 0, len(lanes))
    for _view in range(40):
        a, b = np.sort(rng.uniform(0.0, 3.0e-6, 2))  # seconds: the lanes span ~1 µs to ~2 µs
        want = []
        for row, iv in lanes:
            if iv.shape[1]:
                first = int(np.searchsorted(iv[1], math.floor(a * 1e9), side="right"))
                stop = int(np.searchsorted(iv[0], math.ceil(b * 1e9), side="left"))
                if stop > first:
                    want.append((row, first, stop))
        got = [(row, first, stop) for row, _iv, first, stop in item.visible_slices(a, b)]
        assert got == want


@pytest.mark.parametrize("seed", range(6))
def test_set_lanes_finds_the_earliest_change_as_lane_by_lane(qapp, seed):
    """What changed since the last call (the lanes only grew at their ends): the earliest of each lane's
    old last end and its interval's end now at the old last index, as computed lane by lane before."""
    rng = np.random.default_rng(seed)
    item = _segments.SegmentsItem()
    lanes = _random_lanes(rng)
    item.set_lanes(lanes, 0, len(lanes), None, "g")
    old = {row: (iv.shape[1], int(iv[1, -1])) for row, iv in lanes if iv.shape[1]}
    grown = []
    for row, iv in lanes:
        extra = int(rng.integers(0, 3)) if iv.shape[1] else 0
        more = iv[:, -1:].repeat(extra, axis=1) + np.array([[5], [5], [0], [0]]) * np.arange(1, extra + 1)
        grown.append((row, np.concatenate([iv, more], axis=1) if extra else iv))
    item._changed_ns = math.inf
    item.set_lanes(grown, 0, len(grown), None, "g")
    want = math.inf
    for row, iv in grown:
        n = iv.shape[1]
        if n:
            want = min(want, old[row][1], int(iv[1, min(old[row][0], n) - 1]))
    assert item._changed_ns == want
