"""The headless command line: ``list``, ``run``, ``code``.

Exit codes: 0 done · 2 bad input (one line naming the parameter, the value and
what is allowed; nothing written, nothing started) · 3 the run failed, crashed
or timed out, a ``--schedule`` step was refused, or an output could not be written or drawn (one line naming it and
the OS error; no output file kept) or SIGTERM stopped it (everything it started
is gone, nothing written).

Qt is loaded only for ``run --png``: every other command runs where PySide6 is
not even installed.
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import importlib.util
import json
import locale
import os
import sys

from app.core.atomic import STDOUT, unwritable_reason
from app.core.events import RunStatus
from app.core.params import ParamError, parse_assignments

EXIT_OK, EXIT_BAD_INPUT, EXIT_FAILED = 0, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump, no traceback
        usage = " ".join(self.format_usage().split())
        raise ParamError(f"{message}; allowed: {usage.removeprefix('usage: ')}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="procscope", description="See Python's multiprocessing happen.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p_list = sub.add_parser("list", help="lessons and their parameters")
    p_list.add_argument("--json", action="store_true", help="machine-readable output")
    p_run = sub.add_parser("run", help="run a lesson headless")
    p_run.add_argument("lesson")
    p_run.add_argument("--set", dest="assignments", action="append", default=[], metavar="NAME=VALUE")
    p_run.add_argument("--start-method", default="spawn", metavar="fork|spawn|forkserver")
    p_run.add_argument("--json", dest="json_out", metavar="FILE|-", help="the run's summary as JSON (- prints it)")
    p_run.add_argument("--trace", metavar="FILE|-", help="the recorded run, to replay in the window")
    p_run.add_argument("--csv", metavar="FILE|-", help="every event as a CSV row")
    p_run.add_argument("--chrome-trace", metavar="FILE|-", help="the run for Perfetto / chrome://tracing")
    p_run.add_argument("--png", metavar="FILE",
                       help="the activity lanes and shared values of the finished run as one PNG image")
    p_run.add_argument("--timeout", metavar="S", help="stop the run after S seconds (exit code 3)")
    p_run.add_argument("--linger", metavar="S", default="0",
                       help="keep deadlocked processes visibly stuck S seconds before the run is stopped "
                            "(default 0: stop at once; the window waits 2 s)")
    p_run.add_argument("--schedule", metavar="1,2,1,2",
                       help="step mode: every worker is held at each step point (a read, a write, a lock, a queue "
                            "call, ...) and let through in this order, by process number (1 = Process-1); then "
                            "the run goes on freely. A step for a blocked or ended process is refused (exit code 3)")
    p_run.add_argument("--lang", choices=("en", "zh"), default=None,
                       help="language of the explanation and the image (default: the locale's)")
    p_code = sub.add_parser("code", help="print the runnable script of a lesson")
    p_code.add_argument("lesson")
    p_code.add_argument("--set", dest="assignments", action="append", default=[], metavar="NAME=VALUE")
    p_code.add_argument("--start-method", default="spawn", metavar="fork|spawn|forkserver")
    p_code.add_argument("--output", "-o", metavar="FILE|-", help="write the script to FILE instead of printing it")
    _add_trace_parser(sub)
    p_run.epilog = ("Outputs: a link is followed, a FIFO or device is written to, - is the standard output (one "
                     "output at most); files are written all or none.")
    return parser


def _run_and_write(runner, timeout: float | None, outputs, lang: str, ended: str):
    """Run, then write every output all or none: ``(trace, summary)``, or None when SIGTERM stopped it (then
    nothing is written and one line says so)."""
    with _sigterm_stops(runner) as terminated:
        trace = runner.run(timeout=timeout)
        if terminated():
            print(f"procscope: stopped by SIGTERM; {ended} and no output was written", file=sys.stderr)
            return None
        from app.core.summary import build_summary
        from app.core.trace import release_freed_memory

        release_freed_memory()  # what the run's receiving freed: the outputs are written on top of the rest
        summary = build_summary(trace)
        release_freed_memory()
        _write_outputs(trace, summary, outputs, lang)
    return trace, summary


def _qt_available() -> bool:
    """PySide6 can be imported (only ``--png`` needs it): looked up, not imported."""
    try:
        return importlib.util.find_spec("PySide6") is not None
    except (ImportError, ValueError):
        return False


def _parse(argv: list[str]) -> argparse.Namespace:
    """The command line; for ``trace``, everything after the first ``--`` is the script's own, untouched
    (argparse would let SCRIPT swallow a ``--`` right after it and read the script's arguments as ours)."""
    if argv and argv[0] == "trace" and "--" in argv:
        cut = argv.index("--")
        args = _parser().parse_args(argv[:cut])
        args.rest = [*args.rest, "--", *argv[cut + 1:]]
        return args
    return _parser().parse_args(argv)


def run_cli(argv: list[str]) -> int:
    _tolerant_streams()
    from app.core.fdlimit import raise_limit

    raise_limit()  # 64 spawned workers need more descriptors than macOS's default ulimit -n allows
    try:
        args = _parse(argv)
        if args.command == "list":
            code = _list(args)
        elif args.command == "run":
            code = _run(args)
        elif args.command == "trace":
            code = _trace(args)
        else:
            code = _code(args)
        if sys.stdout is not None:
            sys.stdout.flush()  # here, not at exit: a full disk is said in one line, not as a traceback
        return code
    except ParamError as exc:
        print(f"procscope: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # `procscope list | head`: the reader left, nothing is wrong
        _silence_stdout()
        return EXIT_OK
    except _WriteFailed as exc:
        if exc.path == STDOUT:
            _silence_stdout()
        print(f"procscope: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:  # standard output itself could not be written (`procscope list > /dev/full`)
        _silence_stdout()
        print(f"procscope: error: cannot write the standard output: {_os_error(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt as exc:  # Ctrl+C or SIGTERM while the outputs were written: none was kept
        signal_name = "SIGTERM" if isinstance(exc, _Terminated) else "Ctrl+C"
        print(f"procscope: stopped by {signal_name}; no output was written", file=sys.stderr)
        return EXIT_FAILED


class _WriteFailed(Exception):
    """An output could not be written: one line naming the option, the file and the OS error."""

    def __init__(self, option: str, path: str, error: BaseException):
        self.path = path
        shown = "the standard output" if path == STDOUT else repr(path)
        why = _os_error(error) if isinstance(error, OSError) else str(error)
        super().__init__(f"{option}: cannot write {shown}: {why}; no output file was kept")


class _Terminated(KeyboardInterrupt):
    """SIGTERM while the outputs are written: unwinds like Ctrl+C, so every temp file is removed."""


def _os_error(exc: OSError) -> str:
    return f"{exc.strerror} (errno {exc.errno})" if exc.strerror else str(exc) or type(exc).__name__


def _tolerant_streams() -> None:
    """Text that the console cannot encode (an ASCII or legacy code page console) is shown with replacement
    characters instead of crashing. A windowed build may have no streams at all."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


def _silence_stdout() -> None:
    """Whatever is still buffered for standard output goes nowhere, so that exiting adds no second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - no flush error at exit


def _list(args) -> int:
    from app.core.lessons import LESSONS

    if args.json:
        print(json.dumps([lesson.to_json() for lesson in LESSONS.values()], ensure_ascii=True, indent=2))
        return EXIT_OK
    for lesson in LESSONS.values():
        print(f"{lesson.id:<13} {lesson.title_en} — {lesson.title_zh}  ({lesson.section})")
        for spec in lesson.params:
            print(f"    {spec.name:<18} default {spec.default!s:<12} {spec.allowed()}")
    return EXIT_OK


def _check_writable(option: str, path: str | None) -> None:
    """Refuse, before anything runs, a path that cannot be written: a directory, a missing or read-only
    folder, a read-only file or device."""
    if path is None:
        return
    why = unwritable_reason(path)
    if why is not None:
        raise ParamError(f"{option}: cannot write {path!r}: {why}; allowed: a file path in a writable folder, "
                         "or - for the standard output")


def _check_outputs(outputs) -> None:
    for option, path in outputs:
        _check_writable(option, path)
    to_stdout = [option for option, path in outputs if path == STDOUT]
    if len(to_stdout) > 1:
        raise ParamError(f"{' and '.join(to_stdout)}: only one output can go to the standard output (-); "
                         "allowed: - for one of them, a file path for the others")


def _timeout(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ParamError(f"--timeout: {text!r} is not allowed; allowed: a number of seconds above 0")
    return value


def _linger(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 60:
        raise ParamError(f"--linger: {text!r} is not allowed; allowed: a number of seconds from 0 to 60")
    return value


def _run(args) -> int:
    from app.core.runner import Runner

    schedule = _schedule(args)
    runner = Runner(args.lesson, parse_assignments(args.assignments), args.start_method, schedule=schedule,
                    deadlock_linger_s=_linger(args.linger))
    timeout = _timeout(args.timeout)
    if args.png == STDOUT:
        raise ParamError("--png: '-' is not allowed (an image is not printed); allowed: a file path in a writable "
                         "folder")
    if args.png is not None and not _qt_available():  # said before the run, not after it
        raise ParamError("--png: drawing the image needs PySide6, which is not installed here; allowed: --png "
                         "where ProcScope's window runs, or the other outputs (--json, --trace, --csv, --chrome-trace)")
    outputs = (("--json", args.json_out), ("--trace", args.trace), ("--csv", args.csv),
               ("--chrome-trace", args.chrome_trace), ("--png", args.png))
    outputs = tuple((option, path) for option, path in outputs if path is not None)
    _check_outputs(outputs)
    _check_descriptors(runner.values)
    lang = args.lang or _default_lang()
    done = _run_and_write(runner, timeout, outputs, lang, "the run was ended")
    if done is None:
        return EXIT_FAILED
    trace, summary = done
    human = sys.stderr if any(path == STDOUT for _option, path in outputs) else sys.stdout
    if args.json_out != STDOUT:
        _print_human(trace, summary, lang, human)
    refused = any("refused" in step for step in summary.get("schedule_refused", []))
    return EXIT_OK if summary["status"] == RunStatus.DONE and not refused else EXIT_FAILED


def _schedule(args) -> list[int] | None:
    """``--schedule``, checked before anything starts: its numbers, or None without it."""
    if args.schedule is None:
        return None
    from app.core.lessons import get_lesson
    from app.core.params import resolve
    from app.core.stepping import ScheduleError, parse_schedule

    lesson = get_lesson(args.lesson)
    if not lesson.step_points:
        raise ParamError(f"--schedule: lesson {lesson.id} has no step points (no shared state to race on); "
                         "allowed: --schedule with counter, shared_array, manager, sync, deadlock or queue_relay")
    values = resolve(lesson.params, parse_assignments(args.assignments), lesson.id)
    try:
        return parse_schedule(args.schedule, lesson.step_workers(values))
    except ScheduleError as exc:
        raise ParamError(str(exc)) from None


def _check_descriptors(values: dict) -> None:
    """Refuse a run that cannot open its processes' pipes here (the soft limit was raised as far as allowed)."""
    from app.core.fdlimit import BASE_FDS, FDS_PER_PROCESS, shortfall

    counts = {name: values[name] for name in ("workers", "pool_size") if isinstance(values.get(name), int)}
    if not counts:
        return
    name, count = max(counts.items(), key=lambda item: item[1])
    short = shortfall(count + 2)  # the workers, and a manager or a relay of the lesson's own
    if short is not None:
        limit, want = short
        most = max(1, (limit - BASE_FDS) // FDS_PER_PROCESS - 2)
        raise ParamError(f"{name}: {count} is not possible here: {count} processes need about {want} open files, "
                         f"and this system allows {limit} (ulimit -n, not raisable further by ProcScope); allowed: at "
                         f"most {most}, or raise the limit first (ulimit -n {want})")


@contextlib.contextmanager
def _sigterm_stops(runner):
    """SIGTERM during the run stops it as the Stop button does (every process ended); during the writing of
    the outputs it unwinds like Ctrl+C, so that no temp file stays. ``terminated()`` says if it came."""
    import signal
    import threading

    if not hasattr(signal, "SIGTERM") or threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    state = {"running": True, "terminated": False}
    wake_r, wake_w = os.pipe()

    def on_sigterm(_signum, _frame):
        if state["terminated"]:
            return
        state["terminated"] = True
        if state["running"]:
            os.write(wake_w, b"x")  # the watcher stops the run: a handler must take no lock the run may hold
        else:
            raise _Terminated

    def watch():
        if os.read(wake_r, 1) == b"x":
            runner.stop()

    watcher = threading.Thread(target=watch, name="procscope-sigterm", daemon=True)
    watcher.start()
    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield lambda: _ran(state)
    finally:
        signal.signal(signal.SIGTERM, previous)
        os.write(wake_w, b"-")
        watcher.join(1.0)
        os.close(wake_r)
        os.close(wake_w)


def _ran(state: dict) -> bool:
    """Asked once the run has ended: from now on SIGTERM unwinds the writing."""
    state["running"] = False
    return state["terminated"]


def _write_outputs(trace, summary: dict, outputs, lang: str) -> None:
    """Every requested output or none: files are written to temp files first and renamed together at the
    end; a stream (standard output, a FIFO, a device) is written after them, as it cannot be taken back."""
    from app.core.atomic import Outputs, is_stream

    ordered = sorted(outputs, key=lambda item: is_stream(item[1]))
    option, path = ordered[0] if ordered else ("--json", STDOUT)
    try:
        with Outputs() as outs:
            for option, path in ordered:  # noqa: B007 - the one being written is named if it fails
                _write_one(option, path, trace, summary, lang, outs)
            option, path = "", ""
    except (OSError, _ExportFailed) as exc:
        if not path:  # a rename at the end: the file named by the error
            failed = os.path.realpath(getattr(exc, "filename2", None) or getattr(exc, "filename", "") or "")
            option, path = next(((o, p) for o, p in ordered if os.path.realpath(p) == failed), ("", failed))
        raise _WriteFailed(option or "output", path, exc) from None


class _ExportFailed(Exception):
    pass


def _write_one(option: str, path: str, trace, summary: dict, lang: str, outs) -> None:
    if option == "--json":
        from app.core.pairs import plain

        with outs.open(path) as out:
            json.dump(summary, out, ensure_ascii=path == STDOUT, indent=2, default=plain)
            out.write("\n")
    elif option == "--trace":
        trace.save(path, outs)
    elif option == "--csv":
        trace.to_csv(path, outs)
    elif option == "--chrome-trace":
        from app.core.chrome_trace import write_chrome_trace

        write_chrome_trace(trace, path, outs)
    else:
        _write_png(trace, path, lang, outs)


def _write_png(trace, path: str, lang: str, outs) -> None:
    """The lanes and values of the run as one PNG, drawn by the window's own export, off screen.

    Qt is imported here only: a run without --png never loads it."""
    if (not os.environ.get("QT_QPA_PLATFORM") and sys.platform not in ("win32", "darwin")
            and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # no display (a server, CI): draw without one
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from app.gui.export import ExportError, export_run_image
    from app.gui.i18n import CHINESE, Language

    def quiet(_kind, _context, message):  # the offscreen platform's notes on window hints are noise here
        if "propagateSizeHints" not in message:
            print(message, file=sys.stderr)

    qInstallMessageHandler(quiet)
    app = QApplication.instance() or QApplication(["procscope"])
    language = Language(app)
    language.set(CHINESE if lang == "zh" else "en")
    try:
        export_run_image(trace, path, outputs=outs)
    except ExportError as exc:
        if isinstance(exc.__cause__, OSError):
            raise exc.__cause__ from None
        raise _ExportFailed(exc.reason or str(exc)) from exc


def _write_text(path: str, text: str) -> None:
    from app.core.atomic import atomic_open

    with atomic_open(path) as out:
        out.write(text)


def _default_lang() -> str:
    """The language of messages by POSIX precedence: LC_ALL, then LC_MESSAGES, then LANG, then the locale."""
    name = next((os.environ[var] for var in ("LC_ALL", "LC_MESSAGES", "LANG") if os.environ.get(var)), None)
    if name is None:
        name = locale.getlocale()[0] or ""
    return "zh" if name.lower().startswith("zh") else "en"


def _print_human(trace, summary: dict, lang: str, stream) -> None:
    from app.core import events as ev

    def print(*parts):  # noqa: A001 - the builtin, to ``stream``
        builtins.print(*parts, file=stream)

    names = {p["index"]: p["name"] for p in summary["processes"]}
    texts = trace.texts
    prints = texts.where(ev.PRINT)
    prints = prints[texts.times()[prints].argsort(kind="stable")]  # in time order
    for start in range(0, len(prints), 4096):  # a long run printed 640k lines: decoded a block at a time
        for _t, index, _kind, text in texts.take(prints[start:start + 4096]):
            print(f"[{names.get(index, 'parent') if index >= 0 else 'parent'}] {text}")
    result = summary["result"]
    print()
    print(f"{summary['lesson']} · {summary['start_method']} · {summary['status']} · {summary['duration_s']:.2f} s")
    for proc in summary["processes"]:
        print(f"  {proc['name']:<18} pid {proc['pid']!s:<8} {proc['role']:<8} exit {proc['exitcode']!s:<5} "
              f"{proc['ended']}")
        for error in proc["errors"]:
            print("    " + error.strip().replace("\n", "\n    "))
    for error in summary["errors"]:
        print("  parent: " + error.strip().replace("\n", "\n    "))
    if summary.get("schedule"):
        steps = ", ".join(f"{s['process']}: {s['point']} {s['object']}" for s in summary["schedule"])
        print(f"  schedule taken: {steps}")
    print()
    print(result.get("explanation", {}).get(lang, ""))


def _add_trace_parser(sub) -> None:
    p_trace = sub.add_parser(
        "trace", help="run your own multiprocessing script unchanged and record it",
        description="Run SCRIPT as `python SCRIPT SCRIPT_ARGS...` would (its sys.argv, its folder first on sys.path, "
                    "the current folder as its cwd), and record every process, lock, queue, pipe, pool task, "
                    "shared value and print of it, as a lesson's run. Its output goes where it would go; the "
                    "summary goes to the standard error. Exit code: the script's own; 2 bad input (no such file, "
                    "not a Python file, a syntax error); 3 --timeout, Ctrl+C or SIGTERM ended it (no process of it "
                    "is left).")
    p_trace.add_argument("script", metavar="SCRIPT", help="the Python file to run")
    p_trace.add_argument("rest", nargs=argparse.REMAINDER, metavar="-- SCRIPT_ARGS",
                         help="arguments for the script, after -- (the options may come before or after SCRIPT)")
    _trace_options(p_trace)


def _trace_options(p_trace) -> None:
    p_trace.add_argument("--start-method", default=None, metavar="fork|spawn|forkserver",
                         help="the default start method, for a script that sets none (default: Python's)")
    p_trace.add_argument("--json", dest="json_out", metavar="FILE|-", help="the run's summary as JSON (- prints it)")
    p_trace.add_argument("--trace", metavar="FILE|-", help="the recorded run, to replay in the window")
    p_trace.add_argument("--csv", metavar="FILE|-", help="every event as a CSV row")
    p_trace.add_argument("--chrome-trace", metavar="FILE|-", help="the run for Perfetto / chrome://tracing")
    p_trace.add_argument("--timeout", metavar="S", help="end the script and all its processes after S seconds "
                                                        "(exit code 3)")
    p_trace.add_argument("--lang", choices=("en", "zh"), default=None,
                         help="language of the explanation (default: the locale's)")


EXIT_SCRIPT_TIMEOUT = 3


def _trace(args) -> int:
    """``trace SCRIPT``: the script's own exit code, 2 for bad input, 3 when --timeout (or SIGTERM) ended it."""
    from app.core.runner import check_start_method
    from app.core.script.check import check_script
    from app.core.script.session import ScriptRun

    rest = list(args.rest)
    cut = rest.index("--") if "--" in rest else len(rest)
    options, script_args = rest[:cut], rest[cut + 1:]
    if options:  # options after SCRIPT: parsed as if given before it
        later = _Parser(prog="procscope trace SCRIPT", add_help=False)
        _trace_options(later)
        try:
            parsed = later.parse_args(options)
        except ParamError as exc:
            raise ParamError(f"{exc} (the script's own arguments go after --)") from None
        for key, value in vars(parsed).items():
            if value is not None:
                setattr(args, key, value)
    script = check_script(args.script)
    if args.start_method is not None:
        check_start_method(args.start_method)
    timeout = _timeout(args.timeout)
    outputs = (("--json", args.json_out), ("--trace", args.trace), ("--csv", args.csv),
               ("--chrome-trace", args.chrome_trace))
    outputs = tuple((option, path) for option, path in outputs if path is not None)
    _check_outputs(outputs)
    lang = args.lang or _default_lang()
    to_stdout = any(path == STDOUT for _option, path in outputs)
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()  # the script writes to the same descriptors, after what ProcScope wrote
    # An output on the standard output keeps it for itself: the script's output goes to the standard error.
    runner = ScriptRun(script, script_args, args.start_method, stdout=sys.stderr.fileno() if to_stdout else None)
    done = _run_and_write(runner, timeout, outputs, lang, "the script was ended")
    if done is None:
        return EXIT_FAILED
    summary = done[1]
    _print_script_summary(summary, lang)
    if summary["status"] in (RunStatus.TIMEOUT, RunStatus.STOPPED):  # ProcScope ended it, not the script
        return EXIT_SCRIPT_TIMEOUT
    code = runner.exit_code
    if code is None:
        return EXIT_FAILED
    return code if code >= 0 else 128 - code  # killed by signal N: what a shell reports for `python SCRIPT`


def _print_script_summary(summary: dict, lang: str) -> None:
    """After the script's own output, on the standard error: its processes and the explanation."""
    def say(text: str) -> None:
        builtins.print(text, file=sys.stderr)

    say("")
    say(f"procscope: {os.path.basename(summary['result']['script'] or '')} · {summary['status']} · "
        f"{summary['duration_s']:.2f} s")
    for proc in summary["processes"]:
        say(f"  {proc['name']:<18} pid {proc['pid']!s:<8} {proc['role']:<7} {proc['main_module']!s:<12} "
            f"exit {proc['exitcode']!s:<5} {proc['ended']}")
    say(summary["result"]["explanation"].get(lang, ""))


def _code(args) -> int:
    from app.core.codegen import generate
    from app.core.lessons import get_lesson
    from app.core.params import resolve
    from app.core.runner import check_start_method

    lesson = get_lesson(args.lesson)
    values = resolve(lesson.params, parse_assignments(args.assignments), lesson.id)
    lesson.check(values)
    check_start_method(args.start_method)
    _check_writable("--output", args.output)
    script = generate(lesson.id, values, args.start_method)
    if args.output:
        try:
            _write_text(args.output, script)
        except OSError as exc:
            raise _WriteFailed("--output", args.output, exc) from None
    else:
        print(script, end="" if script.endswith("\n") else "\n")
    return EXIT_OK
