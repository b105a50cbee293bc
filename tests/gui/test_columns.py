"""Step curves as pixel columns (app/gui/plots/_columns.py): exact extremes, incremental = fresh, rasterising."""

from __future__ import annotations

import numpy as np
import pytest

from app.gui.plots._columns import ColumnGrid, StepColumnCache, column_bounds, column_points, rasterise, step_columns


def brute_columns(x, y, x_start, y_start, x_end, grid):
    """Per column [left, left + width): the value held at its left edge and every write inside it — one by one."""
    if x_start is not None:
        x, y = np.concatenate([[x_start], x]), np.concatenate([[y_start], y])
    low, high = np.full(grid.count, np.nan), np.full(grid.count, np.nan)
    if not len(x):
        return low, high
    end = max(x_end, x[-1])
    for c, left in enumerate(grid.lefts()):
        right = left + grid.width
        held = [v for xi, v in zip(x, y, strict=True) if left <= xi < right]
        before = [v for xi, v in zip(x, y, strict=True) if xi <= left]
        if before and left < end:
            held.append(before[-1])
        if held:
            low[c], high[c] = min(held), max(held)
    return low, high


def random_curve(rng, n, t_end):
    x = np.sort(rng.uniform(0.0, t_end, n))
    y = np.cumsum(rng.choice([-1.0, 1.0], n))
    return x, y


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("view", [(0.3, 9.7), (-1.3, 9.7)])  # the curves' start left of the view, or in it
def test_step_columns_hold_exactly_the_values_the_curve_holds(seed, view):
    rng = np.random.default_rng(seed)
    grid = ColumnGrid(*view, 37)
    curves = []
    for k in range(4):
        x, y = random_curve(rng, int(rng.integers(0, 60)), 12.0)
        start = (0.0, 5.0) if k % 2 else (None, None)
        curves.append((x, y, *start, float(rng.uniform(3.0, 12.0))))
    low, high = step_columns(curves, grid)
    for k, curve in enumerate(curves):
        want_low, want_high = brute_columns(*curve, grid)
        np.testing.assert_array_equal(low[k], want_low)
        np.testing.assert_array_equal(high[k], want_high)


def test_neighbouring_columns_share_a_value_so_the_curve_is_connected():
    rng = np.random.default_rng(3)
    x, y = random_curve(rng, 400, 10.0)
    low, high = step_columns([(x, y, 0.0, 0.0, 10.0)], ColumnGrid(0.0, 10.0, 50))
    low, high = low[0], high[0]
    assert not np.isnan(low).any()
    assert (np.maximum(low[1:], low[:-1]) <= np.minimum(high[1:], high[:-1])).all()


def test_the_cache_gives_what_a_fresh_computation_gives_while_a_run_grows_and_scrolls():
    rng = np.random.default_rng(11)
    xs = [np.empty(0), np.empty(0)]
    ys = [np.empty(0), np.empty(0)]
    steps = [np.empty(0), np.empty(0)]
    cache = StepColumnCache()
    end = 0.0
    for _frame in range(40):
        changed = None
        for k in range(2):  # new writes, some of them late (out of order, as batches arrive)
            new_x = end + rng.uniform(-0.3, 0.25, 5)
            new_x = new_x[new_x > 0]
            if len(new_x):
                changed = min(changed, new_x.min()) if changed is not None else float(new_x.min())
                x = np.concatenate([xs[k], new_x])
                step = np.concatenate([steps[k], rng.choice([-1.0, 1.0], len(new_x))])
                order = np.argsort(x, kind="stable")
                xs[k], steps[k] = x[order], step[order]
                ys[k] = np.cumsum(steps[k])  # a late write changes every value after it (as "ideal" curves do)
        end += 0.25
        x1 = max(end * 1.02, 2.0)
        x0 = max(0.0, x1 - 4.0)
        grid = ColumnGrid(x0, x1, 80)
        curves = [(xs[k], ys[k], 0.0, 0.0, end) for k in range(2)]
        low, high = cache.columns(("run",), curves, grid, changed, end)
        fresh_low, fresh_high = step_columns(curves, grid)
        np.testing.assert_array_equal(low, fresh_low)
        np.testing.assert_array_equal(high, fresh_high)


def test_a_scrolled_view_keeps_its_columns():
    a = ColumnGrid(10.0, 40.6, 900)
    b = ColumnGrid(10.0 + a.width * 3, 40.6 + a.width * 3, 900)
    assert a.width == b.width and b.first == a.first + 3


def test_column_points_and_bounds_describe_the_columns():
    grid = ColumnGrid(0.0, 4.0, 4)
    low = np.array([[1.0, np.nan, 2.0, 3.0], [np.nan] * 4])
    high = np.array([[1.5, np.nan, 2.0, 5.0], [np.nan] * 4])
    xs, ys = column_points(grid, low[0], high[0])
    assert xs.tolist() == [0.5, 0.5, 2.5, 2.5, 3.5, 3.5] and ys.tolist() == [1.0, 1.5, 2.0, 2.0, 3.0, 5.0]
    assert column_bounds(grid, low, high) == [(0.0, 4.0, 1.0, 5.0), None]


def test_rasterise_paints_runs_thickened_in_z_order():
    top = np.array([[5.0, 5.0, 5.0, np.nan], [2.0, 5.0, 8.0, 8.0]])
    bottom = np.array([[5.0, 5.0, 5.0, np.nan], [2.0, 5.0, 8.0, 8.0]])
    image = rasterise(top, bottom, [(1.0, False), (1.0, False)], 0, 10)
    assert image.shape == (10, 4)
    assert image[5, 0] == 1 and image[2, 0] == 2  # each curve where it is
    assert image[5, 1] == 2  # where they cross, the later curve is on top
    assert image[5, 3] == 0 and image[8, 3] == 2  # nothing where a curve shows nothing
    thick = rasterise(top[:1], bottom[:1], [(3.0, False)], 0, 10)
    assert thick[4:7, 0].tolist() == [1, 1, 1] and thick[3, 0] == 0 and thick[7, 0] == 0
    flat = np.full((1, 12), 4.0)
    dashes = rasterise(flat, flat, [(1.0, True)], 0, 10)[4]
    assert dashes.tolist() == [1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0]  # Qt's dash: 4 on, 2 off


def reference_codes(slices, left, right):
    """The per-lane search of ``SegmentsItem._column_codes``, written out."""
    codes = np.full((len(slices), len(left)), -1, dtype=np.int64)
    for k, (_row, iv, first, stop) in enumerate(slices):
        for c, (a, b) in enumerate(zip(left, right, strict=True)):
            starts = [j for j in range(first, stop) if iv[0, j] <= b]
            if starts and iv[1, starts[-1]] > a:
                codes[k, c] = iv[2, starts[-1]]
    return codes


@pytest.mark.parametrize("seed", range(5))
def test_the_live_edge_codes_of_all_lanes_at_once_are_the_per_lane_ones(seed):
    from app.gui.plots._segments import _tail_codes

    rng = np.random.default_rng(seed)
    slices = []
    for row in range(7):
        n = int(rng.integers(0, 30))
        starts = np.cumsum(rng.integers(1, 40, n))
        ends = starts + rng.integers(1, 40, n)  # some intervals touch the next, some leave a gap
        ends = np.minimum(ends, np.append(starts[1:], ends[-1:] if n else []))
        iv = np.stack([starts, ends, rng.integers(0, 8, n), np.zeros(n, np.int64)]).astype(np.int64)
        first = int(rng.integers(0, max(n // 3, 1)))
        slices.append((row, iv, first, n))
    edges = np.sort(rng.choice(np.arange(0, 900), 9, replace=False)).astype(np.int64)
    left, right = edges[:-1], edges[1:]
    np.testing.assert_array_equal(_tail_codes(slices, left, right), reference_codes(slices, left, right))
