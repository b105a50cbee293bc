"""The lanes' level of detail as one image in device pixels: fills, hatching and outlines composed by numpy.

Drawn with Qt, the level of detail was one scaled image row per lane and then,
over it, every run of equal columns of a hatched or outlined state as a
rectangle: with many short runs (64 lanes of random states: ~30,000 of them)
Qt's texture fills and cosmetic outlines took most of a frame (``tests/bench``:
``render``). Here the same pixels are computed in numpy and drawn with one
``drawImage`` at a whole device pixel (no scaling, no transform):

* a lane's image row covers the device pixels Qt's aliased ``drawImage`` gives
  its target rectangle (edges rounded with ``qRound``, one device pixel per
  column);
* a hatched run covers the pixels Qt's aliased rectangle fill gives it (the
  pixels whose centres lie in it: ``floor(edge + 0.5)``), and its hatching is
  the pattern's 8 × 8 tile anchored at the device's origin, as Qt's texture
  brush is when drawn without a transform;
* an outlined run's outline is the 1-pixel cosmetic pen's: the rows
  ``floor(top)`` and ``floor(bottom)``, the columns ``floor(left)`` and
  ``floor(right)``.

Those rules were checked against Qt's own drawing (``tests/gui/test_lane_image.py``
paints both and compares every pixel). Qt clips a cosmetic line that crosses the
clip otherwise than by whole pixels, so the outlines that come near the clip's
left or right edge or cross its top or bottom are left to Qt (returned as
rectangles, drawn after the image); where a case falls outside the rules (a
scaled column, a column narrower than a device pixel) ``compose`` returns None
and the caller draws with Qt as before.

While the view keeps its place (a live view widens in steps), the last image is
kept and only the pixels from the first changed column on are composed again.
"""

from __future__ import annotations

import math

import numpy as np

STATE_SLOTS = 16  # codes 0 … 15; the last one stands for "nothing" (-1)
_NONE = STATE_SLOTS - 1


def _qround(x: float) -> int:
    return math.floor(x + 0.5)


class Look:
    """What a state looks like, as lookup tables: its fill colour, its tile of hatching, its outline."""

    def __init__(self, argb: np.ndarray, tiles: dict[int, np.ndarray], outlines: dict[int, int]):
        """``argb``: per code its opaque fill; ``tiles``: per code an 8 × 8 uint32 tile (0: see-through);
        ``outlines``: per code its outline colour."""
        self.fill = np.zeros(STATE_SLOTS, dtype=np.uint32)  # _NONE: transparent
        self.fill[: len(argb)] = argb
        # per code and tile phase (row % 8 * 8 + column % 8): the tile's pixel, or 0 where it shows the fill
        self.hatch = np.zeros((STATE_SLOTS, 64), dtype=np.uint32)
        for code, tile in tiles.items():
            self.hatch[code] = np.asarray(tile, dtype=np.uint32).reshape(64)
        self.hatched = np.array(sorted(tiles), dtype=np.int64)
        self.outlines = dict(outlines)
        alpha = self.hatch >> 24
        # composable as drawn: tiles of opaque or see-through pixels only (a blend is not a copy), and every
        # outline drawn after every hatching (states are drawn in code order; an outline before its own hatch)
        self.ok = bool(((alpha == 0) | (alpha == 255)).all()) and all(
            code > int(self.hatched.max(initial=-1)) for code in self.outlines)
        self.hatch[alpha == 0] = 0
        # per code and tile phase: what a pixel of a hatched (or plain) column shows; _NONE: nothing
        self.combo = np.where(self.hatch != 0, self.hatch, self.fill[:, None]).reshape(-1)


def compose(codes: np.ndarray, lane_rows: np.ndarray, x0: float, pixel: float, transform: tuple,
            look: Look, height: float, clip: tuple[float, float, float, float], scratch: dict | None = None,
            kept: int = 0):
    """``codes`` (lanes, columns; -1: nothing), drawn from ``x0`` (data units) in columns ``pixel`` wide, lane k
    centred on data row ``lane_rows[k]`` and ``height`` tall, through the painter's ``transform``
    (sx, sy, dx, dy: scale and translation only), inside ``clip`` (left, top, right, bottom in device pixels)
    — as (pixels, left, top, rects): the device image, where its top-left pixel goes, and the outlines
    (code → (n, 4) device rectangles) that cross the clip's edge, which Qt clips otherwise than whole lines:
    the caller draws them after the image. None when the columns are not one device pixel each (the caller
    draws everything with Qt). ``scratch``: the caller's buffers, kept from frame to frame (the image is one
    of them: valid until the next call). ``kept``: how many of the first columns are as they were at the
    previous call; when nothing else changed (a live view that widens in steps keeps its place for seconds)
    only the pixels from there on are composed again."""
    scratch = {} if scratch is None else scratch
    sx, sy, dx, dy = transform
    lanes, columns = codes.shape
    if not look.ok or sx <= 0 or sy <= 0 or not lanes or not columns:
        return None
    # the image row of each lane: QRectF(x0, row - h/2, columns·pixel, h) mapped, then rounded as Qt's aliased
    # drawImage rounds it (x, y; then the width and height from there)
    left_f = x0 * sx + dx
    right_f = (x0 + pixel * columns) * sx + dx
    left = _qround(left_f)
    if _qround(right_f - left) != columns:
        return None  # not one device pixel per column: Qt would scale the image
    tops_f = (lane_rows - height / 2) * sy + dy
    bottoms_f = (lane_rows - height / 2 + height) * sy + dy
    tops = np.floor(tops_f + 0.5).astype(np.int64)
    heights = np.floor(bottoms_f - tops + 0.5).astype(np.int64)
    # the same lanes as rectangles in device units (how the hatching and outlines were drawn)
    ry = (lane_rows - height / 2) * sy + dy
    rh = height * sy
    fill_top = np.floor(ry + 0.5).astype(np.int64)
    fill_bottom = np.floor(ry + rh + 0.5).astype(np.int64)  # exclusive
    line_top = np.floor(ry).astype(np.int64)
    line_bottom = np.floor(ry + rh).astype(np.int64)  # inclusive
    y_min = int(min(tops.min(), fill_top.min(), line_top.min()))
    y_max = int(max((tops + heights).max(), fill_bottom.max(), line_bottom.max() + 1))
    x_min, x_max = left - 1, left + columns + 2  # runs' rectangles and outlines reach a pixel past the image
    rows, width = y_max - y_min, x_max - x_min
    if rows <= 0 or rows * width > 64_000_000:
        return None

    # lane of each device row (its image row; its rectangles' rows): lanes whose bands share a device row
    # are drawn with Qt (the drawing order across lanes and states would decide)
    image_lane = _row_lanes(tops - y_min, heights, rows)
    fill_lane = _row_lanes(fill_top - y_min, fill_bottom - fill_top, rows)
    if image_lane is None or fill_lane is None:
        return None
    on = np.flatnonzero(image_lane >= 0)
    a, b = left - x_min, left - x_min + columns
    key = (lanes, lane_rows.tobytes(), x0, pixel, transform, height, clip)  # not the columns: they grow
    last, scratch["last"] = scratch.get("last"), None
    first = 0  # the first column composed (the pixels left of its device column are the last call's)
    scratch["first"] = 0
    if np.array_equal(image_lane, fill_lane) and _one_pixel_per_column(left_f, pixel * sx, left, columns):
        # every run's rectangle fills exactly its columns' pixels: fill and hatching in one lookup per pixel;
        # a column's outline side may lie in the pixel column left of it: from one column before the change
        name = "pixels"
        if last is not None and last[0] == key and kept >= 2 and last[1].shape[0] == rows:
            first, pixels, name = kept - 1, last[1], last[2]
            if pixels.shape[1] != width:  # more columns (the live edge moved on): into the other buffer
                name = "pixels2" if name == "pixels" else "pixels"
                old, pixels = pixels, _scratch(scratch, name, (rows, width), np.uint32)
                pixels[:, : a + first] = old[:, : a + first]
            pixels[:, a + first:] = 0
            scratch["first"] = first
        else:
            pixels = _scratch(scratch, name, (rows, width), np.uint32)
            pixels.fill(0)
        codes8 = np.where(codes[:, first:] < 0, _NONE, codes[:, first:]).astype(np.uint8)
        lane_index = codes8.astype(np.uint16)
        lane_index <<= 6
        lane_index += ((np.arange(a + first, b) + x_min) % 8).astype(np.uint16)[None, :]
        index = _scratch(scratch, "index", (len(on), columns - first), np.uint16)
        np.take(lane_index, image_lane[on], axis=0, out=index)
        index += (((on + y_min) % 8) * 8).astype(np.uint16)[:, None]
        taken = _scratch(scratch, "take", (len(on), columns - first), np.uint32)
        pixels[on, a + first:b] = look.combo.take(index, out=taken)
        scratch["last"] = (key, pixels, name)
    else:
        # a rectangle edge on a pixel's centre: each run's hatching as its rectangle was filled
        codes8 = np.where(codes < 0, _NONE, codes).astype(np.uint8)
        state = np.full((rows, width), _NONE, dtype=np.uint8)
        state[on, a:b] = codes8[image_lane[on]]
        pixels = look.fill[state]
        runs = _runs(codes, look.hatched)
        if runs is not None:
            lane, start, stop, code = runs
            _hatch(pixels, look, fill_lane, lanes, lane, (x0 + start * pixel) * sx + dx,
                   ((stop - start) * pixel) * sx, code, x_min, y_min)
    edge: dict[int, np.ndarray] = {}
    for value, color in sorted(look.outlines.items()):  # after every hatching (``Look``)
        lane, start, stop = _runs_of(codes, value)
        if not len(lane):
            continue
        # as the runs were drawn: QRectF(x0 + start·pixel, …, (stop - start)·pixel, …) in device units
        rx = (x0 + start * pixel) * sx + dx
        rw = ((stop - start) * pixel) * sx
        # inside the clip: no line crosses its top or bottom edge, none comes near its left or right edge
        inner = ((np.floor(rx) >= clip[0] + 2) & (np.floor(rx + rw) <= clip[2] - 3)
                 & (line_top[lane] >= clip[1]) & (line_bottom[lane] <= clip[3] - 1))
        draw = inner & (stop >= first - 1)  # the runs ending further left are drawn already
        _outline(pixels, lane[draw], rx[draw], rw[draw], line_top, line_bottom, color, x_min, y_min, a + first)
        out = ~inner
        if out.any():
            edge[value] = np.column_stack([rx[out], ry[lane[out]], rw[out], np.full(int(out.sum()), rh)])
    return pixels, x_min, y_min, edge


def _one_pixel_per_column(left_f: float, step: float, left: int, columns: int) -> bool:
    """Column c's edges lie at left + c in device pixels, none of them within rounding of a pixel's centre:
    then Qt fills a run of columns c … d - 1 on exactly the pixels left + c … left + d - 1."""
    edges = left_f + np.arange(columns + 1) * step + 0.5
    whole = np.floor(edges)
    frac = edges - whole
    return bool((whole == left + np.arange(columns + 1)).all() and (frac > 1e-6).all() and (frac < 1 - 1e-6).all())


def _row_lanes(tops: np.ndarray, heights: np.ndarray, rows: int) -> np.ndarray:
    """Per device row the lane whose band [top, top + height) holds it, else -1; None if two bands share a row."""
    lane = np.full(rows, -1, dtype=np.int64)
    count = np.maximum(heights, 0)
    if not count.sum():
        return lane
    owner = np.repeat(np.arange(len(tops)), count)
    at = np.repeat(tops, count) + (np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count))
    ok = (at >= 0) & (at < rows)
    if len(np.unique(at)) != len(at):
        return None
    lane[at[ok]] = owner[ok]
    return lane


def _runs(codes: np.ndarray, states: np.ndarray):
    """(lane, start, stop, code) of each run of equal columns of one of ``states``, in the order they were
    drawn: by state, then lane, then left to right; None if there is none."""
    lanes, columns = codes.shape
    masked = np.where(np.isin(codes, states), codes, -1)
    change = np.ones((lanes, columns), dtype=bool)
    change[:, 1:] = masked[:, 1:] != masked[:, :-1]
    lane, start = np.nonzero(change)
    stop = np.append(start[1:], columns)
    stop[np.append(lane[1:] != lane[:-1], True)] = columns
    code = masked[lane, start]
    keep = code >= 0
    if not keep.any():
        return None
    lane, start, stop, code = lane[keep], start[keep], stop[keep], code[keep]
    order = np.argsort(code, kind="stable")
    return lane[order], start[order], stop[order], code[order]


def _runs_of(codes: np.ndarray, state: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lane, start, stop) of each run of columns in ``state``, by lane, left to right."""
    lanes, columns = codes.shape
    edges = np.zeros((lanes, columns + 2), dtype=np.int8)
    edges[:, 1:-1] = codes == state
    step = np.diff(edges, axis=1)  # +1 where a run starts, -1 just after it ends
    lane, start = np.nonzero(step == 1)
    _lane, stop = np.nonzero(step == -1)
    return lane, start, stop


def _hatch(pixels, look: Look, fill_lane, lanes: int, lane, rx, rw, code, x_min: int, y_min: int) -> None:
    """Each run's tile over the pixels its rectangle fills (a later run over an earlier one, as drawn)."""
    height, width = pixels.shape
    a = np.clip(np.floor(rx + 0.5).astype(np.int64) - x_min, 0, width)
    b = np.maximum(np.clip(np.floor(rx + rw + 0.5).astype(np.int64) - x_min, 0, width), a)
    length = b - a
    if not length.sum():
        return
    # per lane, the state hatched in each device column (_NONE: none), runs in drawing order (the last wins)
    over = np.full((lanes, width), _NONE, dtype=np.uint8)
    cols = np.arange(int(length.sum())) + np.repeat(a - (np.cumsum(length) - length), length)
    over[np.repeat(lane, length), cols] = np.repeat(code, length).astype(np.uint8)
    rows = np.flatnonzero(fill_lane >= 0)
    phase = ((rows + y_min) % 8 * 8)[:, None] + ((np.arange(width) + x_min) % 8)[None, :]
    tile = look.hatch.reshape(-1)[over[fill_lane[rows]].astype(np.intp) * 64 + phase]
    band = pixels[rows]
    pixels[rows] = np.where(tile != 0, tile, band)


def _outline(pixels, lane, rx, rw, line_top, line_bottom, color: int, x_min: int, y_min: int,
             from_x: int = 0) -> None:
    """The 1-pixel cosmetic outline of each run's rectangle (all inside ``pixels``), from pixel column
    ``from_x`` on."""
    width = pixels.shape[1]
    xa = np.floor(rx).astype(np.int64) - x_min
    xb = np.floor(rx + rw).astype(np.int64) - x_min
    ya = line_top[lane] - y_min
    yb = line_bottom[lane] - y_min
    span = xb - xa + 1
    along = np.arange(int(span.sum())) - np.repeat(np.cumsum(span) - span, span)  # 0 … span - 1 per run
    tall = yb - ya + 1
    down = (np.arange(int(tall.sum())) - np.repeat(np.cumsum(tall) - tall, tall)) * width
    at = np.concatenate([np.repeat(ya * width + xa, span) + along, np.repeat(yb * width + xa, span) + along,
                         np.repeat(ya * width + xa, tall) + down, np.repeat(ya * width + xb, tall) + down])
    if from_x > 0:
        at = at[at % width >= from_x]
    np.put(pixels, at, color, mode="clip")


def _scratch(store: dict, name: str, shape: tuple, dtype) -> np.ndarray:
    """A buffer kept from frame to frame: a new megabyte array at every frame costs its page faults."""
    size = int(np.prod(shape))
    buffer = store.get(name)
    if buffer is None or buffer.size < size or buffer.dtype != np.dtype(dtype):
        buffer = store[name] = np.empty(max(size, 1), dtype=dtype)
    return buffer[:size].reshape(shape)
