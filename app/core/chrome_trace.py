"""Export a recorded run in the Chrome Trace Event Format (Perfetto UI, chrome://tracing).

The file is one JSON object::

    {"traceEvents": [...], "displayTimeUnit": "ms", "metadata": {...}}

Layout (the same states, names and colours as the lanes):

- every process of the run is a process track named like its lane,
  ``"Process-1 (pid 1234)"`` or ``"SpawnPoolWorker-1 (pid 99) · pool"``, ordered
  by lane index (``process_sort_index``); the parent is ``"parent (pid N)"``;
- its states are complete events (``"ph": "X"``) named ``starting``,
  ``working``, ``waiting``, ... on the process's main thread, with the colour
  and the detail (task number, lock id) in ``args``;
- pool tasks are ``"task N"`` slices on a second thread of the worker (a task
  starts a few nanoseconds before its ``working`` state, so on one thread the
  two would not nest);
- shared values are counters (``"ph": "C"``) on the parent's track, one per
  value slot; psutil samples are ``cpu %`` and ``memory MB`` counters per process;
- start requested / started / exit / crashed, prints, results and errors are
  thread-scoped instant events (``"ph": "i"``, ``"s": "t"``).

Timestamps are microseconds since ``trace.meta["t0_ns"]`` with nanosecond
precision (three decimals). Perfetto keys threads by tid alone, so every tid
is unique in the file: the OS pid where it is known, otherwise a synthetic id
above any real pid.

Runs in the parent only (numpy is fine; no Qt).
"""

from __future__ import annotations

import json
import math
from contextlib import nullcontext

import numpy as np

from app.core import events as ev
from app.core.atomic import Outputs
from app.core.trace import ProcessInfo, Trace

DISPLAY_TIME_UNIT = "ms"
SYNTHETIC_PID_BASE = 1 << 24  # above Linux's pid_max (2**22) and macOS's 99999
TASK_TID_BASE = 1 << 25  # the "tasks" thread of a pool worker
CPU_COUNTER = "cpu %"
MEMORY_COUNTER = "memory MB"
BYTES_PER_MB = 1_000_000

_WRITE_BATCH = 4096  # events encoded per write


def track_name(info: ProcessInfo) -> str:
    """A process's lane label: name and pid, with the role when it is not a plain worker."""
    name = info.name or f"process {info.index}"
    label = f"{name} (pid {info.pid})" if info.pid is not None else name
    if info.role and info.role != "worker":
        label += f" · {info.role}"
    return label


def to_chrome_trace(trace: Trace) -> dict:
    """The whole run as a Chrome Trace Event Format object (JSON-ready)."""
    return {
        "traceEvents": list(iter_events(trace)),
        "displayTimeUnit": DISPLAY_TIME_UNIT,
        "metadata": _metadata(trace),
    }


def write_chrome_trace(trace: Trace, path: str, outputs: Outputs | None = None) -> None:
    """Write ``to_chrome_trace(trace)`` as UTF-8 JSON, atomically.

    Events are made one at a time and encoded in batches as they are made, so a
    long run never holds all of them at once. A temporary file in the same folder
    is renamed over ``path`` (or, with ``outputs``, with the others at their end;
    ``atomic`` says how a link, a device or ``-`` is written): a failed write
    leaves no temporary file and an existing ``path`` unchanged.
    """
    encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    with (nullcontext(outputs) if outputs is not None else Outputs()) as outs, outs.open(path) as out:
        out.write('{"traceEvents":[')
        separator = "\n"
        batch: list[str] = []
        for event in iter_events(trace):
            batch.append(encoder.encode(event))
            if len(batch) == _WRITE_BATCH:
                out.write(separator + ",\n".join(batch))
                separator, batch = ",\n", []
        if batch:
            out.write(separator + ",\n".join(batch))
        out.write("\n],")
        out.write(f'"displayTimeUnit":{encoder.encode(DISPLAY_TIME_UNIT)},')
        out.write(f'"metadata":{encoder.encode(_metadata(trace))}}}\n')


def iter_events(trace: Trace):
    """Every trace event, track by track: names first, then each track's events in time order."""
    t0 = trace.t0_ns
    end_ns = trace.end_ns()
    records = trace.records
    procs = trace.processes()
    for index in np.unique(records[:, 1]).tolist():
        if index >= 0 and index not in procs:
            procs[index] = ProcessInfo(index)
    procs = dict(sorted(procs.items()))
    pids = _assign_pids(trace, procs)
    by_process = _Grouped(records)
    texts: dict[int, list] = {}
    shown = trace.texts.where(tuple(_TEXT_NAMES))
    shown = shown[np.argsort(trace.texts.times()[shown], kind="stable")]
    for text in trace.texts.take(shown):
        if text[1] in procs or text[1] == ev.PARENT_INDEX:
            texts.setdefault(text[1], []).append(text)

    def us(t_ns) -> float:
        return (int(t_ns) - t0) / 1000  # the nearest double to the exact µs: ns precision

    # Names first, so that a viewer reading the file in order labels every track.
    for index, info in procs.items():
        label = track_name(info)
        yield from _names(pids[index], pids[index], label, label, index, 0)
        if len(by_process.of(index, ev.TASK)):
            yield from _thread_names(pids[index], TASK_TID_BASE + index, f"{info.name or label} · tasks", 1)
    parent_pid = pids[ev.PARENT_INDEX]
    value_rows = records[(records[:, 2] == ev.VALUE) | (records[:, 2] == ev.VALUE_F)]
    parent_samples = by_process.of(ev.PARENT_INDEX, ev.SAMPLE)
    if texts.get(ev.PARENT_INDEX) or len(value_rows) or len(parent_samples):
        known = trace.meta.get("parent_pid")
        label = f"parent (pid {known})" if isinstance(known, int) else "parent"
        yield from _names(parent_pid, parent_pid, label, label, -1, 0)

    for index, info in procs.items():
        pid = pids[index]
        yield from _state_slices(trace.intervals(index, info, end_ns), t0, pid)
        yield from _task_slices(by_process.of(index, ev.TASK), index, info, pid, end_ns, us)
        crashes = by_process.of(index, ev.STATE)
        yield from _lifecycle_instants(info, crashes[crashes[:, 3] == ev.CRASHED], pid, us)
        for t_ns, _index, kind, payload in texts.get(index, ()):
            yield _text_instant(kind, payload, t_ns, pid, us)
        yield from _samples(by_process.of(index, ev.SAMPLE), pid, us)

    # The parent: the run's shared values, its prints, results and errors.
    yield from _value_counters(trace, value_rows, parent_pid, us)
    for t_ns, _index, kind, payload in texts.get(ev.PARENT_INDEX, ()):
        yield _text_instant(kind, payload, t_ns, parent_pid, us)
    yield from _samples(parent_samples, parent_pid, us)


class _Grouped:
    """Records sorted by process, then time (stable): one process's rows of one kind, cheaply."""

    def __init__(self, records: np.ndarray):
        order = np.lexsort((records[:, 0], records[:, 1]))
        self._rows = records[order]
        self._index = self._rows[:, 1]

    def of(self, index: int, kind: int) -> np.ndarray:
        lo, hi = np.searchsorted(self._index, [index, index + 1])
        mine = self._rows[lo:hi]
        return mine[mine[:, 2] == kind]


# --- tracks ---------------------------------------------------------------------------
def _assign_pids(trace: Trace, procs: dict[int, ProcessInfo]) -> dict[int, int]:
    """One distinct JSON pid per process (and the parent): the OS pid when known and unique."""
    used: set[int] = set()
    pids: dict[int, int] = {}

    def take(index: int, os_pid) -> None:
        ok = isinstance(os_pid, int) and 0 < os_pid < SYNTHETIC_PID_BASE and os_pid not in used
        pid = os_pid if ok else SYNTHETIC_PID_BASE + index + 1
        used.add(pid)
        pids[index] = pid

    take(ev.PARENT_INDEX, trace.meta.get("parent_pid"))
    for index, info in procs.items():
        take(index, info.pid)
    return pids


def _thread_names(pid: int, tid: int, name: str, sort_index: int) -> list[dict]:
    return [
        {"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": name}},
        {"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": tid, "args": {"sort_index": sort_index}},
    ]


def _names(pid: int, tid: int, process: str, thread: str, order: int, thread_order: int) -> list[dict]:
    return [
        {"ph": "M", "name": "process_name", "pid": pid, "tid": tid, "args": {"name": process}},
        {"ph": "M", "name": "process_sort_index", "pid": pid, "tid": tid, "args": {"sort_index": order}},
        *_thread_names(pid, tid, thread, thread_order),
    ]


# --- slices -----------------------------------------------------------------------------
def _state_slices(intervals: np.ndarray, t0: int, pid: int):
    """One X slice per state interval; a state recorded twice in a row is one slice."""
    if not len(intervals):
        return
    starts, ends, codes, details = intervals.T
    same = (codes[1:] == codes[:-1]) & (details[1:] == details[:-1]) & (starts[1:] == ends[:-1])
    first = np.flatnonzero(np.concatenate([[True], ~same]))
    last = np.concatenate([first[1:] - 1, [len(starts) - 1]])
    ts = (starts[first] - t0) / 1000
    dur = np.maximum(0.0, np.round((ends[last] - t0) / 1000 - ts, 3))
    for t, d, code, detail in zip(ts.tolist(), dur.tolist(), codes[first].tolist(), details[first].tolist(),
                                  strict=True):
        name = ev.STATE_NAMES[code] if 0 <= code < len(ev.STATE_NAMES) else f"state {code}"
        args: dict = {"color": ev.STATE_COLORS.get(name, "#999999")}
        if detail > 0:
            if code == ev.WORKING:
                args["task"] = detail - 1
            elif code in (ev.WAITING, ev.HOLDING):
                args["lock"] = detail - 1
            else:
                args["detail"] = detail
        yield {"ph": "X", "cat": "state", "name": name, "ts": t, "dur": d, "pid": pid, "tid": pid, "args": args}


def _task_slices(mine: np.ndarray, index: int, info: ProcessInfo, pid: int, end_ns: int, us):
    """``task N`` from TASK_START to TASK_END; an unfinished task runs to the lane's end."""
    if not len(mine):
        return
    lane_end = info.exit_ns if info.exit_ns is not None else end_ns
    spans: list[list] = []  # [start, end or None, task]
    open_by_task: dict[int, list] = {}
    for t_ns, _i, _k, task, what in mine.tolist():
        if what == ev.TASK_START:
            for span in open_by_task.values():  # a new task ends one that never said so
                span[1] = t_ns
            open_by_task = {task: [t_ns, None, task]}
            spans.append(open_by_task[task])
        elif task in open_by_task:
            open_by_task.pop(task)[1] = t_ns
    tid = TASK_TID_BASE + index
    for start, end, task in spans:
        finished = end is not None
        end = end if finished else max(start, lane_end)
        ts = us(start)
        yield {"ph": "X", "cat": "task", "name": f"task {task}", "ts": ts, "dur": max(0.0, round(us(end) - ts, 3)),
               "pid": pid, "tid": tid, "args": {"task": task, "finished": finished,
                                                "color": ev.STATE_COLORS["working"]}}


# --- instants ---------------------------------------------------------------------------
def _instant(name: str, t_ns: int, pid: int, us, args: dict, cat: str) -> dict:
    return {"ph": "i", "s": "t", "cat": cat, "name": name, "ts": us(t_ns), "pid": pid, "tid": pid, "args": args}


def _lifecycle_instants(info: ProcessInfo, crash_rows: np.ndarray, pid: int, us) -> list[dict]:
    out = []
    if info.requested_ns is not None:
        out.append(_instant("start requested", info.requested_ns, pid, us, {"name": info.name}, "process"))
    if info.first_ns is not None:
        latency = info.start_latency_s()
        args = {"pid": info.pid, "ppid": info.ppid, "role": info.role, "main_module": info.main_module,
                "start_latency_ms": None if latency is None else round(latency * 1000, 3)}
        out.append(_instant("started", info.first_ns, pid, us, args, "process"))
    crash_ns = int(crash_rows[0, 0]) if len(crash_rows) else None
    if info.exit_ns is not None:
        args = {"exitcode": info.exitcode, "ended": info.ended}
        out.append(_instant("exit", info.exit_ns, pid, us, args, "process"))
        if info.ended == "crashed" and crash_ns is None:
            crash_ns = info.exit_ns
    if crash_ns is not None:
        args = {"exitcode": info.exitcode, "errors": len(info.errors), "color": ev.STATE_COLORS["crashed"]}
        out.append(_instant("crashed", crash_ns, pid, us, args, "process"))
    return out


_TEXT_NAMES = {ev.PRINT: "print", ev.RESULT: "result", ev.ERROR: "error", ev.STEP: "step"}


def _text_instant(kind: int, payload, t_ns: int, pid: int, us) -> dict:
    key = "result" if kind == ev.RESULT else "text"
    return _instant(_TEXT_NAMES[kind], t_ns, pid, us, {key: _json_safe(payload)}, "text")


# --- counters ---------------------------------------------------------------------------
def _counter(name: str, t_ns: int, value: float, pid: int, us) -> dict:
    return {"ph": "C", "cat": "counter", "name": name, "ts": us(t_ns), "pid": pid, "tid": pid,
            "args": {name: value}}


def _number(value: float):
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else float(value)


def _value_counters(trace: Trace, value_rows: np.ndarray, pid: int, us):
    """One counter track per shared-value slot, named after the slot."""
    slots = sorted(set(np.unique(value_rows[:, 3]).tolist()))
    declared = trace.meta.get("value_slots") or []
    names: dict[int, str] = {}
    for slot in slots:
        spec = declared[slot] if 0 <= slot < len(declared) else None
        name = spec.get("name") if isinstance(spec, dict) else None
        name = str(name) if name not in (None, "") else f"value {slot}"
        if name in names.values() or name in (CPU_COUNTER, MEMORY_COUNTER):
            name = f"{name} (slot {slot})"
        names[slot] = name
    for slot in slots:
        times, values, _writers = trace.values(slot)
        for t_ns, value in zip(times.tolist(), values.tolist(), strict=True):
            if math.isfinite(value):
                yield _counter(names[slot], t_ns, _number(value), pid, us)


def _samples(mine: np.ndarray, pid: int, us):
    """psutil samples of one process: CPU % (a = % × 100) and resident memory (b = bytes)."""
    for t_ns, _i, _k, cpu, rss in mine.tolist():
        yield _counter(CPU_COUNTER, t_ns, _number(round(cpu / 100, 2)), pid, us)
        yield _counter(MEMORY_COUNTER, t_ns, _number(round(rss / BYTES_PER_MB, 3)), pid, us)


# --- metadata ---------------------------------------------------------------------------
def _metadata(trace: Trace) -> dict:
    end_ns = trace.end_ns()
    meta = _json_safe(trace.meta)
    meta.update({
        "exporter": "ProcScope",
        "time_origin": "t0_ns (perf_counter_ns) = ts 0",
        "duration_s": round((end_ns - trace.t0_ns) / 1e9, 6),
        "state_colors": dict(ev.STATE_COLORS),
    })
    return meta


def _json_safe(value):
    """A copy that ``json.dumps(allow_nan=False)`` accepts: non-finite floats become strings."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return str(value)
