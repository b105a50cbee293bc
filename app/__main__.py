"""Spawn-safe entry point: ``python -m app`` and the packaged executable.

``freeze_support()`` must run first, before any heavy import: in a frozen
app every child re-enters this file, and without the call it would run
``main()`` again (extra windows, hangs, a fork bomb).

A frozen app has no ``python`` to run a traced script with, so its own
executable is that interpreter: ``ProcScope --procscope-boot SCRIPT ARGS…``
runs the script as ``app/core/script/boot.py`` does. Every process of a
traced script (the script's main, its spawned children, the fork server)
re-enters this file with the run's address in its environment; there the
instrumentation is installed here, before ``freeze_support()`` hands over to
multiprocessing — what ``sitecustomize`` does for a plain Python.
"""

import multiprocessing
import os
import sys

BOOT_FLAG = "--procscope-boot"  # app.core.script.session.BOOT_FLAG (not imported: this file stays light)
SCRIPT_ADDRESS = "PROCSCOPE_SCRIPT_ADDRESS"  # app.core.script.protocol.ENV_ADDRESS


def _frozen_script_process() -> None:
    """In the frozen app, a process of a traced script: instrument it; the script's main: run the script."""
    boot = None
    if len(sys.argv) > 1 and sys.argv[1] == BOOT_FLAG:
        del sys.argv[1]  # boot reads [executable, SCRIPT, ARGS…]
        from app.core.script import boot
    if os.environ.get(SCRIPT_ADDRESS):
        try:
            from app.core.script import agent

            agent.install()
        except Exception as exc:  # noqa: BLE001 - never keep the script from running
            sys.stderr.write(f"procscope: the script is not traced in this process: {type(exc).__name__}: {exc}\n")
    if boot is not None:
        boot.main()
        sys.exit(0)


if __name__ == "__main__":
    # PyInstaller's freeze_support (its runtime hook's, which also runs the fork server and resource tracker),
    # taken before the instrumentation re-binds multiprocessing's names to the context's own
    freeze_support = multiprocessing.freeze_support
    if getattr(sys, "frozen", False):
        _frozen_script_process()
    freeze_support()
    from app.main import main

    raise SystemExit(main())
