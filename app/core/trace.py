"""The recorded run: columnar events, per-process facts and intervals, save/load, CSV.

A ``Trace`` is a fold over the event stream: numeric records in one
``(N, 5)`` int64 array (t_ns, process, kind, a, b), text events in a ``TextLog``
(columns that read as a list of ``(t_ns, index, kind, payload)`` tuples). It
holds nothing else but ``meta`` (lesson, parameters, start method, value slots,
status), so a live run, a replayed file and the GUI's copy summarise alike.

Files are a zip of JSON and one ``.npy`` array, read with ``allow_pickle=False``:
loading never executes or unpickles content; a corrupt or foreign file raises
``TraceFormatError`` with a clear message.
"""

from __future__ import annotations

import csv
import json
import sys
import threading
import zipfile
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np

from app.core import events as ev
from app.core.atomic import Outputs
from app.core.events import EXIT_CRASHED, EXIT_DONE, EXIT_HOW, EXIT_STOPPED, EXIT_TERMINATED  # noqa: F401 - re-exported
from app.core.folds import lane_intervals, value_series
from app.core.textlog import TextLog
from app.core.trace_schema import TraceFormatError, read_trace_file

__all__ = ["Trace", "TraceFormatError", "ProcessInfo"]  # TraceFormatError lives with the schema

FOLD_PENDING = 65_536  # appended records waiting for a reader are folded in once this many (2.5 MB) arrived
CSV_BLOCK = 16_384  # rows formatted at a time
JSON_BATCH = 4096  # text events encoded at a time
NPY_BLOCK = 65_536  # records written into a file at a time
FORMAT_NAME = "procscope-trace"
FORMAT_VERSION = 1
_EMPTY = np.empty((0, ev.RECORD_FIELDS), dtype=np.int64)
_PROCESS_TEXT_KINDS = (ev.META, ev.HELLO, ev.ERROR)


@dataclass
class ProcessInfo:
    index: int
    name: str = ""
    pid: int | None = None
    ppid: int | None = None
    role: str = "worker"
    main_module: str | None = None
    main_file: str | None = None
    requested_ns: int | None = None  # when the parent asked for it
    first_ns: int | None = None  # its first sign of life
    exit_ns: int | None = None
    exitcode: int | None = None
    ended: str = "running"  # running, done, crashed, terminated, stopped
    errors: list = field(default_factory=list)

    def start_latency_s(self) -> float | None:
        if self.requested_ns is None or self.first_ns is None:
            return None
        return max(0, self.first_ns - self.requested_ns) / 1e9


class Trace:
    """Events of one run, appended from any thread, read as columns."""

    def __init__(self, meta: dict | None = None):
        self.meta: dict = dict(meta or {})
        self._texts = TextLog()
        self._buffer = _EMPTY
        self._count = 0
        self._pending: list[np.ndarray] = []
        self._pending_count = 0
        self._lock = threading.Lock()
        self.version = 0  # bumps on every append: views redraw only what changed
        self._processes_cache: tuple[int, dict] | None = None
        self._states_cache: tuple[int, dict[int, np.ndarray]] | None = None

    @property
    def texts(self) -> TextLog:
        """The text events: a ``TextLog`` (reads as a list of ``(t_ns, index, kind, payload)`` tuples)."""
        return self._texts

    @texts.setter
    def texts(self, items) -> None:
        self._texts = items if isinstance(items, TextLog) else TextLog(items)
        self.version += 1

    # --- building ----------------------------------------------------------------
    def append(self, records: np.ndarray | None = None, texts=()) -> None:
        with self._lock:
            if records is not None and len(records):
                self._pending.append(records)
                self._pending_count += len(records)
                if self._pending_count >= FOLD_PENDING:
                    # Nobody has read the trace for a while (a headless run): fold now, so that the
                    # receiver's thousands of small messages are freed (and reused) as they arrive,
                    # not all kept until the end (the target: ≤ 64 MB for 1M events).
                    self._fold_pending()
            if texts:
                self.texts.extend(texts)
            self.version += 1

    @property
    def records(self) -> np.ndarray:
        """All numeric records so far, a read-only view (valid even after later appends)."""
        with self._lock:
            if self._pending:
                self._fold_pending()
            view = self._buffer[: self._count]
            view.flags.writeable = False
            return view

    def _fold_pending(self) -> None:
        # A buffer that doubles its capacity: appending a batch costs the batch, not the whole trace.
        incoming = sum(len(chunk) for chunk in self._pending)
        needed = self._count + incoming
        if needed > len(self._buffer):
            grown = np.empty((max(needed, 2 * len(self._buffer), 1024), ev.RECORD_FIELDS), dtype=np.int64)
            grown[: self._count] = self._buffer[: self._count]
            self._buffer = grown
        np.concatenate(self._pending, out=self._buffer[self._count : needed])  # one copy, no loop over chunks
        self._count = needed
        self._pending.clear()
        self._pending_count = 0

    def __len__(self) -> int:
        return len(self.records) + len(self.texts)

    @property
    def t0_ns(self) -> int:
        return int(self.meta.get("t0_ns", 0))

    def seconds(self, t_ns) -> float:
        return (t_ns - self.t0_ns) / 1e9

    # --- reading -----------------------------------------------------------------
    def texts_of(self, kind: int, index: int | None = None) -> list:
        """The text events of one kind (and of one process), in the order they arrived."""
        return self.texts.select(kind, index)

    def results(self, index: int | None = None) -> list:
        """RESULT payloads in time order, optionally of one process."""
        texts = self.texts
        positions = texts.where(ev.RESULT, index)
        positions = positions[np.argsort(texts.times()[positions], kind="stable")]
        return texts.payloads(positions)

    def processes(self) -> dict[int, ProcessInfo]:
        """Every process of the run by lane index, folded from META, HELLO and EXIT.

        Cached per ``version``: views ask for it at every refresh of a live run.
        """
        cached = self._processes_cache
        if cached is not None and cached[0] == self.version:
            return dict(cached[1])
        version = self.version
        procs = self._fold_processes()
        self._processes_cache = (version, procs)
        return dict(procs)

    def _fold_processes(self) -> dict[int, ProcessInfo]:
        procs: dict[int, ProcessInfo] = {}

        def get(index: int) -> ProcessInfo:
            return procs.setdefault(index, ProcessInfo(index))

        # Only these kinds say who a process is: a long run's prints (hundreds of thousands) are not even decoded
        texts = self.texts
        positions = texts.where(_PROCESS_TEXT_KINDS)
        positions = positions[texts.indexes()[positions] != ev.PARENT_INDEX]
        positions = positions[np.argsort(texts.times()[positions], kind="stable")]
        for t_ns, index, kind, payload in texts.take(positions):
            if kind == ev.META:
                info = get(index)
                for key in ("name", "role", "requested_ns", "pid"):
                    if payload.get(key) is not None:
                        setattr(info, key, payload[key])
            elif kind == ev.HELLO:
                info = get(index)
                info.first_ns = t_ns if info.first_ns is None else info.first_ns
                for key in ("name", "pid", "ppid", "role", "main_module", "main_file"):
                    if payload.get(key) is not None:
                        setattr(info, key, payload[key])
            elif kind == ev.ERROR:
                get(index).errors.append(payload)
        recs = self.records
        for t_ns, index, _kind, code, how in recs[recs[:, 2] == ev.EXIT].tolist():
            info = get(index)
            info.exit_ns = t_ns
            info.exitcode = None if code == ev.EXIT_UNKNOWN else code
            info.ended = EXIT_HOW[how]
        return dict(sorted(procs.items()))

    def states(self, index: int) -> np.ndarray:
        """STATE records of one process, in time order: columns t_ns, state, detail."""
        rows = self._states_by_process().get(index)
        if rows is None:
            return np.empty((0, 3), dtype=np.int64)
        return self.records[rows][:, [0, 3, 4]]

    def _states_by_process(self) -> dict[int, np.ndarray]:
        # One sort of every STATE record by (process, time), cached per version: a summary asks for every
        # lane, and one scan of all records per lane costs 64 scans of millions of rows. Kept as row
        # numbers (4 bytes a state, not 24): the rows are gathered when a lane is asked for.
        cached = self._states_cache
        if cached is not None and cached[0] == self.version:
            return cached[1]
        version = self.version
        recs = self.records
        rows = np.flatnonzero(recs[:, 2] == ev.STATE)  # positions, not copies of the rows: a long run has millions
        if len(recs) < 2**31:
            rows = rows.astype(np.int32)  # 4 bytes a state, kept while the trace is shown
        lanes_of = recs[rows, 1]
        if len(lanes_of) and lanes_of.min() >= -1 and lanes_of.max() < 2**15:
            lanes_of = lanes_of.astype(np.int16)  # as lane indexes always are: 2 bytes a key
        order = np.argsort(lanes_of, kind="stable")  # grouped by process (a radix sort of 16-bit keys)
        rows, lanes_of = rows[order], lanes_of[order]
        del order
        lanes, starts = np.unique(lanes_of, return_index=True)
        del lanes_of
        bounds = [*starts.tolist(), len(rows)]
        by_process = {}
        times = recs[:, 0]
        for i, lane in enumerate(lanes.tolist()):
            group = rows[bounds[i]: bounds[i + 1]]
            if (np.diff(times[group]) < 0).any():  # a process's own records arrive in order; the parent's may not
                group = group[np.argsort(times[group], kind="stable")]
            by_process[lane] = group
        self._states_cache = (version, by_process)
        return by_process

    def intervals(self, index: int, info: ProcessInfo | None = None, end_ns: int | None = None):
        """``(start_ns, end_ns, state, detail)`` arrays of one lane (``folds`` says what an interval is).

        A lane starts ``starting`` when the parent asked for the process, each
        state lasts until the next, and the lane ends at done/crash or exit.
        """
        info = info or self.processes().get(index, ProcessInfo(index))
        end = info.exit_ns if info.exit_ns is not None else (end_ns or self.end_ns())
        return lane_intervals(self.states(index), info, end)

    def time_in_state(self, index: int, info: ProcessInfo | None = None) -> dict[str, float]:
        iv = self.intervals(index, info)
        totals: dict[str, float] = {}
        for code in np.unique(iv[:, 2]).tolist():
            sel = iv[:, 2] == code
            totals[ev.STATE_NAMES[code]] = round(float((iv[sel, 1] - iv[sel, 0]).sum()) / 1e9, 6)
        return totals

    def values(self, slot: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Writes to one shared value: times (ns), values (float), writer indexes."""
        return value_series(self.records, slot)

    def end_ns(self) -> int:
        if "end_ns" in self.meta:
            return int(self.meta["end_ns"])
        recs = self.records
        last = [int(recs[:, 0].max())] if len(recs) else []
        times = self.texts.times()
        last += [int(times.max())] if len(times) else []
        return max(last, default=self.t0_ns)

    # --- files ---------------------------------------------------------------------
    def save(self, path: str, outputs: Outputs | None = None) -> None:
        """Write atomically (or into ``outputs``, renamed with the others): a failed save never leaves a
        half-written or lost file. Streamed: the records go into the zip in numpy's blocks and the texts in
        batches, never as one more copy of the whole run."""
        header = {"format": FORMAT_NAME, "version": FORMAT_VERSION}
        with _outputs(outputs) as outs, outs.open(path, binary=True) as raw, \
                zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("format.json", json.dumps(header))
            zf.writestr("meta.json", json.dumps(self.meta, ensure_ascii=False))
            with zf.open("texts.json", "w", force_zip64=True) as member:
                _write_json_list(member, self.texts.json_chunks(JSON_BATCH))
            with zf.open("records.npy", "w", force_zip64=True) as member:
                _write_npy(member, self.records)

    @classmethod
    def load(cls, path: str, max_records: int | None = None, progress=None) -> Trace:
        """A saved run, checked field by field against the schema (``trace_schema``) before anything is built."""
        meta, texts, records = read_trace_file(path, max_records, progress)
        trace = cls(meta)
        trace.texts = texts  # a TextLog, filled as the file was read
        release_freed_memory()
        trace._buffer = records
        trace._count = len(records)
        trace.version += 1
        return trace

    def to_csv(self, path: str, outputs: Outputs | None = None) -> None:
        """Every event as a row, in time order, with names instead of codes (at equal times, records before
        texts). Written in blocks of rows taken from the records' columns: never a Python row per event at once."""
        names = {i: p.name for i, p in self.processes().items()}
        records = self.records
        order = np.argsort(records[:, 0], kind="stable")
        all_texts = self.texts
        text_times = all_texts.times()
        text_order = np.argsort(text_times, kind="stable")
        texts = _Reordered(all_texts, text_order)
        # where each text goes: after every record with a time at or before its own
        text_at = np.searchsorted(records[order, 0], text_times[text_order], side="right")
        del text_times

        def name(index: int) -> str:
            return names.get(index, "parent" if index < 0 else "")

        def text_rows(upto: int, done: int) -> tuple[list, int]:
            rows = []
            while done < len(texts) and text_at[done] <= upto:
                t_ns, index, kind, payload = texts[done]
                text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
                rows.append([f"{self.seconds(t_ns):.9f}", index, name(index), ev.KIND_NAMES.get(kind, str(kind)),
                             "", "", "", text])
                done += 1
            return rows, done

        with _outputs(outputs) as outs, outs.open(path) as out:
            writer = csv.writer(out)
            writer.writerow(["t_s", "process", "name", "kind", "what", "value", "detail", "text"])
            done = 0
            for start in range(0, len(order), CSV_BLOCK):
                block = order[start:start + CSV_BLOCK]
                for offset, (t_ns, index, kind, a, b) in enumerate(records[block].tolist()):
                    if done < len(texts) and text_at[done] <= start + offset:
                        rows, done = text_rows(start + offset, done)
                        writer.writerows(rows)
                    what, value, detail = _describe(kind, a, b)
                    writer.writerow([f"{self.seconds(t_ns):.9f}", index, name(index),
                                     ev.KIND_NAMES.get(kind, str(kind)), what, value, detail, ""])
            rows, done = text_rows(len(order), done)
            writer.writerows(rows)


class _Reordered:
    """The events of a ``TextLog`` in the order of ``order`` (positions), read in order: decoded a block at a
    time, never all at once."""

    def __init__(self, texts: TextLog, order: np.ndarray):
        self._texts, self._order = texts, order
        self._block: list = []
        self._block_start = 0

    def __len__(self) -> int:
        return len(self._order)

    def __getitem__(self, position: int):
        at = position - self._block_start
        if not 0 <= at < len(self._block):
            self._block_start, at = position, 0
            self._block = self._texts.take(self._order[position:position + CSV_BLOCK])
        return self._block[at]


def release_freed_memory() -> None:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim``; elsewhere nothing).

    Reading a big file frees tens of MB in small blocks (its pieces' Python objects, numpy temporaries);
    glibc keeps them for reuse, so a replay would hold them as long as it is open."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl): nothing to give back this way
        pass


def _outputs(outputs: Outputs | None):
    """The caller's set of outputs (renamed with the others), or a set of this one alone."""
    return nullcontext(outputs) if outputs is not None else Outputs()


def _write_json_list(member, chunks) -> None:
    """A JSON list of the items in ``chunks`` (each some items' text, comma-separated), as UTF-8."""
    member.write(b"[")
    for k, chunk in enumerate(chunks):
        member.write(((", " if k else "") + chunk).encode("utf-8"))
    member.write(b"]")


def _write_npy(member, records: np.ndarray) -> None:
    """``np.save`` of the records, in blocks of 2.5 MB (``np.save`` to a file that is not a real file copies
    16 MB blocks twice over)."""
    records = np.ascontiguousarray(records)
    np.lib.format.write_array_header_1_0(member, np.lib.format.header_data_from_array_1_0(records))
    for start in range(0, len(records), NPY_BLOCK):
        member.write(records[start:start + NPY_BLOCK].tobytes())


def _describe(kind: int, a: int, b: int) -> tuple[str, object, object]:
    if kind == ev.STATE:
        return ev.STATE_NAMES[a] if 0 <= a < len(ev.STATE_NAMES) else str(a), "", b
    if kind == ev.VALUE:
        return f"slot {a}", b, ""
    if kind == ev.VALUE_F:
        return f"slot {a}", ev.bits_to_float(b), ""
    if kind == ev.TASK:
        return ("start" if b == ev.TASK_START else "end"), a, ""
    if kind == ev.EXIT:
        return EXIT_HOW.get(b, str(b)), ("" if a == ev.EXIT_UNKNOWN else a), ""
    if kind == ev.SAMPLE:
        return "cpu%/rss", a / 100, b
    if kind == ev.LOCK:
        return ("request", "acquired", "released")[a] if 0 <= a < 3 else str(a), "", b
    if kind == ev.QUEUE:
        return ("wait", "got", "put")[a] if 0 <= a < 3 else str(a), "", b
    return "", a, b
