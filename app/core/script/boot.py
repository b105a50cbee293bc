"""The script's main process: ``python .../app/core/script/boot.py SCRIPT ARGS...``.

Run by its path, not as ``-m app...``: the script's folder or cwd may hold an ``app`` of its own,
and by the time this runs, ``sitecustomize`` has installed the instrumentation and freed the
name ``app`` (``agent._free_app_name``); the agent is reached by its private alias.

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
    if getattr(sys, "frozen", False):  # the frozen app's own paths come first in sys.path: keep them
        sys.path.insert(0, os.path.dirname(script))
    else:
        sys.path[0] = os.path.dirname(script)  # this file's folder was there; ``python SCRIPT`` puts the script's
    agent = _agent()
    ev = agent.ev
    p = agent.connect("MainProcess", "main", main_file=script)
    if p is not None:
        agent.watch_procscope()  # ProcScope killed: the script goes too
        _flush_at_exit(agent)
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




def _agent():
    """The installed agent; installed here if ``sitecustomize`` could not (``python -S``, a hook that failed)."""
    agent = sys.modules.get("_procscope_agent")
    if agent is None:
        from app.core.script import agent

        agent.install()
    return agent


def _flush_at_exit(agent) -> None:
    """Send the last events after multiprocessing's own exit handler (it joins the children the
    script did not join, which shows as waiting), in that handler's place among the atexit calls."""
    import atexit
    from multiprocessing import util

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
