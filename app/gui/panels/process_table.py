"""The process table: one row per process of the run, read from the trace.

Columns: name, pid, ppid, role, state (now, or at the cursor), start latency,
exit code, how it ended, CPU % and memory (the latest psutil sample at or
before the cursor). The state cell wears the state's colour (the same colours as the lanes).

Rows are updated in place (keyed by the process's lane index), with sorting
switched off while they change and back on after, so a live refresh keeps the
user's sort order, selection and scroll position.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from app.core import events as ev
from app.core.events import RunStatus
from app.core.trace import ProcessInfo, Trace
from app.gui.panels._latest import LatestRecords
from app.gui.state_names import run_status_texts, state_texts
from app.gui.view import TraceViewMixin

SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # the value a column sorts by (None sorts last)
INDEX_ROLE = Qt.ItemDataRole.UserRole  # on the name cell: the process's lane index
STATE_ROLE = Qt.ItemDataRole.UserRole + 2  # on the state cell: the state name ("" when not started)

(COL_NAME, COL_PID, COL_PPID, COL_ROLE, COL_STATE, COL_LATENCY, COL_EXIT, COL_ENDED, COL_CPU,
 COL_MEMORY) = range(10)
COLUMNS = 10
MB = 1024 * 1024
MISSING = "—"
ENDED_DONE = ev.EXIT_HOW[ev.EXIT_DONE]
# how a process ended without its final event: killed by the run (stopped/terminated) or from outside (crashed)
ENDED_KILLED = frozenset(ev.EXIT_HOW[how] for how in (ev.EXIT_CRASHED, ev.EXIT_TERMINATED, ev.EXIT_STOPPED))
NOT_STARTED = "not started"


class _Item(QTableWidgetItem):
    """A cell that sorts by its ``SORT_ROLE`` value (numbers as numbers), missing values last."""

    def __lt__(self, other: QTableWidgetItem) -> bool:
        mine, theirs = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if mine is None or theirs is None:
            return mine is not None and theirs is None
        if isinstance(mine, str) != isinstance(theirs, str):
            return not isinstance(mine, str)
        return mine < theirs


def _readable_on(color: str) -> QColor:
    """Black or white text, whichever reads better on ``color``."""
    c = QColor(color)
    luminance = 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue()
    return QColor("#000000") if luminance > 140 else QColor("#FFFFFF")


class ProcessTable(QTableWidget, TraceViewMixin):
    """A row per process. Public: ``set_trace``, ``refresh``, ``set_cursor``, ``retranslate``, ``row_of``."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, COLUMNS, parent)
        self.setObjectName("processTable")
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        # Every column as wide as its contents; a narrow panel scrolls sideways rather than squash columns.
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.horizontalHeader().setStretchLastSection(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self._widen = True  # texts changed since the columns were last sized
        self.setSortingEnabled(True)
        self.sortByColumn(COL_NAME, Qt.SortOrder.AscendingOrder)
        self._states = LatestRecords(ev.STATE)
        self._samples = LatestRecords(ev.SAMPLE)
        self._words: dict[str, str] = {}
        self.retranslate()

    # --- TraceViewMixin --------------------------------------------------------------
    def set_trace(self, trace: Trace | None) -> None:
        self._states.reset()
        self._samples.reset()
        self.setRowCount(0)
        super().set_trace(trace)

    def retranslate(self) -> None:
        self.setHorizontalHeaderLabels([
            self.tr("Name"), self.tr("PID"), self.tr("PPID"), self.tr("Role"), self.tr("State"),
            self.tr("Start latency (ms)"), self.tr("Exit code"), self.tr("Ended"), self.tr("CPU %"),
            self.tr("Memory (MB)"),
        ])
        self.horizontalHeaderItem(COL_LATENCY).setToolTip(
            self.tr("From the moment the parent asked for the process to its first sign of life"))
        self.horizontalHeaderItem(COL_CPU).setToolTip(self.tr("Latest psutil sample at or before the cursor"))
        self.horizontalHeaderItem(COL_MEMORY).setToolTip(self.tr("Latest psutil sample at or before the cursor"))
        run_words = run_status_texts()
        self._words = {
            **state_texts(),  # states of a process; "done" and "crashed" are also how one ended
            NOT_STARTED: self.tr("not started"),
            # how a process ended (ProcessInfo.ended), besides done and crashed
            RunStatus.RUNNING: run_words[RunStatus.RUNNING],
            ev.EXIT_HOW[ev.EXIT_TERMINATED]: self.tr("terminated"),
            ev.EXIT_HOW[ev.EXIT_STOPPED]: run_words[RunStatus.STOPPED],
            # roles
            "worker": self.tr("worker"),
            "pool": self.tr("pool worker"),
            "manager": self.tr("manager server"),
        }
        self._widen = True
        self._drawn_version = -1
        self.refresh()

    def redraw(self, trace: Trace | None) -> None:
        if trace is None:
            self.setRowCount(0)
            return
        procs = trace.processes()
        records = trace.records
        cursor = self._cursor_ns
        states = self._states.at(records, cursor)
        samples = self._samples.at(records, cursor)
        rows = self._rows_by_index()
        sorting = self.isSortingEnabled()
        self.setSortingEnabled(False)  # rows must not move while their cells change
        self.setUpdatesEnabled(False)
        try:
            for index, info in procs.items():
                row = rows.get(index)
                if row is None:
                    row = self.rowCount()
                    self.insertRow(row)
                    for col in range(COLUMNS):
                        item = _Item()
                        if col not in (COL_NAME, COL_ROLE, COL_STATE, COL_ENDED):
                            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                        self.setItem(row, col, item)
                    self.item(row, COL_NAME).setData(INDEX_ROLE, index)
                self._fill(row, info, states.get(index), samples.get(index), cursor, trace)
            for index, row in sorted(rows.items(), key=lambda kv: -kv[1]):
                if index not in procs:
                    self.removeRow(row)
        finally:
            self.setSortingEnabled(sorting)  # re-sorts by the user's column and order
            self.setUpdatesEnabled(True)
        if self._widen:  # sized only when a text changed (a live run refreshes the table ~4 times a second)
            self._widen = False
            self.resizeColumnsToContents()

    # --- helpers -------------------------------------------------------------------
    def row_of(self, index: int) -> int | None:
        """The row that currently shows the process with lane ``index``."""
        return self._rows_by_index().get(index)

    def _rows_by_index(self) -> dict[int, int]:
        found = {}
        for row in range(self.rowCount()):
            item = self.item(row, COL_NAME)
            if item is not None and item.data(INDEX_ROLE) is not None:
                found[int(item.data(INDEX_ROLE))] = row
        return found

    def _set(self, row: int, col: int, text: str, sort_value=None, tooltip: str = "") -> QTableWidgetItem:
        item = self.item(row, col)
        shown = (text, sort_value, tooltip)
        if getattr(item, "shown", None) == shown:
            return item  # 64 processes × 11 cells at every refresh: compare in Python, not through Qt
        item.shown = shown
        if item.text() != text:
            self._widen = self._widen or len(text) > len(item.text())
            item.setText(text)
        if item.data(SORT_ROLE) != sort_value:
            item.setData(SORT_ROLE, sort_value)
        if item.toolTip() != tooltip:
            item.setToolTip(tooltip)
        return item

    def _fill(self, row: int, info: ProcessInfo, state, sample, cursor: int | None, trace: Trace) -> None:
        w = self._words
        exited = info.exit_ns is not None and (cursor is None or info.exit_ns <= cursor)
        started = (
            cursor is None or state is not None
            or (info.requested_ns is not None and info.requested_ns <= cursor)
            or (info.first_ns is not None and info.first_ns <= cursor)
        )
        code = state[1] if state is not None else None
        if exited and code not in (ev.DONE, ev.CRASHED):
            # ended without its final event: killed by the run (stopped/terminated) or crashed
            name = info.ended if info.ended in ENDED_KILLED else ENDED_DONE
        elif code is None:
            name = ev.STATE_NAMES[ev.STARTING] if started else NOT_STARTED
        else:
            name = ev.STATE_NAMES[code] if 0 <= code < len(ev.STATE_NAMES) else ev.STATE_NAMES[ev.WORKING]

        self._set(row, COL_NAME, info.name or f"#{info.index}", info.index,  # sorts in lane order
                  tooltip=info.main_file or "")
        self._set(row, COL_PID, _num(info.pid), info.pid)
        self._set(row, COL_PPID, _num(info.ppid), info.ppid)
        self._set(row, COL_ROLE, w.get(info.role, info.role), info.role)

        item = self._set(row, COL_STATE, w.get(name, name), name)
        if item.data(STATE_ROLE) != name:
            item.setData(STATE_ROLE, name)
            if name == NOT_STARTED:
                item.setBackground(QBrush())
                item.setForeground(QBrush())
            else:
                color = ev.STATE_COLORS.get(name, ev.STATE_COLORS[ENDED_DONE])  # stopped/terminated: ended
                item.setBackground(QBrush(QColor(color)))
                item.setForeground(QBrush(_readable_on(color)))

        latency = info.start_latency_s()
        if latency is not None and cursor is not None and (info.first_ns is None or info.first_ns > cursor):
            latency = None
        self._set(row, COL_LATENCY, MISSING if latency is None else f"{latency * 1000:.1f}",
                  None if latency is None else latency)
        self._set(row, COL_EXIT, _num(info.exitcode) if exited else MISSING, info.exitcode if exited else None)
        ended = info.ended if exited else (RunStatus.RUNNING.value if started else NOT_STARTED)
        self._set(row, COL_ENDED, w.get(ended, ended), ended)
        if sample is not None:
            t_ns, cpu, rss = sample
            when = self.tr("sampled at {t} s").format(t=f"{trace.seconds(t_ns):.2f}")
            self._set(row, COL_CPU, f"{cpu / 100:.1f}", cpu / 100, when)
            self._set(row, COL_MEMORY, f"{rss / MB:.1f}", rss / MB, when)
        else:
            self._set(row, COL_CPU, MISSING, None)
            self._set(row, COL_MEMORY, MISSING, None)


def _num(value) -> str:
    return MISSING if value is None else str(value)
