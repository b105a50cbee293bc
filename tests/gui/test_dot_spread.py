"""Dots of writes that land within one dot's width are laid apart (the counter race's six writes of 9 in
5 ms at the end of the run), inside the view, in their write order; dots far apart keep their place."""

from __future__ import annotations

import numpy as np

from app.gui.plots._curves import spread


def test_far_apart_dots_keep_their_place():
    x = np.array([10.0, 40.0, 90.0])
    assert np.array_equal(spread(x, 10.0), x)


def test_a_crowd_is_laid_out_one_gap_apart_in_write_order_around_its_centre():
    x = np.array([100.0, 100.5, 101.0, 101.5])
    out = spread(x, 10.0)
    assert np.allclose(np.diff(out), 10.0)
    assert abs(out.mean() - x.mean()) < 1e-9


def test_a_crowd_at_the_right_edge_stays_inside_the_view():
    x = np.full(6, 499.0)
    out = spread(x, 10.0, (0.0, 500.0))
    assert out.max() <= 495.0 and np.allclose(np.diff(out), 10.0)


def test_a_crowd_at_the_left_edge_stays_inside_the_view():
    out = spread(np.full(3, 1.0), 10.0, (0.0, 500.0))
    assert out.min() >= 5.0


def test_two_crowds_are_spread_each_on_its_own():
    x = np.array([100.0, 100.0, 300.0, 300.0, 300.0])
    out = spread(x, 10.0)
    assert np.allclose(out[:2], [95.0, 105.0]) and np.allclose(out[2:], [290.0, 300.0, 310.0])
