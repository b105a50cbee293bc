"""A trace file is untrusted input: every mutated or hostile file loads or raises TraceFormatError.

Nothing else may escape the loader (no KeyError, RecursionError, MemoryError, OverflowError), no
file may hang it, and a small zip declaring gigabytes is refused before anything is decompressed.
"""

from __future__ import annotations

import json
import resource
import zipfile

import numpy as np
import pytest

from app.core import events as ev
from app.core import trace_schema
from app.core.runner import Runner
from app.core.trace import Trace, TraceFormatError
from tests.core.hostile_traces import declare_size, dumps, members_of, mutations, npy, zip_bytes


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> bytes:
    """The bytes of a small real trace: two basics workers."""
    trace = Runner("basics", {"workers": "2"}).run(timeout=60)
    assert trace.meta["status"] == "done"
    path = tmp_path_factory.mktemp("good") / "basics.pstrace"
    trace.save(str(path))
    return path.read_bytes()


@pytest.fixture
def parts(good) -> dict[str, bytes]:
    return members_of(good)


def _load(tmp_path, data: bytes, name: str = "hostile.pstrace", **kwargs) -> Trace:
    path = tmp_path / name
    path.write_bytes(data)
    return Trace.load(str(path), **kwargs)


def _refused(tmp_path, data: bytes, **kwargs) -> TraceFormatError:
    with pytest.raises(TraceFormatError) as info:
        _load(tmp_path, data, **kwargs)
    error = info.value
    message = str(error)
    assert "hostile.pstrace" in message and message.count("\n") == 0 and message.endswith(".")
    assert "hostile.pstrace" in error.message("zh") and error.message("zh") != message
    return error


def _with(parts: dict, **changes) -> bytes:
    changed = dict(parts)
    for key, value in changes.items():
        changed[key.replace("_json", ".json").replace("_npy", ".npy")] = value
    return zip_bytes(changed)


def _meta(parts: dict, **changes) -> bytes:
    meta = json.loads(parts["meta.json"])
    meta.update(changes)
    return _with(parts, meta_json=dumps(meta))


def _texts(parts: dict, *events) -> bytes:
    return _with(parts, texts_json=dumps([*json.loads(parts["texts.json"]), *events]))


# --- the fuzz run -----------------------------------------------------------------------------------
@pytest.mark.timeout(240)
def test_two_hundred_mutated_traces_load_or_raise_trace_format_error(tmp_path, good):
    cases = mutations(good)
    assert len(cases) >= 200
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    outcomes = {"loaded": 0, "refused": 0}
    for name, data in cases:
        try:
            trace = _load(tmp_path, data)
        except TraceFormatError as exc:
            assert "hostile.pstrace" in str(exc), name
            outcomes["refused"] += 1
            continue
        except Exception as exc:  # noqa: BLE001 - the point: report which mutation escaped, and how
            pytest.fail(f"{name}: {type(exc).__name__}: {exc}")
        outcomes["loaded"] += 1
        for index, info in trace.processes().items():  # what every view asks of a loaded trace
            trace.time_in_state(index, info)
        trace.end_ns()
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mb < 200, f"loading mutated traces raised the peak RSS by {grown_mb:.0f} MB"
    assert outcomes["refused"] >= 150, outcomes


# --- named cases from the fault sweep ------------------------------------------------------------------
def test_value_slots_an_int_is_refused(tmp_path, parts):
    error = _refused(tmp_path, _meta(parts, value_slots=3))
    assert error.field == "meta.json: value_slots"


def test_value_slots_holding_a_non_number_is_refused(tmp_path, parts):
    error = _refused(tmp_path, _meta(parts, value_slots=[{"name": "counter", "expected": "lots"}]))
    assert error.field == "meta.json: value_slots[0].expected" and "'lots'" in str(error)


@pytest.mark.parametrize("event", ["just a string", [1, 2, 3], [1, 0, ev.HELLO, "not an object"],
                                   [1, 0, ev.HELLO, ["a", "list"]], [1, 0, ev.PRINT, {"x": 1}]])
def test_a_malformed_text_event_is_refused(tmp_path, parts, event):
    error = _refused(tmp_path, _texts(parts, event))
    assert error.field.startswith("texts.json: event")


def test_a_text_event_with_a_string_pid_is_refused(tmp_path, parts):
    error = _refused(tmp_path, _texts(parts, [1, 0, ev.META, {"requested_ns": "soon"}]))
    assert error.field.endswith("requested_ns")


@pytest.mark.parametrize("member", ["meta.json", "texts.json", "format.json"])
def test_deep_json_is_refused_without_recursing(tmp_path, parts, member):
    levels = 2000 if member == "format.json" else 100_000  # the format member may hold 4 kB
    deep = b"[" * levels + b"]" * levels
    error = _refused(tmp_path, _with(parts, **{member.replace(".", "_"): deep}))
    assert error.field == member and "nested" in str(error)


def test_brackets_inside_strings_are_not_nesting(tmp_path, parts):
    trace = _load(tmp_path, _texts(parts, [1, -1, ev.PRINT, "[" * 1000 + '\\"{' * 500]))
    assert trace.texts[-1][3].startswith("[[[")


def test_version_true_is_refused(tmp_path, parts):
    error = _refused(tmp_path, _with(parts, format_json=dumps({"format": "procscope-trace", "version": True})))
    assert error.field == "format.json: version" and "True" in str(error)


def test_nan_for_an_int_is_refused(tmp_path, parts):
    error = _refused(tmp_path, _meta(parts, t0_ns=float("nan")))
    assert error.field == "meta.json: t0_ns" and "nan" in str(error)


def test_abc_for_an_int_is_refused(tmp_path, parts):
    error = _refused(tmp_path, _meta(parts, parent_pid="abc"))
    assert error.field == "meta.json: parent_pid" and "'abc'" in str(error)


def test_abc_for_a_parameter_is_refused(tmp_path, parts):
    meta = json.loads(parts["meta.json"])
    error = _refused(tmp_path, _meta(parts, params={**meta["params"], "workers": "abc"}))
    assert error.field == "meta.json: params" and "workers" in str(error)


def test_an_unknown_lesson_is_refused(tmp_path, parts):
    error = _refused(tmp_path, _meta(parts, lesson=["basics"]))
    assert error.field == "meta.json: lesson"


@pytest.mark.parametrize("column, value", [(2, 99), (1, 10**9), (0, -5)])
def test_records_out_of_range_are_refused(tmp_path, parts, column, value):
    records = np.load(__import__("io").BytesIO(parts["records.npy"]))
    bad = records.copy()
    bad[0, column] = value
    error = _refused(tmp_path, _with(parts, records_npy=npy(bad)))
    assert error.field.startswith("records.npy: row 0")


def _spy_opened(monkeypatch) -> list[str]:
    opened: list[str] = []
    original = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return opened


@pytest.mark.timeout(60)
def test_a_records_zip_bomb_is_refused_without_decompressing(tmp_path, parts, monkeypatch):
    rows = 200_000  # 8 MB of zeros that deflate to a few kilobytes; the limit here is 100,000 records
    data = _with(parts, records_npy=npy(np.zeros((rows, ev.RECORD_FIELDS), dtype=np.int64)))
    assert len(data) < 100_000
    opened = _spy_opened(monkeypatch)
    error = _refused(tmp_path, data, max_records=100_000)
    assert error.field == "records.npy size" and "records.npy" not in opened


@pytest.mark.timeout(60)
def test_a_texts_zip_bomb_is_refused_without_decompressing(tmp_path, parts, monkeypatch):
    bomb = b"[" + b" " * (trace_schema.texts_limit(100_000) + 1) + b"]"
    data = _with(parts, texts_json=bomb)
    assert len(data) < 200_000
    opened = _spy_opened(monkeypatch)
    error = _refused(tmp_path, data, max_records=100_000)
    assert error.field == "texts.json size" and "texts.json" not in opened


def test_declared_four_gigabytes_of_records_is_refused(tmp_path, good, monkeypatch):
    opened = _spy_opened(monkeypatch)
    error = _refused(tmp_path, declare_size(good, "records.npy", 2**32 - 16))
    assert error.field == "records.npy size" and "4,294,967,280" in str(error)
    assert "records.npy" not in opened


def test_a_record_count_over_the_limit_is_refused_before_reading(tmp_path, good):
    count = len(np.load(__import__("io").BytesIO(members_of(good)["records.npy"])))
    error = _refused(tmp_path, good, max_records=count - 1)
    assert "records.npy" in error.field
    assert len(_load(tmp_path, good, max_records=count).records) == count


def test_a_lying_declared_size_is_refused(tmp_path, good):
    """A member that expands past what it declares stops at the declared size and fails its check."""
    for member in ("meta.json", "texts.json", "records.npy"):
        _refused(tmp_path, declare_size(good, member, 10))


def test_the_message_names_file_field_and_expectation_in_both_languages(tmp_path, parts):
    error = _refused(tmp_path, _with(parts, format_json=dumps({"format": "procscope-trace", "version": "1"})))
    path = tmp_path / "hostile.pstrace"
    assert str(error) == f"{path}: format.json: version must be the integer 1, not '1'."
    assert error.message("zh") == f"{path}：format.json: version 应为整数 1，而不是 '1'。"


def test_a_five_thousand_digit_value_is_cut_in_the_message(tmp_path, parts):
    error = _refused(tmp_path, _meta(parts, parent_pid=int("9" * 4000)))
    assert len(str(error)) < 300


def test_the_real_trace_still_loads(tmp_path, good):
    trace = _load(tmp_path, good)
    assert trace.meta["lesson"] == "basics" and len(trace.records)
