"""Memory: resident size of a 1M-event trace, and of the plots showing it (the target: ≤ 64 MB for the trace).

Each repeat is a fresh process (``--measure``) that imports everything first,
shows the empty ActivityPlot and ValuePlot, then builds the trace as a run
does (1M records appended 64 at a time, each batch ``np.frombuffer`` of its own
``bytes`` — 500k state changes over 64 lanes,
500k writes over 64 value slots — plus the texts of 64 processes) and reads it
once, as the display timer does; the trace's figure is the growth of the
resident set (the generated records exist before the first reading: each
message is a fresh ``bytes``, as ``recv_bytes`` gives it). Then both plots are given the trace and painted: the GUI's
figure is the further growth. Baseline: the records' own bytes (N × 5 × 8).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.bench.common import figure

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 1_000_000
TARGET_MB = 64.0
MB = 1024 * 1024


def measure(events: int) -> dict:
    """In this (fresh) process: resident growth for the trace and for the plots showing it (bytes)."""
    import numpy as np
    import psutil
    from PySide6.QtWidgets import QApplication

    from app.core import events as ev
    from app.core.trace import Trace
    from app.gui.plots.lanes import ActivityPlot
    from app.gui.plots.values import ValuePlot
    from tests.bench.synth import BATCH_RECORDS, make_rows

    app = QApplication.instance() or QApplication([])
    plots = [ActivityPlot(), ValuePlot()]
    for plot in plots:
        plot.resize(1000, 400)
        plot.show()
    app.processEvents()
    meta, texts, rows = make_rows(events // 2, events - events // 2, status="done")
    me = psutil.Process()
    gc.collect()
    before = me.memory_info().rss
    trace = Trace(meta)
    trace.append(None, texts)
    for start in range(0, len(rows), BATCH_RECORDS):  # as the runner does: one message at a time, from bytes
        data = rows[start:start + BATCH_RECORDS].tobytes()
        trace.append(np.frombuffer(data, dtype=np.int64).reshape(-1, ev.RECORD_FIELDS))
    records = trace.records  # read once, as the display timer (or the summary) does
    gc.collect()
    with_trace = me.memory_info().rss
    for plot in plots:
        plot.set_trace(trace)
        plot.grab()
    app.processEvents()
    gc.collect()
    with_gui = me.memory_info().rss
    texts = len(trace.texts)
    for plot in plots:
        plot.close()
    return {"trace": with_trace - before, "gui": with_gui - with_trace, "records": len(records), "texts": texts,
            "raw": records.nbytes}


def run(quick: bool) -> list[dict]:
    events, repeats = (20_000, 1) if quick else (EVENTS, 3)
    results = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-m", "tests.bench.bench_memory", "--measure", str(events)], cwd=ROOT,
                             capture_output=True, text=True, timeout=300,
                             env=dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen")))
        if out.returncode != 0:
            raise RuntimeError(f"the memory measurement failed: {out.stderr.strip()[-2000:]}")
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    raw_mb = results[0]["raw"] / MB
    half = f"{events // 2:,}"
    note = (f"{results[0]['records']:,} records + {results[0]['texts']} texts ({half} states / 64 lanes, {half} "
            "writes / 64 slots); baseline: the records' own bytes")
    size = f"{events // 1000}k" if events < 1_000_000 else f"{events // 1_000_000}m"
    return [
        figure(f"memory_trace_{size}", [r["trace"] / MB for r in results], "MB", TARGET_MB, raw_mb, quick=quick,
               note=note),
        figure(f"memory_gui_{size}", [r["gui"] / MB for r in results], "MB", None, raw_mb, quick=quick,
               note="ActivityPlot + ValuePlot holding and showing that trace, on top of the trace itself"),
    ]


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        print(json.dumps(measure(int(sys.argv[2]))))
