"""``trace SCRIPT``: scripts of our own (tests/core/scripts), run unchanged and recorded as lessons are.

Each test checks the processes, states, objects and output its script must produce, under
every start method where that matters, and that no process of the script is left.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from app.core import events as ev
from app.core.script.session import ScriptRun
from app.core.summary import build_summary
from app.core.trace import Trace
from tests.helpers import assert_all_gone, wait_until

SCRIPTS = Path(__file__).parent / "scripts"
ROOT = Path(__file__).resolve().parents[2]
METHODS = [m for m in ("spawn", "fork", "forkserver") if m in multiprocessing.get_all_start_methods()]


def assert_group_gone(pgid: int) -> None:
    """No process is left in the script's process group (the fork server, the resource tracker included)."""
    def left():
        found = []
        for proc in psutil.process_iter(["pid", "status"]):
            try:
                if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                    found.append(proc.pid)
            except (ProcessLookupError, PermissionError, psutil.Error):
                continue
        return found

    wait_until(lambda: not left(), timeout=10, what=f"process group {pgid} to be empty")


def trace_script(name: str, method: str | None = "spawn", args=(), timeout: float = 60):
    run = ScriptRun(str(SCRIPTS / name), args, method, capture_output=True, sample_hz=None)
    trace = run.run(timeout=timeout)
    summary = build_summary(trace)
    assert_all_gone(p["pid"] for p in summary["processes"])
    if os.name == "posix":
        assert_group_gone(run._process.pid)
    return run, trace, summary


def lane(summary: dict, name: str) -> dict:
    return next(p for p in summary["processes"] if p["name"] == name)


def states(trace: Trace, summary: dict, name: str) -> set[str]:
    return {ev.STATE_NAMES[code] for code in trace.states(lane(summary, name)["index"])[:, 1].tolist()}


def objects(summary: dict) -> dict[str, dict]:
    return {o["name"]: o for o in summary["result"]["objects"]}


def stdout(run: ScriptRun) -> str:
    return run.output["stdout"].decode()


def child_main(method: str) -> str:
    return "__main__" if method == "fork" else "__mp_main__"


@pytest.mark.parametrize("method", METHODS)
def test_process_and_join(method):
    run, trace, summary = trace_script("process_join.py", method)
    assert run.exit_code == 0 and summary["status"] == "done" and summary["lesson"] == "script"
    main, child = lane(summary, "MainProcess"), lane(summary, "Greeter")
    assert (main["role"], main["main_module"], child["main_module"]) == ("main", "__main__", child_main(method))
    assert main["exitcode"] == 0 and child["exitcode"] == 0
    if method != "forkserver":  # a fork server's child is the server's (its ppid, as os.getppid() says)
        assert child["ppid"] == main["pid"]
    assert {main["ended"], child["ended"]} == {"done"}
    assert f"main={child_main(method)}" in stdout(run) and "parent done, exitcode=0" in stdout(run)
    assert "waiting" in states(trace, summary, "MainProcess")  # in join
    printed = [t[3] for t in trace.texts_of(ev.PRINT, child["index"])]
    assert printed and printed[0].startswith("child Greeter")


@pytest.mark.parametrize("method", METHODS)
def test_lock_waiting_then_holding(method):
    run, trace, summary = trace_script("lock_contention.py", method)
    assert {"waiting", "holding"} <= states(trace, summary, "Process-1")
    lock = objects(summary)["lock"]
    assert (lock["kind"], lock["line"], os.path.basename(lock["file"])) == ("Lock", 14, "lock_contention.py")
    assert "holding" in states(trace, summary, "MainProcess")
    recs = trace.records
    steps = recs[(recs[:, 2] == ev.LOCK) & (recs[:, 4] == lock["id"])][:, 3].tolist()
    assert steps.count(ev.LOCK_ACQUIRED) == 2 and steps.count(ev.LOCK_RELEASED) == 2
    assert "first try False" in stdout(run)
    assert objects(summary)["tried"]["kind"] == "Event"


@pytest.mark.parametrize("method", METHODS)
def test_rlock_nested(method):
    run, trace, summary = trace_script("rlock_nested.py", method)
    assert objects(summary)["rlock"]["kind"] == "RLock"
    assert "holding" in states(trace, summary, "Process-1") and "holding" in states(trace, summary, "MainProcess")
    assert stdout(run) == "inside twice\nparent has it\n"


@pytest.mark.parametrize("method", METHODS)
def test_bounded_semaphore(method):
    run, trace, summary = trace_script("semaphore.py", method)
    assert objects(summary)["slot"]["kind"] == "BoundedSemaphore"
    assert {"waiting", "holding"} <= states(trace, summary, "Process-1")
    assert "the child is in the slot" in stdout(run)


@pytest.mark.parametrize("method", METHODS)
def test_event(method):
    run, trace, summary = trace_script("event.py", method)
    assert objects(summary)["ready"]["kind"] == "Event"
    assert "waiting" in states(trace, summary, "Process-1") and "the event was set" in stdout(run)


@pytest.mark.parametrize("method", METHODS)
def test_condition(method):
    run, trace, summary = trace_script("condition.py", method)
    found = objects(summary)
    assert found["cond"]["kind"] == "Condition" and found["flag"]["kind"] == "Value"
    assert {"waiting", "holding"} <= states(trace, summary, "Process-1")
    assert "notified, flag 1" in stdout(run)


@pytest.mark.parametrize("method", METHODS)
def test_barrier(method):
    run, trace, summary = trace_script("barrier.py", method)
    assert objects(summary)["barrier"]["kind"] == "Barrier"
    waited = [n for n in ("Process-1", "Process-2") if "waiting" in states(trace, summary, n)]
    assert waited  # whoever came first waited for the other
    # two processes print at once: their bytes may interleave on the shared stdout, as without ProcScope
    # (forkserver); each process's own lines are whole in the trace
    printed = sorted(t[3] for t in trace.texts_of(ev.PRINT))
    assert printed == ["worker 0 passed the barrier", "worker 1 passed the barrier"]


@pytest.mark.parametrize("method", METHODS)
def test_queue_producer_consumer(method):
    run, trace, summary = trace_script("queue_relay.py", method)
    found = objects(summary)
    assert (found["jobs"]["kind"], found["done"]["kind"]) == ("Queue", "SimpleQueue")
    # the parent waits in done.get() while the producer sleeps; so may the consumer in jobs.get()
    assert any("blocked" in states(trace, summary, n) for n in ("MainProcess", "Process-2"))
    assert stdout(run) == "got 0\ngot 1\ngot 2\nfinished\n"
    assert len(summary["processes"]) == 3  # the queues' feeder threads are no processes


@pytest.mark.parametrize("method", METHODS)
def test_pipe(method):
    run, trace, summary = trace_script("pipe.py", method)
    found = objects(summary)
    assert found["parent_conn"]["kind"] == found["child_conn"]["kind"] == "Pipe"
    # the child waits for "hello" (sent after 50 ms) or, if it started later, the parent waits for "thanks"
    assert any("blocked" in states(trace, summary, n) for n in ("MainProcess", "Process-1"))
    assert stdout(run) == "child received hello\nparent received thanks\n"


@pytest.mark.parametrize("method", METHODS)
def test_value_race_shows_the_lost_update(method):
    run, trace, summary = trace_script("value_race.py", method)
    slots = [s["name"] for s in trace.meta["value_slots"]]
    assert slots[:3] == ["counter", "slots[0]", "slots[1]"]
    _times, values, writers = trace.values(0)
    assert values.tolist() == [0, 1, 1]  # the initial value, then both write 1: one update lost
    assert len(set(writers[1:].tolist())) == 2
    lost = summary["result"]["lost_update_candidates"]
    assert lost and lost[0]["name"] == "counter" and lost[0]["stale_writes"] == 1
    assert "lost updates" in summary["result"]["explanation"]["en"]
    assert "更新丢失" in summary["result"]["explanation"]["zh"]
    assert stdout(run) == "counter 1 expected 2\n"
    assert objects(summary)["counter.get_lock()"]["kind"] == "RLock"


@pytest.mark.parametrize("method", METHODS)
def test_pool(method):
    run, trace, summary = trace_script("pool_map.py", method)
    result = summary["result"]
    assert result["tasks"]["count"] == 10  # map 4, apply_async 1, starmap 2, imap_unordered 3
    assert result["tasks"]["functions"] == ["add", "square"]
    workers = [p for p in summary["processes"] if p["name"].endswith(("PoolWorker-1", "PoolWorker-2"))]
    assert len(workers) == 2 and all(p["ended"] in ("done", "terminated") for p in workers)
    ran = [p for p in workers if p["main_module"]]  # a worker the pool ended before it ran has no hello
    assert ran and all("idle" in p["time_in_state_s"] for p in ran)
    recs = trace.records
    tasks = recs[recs[:, 2] == ev.TASK]
    assert sorted(tasks[tasks[:, 4] == ev.TASK_START][:, 3].tolist()) == list(range(10))
    assert stdout(run) == "map [0, 1, 4, 9]\napply_async 25\nstarmap [3, 7]\nimap_unordered [0, 1, 4]\n"


@pytest.mark.parametrize("method", METHODS)
def test_process_pool_executor(method):
    run, trace, summary = trace_script("executor.py", method)
    assert summary["result"]["tasks"]["count"] == 4 and summary["result"]["tasks"]["functions"] == ["cube"]
    assert stdout(run) == "submit 8\nmap [0, 1, 8]\n"
    assert {p["role"] for p in summary["processes"]} == {"main", "pool"}


@pytest.mark.parametrize("method", METHODS)
def test_nested_process(method):
    run, _trace, summary = trace_script("nested.py", method)
    child, grandchild = lane(summary, "Child"), lane(summary, "Grandchild")
    assert grandchild["exitcode"] == 0 and (method == "forkserver" or grandchild["ppid"] == child["pid"])
    assert stdout(run) == "grandchild Grandchild parent Child\n"


def test_script_reads_argv_and_keeps_its_exit_code():
    run, _trace, summary = trace_script("argv_exit.py", None, args=["3", "two words"])
    assert run.exit_code == 3 and summary["result"]["exit_code"] == 3
    assert stdout(run) == "argv ['3', 'two words'] script argv_exit.py path0 scripts\n"


def test_no_main_guard_under_spawn_is_named():
    run, _trace, summary = trace_script("no_guard.py", "spawn")
    result = summary["result"]
    assert result["guard_missing"] is True
    assert 'if __name__ == "__main__":' in result["explanation"]["en"] and "__mp_main__" in result["explanation"]["zh"]
    assert "exit code of the child 1" in stdout(run)
    assert "RuntimeError" in run.output["stderr"].decode() and "agent.py" not in run.output["stderr"].decode()


@pytest.mark.skipif("fork" not in METHODS, reason="fork is not available here")
def test_no_main_guard_is_fine_under_fork():
    run, _trace, summary = trace_script("no_guard.py", "fork")
    assert summary["result"]["guard_missing"] is False and "work ran" in stdout(run)


@pytest.mark.parametrize("method", METHODS)
def test_child_raises(method):
    run, _trace, summary = trace_script("child_raises.py", method)
    failer = lane(summary, "Failer")
    assert failer["exitcode"] == 1 and failer["ended"] == "crashed"
    assert any("ValueError: boom in the child" in e for e in failer["errors"])
    assert run.exit_code == 5 and "child exit code 1" in stdout(run)
    assert "Failer" in summary["result"]["crashed"]


def test_main_raises_prints_what_python_prints():
    run, _trace, summary = trace_script("main_raises.py")
    bare = subprocess.run([sys.executable, str(SCRIPTS / "main_raises.py")], capture_output=True, timeout=60)
    assert run.exit_code == bare.returncode == 1
    assert run.output["stderr"] == bare.stderr and run.output["stdout"] == bare.stdout
    assert any("RuntimeError" in e for e in lane(summary, "MainProcess")["errors"])


@pytest.mark.parametrize("method", METHODS)
def test_hang_ends_at_timeout_with_nothing_left(method):
    run, _trace, summary = trace_script("hangs.py", method, timeout=2.0)
    assert summary["status"] == "timeout"
    assert lane(summary, "Forever")["ended"] == "stopped" and lane(summary, "MainProcess")["ended"] == "stopped"
    assert "--timeout" in summary["result"]["explanation"]["en"]


def test_output_bytes_are_the_scripts():
    run, _trace, _summary = trace_script("queue_relay.py", None)
    bare = subprocess.run([sys.executable, str(SCRIPTS / "queue_relay.py")], capture_output=True, timeout=60)
    assert run.output["stdout"] == bare.stdout and run.exit_code == bare.returncode == 0


# --- the command line ---------------------------------------------------------------------------
def procscope(*args, timeout: float = 90) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=str(ROOT))


@pytest.mark.parametrize("bad, says", [
    ("nowhere.py", "no such file"),
    ("tests/core/scripts", "is a directory"),
    ("README.md", "not a Python file"),
])
def test_cli_bad_script_is_one_line_exit_2(bad, says):
    result = procscope("trace", bad)
    assert result.returncode == 2 and says in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_syntax_error_names_file_and_line(tmp_path):
    bad = tmp_path / "broken.py"
    bad.write_text("import os\nx = (\n")
    result = procscope("trace", str(bad))
    assert result.returncode == 2 and f"{bad}:2: syntax error" in result.stderr


def test_cli_outputs_and_exit_code(tmp_path):
    out = {k: tmp_path / f"run.{k}" for k in ("pstrace", "csv", "json")}
    result = procscope("trace", "tests/core/scripts/argv_exit.py", "--json", "-", "--trace", str(out["pstrace"]),
                       "--csv", str(out["csv"]), "--chrome-trace", str(out["json"]), "--", "4", "-x")
    assert result.returncode == 4
    summary = json.loads(result.stdout)
    assert summary["lesson"] == "script" and summary["result"]["exit_code"] == 4
    assert "argv ['4', '-x']" in result.stderr  # the script's output moved aside for the JSON
    loaded = Trace.load(str(out["pstrace"]))
    assert build_summary(loaded)["result"]["exit_code"] == 4
    assert "argv" in out["csv"].read_text() and json.loads(out["json"].read_text())["traceEvents"]


@pytest.mark.parametrize("before", [[], ["--start-method", "spawn"]])
def test_cli_script_arguments_right_after_the_script(before):
    # SCRIPT -- ARGS with no option between: argparse would let SCRIPT swallow the --
    result = procscope("trace", *before, "tests/core/scripts/argv_exit.py", "--", "5", "--json", "-")
    assert result.returncode == 5, result.stderr
    assert "argv ['5', '--json', '-']" in result.stdout


def test_cli_timeout_exit_3():
    result = procscope("trace", "tests/core/scripts/hangs.py", "--timeout", "1.5", "--start-method", "spawn")
    assert result.returncode == 3 and "child started" in result.stdout and "timeout" in result.stderr


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_killed_procscope_leaves_nothing():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    app = subprocess.Popen([sys.executable, "-m", "app", "trace", "tests/core/scripts/hangs.py"], cwd=str(ROOT),
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert app.stdout.readline() == b"child started\n"
        tree = psutil.Process(app.pid).children(recursive=True)
        assert len(tree) >= 2
    finally:
        app.send_signal(signal.SIGKILL)
        app.wait(10)
        app.stdout.close()
    assert_all_gone(p.pid for p in tree)


@pytest.mark.parametrize("method", METHODS)
def test_a_module_of_the_script_called_app_is_its_own(method):
    run, _trace, summary = trace_script("own_app/uses_own_app.py", method)
    assert stdout(run) == "the student's own app module True\n" and run.exit_code == 0
    assert objects(summary)["q"]["kind"] == "Queue"


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM")
def test_sigterm_ends_the_script_and_everything_it_started():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    app = subprocess.Popen([sys.executable, "-m", "app", "trace", "tests/core/scripts/hangs.py"], cwd=str(ROOT),
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert app.stdout.readline() == b"child started\n"
        tree = psutil.Process(app.pid).children(recursive=True)
        app.send_signal(signal.SIGTERM)
        _out, err = app.communicate(timeout=30)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    assert app.returncode == 3 and b"SIGTERM" in err
    assert_all_gone(p.pid for p in tree)


@pytest.mark.parametrize("method", METHODS)
def test_manager_lock_value_and_dict(method):
    run, trace, summary = trace_script("manager.py", method)
    assert stdout(run) == "total 2 scores [('w0', 10), ('w1', 11)]\n"
    found = objects(summary)
    assert (found["lock"]["kind"], found["total"]["kind"], found["scores"]["kind"]) == (
        "Manager.Lock", "Manager.Value", "Manager.dict")
    assert {"Process-2", "Process-3"} <= {p["name"] for p in summary["processes"]}
    assert all("holding" in states(trace, summary, n) for n in ("Process-2", "Process-3"))
    assert lane(summary, "SyncManager-1")["role"] == "manager"
    slots = {s["name"]: k for k, s in enumerate(trace.meta["value_slots"])}
    assert trace.values(slots["total"])[1].tolist() == [0, 1, 2]
    assert trace.values(slots["scores['w1']"])[1].tolist() == [11]


@pytest.mark.skipif("fork" not in METHODS, reason="fork is not available here")
def test_a_script_keeps_its_own_start_method():
    run, _trace, summary = trace_script("own_start_method.py", "fork")
    assert stdout(run) == "child main __mp_main__\nmethod spawn\n"
    assert lane(summary, "Process-1")["main_module"] == "__mp_main__"


@pytest.mark.parametrize("method", METHODS)
def test_a_child_never_joined_is_ended_and_said(method):
    run, _trace, summary = trace_script("never_joins.py", method)
    assert run.exit_code == 0 and stdout(run) == "leaving\n"
    assert summary["result"]["left_running"] == ["Sleeper"] and lane(summary, "Sleeper")["ended"] == "stopped"
    assert "never joined" in summary["result"]["explanation"]["en"]


def test_what_cannot_be_traced_is_said_once():
    run, _trace, summary = trace_script("untraceable.py")
    assert stdout(run) == "got 3 True\n" and run.exit_code == 0
    keys = [n["key"] for n in summary["result"]["notes"]]
    assert sorted(keys) == ["manager-queue", "raw-values"]  # once each, though each happened twice
    assert all(n["en"] and n["zh"] for n in summary["result"]["notes"])


def test_cli_script_reads_its_standard_input():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "app", "trace", "tests/core/scripts/reads_stdin.py"], cwd=str(ROOT),
                            env=env, input=b"hello\n", capture_output=True, timeout=60)
    assert result.returncode == 0 and result.stdout == b"read HELLO\n"
