"""The headless command line: ``list``, ``run``, ``code``.

Exit codes: 0 done · 2 bad input (one line naming the parameter, the value and
what is allowed; nothing written, nothing started) · 3 the run failed, crashed
or timed out, or its picture could not be drawn (everything it started is gone).

Qt is loaded only for ``run --png``: every other command runs where PySide6 is
not even installed.
"""

from __future__ import annotations

import argparse
import json
import locale
import os
import sys

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
    p_run.add_argument("--trace", metavar="FILE", help="the recorded run, to replay in the window")
    p_run.add_argument("--csv", metavar="FILE", help="every event as a CSV row")
    p_run.add_argument("--chrome-trace", metavar="FILE", help="the run for Perfetto / chrome://tracing")
    p_run.add_argument("--png", metavar="FILE",
                       help="the activity lanes and shared values of the finished run as one PNG image")
    p_run.add_argument("--timeout", metavar="S", help="stop the run after S seconds (exit code 3)")
    p_run.add_argument("--linger", metavar="S", default="0",
                       help="keep deadlocked processes visibly stuck S seconds before the run is stopped "
                            "(default 0: stop at once; the window waits 2 s)")
    p_run.add_argument("--lang", choices=("en", "zh"), default=None,
                       help="language of the explanation and the image (default: the locale's)")
    p_code = sub.add_parser("code", help="print the runnable script of a lesson")
    p_code.add_argument("lesson")
    p_code.add_argument("--set", dest="assignments", action="append", default=[], metavar="NAME=VALUE")
    p_code.add_argument("--start-method", default="spawn", metavar="fork|spawn|forkserver")
    p_code.add_argument("--output", "-o", metavar="FILE", help="write the script to FILE instead of printing it")
    return parser


def run_cli(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.command == "list":
            return _list(args)
        if args.command == "run":
            return _run(args)
        return _code(args)
    except ParamError as exc:
        print(f"procscope: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # `procscope list | head`: the reader left, nothing is wrong
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - no flush error at exit
        return EXIT_OK


def _list(args) -> int:
    from app.core.lessons import LESSONS

    if args.json:
        print(json.dumps([lesson.to_json() for lesson in LESSONS.values()], ensure_ascii=False, indent=2))
        return EXIT_OK
    for lesson in LESSONS.values():
        print(f"{lesson.id:<13} {lesson.title_en} — {lesson.title_zh}  ({lesson.section})")
        for spec in lesson.params:
            print(f"    {spec.name:<18} default {spec.default!s:<12} {spec.allowed()}")
    return EXIT_OK


def _check_writable(option: str, path: str | None) -> None:
    if path is None or path == "-":
        return
    if not path.strip():
        raise ParamError(f"{option}: {path!r} is empty; allowed: a file path in a writable folder")
    directory = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.isdir(path):
        raise ParamError(f"{option}: {path!r} is a directory; allowed: a file path in a writable folder")
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        raise ParamError(f"{option}: cannot write {path!r} (folder missing or not writable); "
                         "allowed: a file path in a writable folder")


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

    runner = Runner(args.lesson, parse_assignments(args.assignments), args.start_method,
                    deadlock_linger_s=_linger(args.linger))
    timeout = _timeout(args.timeout)
    if args.png == "-":
        raise ParamError("--png: '-' is not allowed (an image is not printed); allowed: a file path in a writable "
                         "folder")
    outputs = (("--json", args.json_out), ("--trace", args.trace), ("--csv", args.csv),
               ("--chrome-trace", args.chrome_trace), ("--png", args.png))
    for option, path in outputs:
        _check_writable(option, path)
    lang = args.lang or _default_lang()
    trace = runner.run(timeout=timeout)
    from app.core.summary import build_summary

    summary = build_summary(trace)
    if args.trace:
        trace.save(args.trace)
    if args.csv:
        trace.to_csv(args.csv)
    if args.chrome_trace:
        from app.core.chrome_trace import write_chrome_trace

        write_chrome_trace(trace, args.chrome_trace)
    drawn = _write_png(trace, args.png, lang) if args.png else True
    if args.json_out == "-":
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        if args.json_out:
            _write_json(args.json_out, summary)
        _print_human(trace, summary, lang)
    return EXIT_OK if summary["status"] == RunStatus.DONE and drawn else EXIT_FAILED


def _write_png(trace, path: str, lang: str) -> bool:
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
        export_run_image(trace, path)
    except ExportError as exc:
        print(f"procscope: error: --png: {exc}", file=sys.stderr)
        return False
    return True


def _write_json(path: str, data: dict) -> None:
    _write_text(path, json.dumps(data, ensure_ascii=False, indent=2))


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


def _print_human(trace, summary: dict, lang: str) -> None:
    from app.core import events as ev

    names = {p["index"]: p["name"] for p in summary["processes"]}
    for _t, index, _kind, text in sorted(trace.texts_of(ev.PRINT), key=lambda t: t[0]):
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
    print()
    print(result.get("explanation", {}).get(lang, ""))


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
        _write_text(args.output, script)
    else:
        print(script, end="" if script.endswith("\n") else "\n")
    return EXIT_OK
