"""Trace files: save/load round trip, refusal of corrupt or foreign files, atomic save, CSV export."""

from __future__ import annotations

import csv
import io
import json
import random
import zipfile

import numpy as np
import pytest

from app.core import events as ev
from app.core.runner import Runner
from app.core.summary import build_summary
from app.core.trace import FORMAT_NAME, FORMAT_VERSION, Trace, TraceFormatError

MEMBERS = ("format.json", "meta.json", "texts.json", "records.npy")
T0 = 1_000_000_000


def _ns(ms: float) -> int:
    return T0 + int(ms * 1_000_000)


def hand_made_trace() -> Trace:
    """Two ``basics`` workers, built event by event, using every kind of event."""
    trace = Trace({
        "lesson": "basics",
        "params": {"workers": 2, "tempo": 1.0},
        "start_method": "spawn",
        "parent_pid": 4000,
        "value_slots": [{"name": "counter", "expected": 8}],
        "t0_ns": T0,
    })
    texts = []
    for index, pid in ((0, 4001), (1, 4002)):
        name = f"Process-{index + 1}"
        texts += [
            (_ns(1 + index), index, ev.META, {"name": name, "role": "worker", "requested_ns": _ns(1 + index)}),
            (_ns(2 + index), index, ev.META, {"pid": pid}),
            (_ns(10 + index), index, ev.HELLO, {"name": name, "pid": pid, "ppid": 4000, "role": "worker",
                                                "main_module": "__mp_main__", "main_file": None}),
            (_ns(11 + index), index, ev.PRINT, f"这里是 {name}"),
        ]
    texts += [
        (_ns(40), 1, ev.RESULT, {"got": [1, 2], "ok": True, "ratio": 0.5, "none": None}),
        (_ns(41), ev.PARENT_INDEX, ev.PRINT, "parent line"),
        (_ns(42), ev.PARENT_INDEX, ev.ERROR, "Traceback (most recent call last):\n  ValueError: boom\n"),
    ]
    first = np.array([
        (_ns(10), 0, ev.STATE, ev.WORKING, 0),
        (_ns(11), 1, ev.STATE, ev.WORKING, 0),
        (_ns(12), 0, ev.LOCK, ev.LOCK_REQUEST, 1),
        (_ns(12), 0, ev.STATE, ev.WAITING, 1),
        (_ns(14), 0, ev.LOCK, ev.LOCK_ACQUIRED, 1),
        (_ns(14), 0, ev.STATE, ev.HOLDING, 1),
        (_ns(15), 0, ev.VALUE, 0, 9),
        (_ns(16), 1, ev.VALUE_F, 1, ev.float_to_bits(2.5)),
    ], dtype=np.int64)
    second = np.array([
        (_ns(17), 1, ev.TASK, 3, ev.TASK_START),
        (_ns(18), 1, ev.TASK, 3, ev.TASK_END),
        (_ns(19), 0, ev.LOCK, ev.LOCK_RELEASED, 1),
        (_ns(19), 0, ev.STATE, ev.SLEEPING, 0),
        (_ns(20), 0, ev.SAMPLE, 1234, 50_000_000),
        (_ns(30), 0, ev.STATE, ev.DONE, 0),
        (_ns(31), 1, ev.STATE, ev.DONE, 0),
        (_ns(32), 0, ev.EXIT, 0, 0),
        (_ns(33), 1, ev.EXIT, 0, 0),
    ], dtype=np.int64)
    trace.append(first, texts[:5])
    trace.append(second, texts[5:])
    trace.meta["status"] = "done"
    trace.meta["end_ns"] = _ns(50)
    return trace


@pytest.fixture(scope="module")
def real_trace() -> Trace:
    trace = Runner("counter", {"workers": "2", "hold_s": "0.01"}).run(timeout=60)
    assert trace.meta["status"] == "done", build_summary(trace)
    return trace


def _assert_same_trace(loaded: Trace, original: Trace) -> None:
    assert loaded.records.dtype == np.int64
    assert loaded.records.shape == original.records.shape
    assert np.array_equal(loaded.records, original.records)
    assert loaded.texts == original.texts
    assert loaded.meta == original.meta
    assert build_summary(loaded) == build_summary(original)
    assert loaded.processes() == original.processes()


def test_hand_made_trace_round_trip(tmp_path):
    trace = hand_made_trace()
    path = tmp_path / "hand.trace"
    trace.save(str(path))
    loaded = Trace.load(str(path))
    _assert_same_trace(loaded, trace)
    assert len(loaded) == 17 + 11
    summary = build_summary(loaded)
    assert summary["status"] == "done"
    assert [p["name"] for p in summary["processes"]] == ["Process-1", "Process-2"]
    assert summary["result"]["all_ppid_is_parent"] is True
    times, values, writers = loaded.values(1)
    assert values.tolist() == [2.5] and writers.tolist() == [1]
    assert sorted(tmp_path.iterdir()) == [path], "save left a temporary file behind"


def test_real_run_round_trip(tmp_path, real_trace):
    path = tmp_path / "counter.trace"
    real_trace.save(str(path))
    loaded = Trace.load(str(path))
    _assert_same_trace(loaded, real_trace)
    assert build_summary(loaded)["lesson"] == "counter"
    assert len([p for p in loaded.processes().values() if p.role == "worker"]) == 2


def test_empty_trace_round_trip(tmp_path):
    trace = Trace({"lesson": "basics"})
    path = tmp_path / "empty.trace"
    trace.save(str(path))
    loaded = Trace.load(str(path))
    assert loaded.records.shape == (0, ev.RECORD_FIELDS)
    assert loaded.texts == [] and loaded.meta == {"lesson": "basics"}


# --- files that are not readable traces ------------------------------------------------------------

def _members(trace: Trace | None = None) -> dict[str, bytes]:
    trace = trace or hand_made_trace()
    return {
        "format.json": json.dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION}).encode(),
        "meta.json": json.dumps(trace.meta).encode(),
        "texts.json": json.dumps(list(trace.texts)).encode(),
        "records.npy": _npy(trace.records),
    }


def _write_zip(path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def _with(**replace: bytes):
    def build(path, _tmp):
        members = _members()
        members.update({name.replace("_", "."): data for name, data in replace.items()})
        _write_zip(path, members)
    return build


def _random_bytes(path, _tmp):
    path.write_bytes(random.Random(20240501).randbytes(4096))


def _empty_file(path, _tmp):
    path.write_bytes(b"")


def _foreign_zip(path, _tmp):
    _write_zip(path, {"hello.txt": b"not a trace", "data/readme.md": b"# other"})


def _missing_records(path, _tmp):
    members = _members()
    del members["records.npy"]
    _write_zip(path, members)


def _truncated(path, tmp):
    good = tmp / "good.trace"
    hand_made_trace().save(str(good))
    data = good.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _format(header) -> bytes:
    return json.dumps(header).encode()


CORRUPT = [
    pytest.param(_random_bytes, id="random-bytes"),
    pytest.param(_empty_file, id="empty-file"),
    pytest.param(_truncated, id="truncated"),
    pytest.param(_foreign_zip, id="foreign-zip"),
    pytest.param(_missing_records, id="zip-missing-records"),
    pytest.param(_with(format_json=_format({"format": "chrome-trace", "version": 1})), id="other-format"),
    pytest.param(_with(format_json=_format({"format": FORMAT_NAME, "version": FORMAT_VERSION + 1})),
                 id="newer-version"),
    pytest.param(_with(format_json=_format({"format": FORMAT_NAME, "version": "1"})), id="version-not-int"),
    pytest.param(_with(format_json=_format([FORMAT_NAME, 1])), id="format-not-an-object"),
    pytest.param(_with(format_json=b"{not json"), id="format-not-json"),
    pytest.param(_with(meta_json=b"[1, 2]"), id="meta-not-an-object"),
    pytest.param(_with(meta_json=b"\xff\xfe\x00garbage"), id="meta-not-utf8"),
    pytest.param(_with(texts_json=b'[[1, 2, "x", "y"]]'), id="texts-malformed"),
    pytest.param(_with(records_npy=_npy(np.zeros((3, 4), dtype=np.int64))), id="records-wrong-width"),
    pytest.param(_with(records_npy=_npy(np.zeros(15, dtype=np.int64))), id="records-one-dimensional"),
    pytest.param(_with(records_npy=_npy(np.zeros((3, 5), dtype=np.float64))), id="records-float64"),
    pytest.param(_with(records_npy=_npy(np.zeros((3, 5), dtype=np.int32))), id="records-int32"),
    pytest.param(_with(records_npy=b"\x93NUMPY garbage"), id="records-not-npy"),
]


@pytest.mark.parametrize("build", CORRUPT)
def test_unreadable_file_raises_trace_format_error_naming_the_path(tmp_path, build):
    path = tmp_path / "bad.trace"
    build(path, tmp_path)
    with pytest.raises(TraceFormatError) as info:
        Trace.load(str(path))
    assert str(path) in str(info.value)


def test_missing_file_raises_trace_format_error_naming_the_path(tmp_path):
    path = tmp_path / "never-saved.trace"
    with pytest.raises(TraceFormatError) as info:
        Trace.load(str(path))
    assert str(path) in str(info.value)


def test_directory_raises_trace_format_error_naming_the_path(tmp_path):
    with pytest.raises(TraceFormatError) as info:
        Trace.load(str(tmp_path))
    assert str(tmp_path) in str(info.value)


class _Tripwire:
    """Unpickling this creates a file: proof that the loader ran pickle."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_object_array_is_refused_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled.marker"
    array = np.empty((2, ev.RECORD_FIELDS), dtype=object)
    array.fill(_Tripwire(str(marker)))
    pickled = _npy(array, allow_pickle=True)
    # Sanity check of the tripwire itself, in memory: a pickling loader would create the marker.
    np.load(io.BytesIO(pickled), allow_pickle=True)[0, 0].close()
    assert marker.exists()
    marker.unlink()

    path = tmp_path / "pickled.trace"
    members = _members()
    members["records.npy"] = pickled
    _write_zip(path, members)
    with pytest.raises(TraceFormatError) as info:
        Trace.load(str(path))
    assert str(path) in str(info.value)
    assert not marker.exists(), "loading a trace unpickled its content"


# --- atomic save ------------------------------------------------------------------------------------

def _fail_on_third_writestr(monkeypatch):
    """The third member written fails (by ``writestr`` or streamed through ``open(name, "w")``)."""
    original_writestr, original_open = zipfile.ZipFile.writestr, zipfile.ZipFile.open
    calls = []

    def count(name):
        calls.append(name)
        if len(calls) == 3:
            raise OSError(28, "No space left on device (simulated)")

    def writestr(self, *args, **kwargs):
        count(args[0] if args else kwargs.get("zinfo_or_arcname"))
        return original_writestr(self, *args, **kwargs)

    def open_member(self, name, mode="r", *args, **kwargs):
        if mode == "w":
            count(name)
        return original_open(self, name, mode, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", writestr)
    monkeypatch.setattr(zipfile.ZipFile, "open", open_member)
    return calls


def test_failed_save_over_existing_file_leaves_it_unchanged(tmp_path, monkeypatch):
    path = tmp_path / "run.trace"
    old = hand_made_trace()
    old.save(str(path))
    before = path.read_bytes()

    new = hand_made_trace()
    new.meta["lesson"] = "counter"
    new.append(np.array([(_ns(45), 0, ev.VALUE, 0, 7)], dtype=np.int64))
    calls = _fail_on_third_writestr(monkeypatch)
    with pytest.raises(OSError, match="simulated"):
        new.save(str(path))
    assert len(calls) == 3

    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.trace"], "a temporary file was left behind"
    monkeypatch.undo()
    _assert_same_trace(Trace.load(str(path)), old)


def test_failed_first_save_leaves_no_file(tmp_path, monkeypatch):
    _fail_on_third_writestr(monkeypatch)
    with pytest.raises(OSError, match="simulated"):
        hand_made_trace().save(str(tmp_path / "run.trace"))
    assert list(tmp_path.iterdir()) == []


def test_save_over_existing_file_replaces_it(tmp_path):
    path = tmp_path / "run.trace"
    Trace({"lesson": "basics"}).save(str(path))
    trace = hand_made_trace()
    trace.save(str(path))
    _assert_same_trace(Trace.load(str(path)), trace)
    assert sorted(tmp_path.iterdir()) == [path]


# --- CSV --------------------------------------------------------------------------------------------

CSV_HEADER = ["t_s", "process", "name", "kind", "what", "value", "detail", "text"]


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_to_csv_has_a_header_and_one_row_per_event_with_state_names(tmp_path):
    trace = hand_made_trace()
    path = tmp_path / "events.csv"
    trace.to_csv(str(path))
    rows = _read_csv(path)
    assert rows[0] == CSV_HEADER
    body = [dict(zip(CSV_HEADER, row, strict=True)) for row in rows[1:]]
    assert len(body) == len(trace.records) + len(trace.texts)

    times = [float(r["t_s"]) for r in body]
    assert times == sorted(times), "rows are not in time order"
    assert times[0] == pytest.approx(0.001)

    states = [r for r in body if r["kind"] == "state"]
    assert len(states) == int((trace.records[:, 2] == ev.STATE).sum())
    assert {r["what"] for r in states} == {"working", "waiting", "holding", "sleeping", "done"}
    assert all(r["what"] in ev.STATE_NAMES for r in states)
    assert {r["name"] for r in states} == {"Process-1", "Process-2"}

    floats = [r for r in body if r["kind"] == "value" and r["process"] == "1"]
    assert [float(r["value"]) for r in floats] == [2.5]
    exits = [r for r in body if r["kind"] == "exit"]
    assert [r["what"] for r in exits] == ["done", "done"]
    prints = [r["text"] for r in body if r["kind"] == "print"]
    assert "这里是 Process-1" in prints and "parent line" in prints
    parent = [r for r in body if r["process"] == str(ev.PARENT_INDEX)]
    assert parent and {r["name"] for r in parent} == {"parent"}
    assert sorted(tmp_path.iterdir()) == [path]


def test_to_csv_of_a_real_run(tmp_path, real_trace):
    path = tmp_path / "counter.csv"
    real_trace.to_csv(str(path))
    rows = _read_csv(path)
    assert rows[0] == CSV_HEADER
    assert len(rows) - 1 == len(real_trace.records) + len(real_trace.texts)
    whats = {row[4] for row in rows[1:] if row[3] == "state"}
    assert whats and whats <= set(ev.STATE_NAMES)
    assert "done" in whats
