"""Your own program, live: run any multiprocessing script unchanged and record it as a lesson's trace.

ProcScope's side: ``check`` (is it a runnable Python file), ``session`` (start the
script, receive its events, end every process of it), ``result`` (the summary's
``result``). The script's side, in each of its Python processes: ``site/sitecustomize.py``
loads ``agent`` (the connection, the process's lane, its console) and ``patches`` /
``pools`` (what multiprocessing does, as states). ``boot`` runs the script as ``__main__``.

The script's side imports the standard library and ``app.core.events`` / ``app.core.probe`` only.
"""

SCRIPT_LESSON = "script"  # the ``lesson`` of a script run's trace and summary
