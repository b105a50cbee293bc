"""The script's main process: ``python -m app.core.script.boot SCRIPT ARGS...``.

Runs SCRIPT as ``python SCRIPT ARGS...`` would: as ``__main__`` (so that spawned children
import it as ``__mp_main__``), with its ``sys.argv``, its folder first on ``sys.path``; an
uncaught exception is printed as Python prints it (from the script's own frame down) and
exits 1; ``SystemExit`` keeps its meaning. ProcScope started it in the script's folder's cwd.
"""

from __future__ import annotations

import os
import runpy
import sys


def main() -> None:
    script = os.path.abspath(sys.argv[1])
    sys.argv = sys.argv[1:]
    sys.path[0] = os.path.dirname(script)  # ``-m`` put the cwd there; ``python SCRIPT`` puts the script's folder
    from app.core import events as ev
    from app.core.script import agent

    agent.install()
    p = agent.connect("MainProcess", "main", main_file=script)
    if p is not None:
        from app.core import probe as probe_module

        probe_module.watch_parent()  # ProcScope killed: the script goes too
        _flush_at_exit()
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit:
        raise
    except BaseException as exc:
        import traceback

        tb = exc.__traceback__
        while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != script:
            tb = tb.tb_next
        exc.__traceback__ = agent.strip_own_frames(tb or exc.__traceback__)
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        if agent.probe is not None:
            agent.probe.text(ev.ERROR, text)
        if isinstance(exc, KeyboardInterrupt):
            raise
        sys.stderr.write(text)
        sys.exit(1)


def _flush_at_exit() -> None:
    """Send the last events after multiprocessing's own exit handler (it joins the children the
    script did not join, which shows as waiting), in that handler's place among the atexit calls."""
    import atexit
    from multiprocessing import util

    from app.core.script import agent

    plain = util._exit_function

    def exit_function(*args, **kwargs):
        try:
            plain(*args, **kwargs)
        finally:
            p = agent.probe
            if p is not None:
                for stream in (sys.stdout, sys.stderr):
                    if isinstance(stream, agent.Tee):
                        stream.flush_partial(p)
                p.flush()

    atexit.unregister(plain)
    atexit.register(exit_function)


if __name__ == "__main__":
    main()
