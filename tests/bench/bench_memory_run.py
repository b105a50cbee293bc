"""Memory of a long headless run: the command line's peak resident size for a long counter run and
its exports.

``procscope run counter --set workers=64 --set increments=10000 --set hold_s=0 --set lock=none --trace T
--json J --csv C`` (about 1.28M events since a hold of 0 records no sleep; 2.57M before) runs in a fresh Python process,
which prints its own peak resident set (``ru_maxrss`` of RUSAGE_SELF: the command line's process alone, not
its workers) once the command has returned. Baseline: the records' own bytes (events × 5 × 8).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.common import figure

ROOT = Path(__file__).resolve().parents[2]
TARGET_MB = 250.0
MB = 1024 * 1024
FULL = ("--set", "workers=64", "--set", "increments=10000", "--set", "hold_s=0", "--set", "lock=none")
QUICK = ("--set", "workers=4", "--set", "increments=1000", "--set", "hold_s=0", "--set", "lock=none")


def _peak_rss_of_cli(args: tuple[str, ...], folder: str) -> tuple[float, float, int]:
    """Run the CLI once in a fresh process: (its peak RSS in MB, seconds, the trace's event count)."""
    import json

    paths = {name: os.path.join(folder, name) for name in ("run.pstrace", "run.json", "run.csv")}
    cmd = [sys.executable, "-c", _MEASURE, "run", "counter", *args, "--trace", paths["run.pstrace"],
           "--json", paths["run.json"], "--csv", paths["run.csv"]]
    started = time.monotonic()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=400)
    seconds = time.monotonic() - started
    if out.returncode != 0:
        raise RuntimeError(f"the run failed ({out.returncode}): {out.stderr.strip()[-2000:]}")
    peak_kb = int(out.stdout.strip().splitlines()[-1])
    with open(paths["run.json"], encoding="utf-8") as summary:
        events = json.load(summary)["events"]
    return peak_kb * 1024 / MB if sys.platform != "darwin" else peak_kb / MB, seconds, events


# The CLI in this process, its own peak RSS printed last (ru_maxrss: kB on Linux, bytes on macOS). The human
# summary goes to stderr so that the last line of stdout is the figure.
_MEASURE = """
import contextlib, resource, sys
from app.main import main
with contextlib.redirect_stdout(sys.stderr):
    code = main(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
raise SystemExit(code)
"""


def run(quick: bool) -> list[dict]:
    args = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="procscope-memrun-") as folder:
        peak, seconds, events = _peak_rss_of_cli(args, folder)
    size = "2m" if not quick else "quick"
    return [figure(f"memory_run_{size}", [peak], "MB", TARGET_MB, events * 5 * 8 / MB, quick=quick, timing=False,
                   note=f"counter, {' '.join(args[1::2])}: {events:,} events in {seconds:.0f} s; peak RSS of the "
                        "CLI's process, with --trace, --json and --csv")]


if __name__ == "__main__":
    import json

    print(json.dumps(run("--quick" in sys.argv), indent=2))
