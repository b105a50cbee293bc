"""The trace's folds (app/core/folds.py): lanes of state intervals and series of values.

What an interval and a series are is pinned by hand-computed cases; that the
incremental folds (what the plots use, a chunk at a time) give what the whole
trace folded at once gives (``Trace.intervals`` / ``Trace.values``) is checked
over chunked, interleaved, out-of-order and late-fact traces.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.core import events as ev
from app.core.folds import Grow, LaneStore, Samples, ValueWrites, lane_intervals, value_series
from app.core.trace import ProcessInfo, Trace

T0 = 7_000_000_000
S = 1_000_000_000
# EXIT records' b: how the process ended, as the trace file stores it
HOW_DONE, HOW_CRASHED, HOW_TERMINATED, HOW_STOPPED = 0, 1, 2, 3


def ns(seconds: float) -> int:
    return T0 + int(round(seconds * S))


def state(t: float, index: int, code: int, detail: int = 0) -> tuple:
    return (ns(t), index, ev.STATE, code, detail)


def meta(t: float, index: int, **facts) -> tuple:
    return (ns(t), index, ev.META, facts)


def rows(*records) -> np.ndarray:
    return np.array(records, dtype=np.int64).reshape(-1, ev.RECORD_FIELDS)


def new_trace(**meta_) -> Trace:
    return Trace({"lesson": "test", "t0_ns": T0, **meta_})


def full_intervals(trace: Trace, store: LaneStore, end: int) -> dict[int, np.ndarray]:
    procs = trace.processes()
    return {i: trace.intervals(i, procs.get(i, ProcessInfo(i)), end_ns=end) for i in store.order()}


def folded_intervals(store: LaneStore, end: int) -> dict[int, np.ndarray]:
    return {i: store.lanes[i].intervals(end).T.copy() if i in store.lanes else np.empty((0, 4), np.int64)
            for i in store.order()}


def assert_folded_as_at_once(store: LaneStore, trace: Trace) -> None:
    end = store.end_ns()  # a live run's "now" moves: one for both
    assert_same(folded_intervals(store, end), full_intervals(trace, store, end))


def assert_same(a: dict[int, np.ndarray], b: dict[int, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for index in a:
        np.testing.assert_array_equal(a[index], b[index], err_msg=f"lane {index}")


# --- what an interval is --------------------------------------------------------------------------------

def test_an_interval_lasts_until_the_next_state_and_starting_comes_first():
    info = ProcessInfo(0, requested_ns=ns(0.0), exit_ns=ns(3.0))
    states = np.array([[ns(0.5), ev.WORKING, 0], [ns(1.0), ev.WAITING, 2], [ns(2.0), ev.DONE, 0]])
    iv = lane_intervals(states, info, end_ns=ns(9.0))
    assert iv.tolist() == [[ns(0.0), ns(0.5), ev.STARTING, 0], [ns(0.5), ns(1.0), ev.WORKING, 0],
                           [ns(1.0), ns(2.0), ev.WAITING, 2]]  # done ends the lane: no interval


def test_starting_only_before_the_first_state_and_states_in_any_order():
    info = ProcessInfo(0, requested_ns=ns(1.0))  # asked for after its first state: no "starting"
    states = np.array([[ns(2.0), ev.SLEEPING, 0], [ns(0.5), ev.WORKING, 0]])
    iv = lane_intervals(states, info, end_ns=ns(4.0))
    assert iv.tolist() == [[ns(0.5), ns(2.0), ev.WORKING, 0], [ns(2.0), ns(4.0), ev.SLEEPING, 0]]


def test_a_process_that_never_reported_is_starting_until_now_or_nothing():
    iv = lane_intervals(np.empty((0, 3), np.int64), ProcessInfo(0, requested_ns=ns(1.0)), end_ns=ns(2.0))
    assert iv.tolist() == [[ns(1.0), ns(2.0), ev.STARTING, 0]]
    empty = lane_intervals(np.empty((0, 3), np.int64), ProcessInfo(0), end_ns=ns(2.0))
    assert empty.shape == (0, 4) and empty.dtype == np.int64


def test_a_crashed_process_ends_at_its_crash_state():
    trace = new_trace(end_ns=ns(10.0))
    trace.append(rows(state(0.1, 0, ev.WORKING), state(1.0, 0, ev.CRASHED),
                      (ns(1.2), 0, ev.EXIT, 1, HOW_CRASHED)), [meta(0.0, 0, requested_ns=ns(0.0))])
    assert trace.processes()[0].ended == "crashed"
    assert trace.intervals(0).tolist() == [[ns(0.0), ns(0.1), ev.STARTING, 0], [ns(0.1), ns(1.0), ev.WORKING, 0]]


@pytest.mark.parametrize("how", [HOW_STOPPED, HOW_TERMINATED])
def test_a_stopped_process_holds_its_last_state_until_it_exited(how):
    trace = new_trace(end_ns=ns(10.0))
    trace.append(rows(state(0.1, 0, ev.WORKING), state(1.0, 0, ev.WAITING, 3),
                      (ns(2.5), 0, ev.EXIT, -15, how)), [meta(0.0, 0, requested_ns=ns(0.0))])
    iv = trace.intervals(0)
    assert iv[-1].tolist() == [ns(1.0), ns(2.5), ev.WAITING, 3]  # the exit, not the run's end
    store = LaneStore()
    store.update(trace)
    np.testing.assert_array_equal(store.lanes[0].intervals(store.end_ns()).T, iv)


def test_a_live_runs_open_interval_reaches_now():
    trace = new_trace(status="running")
    trace.append(rows(state(0.1, 0, ev.WORKING), state(0.4, 0, ev.WAITING, 1)), [meta(0.0, 0, requested_ns=ns(0.0))])
    store = LaneStore()
    store.update(trace)
    now = store.end_ns()
    assert now >= ns(0.4)  # the workers' clock (perf_counter_ns) or the latest event, whichever is later
    lane = store.lanes[0].intervals(now)
    assert lane[:, -1].tolist() == [ns(0.4), now, ev.WAITING, 1]
    later = now + 5 * S
    assert store.lanes[0].intervals(later)[:, -1].tolist() == [ns(0.4), later, ev.WAITING, 1]  # grows, not refolded
    np.testing.assert_array_equal(trace.intervals(0, end_ns=later), store.lanes[0].intervals(later).T)
    # the run ends: the open state closes at the exit
    trace.append(rows(state(1.0, 0, ev.DONE), (ns(1.1), 0, ev.EXIT, 0, HOW_DONE)))
    store.update(trace)
    assert store.lanes[0].intervals(later).T.tolist() == trace.intervals(0).tolist() == [
        [ns(0.0), ns(0.1), ev.STARTING, 0], [ns(0.1), ns(0.4), ev.WORKING, 0], [ns(0.4), ns(1.0), ev.WAITING, 1]]


# --- incremental == at once --------------------------------------------------------------------------------

def _random_run(seed: int, lanes: int = 6, states_per_lane: int = 60):
    """Records and texts of a run, in the order a receiver could append them: each process's own in
    time order, processes interleaved at random, facts (META, EXIT) at any time."""
    rng = np.random.default_rng(seed)
    per_lane = []
    for i in range(lanes):
        t = np.cumsum(rng.integers(1, 5_000_000, states_per_lane)) + ns(0.01 * i)
        codes = rng.integers(ev.WORKING, ev.IDLE + 1, states_per_lane)
        end = rng.choice(["done", "crashed", "stopped", "running"])
        if end in ("done", "crashed"):
            codes[-1] = ev.DONE if end == "done" else ev.CRASHED
        recs = [(int(t[k]), i, ev.STATE, int(codes[k]), int(rng.integers(0, 4))) for k in range(states_per_lane)]
        # value writes (ints and floats) and samples, in the process's time order
        for k in range(0, states_per_lane, 3):
            slot = int(rng.integers(0, 3))
            if k % 2:
                recs.append((int(t[k]) + 1, i, ev.VALUE_F, slot, ev.float_to_bits(float(rng.normal()))))
            else:
                recs.append((int(t[k]) + 1, i, ev.VALUE, slot, int(rng.integers(-50, 50))))
        recs.sort(key=lambda r: r[0])
        if end != "running":
            how = {"done": HOW_DONE, "crashed": HOW_CRASHED, "stopped": HOW_STOPPED}[end]
            recs.append((int(t[-1]) + 1000, i, ev.EXIT, 0, how))
        per_lane.append(recs)
    samples = [(ns(0.25 * k), i, ev.SAMPLE, int(rng.integers(0, 10_000)), int(rng.integers(1, 10**8)))
               for k in range(8) for i in range(lanes)]
    chunks = []
    cursors = [0] * lanes
    while any(c < len(r) for c, r in zip(cursors, per_lane, strict=True)):
        i = int(rng.integers(0, lanes))
        take = int(rng.integers(1, 12))
        part = per_lane[i][cursors[i] : cursors[i] + take]
        cursors[i] += take
        if part:
            chunks.append(part)
    for k, sample in enumerate(samples):  # the sampler's records land between the workers' batches
        chunks.insert(int(rng.integers(0, len(chunks) + 1)), [sample]) if k % 2 else chunks.append([sample])
    texts = [meta(0.0, i, name=f"P{i}", requested_ns=ns(0.01 * i - 0.005)) for i in range(lanes)]
    return chunks, texts


@pytest.mark.parametrize("seed", range(6))
def test_lanes_folded_chunk_by_chunk_equal_the_whole_trace_folded_at_once(seed):
    chunks, texts = _random_run(seed)
    trace = new_trace(status="running")
    store = LaneStore()
    rng = np.random.default_rng(seed + 100)
    pending_texts = list(texts)
    for k, chunk in enumerate(chunks):
        some = pending_texts[: int(rng.integers(0, 2))] if k else []  # facts arrive late, some after states
        del pending_texts[: len(some)]
        trace.append(rows(*chunk), some)
        if rng.random() < 0.5:  # a frame does not come after every append
            store.update(trace)
            assert_folded_as_at_once(store, trace)
    trace.append(None, pending_texts)
    trace.meta.update(status="done", end_ns=int(trace.records[:, 0].max()))
    store.update(trace)
    assert_folded_as_at_once(store, trace)
    fresh = LaneStore()  # and the same at once
    fresh.update(trace)
    assert_same(folded_intervals(fresh, fresh.end_ns()), folded_intervals(store, store.end_ns()))


@pytest.mark.parametrize("seed", range(4))
def test_series_folded_chunk_by_chunk_equal_the_whole_trace_folded_at_once(seed):
    chunks, texts = _random_run(seed)
    trace = new_trace(status="running")
    trace.append(None, texts)
    writes, samples = ValueWrites(), Samples()
    for chunk in chunks:
        trace.append(rows(*chunk))
        if len(chunk) % 2:
            writes.update(trace)
            samples.update(trace)
    writes.update(trace)
    samples.update(trace)
    recs = trace.records
    assert writes.kept == int(np.isin(recs[:, 2], [ev.VALUE, ev.VALUE_F]).sum())
    for slot in range(3):
        t, v, who = trace.values(slot)
        series = writes.series[slot]
        np.testing.assert_array_equal(series.times(), t)
        np.testing.assert_array_equal(series.column(0), v)
        np.testing.assert_array_equal(series.column(1), who)
        np.testing.assert_allclose(series.seconds(), (t - T0) / 1e9)
        # the definition itself: this slot's writes by time, ties in arrival order, floats decoded
        mine = recs[np.isin(recs[:, 2], [ev.VALUE, ev.VALUE_F]) & (recs[:, 3] == slot)]
        mine = mine[np.argsort(mine[:, 0], kind="stable")]
        assert t.tolist() == mine[:, 0].tolist() and who.tolist() == mine[:, 1].tolist()
        assert v.tolist() == [ev.bits_to_float(b) if k == ev.VALUE_F else float(b) for k, b in mine[:, [2, 4]].tolist()]
    for index, series in samples.series.items():
        mine = recs[(recs[:, 2] == ev.SAMPLE) & (recs[:, 1] == index)]
        mine = mine[np.argsort(mine[:, 0], kind="stable")]
        np.testing.assert_array_equal(series.times(), mine[:, 0])
        np.testing.assert_allclose(series.column(0), mine[:, 3] / 100)
        np.testing.assert_allclose(series.column(1), mine[:, 4] / 1e6)


def test_a_lane_whose_records_arrive_out_of_order_is_refolded():
    trace = new_trace(end_ns=ns(5.0))
    trace.append(rows(state(0.1, 0, ev.WORKING), state(2.0, 0, ev.SLEEPING)), [meta(0.0, 0, requested_ns=ns(0.0))])
    store = LaneStore()
    store.update(trace)
    generation = store.generation
    trace.append(rows(state(1.0, 0, ev.WAITING, 1)))  # earlier than what was folded
    store.update(trace)
    assert store.generation > generation  # what was drawn of the lane is no longer sure
    assert_folded_as_at_once(store, trace)
    assert [r[2] for r in trace.intervals(0).tolist()] == [ev.STARTING, ev.WORKING, ev.WAITING, ev.SLEEPING]


def test_value_series_ties_keep_arrival_order_and_a_slot_without_writes_is_empty():
    recs = rows((ns(1.0), 1, ev.VALUE, 0, 5), (ns(0.5), 0, ev.VALUE, 0, 4), (ns(1.0), 0, ev.VALUE_F, 0,
                ev.float_to_bits(2.5)), (ns(0.7), 2, ev.VALUE, 1, 9))
    t, v, who = value_series(recs, 0)
    assert t.tolist() == [ns(0.5), ns(1.0), ns(1.0)]
    assert v.tolist() == [4.0, 5.0, 2.5] and who.tolist() == [0, 1, 0] and who.dtype == np.int64
    t, v, who = value_series(recs, 7)
    assert (len(t), len(v), len(who)) == (0, 0, 0)
    assert (t.dtype, v.dtype, who.dtype) == (np.int64, np.float64, np.int64)


def test_grow_keeps_its_rows_across_growth():
    grow = Grow(np.int64, 2)
    expected = []
    for k in range(100):
        grow.append((k, -k))
        expected.append([k, -k])
    grow.extend(np.array([[1, 2], [3, 4]]))
    grow.extend_columns(np.array([[5, 7], [6, 8]]))
    expected += [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert grow.view().T.tolist() == expected
    grow.clear()
    assert grow.view().shape == (2, 0)
