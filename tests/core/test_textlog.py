"""The text events' columnar store: it reads as the list of tuples it replaced, and round-trips files."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from app.core import events as ev
from app.core.pairs import IntPairs, plain
from app.core.textlog import TextLog
from app.core.trace import Trace, TraceFormatError

T0 = 1_000_000_000

EVENTS = [
    (T0 + 1, 0, ev.HELLO, {"name": "Process-1", "pid": 101, "role": "worker"}),
    (T0 + 2, 0, ev.PRINT, "say hi 9"),
    (T0 + 3, 1, ev.PRINT, "two\nlines"),
    (T0 + 4, -1, ev.RESULT, {"parent_sees": 9, "nested": {"a": [1, 2.5, None, True]}}),
    (T0 + 5, 1, ev.PRINT, "héllo, 世界"),
    (T0 + 6, 0, ev.ERROR, "Traceback …\nValueError: x\n"),
    (T0 + 7, 0, ev.PRINT, ""),
    (T0 + 8, 1, ev.PRINT, "nul \0 inside"),
    (T0 + 9, -1, ev.STEP, {"index": 0, "step": 1}),
]


def test_reads_as_the_list_it_replaces():
    log = TextLog(EVENTS)
    assert len(log) == len(EVENTS) and bool(log) and not TextLog()
    assert list(log) == EVENTS and log == EVENTS and list(log) == EVENTS
    for k in range(-len(EVENTS), len(EVENTS)):
        assert log[k] == EVENTS[k]
    with pytest.raises(IndexError):
        log[len(EVENTS)]
    for a, b in [(0, 3), (2, 9), (5, 100), (-3, None), (4, 2), (None, None)]:
        assert list(log[a:b]) == EVENTS[a:b] and len(log[a:b]) == len(EVENTS[a:b])
    assert log[::2] == EVENTS[::2]
    assert sorted(log, key=lambda t: -t[0]) == sorted(EVENTS, key=lambda t: -t[0])


def test_a_slice_is_a_frozen_view_of_the_events_so_far():
    log = TextLog(EVENTS[:3])
    part = log[1:]
    log.extend(EVENTS[3:] * 200)  # the columns grow (new arrays): the slice keeps its own
    assert list(part) == EVENTS[1:3]
    assert len(log) == 3 + 200 * (len(EVENTS) - 3)
    with pytest.raises(TypeError):
        part.extend(EVENTS)
    log.append((T0, 3, ev.PRINT, "last"))
    assert log[-1] == (T0, 3, ev.PRINT, "last")


def test_columns_and_selection_by_kind_and_process():
    log = TextLog(EVENTS)
    assert log.times().tolist() == [t[0] for t in EVENTS]
    assert log.indexes().tolist() == [t[1] for t in EVENTS]
    assert log.kinds().tolist() == [t[2] for t in EVENTS]
    with pytest.raises(ValueError):
        log.times()[0] = 0  # read-only
    assert log.select(ev.PRINT) == [t for t in EVENTS if t[2] == ev.PRINT]
    assert log.select(ev.PRINT, 1) == [t for t in EVENTS if t[2] == ev.PRINT and t[1] == 1]
    assert log.select((ev.RESULT, ev.STEP), ev.PARENT_INDEX) == [EVENTS[3], EVENTS[8]]
    assert log.where(ev.PRINT, 0).tolist() == [1, 6]
    assert log.take([8, 0]) == [EVENTS[8], EVENTS[0]]
    assert log.payloads(np.array([3])) == [EVENTS[3][3]]
    assert log.byte_counts(log.where(ev.PRINT), b"\n").tolist() == [0, 1, 0, 0, 0]


def test_payloads_come_back_as_json_data_and_unencodable_ones_as_they_are():
    marker = object()
    log = TextLog([(1, 0, ev.RESULT, (1, 2)), (2, 0, ev.RESULT, {1: "a"}), (3, 0, ev.RESULT, marker),
                   (4, 0, ev.PRINT, "\udcff lone surrogate")])
    assert [t[3] for t in log] == [[1, 2], {"1": "a"}, marker, "\udcff lone surrogate"]
    assert log[1:][1][3] is marker


def test_its_json_is_the_list_json_would_write():
    log = TextLog(EVENTS * 3)
    text = "[" + ", ".join(log.json_chunks(4)) + "]"
    assert json.loads(text) == [list(t) for t in EVENTS * 3]


def test_trace_texts_accepts_a_list_and_keeps_appending():
    trace = Trace({"lesson": "counter"})
    trace.texts = list(EVENTS[:2])
    assert isinstance(trace.texts, TextLog)
    trace.append(None, EVENTS[2:])
    assert trace.texts == EVENTS
    assert trace.texts_of(ev.PRINT, 1) == [EVENTS[2], EVENTS[4], EVENTS[7]]
    assert trace.results(-1) == [EVENTS[3][3]]
    assert trace.end_ns() == T0 + 9


def _many(count: int) -> list[tuple]:
    out = []
    for k in range(count):
        if k % 5000 == 17:
            out.append((T0 + k, k % 64, ev.RESULT, {"worker": k % 64, "views": [[v, v - 1] for v in range(3000)]}))
        else:
            out.append((T0 + k, k % 64, ev.PRINT, f"say hi {k}" + ("\n" if k % 7 == 0 else "")))
    return out


def test_a_big_trace_round_trips_through_a_file_read_in_pieces(tmp_path):
    events = _many(120_000)  # ~3 MB of texts.json: several pieces, and items larger than one
    trace = Trace({"lesson": "counter", "t0_ns": T0})
    trace.append(np.array([[T0, 0, ev.STATE, ev.WORKING, 0]], dtype=np.int64), events)
    path = str(tmp_path / "big.pstrace")
    trace.save(path)
    loaded = Trace.load(path)
    assert isinstance(loaded.texts, TextLog)
    assert loaded.texts == events
    with zipfile.ZipFile(path) as zf:
        assert json.loads(zf.read("texts.json")) == [list(t) for t in events]


def test_a_fault_far_into_a_big_file_is_named_with_its_event_number(tmp_path):
    events = [list(t) for t in _many(120_000)]
    events[100_000][0] = True  # a bool is never a time
    path = tmp_path / "bad.pstrace"
    trace = Trace({"lesson": "counter", "t0_ns": T0})
    trace.save(str(path))
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    parts["texts.json"] = json.dumps(events).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    with pytest.raises(TraceFormatError, match="texts.json: event 100000 t_ns"):
        Trace.load(str(path))


def test_int_pairs_read_as_the_list_and_write_as_json():
    views = [[10, 9], [9, 8], [8, 7]]
    pairs = IntPairs.of(views)
    assert isinstance(pairs, IntPairs)
    assert pairs == views and views == pairs and len(pairs) == 3
    assert list(pairs) == views and pairs[0] == [10, 9] and pairs[:2] == views[:2]
    assert [f"{a}→{b}" for a, b in pairs] == ["10→9", "9→8", "8→7"]
    assert json.loads(json.dumps({"views": pairs}, default=plain)) == {"views": views}
    for odd in ([[1, 2.5]], [[True, 1]], [[1, 2, 3]], "x", [[2**70, 1]]):
        assert IntPairs.of(odd) is odd  # not integer pairs: kept as they are
