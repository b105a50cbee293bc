"""Python's cyclic garbage collection only in the GUI thread, between events.

Left automatic, the collector runs wherever an allocation crosses its threshold: in
the middle of a paint (a lane's QGraphicsItem freed while the scene draws it) or in
one of the run's threads (the receiver, the sampler), where freeing a Qt object
crashes Qt. A test of the window died that way (a segmentation fault while
"Garbage-collecting" inside pyqtgraph's prepareForPaint). So the automatic
collector is off while the window lives, and a timer of the GUI thread collects
each generation when its count passes the usual threshold (pyqtgraph's own remedy,
``pyqtgraph.util.garbage_collector``, kept here to own its timer's lifetime).
A process forked from the window (a lesson's workers under fork) gets the
automatic collector back at once.
"""

from __future__ import annotations

import gc
import os

from PySide6.QtCore import QCoreApplication, QTimer

INTERVAL_MS = 250  # gen-0 garbage waits at most this long; a check with nothing to do costs ~1 µs

_timer: QTimer | None = None


def collect_in_gui_thread() -> None:
    """Turn the automatic collector off and collect from a timer of the application (idempotent)."""
    global _timer
    app = QCoreApplication.instance()
    if app is None or _timer is not None:
        return
    threshold = gc.get_threshold()

    def check() -> None:
        counts = gc.get_count()
        for generation in range(3):  # like the automatic collector: an older one only when its count is due
            if counts[generation] <= threshold[generation]:
                break
            gc.collect(generation)

    _timer = QTimer(app)
    _timer.setObjectName("guiGarbageCollector")
    _timer.timeout.connect(check)
    _timer.start(INTERVAL_MS)
    gc.disable()
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=gc.enable)  # a forked worker is not a GUI: collect as usual
