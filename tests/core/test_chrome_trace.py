"""Chrome Trace Event Format export (Perfetto UI, chrome://tracing): structure, tracks, states, counters."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from app.core import atomic, chrome_trace
from app.core import events as ev
from app.core.chrome_trace import to_chrome_trace, track_name, write_chrome_trace
from app.core.runner import Runner
from app.core.trace import ProcessInfo, Trace

ALLOWED_PHASES = {"X", "C", "i", "M"}
METADATA_NAMES = {"process_name", "thread_name", "process_sort_index", "thread_sort_index"}
T0 = 5_000_000_000


def _ns(ms: float) -> int:
    return T0 + int(ms * 1_000_000)


# --- helpers ---------------------------------------------------------------------------------------

def validate(data: dict) -> list[dict]:
    """Check the Chrome Trace Event Format structure; return the events."""
    assert isinstance(data, dict)
    assert isinstance(data["traceEvents"], list)
    assert data["displayTimeUnit"] == "ms"
    assert isinstance(data["metadata"], dict)
    named_pids = set()
    pid_of_tid: dict[int, int] = {}
    for event in data["traceEvents"]:
        ph = event["ph"]
        assert ph in ALLOWED_PHASES, event
        assert isinstance(event["pid"], int) and isinstance(event["tid"], int), event
        assert pid_of_tid.setdefault(event["tid"], event["pid"]) == event["pid"], f"tid reused: {event}"
        if ph == "M":
            assert event["name"] in METADATA_NAMES, event
            assert isinstance(event["args"], dict), event
            if event["name"] == "process_name":
                named_pids.add(event["pid"])
            continue
        assert isinstance(event["name"], str) and event["name"], event
        assert _is_number(event["ts"]), event
        if ph == "X":
            assert _is_number(event["dur"]) and event["dur"] >= 0, event
        elif ph == "C":
            assert isinstance(event["args"], dict) and event["args"], event
            assert all(_is_number(v) for v in event["args"].values()), event
        elif ph == "i":
            assert event["s"] in ("t", "p", "g"), event
    for event in data["traceEvents"]:
        assert event["pid"] in named_pids, f"event on an unnamed track: {event}"
    _assert_slices_nest(data["traceEvents"])
    return data["traceEvents"]


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _assert_slices_nest(events: list[dict]) -> None:
    """Slices of one thread either follow each other or nest (Perfetto drops partial overlaps)."""
    by_thread = defaultdict(list)
    for e in events:
        if e["ph"] == "X":
            by_thread[(e["pid"], e["tid"])].append(e)
    for slices in by_thread.values():
        slices.sort(key=lambda e: (e["ts"], -e["dur"]))
        open_ends: list[float] = []
        for e in slices:
            while open_ends and open_ends[-1] <= e["ts"] + 1e-6:
                open_ends.pop()
            end = e["ts"] + e["dur"]
            assert not open_ends or end <= open_ends[-1] + 1e-6, f"slices overlap: {e}"
            open_ends.append(end)


def _of(events, ph=None, name=None, pid=None, cat=None):
    return [e for e in events if (ph is None or e["ph"] == ph) and (name is None or e["name"] == name)
            and (pid is None or e["pid"] == pid) and (cat is None or e.get("cat") == cat)]


def _process_names(events) -> dict[int, str]:
    return {e["pid"]: e["args"]["name"] for e in _of(events, "M", "process_name")}


def _export_and_read(trace: Trace, path) -> dict:
    write_chrome_trace(trace, str(path))
    return json.loads(path.read_text(encoding="utf-8"))


# --- a real counter run --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def counter_trace() -> Trace:
    trace = Runner("counter", {"workers": "3", "hold_s": "0.05", "lock": "lock"}, "spawn").run(timeout=60)
    assert trace.meta["status"] == "done"
    return trace


@pytest.fixture(scope="module")
def counter_export(counter_trace, tmp_path_factory) -> dict:
    return _export_and_read(counter_trace, tmp_path_factory.mktemp("chrome") / "counter.json")


def test_counter_export_is_a_valid_chrome_trace(counter_export, counter_trace):
    events = validate(counter_export)
    assert _of(events, "X") and _of(events, "C") and _of(events, "i")
    meta = counter_export["metadata"]
    assert meta["lesson"] == "counter" and meta["start_method"] == "spawn"
    assert meta["state_colors"] == ev.STATE_COLORS


def test_one_named_track_per_process(counter_export, counter_trace):
    events = counter_export["traceEvents"]
    procs = counter_trace.processes()
    assert len(procs) == 3
    names = Counter(e["args"]["name"] for e in _of(events, "M", "process_name"))
    assert all(count == 1 for count in names.values()), names
    by_pid = _process_names(events)
    for info in procs.values():
        assert by_pid[info.pid] == f"{info.name} (pid {info.pid})"
        assert info.name.startswith("Process-")
    parent_pid = counter_trace.meta["parent_pid"]
    assert by_pid[parent_pid] == f"parent (pid {parent_pid})"
    assert len(by_pid) == 4  # three workers and the parent
    order = {e["pid"]: e["args"]["sort_index"] for e in _of(events, "M", "process_sort_index")}
    assert sorted((order[p.pid], p.index) for p in procs.values()) == [(i, i) for i in range(3)]


def test_state_slices_cover_each_lane(counter_export, counter_trace):
    events = counter_export["traceEvents"]
    for index, info in counter_trace.processes().items():
        slices = _of(events, "X", pid=info.pid, cat="state")
        names = {e["name"] for e in slices}
        assert {"starting", "working", "holding"} <= names, names
        assert names <= set(ev.STATE_NAMES)
        for e in slices:
            assert e["args"]["color"] == ev.STATE_COLORS[e["name"]]
            if e["name"] in ("waiting", "holding"):
                assert e["args"]["lock"] == 0
        iv = counter_trace.intervals(index, info)
        span_us = (iv[-1, 1] - iv[0, 0]) / 1000
        total_us = sum(e["dur"] for e in slices)
        assert total_us == pytest.approx(span_us, rel=0.05)
        first = min(slices, key=lambda e: e["ts"])
        assert first["name"] == "starting"
        assert first["ts"] == pytest.approx((info.requested_ns - counter_trace.t0_ns) / 1000, abs=0.01)


def test_shared_value_counter(counter_export, counter_trace):
    events = counter_export["traceEvents"]
    samples = sorted(_of(events, "C", "counter"), key=lambda e: e["ts"])
    assert len(samples) == 3
    assert [e["args"]["counter"] for e in samples] == [9, 8, 7]
    assert {e["pid"] for e in samples} == {counter_trace.meta["parent_pid"]}


def test_process_start_and_exit_instants(counter_export, counter_trace):
    events = counter_export["traceEvents"]
    for info in counter_trace.processes().values():
        instants = _of(events, "i", pid=info.pid)
        by_name = Counter(e["name"] for e in instants)
        assert by_name["start requested"] == 1 and by_name["started"] == 1 and by_name["exit"] == 1, by_name
        assert "crashed" not in by_name
        exit_event = _of(instants, name="exit")[0]
        assert exit_event["args"] == {"exitcode": 0, "ended": "done"}
        assert exit_event["s"] == "t"
        prints = [e["args"]["text"] for e in _of(instants, name="print")]
        assert len(prints) == 1 and prints[0].startswith("say hi")
        assert len(_of(instants, name="result")) == 1
    parent = _of(events, "i", pid=counter_trace.meta["parent_pid"])
    assert "parent sees 7" in [e["args"].get("text") for e in _of(parent, name="print")]


def test_saved_and_loaded_trace_exports_the_same(counter_trace, tmp_path):
    path = tmp_path / "run.trace"
    counter_trace.save(str(path))
    loaded = Trace.load(str(path))
    original = json.loads(json.dumps(to_chrome_trace(counter_trace)))
    again = _export_and_read(loaded, tmp_path / "loaded.json")
    assert again["traceEvents"] == original["traceEvents"]
    assert again["metadata"] == original["metadata"]


def test_live_trace_exports_mid_run():
    """Exported from the runner's listener while the run goes on: no exits yet, lanes end at the last event."""
    snapshots, failures = [], []
    runner = None

    def listener(_records, texts):
        if snapshots or not any(kind == ev.PRINT for _t, _i, kind, _p in texts):
            return
        try:
            snapshots.append(json.loads(json.dumps(to_chrome_trace(runner.trace), allow_nan=False)))
        except Exception as exc:  # noqa: BLE001 - reported by the test, not lost in a runner thread
            failures.append(exc)

    runner = Runner("counter", {"workers": "2", "hold_s": "0.02", "lock": "lock"}, "spawn",
                    listener=listener, sample_hz=None)
    runner.run(timeout=60)
    assert not failures, failures
    assert len(snapshots) == 1
    events = validate(snapshots[0])
    assert len(_of(events, "X", cat="state")) > 0
    assert snapshots[0]["metadata"]["status"] == "running"  # exported mid-run


# --- a pool run ------------------------------------------------------------------------------------

def test_pool_export_has_task_slices(tmp_path):
    trace = Runner("pool", {"pool_size": "2", "tasks": "4", "task_s": "0.05"}, "fork").run(timeout=60)
    assert trace.meta["status"] == "done"
    events = validate(_export_and_read(trace, tmp_path / "pool.json"))
    procs = trace.processes()
    assert len(procs) == 2 and all(p.role == "pool" for p in procs.values())
    names = _process_names(events)
    for info in procs.values():
        assert names[info.pid] == f"{info.name} (pid {info.pid}) · pool"
        assert "PoolWorker" in info.name
    tasks = _of(events, "X", cat="task")
    assert sorted(e["name"] for e in tasks) == [f"task {n}" for n in range(4)]
    for e in tasks:
        assert e["pid"] in {p.pid for p in procs.values()}
        assert e["tid"] != e["pid"]  # a thread of its own: tasks and states need not nest
        assert e["args"]["finished"] is True
        assert e["dur"] >= 0.9 * 50_000  # at least the task's sleep, in µs
    thread_names = {e["tid"]: e["args"]["name"] for e in _of(events, "M", "thread_name")}
    assert all(thread_names[e["tid"]].endswith("· tasks") for e in tasks)
    working = [e for e in _of(events, "X", "working", cat="state") if "task" in e["args"]]
    assert sorted(e["args"]["task"] for e in working) == list(range(4))


# --- hand-made traces -------------------------------------------------------------------------------

def hand_made_trace(finished: bool = True) -> Trace:
    """Worker 0 crashes holding a lock; worker 1 (pid unknown) runs a task it never finishes."""
    trace = Trace({"lesson": "counter", "t0_ns": T0, "parent_pid": 700,
                   "value_slots": [{"name": "total"}]})
    texts = [
        (_ns(1), 0, ev.META, {"name": "Process-1", "role": "worker", "requested_ns": _ns(1)}),
        (_ns(2), 0, ev.META, {"pid": 701}),
        (_ns(5), 0, ev.HELLO, {"name": "Process-1", "pid": 701, "ppid": 700, "role": "worker"}),
        (_ns(6), 0, ev.PRINT, "你好 ✓"),
        (_ns(9), 0, ev.ERROR, "Traceback ...\nValueError: boom"),
        (_ns(7), 1, ev.HELLO, {"name": "SpawnPoolWorker-1", "role": "pool"}),
        (_ns(8), 1, ev.RESULT, {"ratio": float("nan"), "ok": True}),
        (_ns(10), ev.PARENT_INDEX, ev.PRINT, "parent line"),
    ]
    rows = [
        (_ns(5), 0, ev.STATE, ev.WORKING, 0),
        (_ns(6), 0, ev.STATE, ev.WAITING, 3),
        (_ns(7), 0, ev.STATE, ev.HOLDING, 3),
        (_ns(7.5), 0, ev.STATE, ev.HOLDING, 3),
        (_ns(7.6), 0, ev.VALUE, 0, 41),
        (_ns(7.7), 0, ev.VALUE_F, 2, ev.float_to_bits(0.25)),
        (_ns(8), 0, ev.SAMPLE, 1250, 52_000_000),
        (_ns(9), 0, ev.STATE, ev.CRASHED, 0),
        (_ns(7), 1, ev.STATE, ev.IDLE, 0),
        (_ns(8), 1, ev.TASK, 2, ev.TASK_START),
        (_ns(8), 1, ev.STATE, ev.WORKING, 3),
    ]
    if finished:
        rows += [(_ns(12), 0, ev.EXIT, 1, 1), (_ns(12), 1, ev.EXIT, ev.EXIT_UNKNOWN, 2)]
    trace.append(np.array(rows, dtype=np.int64), texts)
    if finished:
        trace.meta["end_ns"] = _ns(12)
        trace.meta["status"] = "crashed"
    return trace


def test_hand_made_trace(tmp_path):
    trace = hand_made_trace()
    data = _export_and_read(trace, tmp_path / "hand.json")
    events = validate(data)
    names = _process_names(events)
    synthetic = chrome_trace.SYNTHETIC_PID_BASE + 1 + 1
    assert names == {700: "parent (pid 700)", 701: "Process-1 (pid 701)", synthetic: "SpawnPoolWorker-1 · pool"}

    states = _of(events, "X", pid=701, cat="state")
    assert [e["name"] for e in states] == ["starting", "working", "waiting", "holding"]  # holding twice: one slice
    assert states[-1]["args"]["lock"] == 2
    assert states[-1]["dur"] == pytest.approx(2000.0)  # 7 ms → crash at 9 ms
    crashed = _of(events, "i", "crashed", pid=701)
    assert len(crashed) == 1 and crashed[0]["ts"] == pytest.approx(9000.0)
    assert _of(events, "i", "exit", pid=701)[0]["args"] == {"exitcode": 1, "ended": "crashed"}
    assert _of(events, "i", "error", pid=701)[0]["args"]["text"].endswith("boom")
    assert _of(events, "i", "print", pid=701)[0]["args"]["text"] == "你好 ✓"
    assert [e["args"] for e in _of(events, "C", pid=701)] == [{"cpu %": 12.5}, {"memory MB": 52}]

    task = _of(events, "X", "task 2", pid=synthetic)
    assert len(task) == 1 and task[0]["args"]["finished"] is False
    assert task[0]["ts"] + task[0]["dur"] == pytest.approx(12000.0)  # runs to the lane's end (its exit)
    working = _of(events, "X", "working", pid=synthetic)
    assert working[0]["args"]["task"] == 2
    assert _of(events, "i", "exit", pid=synthetic)[0]["args"] == {"exitcode": None, "ended": "terminated"}
    assert _of(events, "i", "result", pid=synthetic)[0]["args"]["result"] == {"ratio": "nan", "ok": True}

    values = {e["name"]: e["args"] for e in _of(events, "C", pid=700)}
    assert values == {"total": {"total": 41}, "value 2": {"value 2": 0.25}}
    assert _of(events, "i", "print", pid=700)[0]["args"]["text"] == "parent line"


def test_hand_made_trace_while_running():
    trace = hand_made_trace(finished=False)
    events = validate(json.loads(json.dumps(to_chrome_trace(trace), allow_nan=False)))
    assert not _of(events, "i", "exit")
    lane_end_us = (trace.end_ns() - T0) / 1000
    synthetic = chrome_trace.SYNTHETIC_PID_BASE + 2
    last = max(_of(events, "X", pid=synthetic, cat="state"), key=lambda e: e["ts"])
    assert last["ts"] + last["dur"] == pytest.approx(lane_end_us)


def test_empty_trace(tmp_path):
    data = _export_and_read(Trace({"t0_ns": 0}), tmp_path / "empty.json")
    assert validate(data) == []
    assert data["metadata"]["exporter"] == "ProcScope"


def test_track_name():
    assert track_name(ProcessInfo(0, name="Process-1", pid=1234)) == "Process-1 (pid 1234)"
    assert track_name(ProcessInfo(3, name="SpawnPoolWorker-1", pid=99, role="pool")) == \
        "SpawnPoolWorker-1 (pid 99) · pool"
    assert track_name(ProcessInfo(4, name="SyncManager", pid=5, role="manager")) == "SyncManager (pid 5) · manager"


def test_duplicate_os_pids_get_their_own_tracks():
    trace = hand_made_trace()
    trace.append(None, [(_ns(3), 1, ev.META, {"pid": 701})])  # both lanes claim pid 701
    names = _process_names(validate(to_chrome_trace(trace)))
    assert len(names) == 3 and sum("(pid 701)" in n for n in names.values()) == 2


# --- writing -----------------------------------------------------------------------------------------

def test_unwritable_path_raises_and_leaves_nothing(tmp_path):
    missing = tmp_path / "no-such-folder" / "run.json"
    with pytest.raises(OSError):
        write_chrome_trace(hand_made_trace(), str(missing))
    assert list(tmp_path.iterdir()) == []

    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(OSError):
        write_chrome_trace(hand_made_trace(), str(folder))  # a folder cannot be replaced by a file
    assert list(tmp_path.iterdir()) == [folder] and list(folder.iterdir()) == []


def test_failed_write_keeps_the_existing_file(tmp_path, monkeypatch):
    path = tmp_path / "run.json"
    path.write_text("previous export", encoding="utf-8")

    def broken_replace(_src, _dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_chrome_trace(hand_made_trace(), str(path))
    assert path.read_text(encoding="utf-8") == "previous export"
    assert list(tmp_path.iterdir()) == [path]


def test_written_file_is_utf8_and_replaces_the_old_one(tmp_path):
    path = tmp_path / "run.json"
    path.write_text("old", encoding="utf-8")
    write_chrome_trace(hand_made_trace(), str(path))
    raw = path.read_bytes()
    assert "你好 ✓".encode() in raw
    validate(json.loads(raw.decode("utf-8")))
    assert list(tmp_path.iterdir()) == [path]


def test_cli_writes_a_chrome_trace(tmp_path):
    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "run.json"
    proc = subprocess.run(
        [sys.executable, "-m", "app", "run", "counter", "--set", "workers=2", "--set", "hold_s=0.01",
         "--chrome-trace", str(out)],
        cwd=root, env=dict(os.environ, PYTHONPATH=str(root)), capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    events = json.loads(out.read_text(encoding="utf-8"))["traceEvents"]
    names = [e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "process_name"]
    assert sum(name.startswith("Process-") for name in names) == 2
    assert {e["name"] for e in events if e["ph"] == "X"} >= {"starting", "holding"}
