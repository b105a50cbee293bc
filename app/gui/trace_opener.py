"""Opening a trace file off the GUI thread, with progress and Cancel.

A big replay (millions of records) takes seconds to read and check; the window
must stay responsive meanwhile and the user must be able to give up. The load
and the summary run in a plain Python thread; its outcome comes back to the GUI
thread through a queued signal. A cancel that arrives after the load finished
still wins: what the user cancelled is never shown.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from app.core.summary import build_summary
from app.core.trace import Trace, release_freed_memory
from app.core.trace_schema import LoadCancelled


class TraceOpener(QObject):
    opened = Signal(str, object, object)  # path, trace, summary
    failed = Signal(str, object)  # path, the exception (TraceFormatError: the file; any other: the summary)
    cancelled = Signal(str)
    _progress = Signal(int)
    _done = Signal(str, object, object, object)

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self._parent = parent
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self.dialog: QProgressDialog | None = None
        self._done.connect(self._finish, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def start(self, path: str, max_records: int | None = None) -> bool:
        if self.busy:
            return False
        self._cancel = threading.Event()
        self.dialog = QProgressDialog(self.tr("Opening {0}…").format(path), self.tr("Cancel"), 0, 100, self._parent)
        self.dialog.setObjectName("openProgress")
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setMinimumDuration(300)  # a small file opens before the dialog would show
        self.dialog.canceled.connect(self.cancel)
        self._progress.connect(self.dialog.setValue, Qt.ConnectionType.QueuedConnection)
        self._thread = threading.Thread(target=self._work, args=(path, max_records, self._cancel),
                                        name="procscope-open-trace", daemon=True)
        self._thread.start()
        return True

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self) -> None:
        """Cancel and wait for the thread (the window is closing)."""
        self._cancel.set()
        if self._thread is not None:
            self._thread.join()

    def _work(self, path: str, max_records: int | None, cancel: threading.Event) -> None:
        def progress(fraction: float) -> None:
            if cancel.is_set():
                raise LoadCancelled
            self._progress.emit(int(fraction * 100))

        try:
            trace = Trace.load(path, max_records, progress)
            summary = build_summary(trace)
            release_freed_memory()  # the summary's passes over millions of records freed tens of MB
        except LoadCancelled:
            self._done.emit(path, None, None, None)
        except Exception as exc:  # noqa: BLE001 - reported in the window, whatever it is
            self._done.emit(path, None, None, exc)
        else:
            self._done.emit(path, trace, summary, None)

    def _finish(self, path: str, trace, summary, error) -> None:
        if self._thread is not None:
            self._thread.join()  # it has emitted its last signal: ends at once
        self._thread = None
        if self.dialog is not None:
            self.dialog.canceled.disconnect(self.cancel)
            self._progress.disconnect(self.dialog.setValue)
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None
        if self._cancel.is_set():
            self.cancelled.emit(path)
        elif error is not None:
            self.failed.emit(path, error)
        else:
            self.opened.emit(path, trace, summary)
