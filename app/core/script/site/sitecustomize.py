"""Loaded at start-up by every Python process of a script that ProcScope traces (its folder is on PYTHONPATH).

It installs the instrumentation before any of the script's code runs, then hands over to the
``sitecustomize`` this one hides, if there is one, and leaves ``sys.path`` as it found it.
"""

import os
import sys


def _procscope_install():
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        from app.core.script import agent

        agent.install()
    except Exception as exc:  # noqa: BLE001 - never keep the script from running
        sys.stderr.write(f"procscope: the script is not traced in this process: {type(exc).__name__}: {exc}\n")
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    import importlib.machinery
    import importlib.util

    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", sys.path)
    if spec is not None and spec.origin and os.path.dirname(os.path.abspath(spec.origin)) != here:
        module = importlib.util.module_from_spec(spec)
        sys.modules["sitecustomize"] = module
        spec.loader.exec_module(module)


_procscope_install()
del _procscope_install
