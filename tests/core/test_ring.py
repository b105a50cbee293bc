"""The shared-memory ring between the receiver process and the app: order, wraparound, a full ring, two processes."""

from __future__ import annotations

import multiprocessing
import threading

import numpy as np
import pytest

from app.core import events as ev
from app.core.ring import Ring

METHODS = [m for m in ("spawn", "fork", "forkserver") if m in multiprocessing.get_all_start_methods()]


def _rows(start: int, n: int) -> np.ndarray:
    """``n`` distinct rows numbered from ``start`` (every field tells the row's number)."""
    k = np.arange(start, start + n, dtype=np.int64)
    return np.stack([k, k % 64, np.full(n, ev.VALUE), k * 3, -k], axis=1)


@pytest.fixture
def ring():
    made = Ring.create(capacity=16)
    yield made
    made.close()


def test_rows_come_out_as_they_went_in(ring):
    assert ring.take() is None
    ring.put(_rows(0, 5).tobytes())
    ring.put(_rows(5, 3).tobytes())
    assert ring.pending() == 8
    np.testing.assert_array_equal(ring.take(), _rows(0, 8))
    assert ring.take() is None and ring.pending() == 0


def test_wraparound_keeps_order_and_content(ring):
    sent = 0
    got = []
    for size in (7, 7, 7, 5, 16, 1, 9, 13):  # every position of the ring's end is crossed
        ring.put(_rows(sent, size).tobytes())
        sent += size
        got.append(ring.take())
    np.testing.assert_array_equal(np.concatenate(got), _rows(0, sent))


def test_take_with_a_limit_leaves_the_rest(ring):
    ring.put(_rows(0, 10).tobytes())
    np.testing.assert_array_equal(ring.take(limit=4), _rows(0, 4))
    np.testing.assert_array_equal(ring.take(), _rows(4, 6))


def test_a_full_ring_makes_the_writer_wait_and_loses_nothing(ring):
    done = threading.Event()
    writer = threading.Thread(target=lambda: (ring.put(_rows(0, 100).tobytes()), done.set()))
    writer.start()
    try:
        got, seen = [], 0
        while seen < 100:
            chunk = ring.take()
            if chunk is None:
                assert not done.is_set() or ring.pending() or seen == 100
                continue
            assert len(chunk) <= ring.capacity
            got.append(chunk)
            seen += len(chunk)
        np.testing.assert_array_equal(np.concatenate(got), _rows(0, 100))
    finally:
        writer.join(10)
    assert done.is_set()


def test_a_writer_facing_a_full_ring_gives_up_when_told(ring):
    assert ring.put(_rows(0, 20).tobytes(), stopping=lambda: True) == 16
    np.testing.assert_array_equal(ring.take(), _rows(0, 16))


def _produce(name: str, capacity: int, total: int, batch: int) -> None:
    ring = Ring.attach(name, capacity)
    try:
        for start in range(0, total, batch):
            ring.put(_rows(start, min(batch, total - start)).tobytes())
    finally:
        ring.close()


@pytest.mark.parametrize("method", METHODS)
def test_a_producer_process_and_a_concurrent_reader_agree(method):
    """Another process writes 200k rows through a small ring while this one reads, with no lock."""
    ring = Ring.create(capacity=1024)
    total = 200_000
    ctx = multiprocessing.get_context(method)
    producer = ctx.Process(target=_produce, args=(ring.name, ring.capacity, total, 333))
    producer.start()
    try:
        got, seen = [], 0
        while seen < total:
            chunk = ring.take()
            if chunk is None:
                assert producer.exitcode in (None, 0), "the producer failed"
                assert producer.exitcode is None or ring.pending() or seen == total, "rows went missing"
                continue
            got.append(chunk)
            seen += len(chunk)
        producer.join(30)
        assert producer.exitcode == 0
        np.testing.assert_array_equal(np.concatenate(got), _rows(0, total))
    finally:
        if producer.is_alive():
            producer.kill()
        producer.join(5)
        ring.close()
