"""Writing never destroys what a path points to, and fails cleanly: every writer of the app goes through
``app.core.atomic`` (links followed, FIFOs and devices streamed to, ``-`` is standard output, all outputs or
none), the command line says a write failure in one line (exit 3) and a path it cannot write before the run
(exit 2), survives a console that cannot encode its text, and stops cleanly on SIGTERM.

Special files are never created or replaced here: a FIFO is made in ``tmp_path``, and ``/dev/null`` and
``/dev/full`` are reached through a symbolic link in ``tmp_path`` (a writer that replaced instead of streaming
would replace the link, not the device).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import psutil
import pytest

from app.core import atomic, trace_schema
from app.core.lessons import get_lesson
from app.core.params import ParamError, parse_assignments, resolve
from tests.helpers import assert_all_gone, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60
TINY = ("run", "basics", "--set", "workers=2")
posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs, devices and signals of POSIX")


def cli(*args: str, env: dict | None = None, stdout=subprocess.PIPE, cwd=REPO_ROOT,
        **kwargs) -> subprocess.CompletedProcess:
    """``python -m app ARGS`` (bytes out: the encoding is what some tests are about)."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONIOENCODING", "PYTHONUTF8")}
    full_env["PYTHONPATH"] = str(REPO_ROOT)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=cwd, env=full_env, stdout=stdout,
                          stderr=subprocess.PIPE, timeout=TIMEOUT_S, **kwargs)


def one_error_line(result) -> str:
    lines = result.stderr.decode("utf-8", "replace").splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n" + "\n".join(lines)
    assert lines[0].startswith("procscope: error:"), lines[0]
    return lines[0]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".procscope-"))


# --- what the path is ---------------------------------------------------------------------------
@posix_only
def test_a_symlink_is_followed_its_target_written_and_the_link_kept(tmp_path):
    target, link = tmp_path / "target.txt", tmp_path / "link.txt"
    target.write_text("old", encoding="utf-8")
    link.symlink_to(target)
    with atomic.atomic_open(str(link)) as out:
        out.write("new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text(encoding="utf-8") == "new"
    assert leftovers(tmp_path) == []


@posix_only
def test_a_fifo_is_streamed_to_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    with atomic.atomic_open(str(fifo)) as out:
        out.write("through the pipe ✓")
    reader.join(TIMEOUT_S)
    assert received == ["through the pipe ✓".encode()]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced by a file"
    assert leftovers(tmp_path) == []


@posix_only
def test_json_to_dev_null_through_a_link_streams_and_the_device_stays(tmp_path):
    link = tmp_path / "null.json"
    link.symlink_to(os.devnull)
    result = cli(*TINY, "--json", str(link))
    assert result.returncode == 0, result.stderr
    assert link.is_symlink(), "the link to /dev/null was replaced by a file"
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert leftovers(tmp_path) == []


@posix_only
def test_a_link_into_a_missing_folder_is_refused_before_the_run(tmp_path):
    link = tmp_path / "out.json"
    link.symlink_to(tmp_path / "missing" / "out.json")
    result = cli(*TINY, "--json", str(link), "--csv", str(tmp_path / "run.csv"))
    assert result.returncode == 2
    line = one_error_line(result)
    assert "--json" in line and str(link) in line and "does not exist" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"] and link.is_symlink()


def test_a_directory_is_refused_before_the_run(tmp_path):
    result = cli(*TINY, "--csv", str(tmp_path), "--json", str(tmp_path / "run.json"))
    assert result.returncode == 2
    line = one_error_line(result)
    assert "--csv" in line and str(tmp_path) in line and "directory" in line
    assert list(tmp_path.iterdir()) == []


# --- failures while writing: one line, exit 3, all outputs or none --------------------------------
def test_a_name_over_255_bytes_exits_3_in_one_line_and_keeps_no_output(tmp_path):
    long_name = tmp_path / ("x" * 300 + ".json")
    result = cli(*TINY, "--csv", str(tmp_path / "run.csv"), "--trace", str(tmp_path / "run.pstrace"),
                 "--json", str(long_name))
    assert result.returncode == 3, result.stderr
    line = one_error_line(result)
    assert "--json" in line and "x" * 300 in line and "too long" in line.lower()
    assert list(tmp_path.iterdir()) == [], "an output was kept although another failed"


@posix_only
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_a_full_device_exits_3_in_one_line_and_keeps_no_output(tmp_path):
    full = tmp_path / "full.csv"
    full.symlink_to("/dev/full")
    result = cli(*TINY, "--csv", str(full), "--json", str(tmp_path / "run.json"))
    assert result.returncode == 3, result.stderr
    line = one_error_line(result)
    assert "--csv" in line and str(full) in line and "No space left" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full.csv"] and full.is_symlink()
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


@posix_only
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("args", [(*TINY, "--json", "-"), ("list",)], ids=["run-json", "list"])
def test_standard_output_on_a_full_device_exits_3_in_one_line(args):
    with open("/dev/full", "wb") as full:
        result = cli(*args, stdout=full)
    assert result.returncode == 3, result.stderr
    assert "No space left" in one_error_line(result)


# --- standard output ----------------------------------------------------------------------------
@pytest.mark.parametrize("option", ["--csv", "--json", "--chrome-trace", "--trace"])
def test_dash_streams_to_standard_output(tmp_path, option):
    result = cli(*TINY, option, "-", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "-").exists(), "a file named - was created"
    out = result.stdout
    if option == "--csv":
        assert out.decode("utf-8").startswith("t_s,process,name,kind")
    elif option == "--trace":
        (tmp_path / "copy.pstrace").write_bytes(out)
        assert zipfile.ZipFile(tmp_path / "copy.pstrace").namelist()
    else:
        assert json.loads(out)


def test_two_outputs_on_standard_output_are_refused(tmp_path):
    result = cli(*TINY, "--csv", "-", "--trace", "-", cwd=tmp_path)
    assert result.returncode == 2
    line = one_error_line(result)
    assert "--trace" in line and "--csv" in line and "standard output" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [("list",), ("list", "--json"), TINY, (*TINY, "--json", "-"),
                                  ("run", "basics", "--set", "workers=2", "--lang", "zh")],
                         ids=["list", "list-json", "run", "run-json", "run-zh"])
def test_an_ascii_console_never_crashes(args):
    result = cli(*args, env={"PYTHONIOENCODING": "ascii", "LC_ALL": "C"})
    assert result.returncode == 0, result.stderr.decode("ascii", "replace")[-2000:]
    assert b"Traceback" not in result.stderr
    result.stdout.decode("ascii")  # nothing but ASCII reached the console
    if "--json" in args:
        json.loads(result.stdout)


# --- parameter values -----------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["２", "1_0", "٣", "²"])
def test_only_ascii_decimal_digits_are_a_number(value):
    with pytest.raises(ParamError, match="workers"):
        resolve(get_lesson("basics").params, {"workers": value}, "basics")


def test_a_repeated_set_is_refused_naming_the_parameter():
    with pytest.raises(ParamError, match="'workers' is given twice"):
        parse_assignments(["workers=abc", "workers=2"])


def test_a_long_value_is_cut_in_the_message():
    with pytest.raises(ParamError) as caught:
        resolve(get_lesson("basics").params, {"workers": "1" * 5000}, "basics")
    message = str(caught.value)
    assert len(message) < 200 and "(5000 digits)" in message


def test_the_command_line_refuses_a_repeated_set_with_one_line():
    result = cli("run", "basics", "--set", "workers=2", "--set", "workers=3")
    assert result.returncode == 2
    assert "workers" in one_error_line(result)


# --- open files -----------------------------------------------------------------------------------
def _limited(soft: int, hard: int):
    def apply():
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return apply


@posix_only
def test_the_soft_descriptor_limit_is_raised_towards_the_hard_one():
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 512:
        pytest.skip("the hard limit here is too low to show a raise")
    code = "from app.core.fdlimit import raise_limit, needed; print(raise_limit() >= needed(64))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
                         capture_output=True, text=True, timeout=TIMEOUT_S, preexec_fn=_limited(64, 512))
    assert out.stdout.strip() == "True", out.stderr


@posix_only
def test_too_few_descriptors_for_the_workers_is_said_before_the_run(tmp_path):
    result = cli("run", "deadlock", "--set", "workers=64", "--json", str(tmp_path / "run.json"),
                 preexec_fn=_limited(64, 64))
    assert result.returncode == 2
    line = one_error_line(result)
    from app.core.fdlimit import needed

    assert "workers" in line and "64" in line and str(needed(66)) in line
    assert list(tmp_path.iterdir()) == []


# --- signals --------------------------------------------------------------------------------------
def _descendants(pid: int) -> list[int]:
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


@posix_only
def test_sigterm_mid_run_ends_every_process_and_writes_nothing(tmp_path):
    args = ["run", "counter", "--set", "workers=2", "--set", "increments=1", "--set", "hold_s=30",
            "--json", str(tmp_path / "run.json"), "--csv", str(tmp_path / "run.csv")]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "app", *args], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: len(_descendants(proc.pid)) >= 2, TIMEOUT_S, what="the run's workers")
        started = _descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 3, err
    assert "SIGTERM" in err.decode() and b"Traceback" not in err
    assert_all_gone(started)
    assert list(tmp_path.iterdir()) == []


# SIGTERM arrives while the outputs are written (sent by the CSV writer itself, after the summary and the
# trace's temp files exist): every temp file is removed, nothing is kept.
_SIGTERM_WHILE_WRITING = """
import os, signal, sys
import app.core.trace as trace_module
original = trace_module._describe
def describe(*args):
    os.kill(os.getpid(), signal.SIGTERM)
    trace_module._describe = original
    return original(*args)
trace_module._describe = describe
from app.main import main
raise SystemExit(main(sys.argv[1:]))
"""


@posix_only
def test_sigterm_while_writing_removes_every_temp_file(tmp_path):
    args = [*TINY, "--json", str(tmp_path / "run.json"), "--trace", str(tmp_path / "run.pstrace"),
            "--csv", str(tmp_path / "run.csv")]
    result = subprocess.run([sys.executable, "-c", _SIGTERM_WHILE_WRITING, *args], cwd=REPO_ROOT,
                            env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)), capture_output=True, timeout=TIMEOUT_S)
    assert result.returncode == 3, result.stderr
    assert b"SIGTERM" in result.stderr and b"Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == [], "a temp file or a partial output was left"


# --- a trace the app wrote, it opens ----------------------------------------------------------------
def test_the_texts_limit_admits_the_largest_counter_run_the_app_can_write(tmp_path):
    """The counter's results list every read and write; texts grow with workers × increments. A 2-worker run
    of the most increments is measured; the largest run (64 workers) writes 32 times its texts."""
    from app.core.runner import Runner
    from app.core.trace import Trace

    spec = {s.name: s for s in get_lesson("counter").params}
    most_workers, most_increments = int(spec["workers"].maximum), int(spec["increments"].maximum)
    runner = Runner("counter", {"workers": "2", "increments": str(most_increments), "hold_s": "0", "lock": "none"},
                    "fork" if sys.platform.startswith("linux") else "spawn", sample_hz=None)
    trace = runner.run(timeout=TIMEOUT_S)
    assert_all_gone(p.pid for p in trace.processes().values())
    path = tmp_path / "run.pstrace"
    trace.save(str(path))
    texts_bytes = zipfile.ZipFile(path).getinfo("texts.json").file_size
    largest = texts_bytes * most_workers / 2
    limit = trace_schema.texts_limit() if hasattr(trace_schema, "texts_limit") else trace_schema.MAX_TEXTS_BYTES
    assert largest <= limit, (largest, limit)
    assert len(Trace.load(str(path)).texts) == len(trace.texts)

