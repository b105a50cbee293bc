"""The machine a benchmark ran on: what the figures mean nothing without."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata

_PACKAGES = ("PySide6-Essentials", "PySide6", "pyqtgraph", "numpy", "psutil")


def describe() -> dict:
    import psutil

    info = {
        "system": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "physical_cpus": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "executable": sys.executable,
        "qt_platform": os.environ.get("QT_QPA_PLATFORM", ""),
        "load_before": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "packages": {},
    }
    for name in _PACKAGES:
        try:
            info["packages"][name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
