"""Pause a run that has no step points: its processes suspended and resumed with psutil (SIGSTOP/SIGCONT
on Linux and macOS, the threads' suspend count on Windows)."""

from __future__ import annotations

import psutil


def suspend(pids) -> list[psutil.Process]:
    """Suspend each process and its children; the ones suspended, to resume later (gone ones are skipped)."""
    done: list[psutil.Process] = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            family = [proc, *proc.children(recursive=True)]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        for member in family:
            try:
                member.suspend()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            done.append(member)
    return done


def resume(procs) -> None:
    """Resume what ``suspend`` suspended (a process that has ended meanwhile is skipped)."""
    for proc in procs:
        try:
            proc.resume()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
