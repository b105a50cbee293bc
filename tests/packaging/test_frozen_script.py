"""The frozen app traces a script of the user's own, under spawn and forkserver: the executable is the
script's interpreter, every process of it is traced, the standard library is there, nothing is left."""

from __future__ import annotations

import json
import multiprocessing
import textwrap

import pytest

from tests.packaging.conftest import TIMINGS
from tests.packaging.frozen import run_frozen

METHODS = [m for m in ("spawn", "forkserver") if m in multiprocessing.get_all_start_methods()]

# Modules ProcScope itself never imports: they are in the bundle only because build.spec collects the stdlib.
SCRIPT = textwrap.dedent('''
    import multiprocessing as mp
    import sys
    import fractions, statistics, sqlite3, difflib, wave, xml.dom.minidom, email.mime.text, mailbox

    def square(x):
        return x * x

    if __name__ == "__main__":
        lock = mp.Lock()
        with mp.Pool(2) as pool:
            squares = pool.map(square, range(6))
        with lock:
            con = sqlite3.connect(":memory:")
            one = con.execute("select 1").fetchone()[0]
        with open("out.txt", "w") as out:
            out.write(f"{squares} {statistics.mean(squares)} {fractions.Fraction(1, 3)} {one} {sys.argv[1:]}")
        print("done", mp.current_process().name, __name__)
''')


@pytest.mark.parametrize("method", METHODS)
def test_frozen_app_traces_a_script(frozen_exe, tmp_path, method):
    script = tmp_path / "student.py"
    script.write_text(SCRIPT, encoding="utf-8")
    out = tmp_path / "summary.json"
    run = run_frozen(frozen_exe, ["trace", str(script), "--start-method", method, "--json", str(out),
                                  "--timeout", "120", "--", "an-arg"], tmp_path)
    TIMINGS.append((f"trace a script ({method})", run.seconds))
    summary = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    assert run.code == 0, (run.code, summary.get("processes"), summary.get("errors"))
    assert run.counts.get("main") == 1, run.counts  # ProcScope's main() once: the script's processes boot apart
    assert not run.counts.get("window")
    assert not run.survivors
    written = (tmp_path / "out.txt").read_text(encoding="utf-8")  # in its cwd, with its argv
    assert written == "[0, 1, 4, 9, 16, 25] 9.166666666666666 1/3 1 ['an-arg']"
    result = summary["result"]
    assert summary["lesson"] == "script" and summary["status"] == "done" and result["exit_code"] == 0
    assert summary["start_method"] == method
    procs = summary["processes"]
    assert procs[0]["main_module"] == "__main__" and procs[0]["role"] == "main"
    assert len([p for p in procs if "PoolWorker" in (p["name"] or "")]) == 2, procs
    # a worker still starting when the pool is terminated (the with block's end) may never say hello
    workers = [p for p in procs if p["role"] == "pool"]
    assert workers and all(p["main_module"] == "__mp_main__" for p in workers), procs
    assert result["tasks"]["count"] >= 1 and sum(result["tasks"]["per_worker"].values()) == result["tasks"]["count"]
    # only what the script made: not the pool's own queues and locks (bundled modules name their files
    # relative to the bundle, which must not make them look like the script's)
    assert {o["file"] for o in result["objects"]} == {str(script)}, result["objects"]
    assert {"kind": "Lock", "name": "lock"} in [{k: o[k] for k in ("kind", "name")} for o in result["objects"]]


def test_the_frozen_window_runs_a_script(frozen_exe, tmp_path):
    """Your script in the frozen window (offscreen): opened, run under the form's spawn, nothing left."""
    script = tmp_path / "student.py"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {"PROCSCOPE_SMOKE": "1", "PROCSCOPE_SMOKE_SCRIPT": str(script), "QT_QPA_PLATFORM": "offscreen"}
    run = run_frozen(frozen_exe, [], tmp_path, env_extra=env, timeout=240)
    TIMINGS.append(("GUI: open a script, run it, close", run.seconds))
    assert run.code == 0
    assert run.counts.get("main") == 1 and run.counts.get("window") == 1, run.counts
    assert run.counts.get("finished:done") == 1, run.counts
    assert not run.survivors
    assert (tmp_path / "out.txt").read_text(encoding="utf-8").startswith("[0, 1, 4, 9, 16, 25] ")
