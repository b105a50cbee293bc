"""The command line's contract for bad input: exit code 2, one line that names what
was wrong and what is allowed, nothing written, no process started.

Every call runs ``python -m app`` in a subprocess. A ``sitecustomize`` put on that subprocess's
``PYTHONPATH`` wraps every way CPython creates a process (``os.fork``, ``_posixsubprocess.fork_exec``
which ``spawn`` and ``subprocess`` use, ``posix_spawn``, ``_winapi.CreateProcess``, ...) and appends a
line to a log file for each, so "starts no process" is checked, not assumed; the successful run below
is the positive control that the log does see processes being started.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from app.core.lessons import LESSONS

REPO_ROOT = Path(__file__).resolve().parents[2]
LESSON_IDS = list(LESSONS)  # the registry, in its order
SUBPROCESS_TIMEOUT_S = 60
ERROR_PREFIX = "procscope: error:"

_PROCESS_LOGGER = textwrap.dedent(
    '''
    """Test helper: log every process this interpreter creates (tests/core/test_cli_input.py)."""
    import os

    _LOG = os.environ.get("PROCSCOPE_TEST_PROCESS_LOG")


    def _wrap(module, name):
        original = getattr(module, name, None)
        if original is None:
            return

        def wrapper(*args, **kwargs):
            with open(_LOG, "a", encoding="utf-8") as log:
                log.write(f"{os.getpid()} {module.__name__}.{name}\\n")
            return original(*args, **kwargs)

        setattr(module, name, wrapper)


    if _LOG:
        for _name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system", "spawnv", "spawnve",
                      "execv", "execve", "startfile"):
            _wrap(os, _name)
        for _module_name in ("_posixsubprocess", "_winapi"):
            try:
                _module = __import__(_module_name)
            except ImportError:
                continue
            _wrap(_module, "fork_exec")
            _wrap(_module, "CreateProcess")
    '''
)


@pytest.fixture(scope="module")
def hook_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("process-logger")
    (directory / "sitecustomize.py").write_text(_PROCESS_LOGGER, encoding="utf-8")
    return directory


class Cli:
    """Runs ``python -m app ARGS`` from the repo root; records processes it creates."""

    def __init__(self, hook_dir: Path, log: Path):
        self.hook_dir = hook_dir
        self.log = log

    def __call__(self, *args: str, unset: tuple[str, ...] = ()):
        import subprocess

        env = {k: v for k, v in os.environ.items() if k not in unset}
        env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), str(self.hook_dir)])
        env["PROCSCOPE_TEST_PROCESS_LOG"] = str(self.log)
        env["PYTHONIOENCODING"] = "utf-8"
        env.pop("PYTHONSTARTUP", None)
        return subprocess.run(
            [sys.executable, "-m", "app", *args],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=SUBPROCESS_TIMEOUT_S,
        )

    def processes_started(self) -> list[str]:
        if not self.log.exists():
            return []
        return self.log.read_text(encoding="utf-8").splitlines()


@pytest.fixture
def cli(hook_dir, tmp_path) -> Cli:
    return Cli(hook_dir, tmp_path / "process-log.txt")


def _one_error_line(result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{result.stderr}"
    line = lines[0]
    assert line.startswith(ERROR_PREFIX), line
    return line


# (args, fragments the one error line must contain: what was wrong — the parameter name and the
# value — and what is allowed). "{tmp}" in an argument is the test's empty output folder.
BAD_INPUT = [
    pytest.param(["run", "nope"], ["lesson", "'nope'", "allowed", *LESSON_IDS], id="unknown-lesson"),
    pytest.param(["run", "basics", "--set", "foo=1"], ["'foo'", "basics", "allowed", "workers", "tempo"],
                 id="unknown-parameter"),
    pytest.param(["run", "basics", "--set", "WORKERS=2"], ["'WORKERS'", "allowed", "workers"],
                 id="parameter-names-are-case-sensitive"),
    pytest.param(["run", "basics", "--set", "workers=65"], ["workers", "'65'", "allowed", "1 to 64"],
                 id="workers-above-range"),
    pytest.param(["run", "basics", "--set", "workers=0"], ["workers", "'0'", "allowed", "1 to 64"],
                 id="workers-below-range"),
    pytest.param(["run", "basics", "--set", "workers=abc"], ["workers", "'abc'", "allowed", "integer"],
                 id="workers-not-a-number"),
    pytest.param(["run", "basics", "--set", "workers=2.5"], ["workers", "'2.5'", "allowed", "integer"],
                 id="workers-not-an-integer"),
    pytest.param(["run", "basics", "--set", "workers="], ["workers", "''", "allowed", "1 to 64"],
                 id="workers-empty"),
    pytest.param(["run", "counter", "--set", "hold_s=xyz"], ["hold_s", "'xyz'", "allowed", "number"],
                 id="hold-not-a-number"),
    pytest.param(["run", "basics", "--set", "tempo=inf"], ["tempo", "'inf'", "allowed", "number"],
                 id="tempo-infinite"),
    pytest.param(["run", "manager", "--set", "sequential=maybe"], ["sequential", "'maybe'", "allowed", "true",
                                                                   "false"], id="bool-not-a-bool"),
    pytest.param(["run", "counter", "--set", "sharing=redis"],
                 ["sharing", "'redis'", "allowed", "global", "value", "array", "manager", "queue", "shared_memory"],
                 id="bad-choice"),
    pytest.param(["run", "shared_array", "--set", "typecode=x"], ["typecode", "'x'", "allowed", "i"],
                 id="bad-typecode"),
    pytest.param(["run", "counter", "--set", "sharing=queue", "--set", "lock=get_lock"],
                 ["lock", "get_lock", "sharing", "queue", "allowed"], id="invalid-combination"),
    pytest.param(["run", "basics", "--set", "noequals"], ["--set", "'noequals'", "allowed", "NAME=VALUE"],
                 id="set-without-equals"),
    pytest.param(["run", "basics", "--set", "=3"], ["--set", "'=3'", "allowed", "NAME=VALUE"],
                 id="set-without-name"),
    pytest.param(["run", "basics", "--start-method", "bogus"], ["start", "method", "'bogus'", "allowed", "spawn"],
                 id="unavailable-start-method"),
    pytest.param(["run", "basics", "--timeout", "-1"], ["--timeout", "'-1'", "allowed", "above 0"],
                 id="negative-timeout"),
    pytest.param(["run", "basics", "--timeout", "0"], ["--timeout", "'0'", "allowed", "above 0"], id="zero-timeout"),
    pytest.param(["run", "basics", "--timeout", "abc"], ["--timeout", "'abc'", "allowed", "seconds"],
                 id="timeout-not-a-number"),
    pytest.param(["run", "basics", "--timeout", "nan"], ["--timeout", "'nan'", "allowed", "seconds"],
                 id="timeout-nan"),
    pytest.param(["run", "basics", "--json", "/nonexistent-dir/x.json"],
                 ["--json", "/nonexistent-dir/x.json", "allowed", "writable"], id="json-in-missing-folder"),
    pytest.param(["run", "basics", "--json", "{tmp}/missing/x.json"], ["--json", "x.json", "allowed", "writable"],
                 id="json-in-missing-tmp-folder"),
    pytest.param(["run", "basics", "--trace", "{tmp}/a-directory"], ["--trace", "a-directory", "directory",
                                                                      "allowed"], id="trace-is-a-directory"),
    pytest.param(["run", "basics", "--csv", "{tmp}/a-directory"], ["--csv", "a-directory", "directory", "allowed"],
                 id="csv-is-a-directory"),
    pytest.param(["code", "nope"], ["lesson", "'nope'", "allowed", *LESSON_IDS], id="code-unknown-lesson"),
    pytest.param(["code", "basics", "--set", "noequals"], ["--set", "'noequals'", "allowed"],
                 id="code-set-without-equals"),
    pytest.param(["code", "counter", "--set", "workers=65"], ["workers", "'65'", "allowed", "1 to 64"],
                 id="code-workers-above-range"),
    pytest.param(["code", "basics", "--set", "foo=1"], ["'foo'", "allowed", "workers"],
                 id="code-unknown-parameter"),
    pytest.param(["run", "basics", "--set", "workers=1", "--json", ""], ["--json", "''", "allowed"],
                 id="json-empty-path"),
    pytest.param(["run", "basics", "--png", "{tmp}/missing/x.png"], ["--png", "x.png", "allowed", "writable"],
                 id="png-in-missing-folder"),
    pytest.param(["run", "basics", "--png", "{tmp}/a-directory"], ["--png", "a-directory", "directory", "allowed"],
                 id="png-is-a-directory"),
    pytest.param(["run", "basics", "--png", "-"], ["--png", "'-'", "allowed", "file path"], id="png-to-stdout"),
]


def _with_outputs(args: list[str], out: Path) -> list[str]:
    """Ask ``run`` for every output it has (unless the case sets one itself), all inside ``out``."""
    if args[0] != "run":
        return args
    extra = []
    for option, name in (("--json", "summary.json"), ("--trace", "run.trace"), ("--csv", "events.csv")):
        if option not in args:
            extra += [option, str(out / name)]
    return [*args, *extra]


@pytest.mark.parametrize(("args", "fragments"), BAD_INPUT)
def test_bad_input_exits_2_with_one_line_nothing_written_no_process(cli, tmp_path, args, fragments):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a-directory").mkdir()
    args = [a.replace("{tmp}", str(out)) for a in args]
    result = cli(*_with_outputs(args, out))

    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    line = _one_error_line(result)
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} missing from: {line}"
    assert result.stdout == ""
    assert sorted(p.name for p in out.iterdir()) == ["a-directory"], "bad input wrote an output file"
    assert list((out / "a-directory").iterdir()) == []
    assert not Path("/nonexistent-dir").exists()
    assert cli.processes_started() == [], "bad input started a process"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["run"], id="run-without-lesson"),
        pytest.param(["run", "basics", "--bogus"], id="unknown-option"),
        pytest.param(["bogus"], id="unknown-command"),
        pytest.param(["run", "basics", "--lang", "fr"], id="bad-language"),
    ],
)
def test_malformed_command_line_exits_2_with_one_line_no_process(cli, args):
    result = cli(*args)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    line = _one_error_line(result)
    assert "Traceback" not in result.stderr
    assert len(line) > len(ERROR_PREFIX) + 5
    assert result.stdout == ""
    assert cli.processes_started() == []


def test_list_names_every_lesson(cli):
    result = cli("list")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    first_words = [line.split()[0] for line in result.stdout.splitlines() if line and not line[0].isspace()]
    assert first_words == LESSON_IDS
    assert cli.processes_started() == []


# Parameter names and defaults are a contract: add, never rename.
CONTRACT_DEFAULTS = {
    "basics": {"workers": 5},
    "isolation": {"workers": 5},
    "shared_array": {"workers": 10, "typecode": "i", "size": 4, "initial": 1, "add": 100, "lock": "none"},
    "manager": {"workers": 10, "proxy": "dict", "sequential": True},
    "queue_relay": {"workers": 10, "maxsize": 20},
    "counter": {"workers": 10, "sharing": "array", "lock": "rlock", "start_value": 10, "step": -1,
                "increments": 1, "hold_s": 1.0},
    "pool": {"pool_size": 5, "tasks": 30, "task_s": 1.0, "mode": "apply_async", "chunksize": 1,
             "maxtasksperchild": 0, "finish": "close_join"},
    "sync": {"primitive": "semaphore", "workers": 6, "k": 2, "hold_s": 0.5},
    "deadlock": {"workers": 2, "hold_s": 0.2, "ordered": False},
    "speedup": {"start_methods": ["spawn"]},
}


def test_list_json_describes_every_lesson_and_parameter(cli):
    result = cli("list", "--json")
    assert result.returncode == 0, result.stderr
    lessons = json.loads(result.stdout)
    assert [lesson["id"] for lesson in lessons] == LESSON_IDS
    for lesson in lessons:
        assert set(lesson["title"]) >= {"en", "zh"}
        assert lesson["title"]["en"] and lesson["title"]["zh"]
        names = [p["name"] for p in lesson["params"]]
        assert len(names) == len(set(names)), names
        for param in lesson["params"]:
            assert {"name", "type", "default"} <= set(param), param
            assert param["type"] in ("int", "float", "choice", "choices", "bool"), param
            if param["type"] == "choice":
                assert param["default"] in param["choices"], param
            if param["type"] == "choices":
                assert set(param["default"]) <= set(param["choices"]), param
        defaults = {p["name"]: p["default"] for p in lesson["params"]}
        assert defaults["tempo"] == 1.0
        for name, default in CONTRACT_DEFAULTS.get(lesson["id"], {}).items():  # a new lesson sets its own
            assert defaults.get(name) == default, (lesson["id"], name, defaults.get(name))
    assert cli.processes_started() == []


SUMMARY_KEYS = {"lesson", "params", "start_method", "duration_s", "parent_pid", "processes", "result", "events"}
PROCESS_KEYS = {"index", "name", "pid", "ppid", "role", "main_module", "exitcode", "start_latency_s",
                "time_in_state_s"}


def test_run_basics_writes_the_stable_json_summary(cli, tmp_path):
    out = tmp_path / "summary.json"
    result = cli("run", "basics", "--set", "workers=2", "--json", str(out))
    assert result.returncode == 0, (result.stdout, result.stderr)
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert set(summary) >= SUMMARY_KEYS, SUMMARY_KEYS - set(summary)
    assert summary["lesson"] == "basics"
    assert summary["params"]["workers"] == 2
    assert summary["start_method"] == "spawn"
    assert isinstance(summary["duration_s"], float) and summary["duration_s"] > 0
    assert isinstance(summary["parent_pid"], int)
    assert isinstance(summary["events"], int) and summary["events"] > 0
    assert isinstance(summary["result"], dict)
    workers = [p for p in summary["processes"] if p["role"] == "worker"]
    assert len(workers) == 2
    for proc in summary["processes"]:
        assert set(proc) >= PROCESS_KEYS, PROCESS_KEYS - set(proc)
        assert proc["role"] in ("worker", "pool", "manager")
        assert isinstance(proc["index"], int) and isinstance(proc["name"], str)
        assert isinstance(proc["pid"], int) and isinstance(proc["ppid"], int)
        assert proc["exitcode"] == 0
        assert isinstance(proc["time_in_state_s"], dict)
        assert all(isinstance(v, float) for v in proc["time_in_state_s"].values())
    assert {p["ppid"] for p in workers} == {summary["parent_pid"]}
    # Positive control for the process log every bad-input test relies on.
    assert cli.processes_started(), "the process logger saw no process being started"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(("summary.json.tmp", ".procscope-"))]


# --- run --png --------------------------------------------------------------------------------
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_run_png_draws_the_lanes_and_values_without_a_display(cli, tmp_path):
    """No display and no Qt platform set: the image is drawn off screen all the same."""
    out = tmp_path / "run.png"
    result = cli("run", "counter", "--set", "workers=2", "--set", "hold_s=0.01", "--png", str(out),
                 unset=("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"))
    assert result.returncode == 0, (result.stdout, result.stderr)
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert 800 <= width <= 4000 and 500 <= height <= 4000, (width, height)
    assert len(data) > 20_000  # lanes, labels and curves: an empty white page of that size is a few kB
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".procscope-")]


def test_run_png_without_pyside6_is_refused_before_the_run(tmp_path):
    """Only --png needs Qt: where PySide6 is missing it is one line and exit 2, and nothing runs."""
    import subprocess

    blocker = tmp_path / "no_qt"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(textwrap.dedent("""
        import sys
        class NoQt:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("PySide6", "shiboken6"):
                    raise ModuleNotFoundError(name)
        sys.meta_path.insert(0, NoQt())
    """))
    out = tmp_path / "run.png"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(REPO_ROOT)])}
    result = subprocess.run([sys.executable, "-m", "app", "run", "counter", "--set", "workers=2", "--png", str(out)],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and "--png" in result.stderr and "PySide6" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists() and result.stdout == ""


# --- language of the human output ---------------------------------------------------------------
@pytest.mark.parametrize(("env", "expected"), [
    ({"LC_ALL": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
    ({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
    ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
    ({"LC_MESSAGES": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
    ({"LANG": "zh_TW.UTF-8"}, "zh"),
    ({"LC_ALL": "", "LANG": "zh_CN.UTF-8"}, "zh"),  # an empty variable counts as unset
])
def test_the_language_follows_posix_precedence(monkeypatch, env, expected):
    from app.cli import _default_lang

    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _default_lang() == expected
