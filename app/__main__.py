"""Spawn-safe entry point: ``python -m app`` and the packaged executable.

``freeze_support()`` must run first, before any heavy import: in a frozen
app every child re-enters this file, and without the call it would run
``main()`` again (extra windows, hangs, a fork bomb).
"""

import multiprocessing

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from app.main import main

    raise SystemExit(main())
