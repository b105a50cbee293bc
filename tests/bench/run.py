"""Run every benchmark and write one JSON file: ``python tests/bench/run.py --json FILE [--quick]``.

Each benchmark runs in a fresh Python process (its own Qt, memory and
multiprocessing state), which writes its figures to a temporary file. This
process is the subreaper of everything they start, so a process a benchmark
left behind is found (and reported, and killed) even if its parent is gone.

``--quick``: tiny sizes and few repeats, well under a minute; the JSON is as
valid, but timing figures carry no verdict (``pass`` is null).

This module is the ``__main__`` that spawned children re-import as
``__mp_main__``: it imports nothing heavy at the top.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The ones that time single frames or a single launch first: the 64-process ones leave a shared 2-core
# machine busy for a while after them (see _settle).
BENCHMARKS = ("render", "launch", "memory", "overhead", "start", "stop", "ingest", "latency", "memory_run",
              "replay", "script_overhead")
SETTLE = (20.0, 10.0)  # before each benchmark: until the CPUs are at most 20 % busy, for at most 10 s
TIMEOUT_S = {"full": 420, "quick": 60}  # one benchmark's process, at most


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="write the results here ('-' for stdout)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few repeats, no verdicts on timing")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, metavar="NAME",
                        help=f"run only these: {', '.join(BENCHMARKS)}")
    parser.add_argument("--one", choices=BENCHMARKS, help=argparse.SUPPRESS)  # internal: run one, in this process
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        return _run_one(args.one, args.quick, args.out)
    return _run_all(args.only or BENCHMARKS, args.quick, args.json)


def _prepare_child() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _run_one(name: str, quick: bool, out: str) -> int:
    """Inside a benchmark's own process: run it, check that it left no process, write its rows."""
    _prepare_child()
    import importlib

    from tests.bench.common import leftover_processes

    module = importlib.import_module(f"tests.bench.bench_{name}")
    rows = module.run(quick)
    left = leftover_processes()
    Path(out).write_text(json.dumps({"rows": rows, "left": left}), encoding="utf-8")
    return 0


def _run_all(names, quick: bool, json_path: str | None) -> int:
    _become_subreaper()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the benchmarks' processes inherit it
    from tests.bench.machine import describe

    machine = describe()
    machine["bytecode_cache"] = bench_env()["PYTHONPYCACHEPREFIX"]
    started = time.monotonic()
    rows, left, errors = [], {}, {}
    mode = "quick" if quick else "full"
    for name in names:
        t = time.monotonic()
        if not quick:
            _settle()
        print(f"… {name}", file=sys.stderr, flush=True)
        result, error = _run_child(name, quick, TIMEOUT_S[mode])
        if error:
            errors[name] = error
            rows.append({"name": name, "figure": None, "unit": "", "median": None, "min": None, "max": None,
                         "target": None, "baseline": None, "ratio": None, "pass": False, "error": error})
        else:
            rows += result["rows"]
        stray = _reap_descendants() + (result.get("left", []) if result else [])
        if stray:
            left[name] = sorted(set(stray))
        print(f"  {name}: {time.monotonic() - t:.1f} s", file=sys.stderr, flush=True)
    machine["load_after"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    report = {"machine": machine, "mode": mode, "duration_s": round(time.monotonic() - started, 1),
              "benchmarks": rows, "processes_left": left, "errors": errors}
    from tests.bench.table import render

    print(render(report), file=sys.stderr if json_path == "-" else sys.stdout)
    if json_path == "-":
        json.dump(report, sys.stdout, indent=2)
        print()
    elif json_path:
        Path(json_path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    failed = errors or left or any(r.get("pass") is False for r in rows)
    return 1 if failed else 0


def _settle() -> None:
    """Wait for the machine to calm down after the previous benchmark (its processes' exits, the page
    cache, other users of a shared machine) — until it is quiet or for ``SETTLE[1]`` s at most."""
    import psutil

    busy_max, wait_max = SETTLE
    deadline = time.monotonic() + wait_max
    while time.monotonic() < deadline and psutil.cpu_percent(interval=0.5) > busy_max:
        pass


def _run_child(name: str, quick: bool, timeout: float) -> tuple[dict | None, str | None]:
    with tempfile.TemporaryDirectory(prefix="procscope-bench-") as tmp:
        out = Path(tmp) / "rows.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--one", name, "--out", str(out)]
        if quick:
            cmd.append("--quick")
        env = bench_env()
        try:
            proc = subprocess.run(cmd, cwd=ROOT, env=env, timeout=timeout, capture_output=True, text=True)
        except subprocess.TimeoutExpired:
            return None, f"timed out after {timeout} s"
        if proc.returncode != 0 or not out.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-12:]
            return None, f"exit code {proc.returncode}: " + "\n".join(tail)
        return json.loads(out.read_text(encoding="utf-8")), None


def bench_env() -> dict:
    """The environment of the benchmarks' processes.

    Bytecode is cached (in a directory of its own, not in the repository), as
    it is for an installed or a frozen app: with ``PYTHONDONTWRITEBYTECODE``
    every process would compile every module of ProcScope it imports, and a
    spawned worker would start several times slower than it does for users.
    """
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "procscope-bench-pycache"))
    return env


def _become_subreaper() -> None:
    """Orphans of the benchmarks' processes become ours (Linux), so none can hide from the check."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
        except (OSError, AttributeError):
            pass


def _reap_descendants(grace: float = 5.0) -> list[int]:
    """Descendants still running after a benchmark's process ended: report their pids, then kill them."""
    import psutil

    deadline = time.monotonic() + grace
    while True:
        alive = [p for p in psutil.Process().children(recursive=True) if _running(p)]
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(psutil.Process().children(recursive=True), timeout=2)  # reap the zombies
    return [p.pid for p in alive]


def _running(proc) -> bool:
    import psutil

    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


if __name__ == "__main__":
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
