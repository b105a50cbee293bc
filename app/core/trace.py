"""The recorded run: columnar events, per-process facts and intervals, save/load, CSV.

A ``Trace`` is a fold over the event stream (DESIGN §3): numeric records in one
``(N, 5)`` int64 array (t_ns, process, kind, a, b), text events in a list. It
holds nothing else but ``meta`` (lesson, parameters, start method, value slots,
status), so a live run, a replayed file and the GUI's copy summarise alike.

Files are a zip of JSON and one ``.npy`` array, read with ``allow_pickle=False``:
loading never executes or unpickles content; a corrupt or foreign file raises
``TraceFormatError`` with a clear message.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import zipfile
from dataclasses import dataclass, field

import numpy as np

from app.core import events as ev
from app.core.atomic import atomic_open
from app.core.events import EXIT_CRASHED, EXIT_DONE, EXIT_HOW, EXIT_STOPPED, EXIT_TERMINATED  # noqa: F401 - re-exported
from app.core.folds import lane_intervals, value_series
from app.core.trace_schema import TraceFormatError, read_trace_file

__all__ = ["Trace", "TraceFormatError", "ProcessInfo"]  # TraceFormatError lives with the schema

FOLD_PENDING = 65_536  # appended records waiting for a reader are folded in once this many (2.5 MB) arrived
FORMAT_NAME = "procscope-trace"
FORMAT_VERSION = 1
_EMPTY = np.empty((0, ev.RECORD_FIELDS), dtype=np.int64)


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
        self.texts: list[tuple[int, int, int, object]] = []
        self._buffer = _EMPTY
        self._count = 0
        self._pending: list[np.ndarray] = []
        self._pending_count = 0
        self._lock = threading.Lock()
        self.version = 0  # bumps on every append: views redraw only what changed
        self._processes_cache: tuple[int, dict] | None = None

    # --- building ----------------------------------------------------------------
    def append(self, records: np.ndarray | None = None, texts=()) -> None:
        with self._lock:
            if records is not None and len(records):
                self._pending.append(records)
                self._pending_count += len(records)
                if self._pending_count >= FOLD_PENDING:
                    # Nobody has read the trace for a while (a headless run): fold now, so that the
                    # receiver's thousands of small messages are freed (and reused) as they arrive,
                    # not all kept until the end (DESIGN §8: ≤ 64 MB for 1M events).
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
        return [t for t in self.texts if t[2] == kind and (index is None or t[1] == index)]

    def results(self, index: int | None = None) -> list:
        """RESULT payloads in time order, optionally of one process."""
        return [t[3] for t in sorted(self.texts_of(ev.RESULT, index), key=lambda t: t[0])]

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

        for t_ns, index, kind, payload in sorted(self.texts, key=lambda t: t[0]):
            if index == ev.PARENT_INDEX:
                continue
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
        recs = self.records
        mine = recs[(recs[:, 1] == index) & (recs[:, 2] == ev.STATE)]
        mine = mine[np.argsort(mine[:, 0], kind="stable")]
        return mine[:, [0, 3, 4]]

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
        last += [t[0] for t in self.texts]
        return max(last, default=self.t0_ns)

    # --- files ---------------------------------------------------------------------
    def save(self, path: str) -> None:
        """Write atomically: a failed save never leaves a half-written or lost file."""
        buffer = io.BytesIO()
        np.save(buffer, self.records, allow_pickle=False)
        header = {"format": FORMAT_NAME, "version": FORMAT_VERSION}
        with atomic_open(path, binary=True) as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("format.json", json.dumps(header))
            zf.writestr("meta.json", json.dumps(self.meta, ensure_ascii=False))
            zf.writestr("texts.json", json.dumps(self.texts, ensure_ascii=False))
            zf.writestr("records.npy", buffer.getvalue())

    @classmethod
    def load(cls, path: str, max_records: int | None = None, progress=None) -> Trace:
        """A saved run, checked field by field against the schema (``trace_schema``) before anything is built."""
        meta, texts, records = read_trace_file(path, max_records, progress)
        trace = cls(meta)
        trace.texts = [tuple(t) for t in texts]
        trace._buffer = records
        trace._count = len(records)
        trace.version += 1
        return trace

    def to_csv(self, path: str) -> None:
        """Every event as a row, in time order, with names instead of codes."""
        names = {i: p.name for i, p in self.processes().items()}
        rows = []
        for t_ns, index, kind, a, b in self.records.tolist():
            what, value, detail = _describe(kind, a, b)
            rows.append((t_ns, index, ev.KIND_NAMES.get(kind, str(kind)), what, value, detail, ""))
        for t_ns, index, kind, payload in self.texts:
            text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
            rows.append((t_ns, index, ev.KIND_NAMES.get(kind, str(kind)), "", "", "", text))
        rows.sort(key=lambda r: r[0])
        with atomic_open(path) as out:
            writer = csv.writer(out)
            writer.writerow(["t_s", "process", "name", "kind", "what", "value", "detail", "text"])
            for t_ns, index, kind, what, value, detail, text in rows:
                writer.writerow(
                    [f"{self.seconds(t_ns):.9f}", index, names.get(index, "parent" if index < 0 else ""),
                     kind, what, value, detail, text]
                )




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
