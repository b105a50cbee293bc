"""The trace folded into lanes (per-process state intervals) and series (values over time), incrementally.

A trace only grows by appending, so each fold remembers how much of it it has
read and processes only the new tail: a frame of a live 1M-record run costs
the new records, not the whole trace. ``Trace.intervals`` and ``Trace.values``
are the same folds run once over the whole trace, so "an interval" and "a
series" are defined here only.

An interval: a lane starts ``starting`` when the parent asked for the process
(if that was before its first state), each state lasts until the next, the
last one until the process exited or "now"; done/crashed end a lane and are
no interval themselves.

A series: one key's records (a value slot's writes, a process's samples) in
time order, ties in arrival order. Batches from different processes arrive
out of time order, so an out-of-order tail is merged with one stable sort.

Records of one process arrive in time order (one pipe per process); should a
lane's records ever arrive out of order, or its requested start become known
late, that lane alone is refolded from the records (rare, O(trace) once).
"""

from __future__ import annotations

from time import perf_counter_ns
from typing import TYPE_CHECKING

import numpy as np

from app.core import events as ev

if TYPE_CHECKING:  # trace.py imports this module: only the type checker reads the other way
    from app.core.trace import ProcessInfo, Trace

_FACT_KINDS = (ev.META, ev.HELLO, ev.ERROR)  # text events that change Trace.processes()
# records folded at a time: each costs ~100 bytes of temporaries (sorting, gathering, the interval block), so
# a replay's 2M records at once would cost 200 MB for a moment
FOLD_CHUNK = 1 << 18


class Grow:
    """Columns that grow by appending rows, with amortised doubling.

    Stored column by column (shape ``(width, capacity)``), so each column is a
    contiguous array: binary searches on it need no copy.
    """

    def __init__(self, dtype, width: int = 1):
        self._dtype = dtype
        self._width = width
        self._data = np.empty((width, 16), dtype=dtype)
        self.n = 0

    def reserve(self, extra: int) -> None:
        need = self.n + extra
        if need > self._data.shape[1]:
            bigger = np.empty((self._width, max(need, 2 * self._data.shape[1])), dtype=self._dtype)
            bigger[:, : self.n] = self._data[:, : self.n]
            self._data = bigger

    def extend(self, rows: np.ndarray) -> None:
        """Append ``rows`` given as (count, width)."""
        self.reserve(len(rows))
        self._data[:, self.n : self.n + len(rows)] = rows.T
        self.n += len(rows)

    def append(self, row: tuple) -> None:
        """Append one row (a live frame brings about one state per lane: no array to build for it)."""
        self.reserve(1)
        self._data[:, self.n] = row
        self.n += 1

    def extend_columns(self, columns: np.ndarray) -> None:
        """Append rows given column by column, as (width, count)."""
        count = columns.shape[1]
        self.reserve(count)
        self._data[:, self.n : self.n + count] = columns
        self.n += count

    def view(self, extra: int = 0) -> np.ndarray:
        """``(width, n)``: the filled rows, plus ``extra`` past them (space that ``reserve`` made)."""
        return self._data[:, : self.n + extra]

    def clear(self) -> None:
        self.n = 0


# --- lanes: per-process state intervals ---------------------------------------------------------------

def _ended(codes: np.ndarray) -> np.ndarray:
    """done/crashed end a lane: they are not intervals."""
    return (codes == ev.DONE) | (codes == ev.CRASHED)


def interval_block(t: np.ndarray, lane_of: np.ndarray, codes: np.ndarray, details: np.ndarray):
    """States grouped by lane (time order within a lane) as intervals: a (4, n) block of start, end
    (the lane's next state), state, detail, and which of them are intervals (not a lane's last state,
    not done/crashed)."""
    n = len(t)
    ends = np.empty(n, dtype=np.int64)
    ends[:-1] = t[1:]
    ends[-1:] = 0
    keep = np.zeros(n, dtype=bool)
    keep[:-1] = lane_of[1:] == lane_of[:-1]
    keep &= ~_ended(codes)
    return np.stack([t, ends, codes, details]), keep


class Lane:
    """One process's intervals: closed ones in a growable array, plus the open (current) state."""

    def __init__(self, index: int):
        self.index = index
        self.ivs = Grow(np.int64, 4)  # closed intervals: start_ns, end_ns, state, detail
        self.open: tuple[int, int, int] | None = None  # the current state: t_ns, code, detail
        self.open_synthetic = False  # the open state is "starting" from requested_ns
        self.requested_ns: int | None = None
        self.exit_ns: int | None = None
        self.last_t: int | None = None  # time of the last folded state
        self.count = 0  # states folded

    # --- folding -------------------------------------------------------------------------
    def close_open(self, first_t: int) -> tuple[int, int, int, int] | None:
        """The open interval closed by a state at ``first_t`` (start, end, state, detail), or None."""
        if self.open is None:
            return None
        t, code, detail = self.open
        self.open = None
        if (self.open_synthetic and t >= first_t) or code in (ev.DONE, ev.CRASHED):
            return None  # "starting" is only an interval before the first state
        return (t, first_t, code, detail)

    def fold(self, t: np.ndarray, codes: np.ndarray, details: np.ndarray) -> None:
        """Fold this lane's new states (in time order, after every state folded so far)."""
        block, keep = interval_block(t, np.zeros(len(t), dtype=np.int64), codes, details)
        self.fold_block(block, keep, 0, len(t))

    def fold_block(self, block: np.ndarray, keep: np.ndarray, a: int, b: int) -> None:
        """Fold states ``a``…``b - 1`` of an ``interval_block`` (this lane's, in time order, after every
        state folded so far): many lanes' new states are made into intervals at once, then handed out."""
        head = self.close_open(int(block[0, a]))
        if head is not None:
            self.ivs.append(head)
        if b - a > 1:
            inner = keep[a : b - 1]
            if inner.all():
                self.ivs.extend_columns(block[:, a : b - 1])
            elif inner.any():
                self.ivs.extend_columns(block[:, a : b - 1][:, inner])
        last = block[:, b - 1].tolist()
        self.open = (last[0], last[2], last[3])
        self.open_synthetic = False
        self.last_t = last[0]
        self.count += b - a

    def rebuild(self, states: np.ndarray) -> None:
        """Refold the lane from all its STATE records (t_ns, code, detail rows, any order)."""
        states = states[np.argsort(states[:, 0], kind="stable")]
        self.ivs.clear()
        self.open = None
        self.last_t = None
        self.count = 0
        self.start_synthetic(int(states[0, 0]) if len(states) else None)
        if len(states):
            self.fold(states[:, 0], states[:, 1], states[:, 2])

    def start_synthetic(self, first_ns: int | None) -> None:
        if self.requested_ns is not None and (first_ns is None or self.requested_ns < first_ns):
            self.open = (self.requested_ns, ev.STARTING, 0)
            self.open_synthetic = True

    def set_info(self, info: ProcessInfo) -> bool:
        """Take the process's facts; True if the lane must be refolded (its requested start moved)."""
        self.exit_ns = info.exit_ns
        if info.requested_ns == self.requested_ns:
            return False
        self.requested_ns = info.requested_ns
        if self.count:
            return True
        self.open = None
        self.start_synthetic(None)
        return False

    # --- reading -------------------------------------------------------------------------
    def intervals(self, end_ns: int) -> np.ndarray:
        """``(4, n)``: start_ns, end_ns, state, detail; the open state lasts until the exit, else ``end_ns``.

        A view into the lane's storage (the open state is written past the closed
        intervals), each row contiguous: valid until the next fold, never copied.
        """
        if self.open is None or self.open[1] in (ev.DONE, ev.CRASHED):
            return self.ivs.view()
        t, code, detail = self.open
        last = self.exit_ns if self.exit_ns is not None else end_ns
        self.ivs.reserve(1)
        cols = self.ivs.view(1)
        cols[:, -1] = (t, max(last, t), code, detail)
        return cols


def lane_intervals(states: np.ndarray, info: ProcessInfo, end_ns: int) -> np.ndarray:
    """``(n, 4)`` start_ns, end_ns, state, detail of one process: its STATE records (t_ns, code, detail
    rows, any order) folded at once, the open state lasting until its exit, else ``end_ns``."""
    lane = Lane(info.index)
    lane.set_info(info)
    lane.rebuild(states)
    return lane.intervals(end_ns).T.copy()


class LaneStore:
    """Every lane of a trace, folded incrementally; reset when the trace changes."""

    def __init__(self):
        self.reset(None)

    def reset(self, trace: Trace | None) -> None:
        self.trace = trace
        self.lanes: dict[int, Lane] = {}
        self.processes: dict[int, ProcessInfo] = {}
        self.processes_version = 0  # bumps whenever ``processes`` was re-read
        self._records_seen = 0
        self._texts_seen = 0
        self.latest_ns: int | None = None
        # bumps whenever a lane's past may have changed (a refold, new process facts): what was drawn
        # of the lanes before is then no longer sure (between bumps lanes only grow at their ends)
        self.generation = getattr(self, "generation", 0) + 1

    def update(self, trace: Trace) -> bool:
        """Fold what was appended since the last call; True if anything changed."""
        if trace is not self.trace:
            self.reset(trace)
        records = trace.records
        new = records[self._records_seen :]
        self._records_seen = len(records)
        texts_now = len(trace.texts)
        new_texts = trace.texts[self._texts_seen : texts_now]  # columns: a long run's prints are not decoded
        self._texts_seen = texts_now
        if not len(new) and not len(new_texts):
            return False
        times = [int(new[:, 0].max())] if len(new) else []
        times += [int(new_texts.times().max())] if len(new_texts) else []
        self.latest_ns = max(times) if self.latest_ns is None else max(self.latest_ns, *times)
        kinds = new[:, 2]
        refold: set[int] = set()
        if np.isin(new_texts.kinds(), _FACT_KINDS).any() or (kinds == ev.EXIT).any():
            self.processes = trace.processes()
            self.processes_version += 1
            self.generation += 1  # an exit time ends an open state earlier than "now"
            for index, info in self.processes.items():
                if index >= 0 and self._lane(index).set_info(info):
                    refold.add(index)
        if len(new) > FOLD_CHUNK:
            self._reserve_lanes(new, kinds)
        for start in range(0, len(new), FOLD_CHUNK):  # a replay's millions of states, a block at a time
            refold |= self._fold_states(new[start:start + FOLD_CHUNK], kinds[start:start + FOLD_CHUNK])
        if refold:
            self.generation += 1
        for index in refold:
            mine = records[(records[:, 1] == index) & (records[:, 2] == ev.STATE)]
            self.lanes[index].rebuild(mine[:, [0, 3, 4]])
        return True

    def _reserve_lanes(self, new: np.ndarray, kinds: np.ndarray) -> None:
        """Room in every lane for all its new states at once (a replay's whole run): folded a block at a time,
        a lane's storage would double its way up and keep up to twice the room it needs (15 MB of 56 MB for
        a 2.5M-event trace)."""
        counts = np.zeros(1, dtype=np.int64)
        for start in range(0, len(new), FOLD_CHUNK):
            block = new[start:start + FOLD_CHUNK, 1][kinds[start:start + FOLD_CHUNK] == ev.STATE]
            block = block[block >= 0]
            if len(block):
                found = np.bincount(block)
                if len(found) > len(counts):
                    found[:len(counts)] += counts
                    counts = found
                else:
                    counts[:len(found)] += found
        for index in np.flatnonzero(counts).tolist():
            self._lane(index).ivs.reserve(int(counts[index]) + 2)  # and a synthetic start and the open state

    def _fold_states(self, new: np.ndarray, kinds: np.ndarray) -> set[int]:
        """Fold new STATE records of every lane at once; the lanes that need a refold instead."""
        lane_column = new[:, 1]
        rows = np.flatnonzero((kinds == ev.STATE) & (lane_column >= 0))
        if not len(rows):
            return set()
        # group by lane, keeping arrival order within a lane (a stable sort: radix on small keys);
        # gather columns with take(): row gathers of the (N, 5) array cost several times more
        keys = np.take(lane_column, rows)
        small = keys.max() < np.iinfo(np.int16).max
        rows = rows[np.argsort(keys.astype(np.int16) if small else keys, kind="stable")]
        t, lane_of = np.take(new[:, 0], rows), np.take(lane_column, rows)
        codes, details = np.take(new[:, 3], rows), np.take(new[:, 4], rows)
        first = np.flatnonzero(np.concatenate([[True], lane_of[1:] != lane_of[:-1]]))
        bounds = [*first.tolist(), len(rows)]
        # a lane whose new records are not in time order is refolded from scratch
        backwards = np.flatnonzero((lane_of[1:] == lane_of[:-1]) & (t[1:] < t[:-1]))
        unordered = set(lane_of[backwards].tolist())
        block, keep = interval_block(t, lane_of, codes, details)
        firsts = t[first].tolist()
        for k, index in enumerate(lane_of[first].tolist()):
            lane = self._lane(index)
            if index in unordered or (lane.last_t is not None and firsts[k] < lane.last_t):
                unordered.add(index)
                continue
            lane.fold_block(block, keep, bounds[k], bounds[k + 1])
        return unordered

    def _lane(self, index: int) -> Lane:
        lane = self.lanes.get(index)
        if lane is None:
            lane = self.lanes[index] = Lane(index)
            info = self.processes.get(index)
            if info is not None:
                lane.set_info(info)
        return lane

    def end_ns(self) -> int:
        """"Now": the end of the run if it ended, else the trace's latest time."""
        trace = self.trace
        if trace is not None and "end_ns" in trace.meta:
            return int(trace.meta["end_ns"])
        if trace is not None and trace.meta.get("status") == ev.RunStatus.RUNNING:
            # A live run: perf_counter_ns is the workers' clock too (system-wide monotonic),
            # so an open state (a process waiting for a lock) reaches the present moment.
            return max(self.latest_ns or 0, perf_counter_ns())
        if self.latest_ns is not None:
            return self.latest_ns
        return trace.t0_ns if trace is not None else 0

    def order(self) -> list[int]:
        """Lane indexes, in lane order."""
        return sorted(set(self.lanes) | {i for i in self.processes if i >= 0})


# --- series: values over time ----------------------------------------------------------------------------

class Series:
    """One growable series kept sorted by time: t_ns and float columns (v1, v2, seconds since the run's t0)."""

    def __init__(self):
        self.t = Grow(np.int64)
        self.v = Grow(np.float64, 3)

    def extend(self, t: np.ndarray, v: np.ndarray) -> None:
        """Append rows: times and (count, 3) float columns."""
        self.extend_columns(t, v.T)

    def extend_columns(self, t: np.ndarray, v: np.ndarray) -> None:
        """Append times and (3, count) float columns."""
        t_out, v_out = self.room(len(t))
        t_out[:] = t
        v_out[:] = v
        self.commit(len(t))

    def room(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Where the next ``count`` rows go (times, (3, count) floats): filled by the caller, then ``commit``.
        A replay's hundreds of thousands of writes are written here directly, not built first and copied."""
        self.t.reserve(count)
        self.v.reserve(count)
        return self.t.view(count)[0, self.t.n:], self.v.view(count)[:, self.v.n:]

    def commit(self, count: int) -> None:
        """The ``count`` rows written into ``room`` belong to the series now (kept in time order)."""
        n = self.t.n
        t = self.t.view(count)[0]
        unsorted = bool(n and count and t[n] < t[n - 1]) or (count > 1 and bool((np.diff(t[n:]) < 0).any()))
        self.t.n += count
        self.v.n += count
        if unsorted:
            t_all, v_all = self.t.view()[0], self.v.view()
            order = np.argsort(t_all, kind="stable")
            t_all[:] = t_all[order]
            for row in v_all:  # a row at a time: one row's temporary, not the three's
                row[:] = row[order]

    def times(self) -> np.ndarray:
        return self.t.view()[0]

    def column(self, k: int) -> np.ndarray:
        return self.v.view()[k]

    def seconds(self) -> np.ndarray:
        """Times in seconds since the run's t0 (kept, not recomputed for every frame)."""
        return self.v.view()[2]

    def __len__(self) -> int:
        return self.t.n


class SeriesStore:
    """Per-key series of one family of records (VALUE writes by slot, SAMPLEs by process)."""

    def __init__(self, kinds: tuple[int, ...], key_column: int):
        self.kinds = kinds
        self.key_column = key_column
        self.reset(None)

    def reset(self, trace: Trace | None) -> None:
        self.trace = trace
        self.series: dict[int, Series] = {}
        self._seen = 0
        self._kept = 0
        self.latest_ns: int | None = None
        self.changed_from_ns: int | None = None  # the earliest time any series changed at since ``take_changed``

    def take_changed(self) -> int | None:
        """The earliest time a series changed at since the last call (None: nothing changed)."""
        changed, self.changed_from_ns = self.changed_from_ns, None
        return changed

    @property
    def folded(self) -> int:
        """How many of the trace's records have been folded (grows with every update that saw news)."""
        return self._seen

    @property
    def kept(self) -> int:
        """How many records of this family the series hold (grows only when one of them grew)."""
        return self._kept

    def update(self, trace: Trace) -> bool:
        """Fold the records appended since the last call; True if any series grew."""
        if trace is not self.trace:
            self.reset(trace)
        records = trace.records
        new = records[self._seen :]
        self._seen = len(records)
        return self.fold(new, trace.t0_ns)

    def fold(self, new: np.ndarray, t0_ns: int = 0) -> bool:
        """Fold records (any kinds, arrived after those folded so far); True if any series grew."""
        if not len(new):
            return False
        times = new[:, 0]
        latest = int(times.max())
        self.latest_ns = latest if self.latest_ns is None else max(self.latest_ns, latest)
        kinds = new[:, 2]
        mask = kinds == self.kinds[0]
        for kind in self.kinds[1:]:
            mask |= kinds == kind
        # Row numbers, then one column at a time: a replay's hundreds of thousands of writes never as copies
        # of their whole rows (a (n, 5) gather, then a sorted copy of it, cost ~50 MB at once)
        at = np.flatnonzero(mask)
        del mask
        if not len(at):
            return False
        keys = new[at, self.key_column]  # (np.take would first copy the whole strided column)
        order = np.argsort(keys, kind="stable")
        at, keys = at[order], keys[order]
        del order
        self._kept += len(at)
        first = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))  # sorted by key above
        bounds = [*first.tolist(), len(at)]
        earliest = None
        for k, key in enumerate(keys[first].tolist()):
            rows = at[bounds[k]: bounds[k + 1]]
            series = self.series.setdefault(key, Series())
            t, columns = series.room(len(rows))
            t[:] = times[rows]
            self.values_into(new, rows, columns[:2])
            columns[2] = t - t0_ns
            columns[2] /= 1e9
            low = int(t.min())
            earliest = low if earliest is None else min(earliest, low)
            series.commit(len(rows))
        self.changed_from_ns = earliest if self.changed_from_ns is None else min(self.changed_from_ns, earliest)
        return True

    def values_into(self, records: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
        """Write the (2, n) float columns of a key's new records (at ``rows`` of ``records``) into ``out``."""
        raise NotImplementedError


class ValueWrites(SeriesStore):
    """Writes to shared values by slot: value (float) and writer process index."""

    def __init__(self):
        super().__init__((ev.VALUE, ev.VALUE_F), 3)

    def values_into(self, records: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
        raw = records[rows, 4]
        out[0] = raw
        floats = records[rows, 2] == ev.VALUE_F
        if floats.any():
            out[0, floats] = raw[floats].view(np.float64)
        del raw
        out[1] = records[rows, 1]


class Samples(SeriesStore):
    """psutil samples by process: CPU % and resident memory in MB."""

    def __init__(self):
        super().__init__((ev.SAMPLE,), 1)

    def values_into(self, records: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
        out[0] = records[rows, 3]
        out[0] /= 100.0
        out[1] = records[rows, 4]
        out[1] /= 1e6


def value_series(records: np.ndarray, slot: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Writes to one shared value, at once: times (ns), values (float), writer indexes, in time order (a
    write's arrival order among equal times), as a ``ValueWrites`` fold gives them, without its growable
    copies (a long run's summary asks for hundreds of thousands of writes)."""
    kinds = records[:, 2]
    # the slot's writes only (a slot number alone also matches every other record whose ``a`` is that number)
    at = np.flatnonzero(((kinds == ev.VALUE) | (kinds == ev.VALUE_F)) & (records[:, 3] == slot))
    times = records[at, 0]
    order = np.argsort(times, kind="stable")
    at, times = at[order], times[order]  # one column at a time: never a copy of the writes' whole rows
    raw = records[at, 4]
    values = raw.astype(np.float64)
    floats = records[at, 2] == ev.VALUE_F
    if floats.any():
        values[floats] = raw[floats].view(np.float64)
    return times, values, records[at, 1]
