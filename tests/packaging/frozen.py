"""Run the frozen executable and say what is wrong with what it did (empty: nothing)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

HELPER_MARKERS = ("resource_tracker", "forkserver")


def counts(path: Path) -> dict[str, int]:
    found: dict[str, int] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            event = line.split()[0]
            found[event] = found.get(event, 0) + 1
    return found


def first_time(path: Path, event: str) -> float | None:
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        parts = line.split()
        if parts[0] == event:
            return float(parts[2])
    return None


class TreeWatch:
    """Samples the process tree under a pid: its peak size, and every process it ever had."""

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.peak = 0
        self.seen: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                kids = self.root.children(recursive=True)
            except psutil.Error:
                break
            for kid in kids:
                self.seen.setdefault(kid.pid, kid)
            self.peak = max(self.peak, len(kids))
            self._stop.wait(0.02)

    def stop(self) -> list[psutil.Process]:
        """Stop watching; the processes of the tree still running."""
        self._stop.set()
        self._thread.join(5)
        alive = []
        for proc in self.seen.values():
            try:
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(proc)
            except psutil.Error:
                continue
        return alive


@dataclass
class FrozenRun:
    code: int
    counts: dict[str, int]
    peak: int  # the most processes the tree had at once
    survivors: list  # processes of the tree still running after the executable ended
    seconds: float
    count_file: Path
    launched_at: float  # unix time just before the executable was started

    def first(self, event: str) -> float | None:
        return first_time(self.count_file, event)


def run_frozen(exe: Path, args: list[str], workdir: Path, env_extra: dict | None = None, timeout: float = 180,
               close_streams: bool = False) -> FrozenRun:
    """Run the executable, watching its process tree and counting its main() entries and windows."""
    count_file = workdir / f"counts-{time.monotonic_ns()}.txt"
    # XDG_CONFIG_HOME: the frozen window saves its settings there, not in the user's own.
    env = dict(os.environ, PROCSCOPE_COUNT_FILE=str(count_file), XDG_CONFIG_HOME=str(workdir / "config"),
               **(env_extra or {}))
    launched_at = time.time()
    started = time.monotonic()
    kwargs = {}
    if close_streams and os.name != "nt":
        # What a windowed build gets: no stdout, no stderr at all (sys.stdout is None).
        kwargs["preexec_fn"] = lambda: (os.close(1), os.close(2))
        stdout = stderr = None
    else:
        stdout = stderr = subprocess.DEVNULL
    proc = subprocess.Popen([str(exe), *args], cwd=workdir, env=env, stdout=stdout, stderr=stderr,
                            stdin=subprocess.DEVNULL, **kwargs)
    watch = TreeWatch(proc.pid)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        for kid in watch.root.children(recursive=True):
            kid.kill()
        proc.kill()
        code = proc.wait()
    seconds = time.monotonic() - started
    _gone, survivors = psutil.wait_procs(watch.stop(), timeout=10)
    survivors = [p for p in survivors if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    for proc_left in survivors:
        proc_left.kill()
    return FrozenRun(code, counts(count_file), watch.peak, survivors, seconds, count_file, launched_at)


def check_headless_run(exe: Path, lesson: str, method: str, params: list[str], workdir: Path,
                       expected_processes: int) -> tuple[list[str], dict, float]:
    """Problems of one headless frozen run (empty list: none), its summary and its duration."""
    out = workdir / f"{lesson}-{method}.json"
    sets = [arg for p in params for arg in ("--set", p)]
    run = run_frozen(exe, ["run", lesson, *sets, "--start-method", method, "--json", str(out), "--timeout", "120"],
                     workdir)
    code, seen, peak, survivors, seconds = run.code, run.counts, run.peak, run.survivors, run.seconds
    problems = []
    if code != 0:
        problems.append(f"exit code {code}")
    if seen.get("main", 0) != 1:
        problems.append(f"main() entered {seen.get('main', 0)} times (re-entry in children)")
    if seen.get("window", 0):
        problems.append(f"{seen['window']} window(s) built by a headless run")
    # the run's processes, plus multiprocessing's resource tracker and fork server
    if peak > expected_processes + 2:
        problems.append(f"process tree peaked at {peak}, more than {expected_processes} + 2 helpers")
    if survivors:
        problems.append(f"processes left: {[p.pid for p in survivors]}")
    summary = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    if not summary:
        problems.append("no --json summary written")
    return problems, summary, seconds
