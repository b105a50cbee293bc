"""The generated scripts: plain standard-library Python that runs by itself and shows the lesson's outcome.

Every script is run for real, isolated (``python -I``: no ProcScope on the path), one at a time, and its
last line ``RESULT <json>`` is checked against what the lesson must show. Most runs use ``fork`` (fast);
one variant per lesson runs under ``spawn`` (and a few under ``forkserver``).
"""

from __future__ import annotations

import ast
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from app.core.codegen import generate
from app.core.lessons import LESSONS, get_lesson
from app.core.lessons.counter import LOCKS, SHARINGS
from app.core.lessons.shared_array import TYPECODES
from app.core.params import ParamError, resolve

METHODS = [m for m in ("spawn", "fork", "forkserver") if m in multiprocessing.get_all_start_methods()]
FAST = "fork" if "fork" in METHODS else "spawn"

# Small parameters: every script run stays well under ~3 s (a lesson not listed runs with its defaults).
SMALL = {
    "basics": {"workers": 3},
    "isolation": {"workers": 3},
    "shared_array": {"workers": 3},
    "manager": {"workers": 3},
    "queue_relay": {"workers": 3},
    "counter": {"workers": 3, "hold_s": 0.02},
    "pool": {"pool_size": 2, "tasks": 4, "task_s": 0.05},
    "sync": {"workers": 3, "hold_s": 0.05},
    "deadlock": {"workers": 2, "hold_s": 0.2},
    "speedup": {"job_size": 100_000, "max_workers": 2, "start_methods": [FAST]},
}
COUNTER_COMBOS = [(s, lk) for s in SHARINGS for lk in LOCKS if lk != "get_lock" or s in ("value", "array")]


def columns(line: str) -> int:
    """Display width: a CJK character takes two columns (as ruff's E501 counts)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def values_of(lesson_id: str, **given) -> dict:
    return resolve(get_lesson(lesson_id).params, {**SMALL.get(lesson_id, {}), **given}, lesson_id)


def code_of(lesson_id: str, method: str = FAST, **given) -> str:
    return generate(lesson_id, values_of(lesson_id, **given), method)


def run_script(tmp_path: Path, code: str) -> dict:
    """Run the script isolated; it must end by itself with exit code 0 and print RESULT last."""
    script = tmp_path / "lesson_script.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run([sys.executable, "-I", str(script)], cwd=tmp_path, timeout=60,
                          capture_output=True, text=True, encoding="utf-8", errors="replace")
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    assert not done.stderr, done.stderr[-3000:]  # no traceback, no resource warning
    lines = done.stdout.strip().splitlines()
    assert lines and lines[-1].startswith("RESULT "), done.stdout[-2000:]
    return json.loads(lines[-1].removeprefix("RESULT "))


def run_lesson_script(tmp_path: Path, lesson_id: str, method: str = FAST, **given) -> dict:
    if method not in METHODS:
        pytest.skip(f"start method {method} is not available here")
    return run_script(tmp_path, code_of(lesson_id, method, **given))


def every_variant():
    """(label, lesson, given): the small defaults, then one choice parameter changed at a time."""
    for lesson_id, lesson in LESSONS.items():
        yield lesson_id, lesson_id, {}
        for spec in lesson.params:
            for option in _options(spec):
                given = {spec.name: [option] if spec.kind == "choices" else option}
                if spec.kind == "choices" and option not in METHODS:
                    continue
                try:
                    lesson.check(values_of(lesson_id, **given))
                except ParamError:
                    continue
                yield f"{lesson_id}-{spec.name}={option}", lesson_id, given
    for sharing, lock in COUNTER_COMBOS:
        yield f"counter-{sharing}-{lock}", "counter", {"sharing": sharing, "lock": lock}


def _options(spec) -> tuple:
    if spec.kind in ("choice", "choices"):
        return spec.choices
    return (True, False) if spec.kind == "bool" else ()


VARIANTS = list(every_variant())


# --- what every script is, without running it ---------------------------------------------------------


@pytest.mark.parametrize("method", ["spawn", "fork", "forkserver"])
@pytest.mark.parametrize(("label", "lesson_id", "given"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_script_is_plain_standard_library_python(label, lesson_id, given, method):
    code = code_of(lesson_id, method, **given)
    compile(code, f"{label}.py", "exec")
    tree = ast.parse(code)
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module
            modules.add(node.module)
    assert modules, "the script imports multiprocessing at least"
    for module in modules:
        assert module.split(".")[0] in sys.stdlib_module_names, module
        assert not module.startswith(("app", "procscope")), module
    assert "procscope" not in " ".join(modules).lower()
    assert "if __name__ == '__main__':" in code
    assert f"multiprocessing.set_start_method('{method}')" in code
    assert "print('RESULT', json.dumps(" in code
    too_long = [line for line in code.splitlines() if columns(line) > 100]
    assert not too_long, too_long
    # Worker functions are top level (picklable under spawn): nothing is defined inside main().
    main = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main")
    assert not [n for n in ast.walk(main) if isinstance(n, ast.FunctionDef) and n is not main]


def test_scripts_are_lint_clean(tmp_path):
    """pycodestyle/pyflakes rules (ruff E, W, F) at 100 columns, over every variant."""
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        pytest.skip("ruff is not installed")
    for n, (_label, lesson_id, given) in enumerate(VARIANTS):
        (tmp_path / f"script_{n}.py").write_text(code_of(lesson_id, "spawn", **given), encoding="utf-8")
    done = subprocess.run([ruff, "check", "--isolated", "--select", "E,W,F,I", "--line-length", "100",
                           "--no-cache", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:]


def test_parameters_are_constants_with_tempo_in_every_time():
    code = code_of("counter", workers=4, hold_s=0.5, tempo=3.0)
    assert "WORKERS = 4" in code and "HOLD_S = 1.5" in code
    code = code_of("pool", task_s=0.2, tempo=2.0, finish="terminate", terminate_after_s=1.5)
    assert "TASK_S = 0.4" in code and "TERMINATE_AFTER_S = 3.0" in code
    assert "MAXTASKSPERCHILD = None" in code
    assert "MAXTASKSPERCHILD = 3" in code_of("pool", maxtasksperchild=3)
    assert "HOLD_S = 0.1" in code_of("sync", hold_s=0.05, tempo=2)
    assert "HOLD_S = 0.02" in code_of("deadlock", hold_s=0.2, tempo=0.1)


def test_each_choice_produces_its_own_code():
    counter_codes = {code_of("counter", sharing=s, lock=lk) for s, lk in COUNTER_COMBOS}
    assert len(counter_codes) == len(COUNTER_COMBOS)
    assert "multiprocessing.Semaphore(1)" in code_of("counter", lock="semaphore")
    assert "with counter.get_lock():" in code_of("counter", sharing="value", lock="get_lock")
    worker = code_of("counter", sharing="value", lock="none").split("def func")[1].split("def main")[0]
    assert "lock" not in worker
    assert "shared_memory.SharedMemory(create=True" in code_of("counter", sharing="shared_memory")
    assert "say hi" in code_of("counter")
    for typecode in TYPECODES:
        assert f"TYPECODE = {typecode!r}" in code_of("shared_array", typecode=typecode)
    assert "p.terminate()" in code_of("pool", finish="terminate")
    assert "p.terminate()" not in code_of("pool")
    for mode in ("apply", "apply_async", "map", "imap_unordered"):
        assert f"p.{mode}(" in code_of("pool", mode=mode)
    for primitive, made in (("event", "Event()"), ("semaphore", "Semaphore(K)"), ("condition", "Condition()"),
                            ("barrier", "Barrier(WORKERS)")):
        assert f"multiprocessing.{made}" in code_of("sync", primitive=primitive)
    assert "ORDERED = True" in code_of("deadlock", ordered=True)
    assert f"START_METHODS = {METHODS!r}" in code_of("speedup", start_methods=METHODS)


def test_tutorial_prints_are_kept():
    assert "print('这里是 ', multiprocessing.current_process().name)" in code_of("basics")
    assert "模块名称" in code_of("basics") and "父进程 id" in code_of("basics") and "当前子进程 id" in code_of("basics")
    assert "进程%s 从队列里获取了一个%s，然后又向队列里放入了一个%s" in code_of("queue_relay")
    assert "print('正在执行进程 ', args)" in code_of("pool")
    assert "print('say hi', " in code_of("counter")
    assert "lis.address is" in code_of("isolation")
    assert "修改数组第一个元素后----->" in code_of("shared_array")


def test_bad_input_raises_param_error():
    with pytest.raises(ParamError, match="get_lock"):
        code_of("counter", sharing="queue", lock="get_lock")
    with pytest.raises(ParamError, match="lesson"):
        generate("nope", {}, "spawn")
    with pytest.raises(ParamError, match="start-method"):
        generate("basics", values_of("basics"), "threads")
    with pytest.raises(ParamError, match="workers"):
        generate("basics", {"tempo": 1.0}, "spawn")
    with pytest.raises(ParamError, match="colour"):
        generate("basics", {**values_of("basics"), "colour": "red"}, "spawn")
    with pytest.raises(ParamError, match="workers"):
        generate("basics", {**values_of("basics"), "workers": 65}, "spawn")
    with pytest.raises(ParamError, match="workers"):
        generate("sync", values_of("sync", primitive="barrier", workers=1), "spawn")


def test_defaults_of_every_lesson_generate():
    for lesson_id, lesson in LESSONS.items():
        values = resolve(lesson.params, {}, lesson_id)
        compile(generate(lesson_id, values), lesson_id, "exec")


# --- running them ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
def test_basics(tmp_path, method):
    result = run_lesson_script(tmp_path, "basics", method)
    assert result["names"] == ["Process-1", "Process-2", "Process-3"]
    assert sorted(result["run_order"]) == result["start_order"] == [0, 1, 2]
    assert len(set(result["pids"])) == 3
    # A script, unlike `python -m app`, is imported again as __mp_main__ under spawn (the tutorial).
    expected_main = "__main__" if method == "fork" else "__mp_main__"
    assert result["main_modules"] == [expected_main] * 3
    assert result["all_ppid_is_parent"] is (method != "forkserver")


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_isolation(tmp_path, method):
    result = run_lesson_script(tmp_path, "isolation", method)
    assert result["parent_list"] == []
    assert result["child_lists"] == [[0], [1], [2]]
    if method == "fork":
        assert len(set(result["child_list_ids"])) == 1


@pytest.mark.parametrize("typecode", list(TYPECODES))
def test_shared_array_typecodes_with_lock(tmp_path, typecode):
    result = run_lesson_script(tmp_path, "shared_array", typecode=typecode, lock="get_lock")
    assert result["typecode"] == typecode
    assert result["actual"] == result["expected"] and result["lost_updates"] == 0
    assert result["expected_unbounded"] == 1 + 3 * 100
    if typecode in "bBc":  # 301 does not fit in a byte: it wraps, like C
        assert result["overflowed"] and result["expected"] == 301 - 256
    else:
        assert not result["overflowed"] and result["expected"] == 301
    assert result["array"][1:] == [2, 3, 4]


@pytest.mark.parametrize(("lock", "method"), [("none", "fork"), ("get_lock", "spawn"), ("lock", "fork")])
def test_shared_array_locks(tmp_path, lock, method):
    result = run_lesson_script(tmp_path, "shared_array", method, lock=lock, hold_s=0.02)
    assert result["expected"] == 301
    assert result["lost_updates"] >= 0 and (result["lost_updates"] == 0) == (result["actual"] == 301)
    if lock != "none":
        assert result["actual"] == 301 and result["lost_updates"] == 0


def test_shared_array_unsigned_wraps_below_zero(tmp_path):
    result = run_lesson_script(tmp_path, "shared_array", typecode="B", initial=0, add=-1, workers=2, lock="lock")
    assert result["expected"] == result["actual"] == 254 and result["overflowed"]


@pytest.mark.parametrize("proxy", ["dict", "list", "namespace", "value"])
@pytest.mark.parametrize("sequential", [True, False])
def test_manager(tmp_path, proxy, sequential):
    method = "spawn" if (proxy, sequential) == ("dict", True) else FAST
    result = run_lesson_script(tmp_path, "manager", method, proxy=proxy, sequential=sequential)
    assert result["proxy"] == proxy and result["final_as_expected"] is True
    final = result["final"]
    if proxy == "list":
        assert (final if sequential else sorted(final)) == [100, 101, 102]
    elif sequential:
        assert final == ({"num": 102} if proxy in ("dict", "namespace") else 102)
    assert isinstance(result["server_pid"], int)


@pytest.mark.parametrize(("method", "maxsize"), [("spawn", 20), ("fork", 1)])
def test_queue_relay_chain_is_intact(tmp_path, method, maxsize):
    result = run_lesson_script(tmp_path, "queue_relay", method, maxsize=maxsize)
    chain = result["chain"]
    assert sorted(step["worker"] for step in chain) == [0, 1, 2]
    assert chain[0]["got"] == 0 and result["chain_intact"] is True
    assert all(b["got"] == a["put"] for a, b in zip(chain, chain[1:], strict=False))
    assert all(step["put"] == step["worker"] for step in chain)
    assert result["left_in_queue"] == [chain[-1]["put"]]


@pytest.mark.parametrize(("sharing", "lock"), COUNTER_COMBOS)
def test_counter_every_sharing_and_lock(tmp_path, sharing, lock):
    result = run_lesson_script(tmp_path, "counter", sharing=sharing, lock=lock)
    assert (result["sharing"], result["lock"]) == (sharing, lock)
    assert result["expected"] == 10 - 3
    assert result["parent_sees"] == result["actual"]
    assert result["lost_updates"] == round((result["expected"] - result["actual"]) / -1)
    if sharing == "global":
        assert result["actual"] == 10 and result["lost_updates"] == 3  # the parent's copy never changed
    elif lock != "none" or sharing == "queue":
        assert result["actual"] == result["expected"] and result["lost_updates"] == 0
    else:
        assert 0 <= result["lost_updates"] <= 2


@pytest.mark.parametrize(("sharing", "method"), [("array", "spawn"), ("global", "spawn"), ("shared_memory", "spawn"),
                                                 ("shared_memory", "forkserver"), ("manager", "forkserver")])
def test_counter_other_start_methods(tmp_path, sharing, method):
    result = run_lesson_script(tmp_path, "counter", method, sharing=sharing, lock="lock", increments=2,
                               start_value=5, step=2)
    assert result["expected"] == 5 + 3 * 2 * 2
    assert result["actual"] == (5 if sharing == "global" else result["expected"])


def test_counter_without_lock_loses_updates(tmp_path):
    result = run_lesson_script(tmp_path, "counter", sharing="value", lock="none", hold_s=0.2)
    assert result["lost_updates"] > 0 and result["actual"] != result["expected"]


def test_counter_script_holds_where_the_lesson_does():
    between = code_of("counter", lock="none")
    after = code_of("counter", lock="none", hold_at="after")
    assert between.index("value = lis[0]") < between.index("time.sleep(HOLD_S)") < between.index("lis[0] = value")
    assert after.index("value = lis[0]") < after.index("lis[0] = value") < after.index("time.sleep(HOLD_S)")
    assert "between reading and writing" not in after


def test_counter_hold_after_loses_nothing_without_lock(tmp_path):
    result = run_lesson_script(tmp_path, "counter", sharing="array", lock="none", hold_at="after", hold_s=0.2)
    assert result["hold_at"] == "after" and result["lost_updates"] == 0


@pytest.mark.parametrize("mode", ["apply", "apply_async", "map", "imap_unordered"])
def test_pool_close_join_does_every_task(tmp_path, mode):
    result = run_lesson_script(tmp_path, "pool", mode=mode)
    assert result["mode"] == mode
    assert result["done"] == 4 and result["cancelled"] == 0
    assert 1 <= result["distinct_workers"] <= 2
    assert result["ideal_s"] == pytest.approx(0.2 if mode == "apply" else 0.1)
    assert result["wall_s"] >= result["ideal_s"] * 0.9


@pytest.mark.parametrize("mode", ["apply", "apply_async", "map", "imap_unordered"])
def test_pool_terminate_cancels_tasks(tmp_path, mode):
    # 2 workers, 0.3 s tasks, terminate() at 0.45 s: the first two are done, the next two are not.
    result = run_lesson_script(tmp_path, "pool", mode=mode, finish="terminate", tasks=8, task_s=0.3,
                               terminate_after_s=0.45)
    assert 0 < result["done"] < 8 and result["done"] + result["killed"] + result["not_started"] == 8
    assert result["not_started"] >= 1 and result["cancelled"] == result["killed"] + result["not_started"]


@pytest.mark.parametrize(("mode", "given", "method"), [
    ("map", {"chunksize": 2}, "fork"),
    ("imap_unordered", {"chunksize": 3}, "fork"),
    ("apply_async", {"maxtasksperchild": 1}, "fork"),
    ("apply_async", {}, "spawn"),
])
def test_pool_chunks_and_worker_replacement(tmp_path, mode, given, method):
    result = run_lesson_script(tmp_path, "pool", method, mode=mode, **given)
    assert result["done"] == 4
    if given.get("maxtasksperchild") == 1:
        assert result["distinct_workers"] == 4  # a fresh process for every task


@pytest.mark.parametrize(("primitive", "method"), [
    ("event", "fork"), ("semaphore", "fork"), ("condition", "fork"), ("barrier", "fork"), ("semaphore", "spawn"),
    ("condition", "forkserver"),
])
def test_sync_invariant_holds(tmp_path, primitive, method):
    result = run_lesson_script(tmp_path, "sync", method, primitive=primitive, workers=4, k=2, rounds=2)
    assert result["primitive"] == primitive and result["invariant_held"] is True
    if primitive == "semaphore":
        assert 1 <= result["max_concurrent"] <= 2
    elif primitive == "event":
        assert len(result["waited_s"]) == 4
    elif primitive == "condition":
        assert result["produced"] == result["consumed"] == 2 * 2 and result["min_stock"] >= 0
    else:
        assert result["early_starts"] == 0 and result["finished_per_phase"] == [4, 4]


@pytest.mark.parametrize(("ordered", "workers", "method"), [
    (False, 2, "fork"), (True, 2, "fork"), (False, 3, "spawn"), (True, 3, "fork"),
])
def test_deadlock_is_detected_only_without_an_order(tmp_path, ordered, workers, method):
    result = run_lesson_script(tmp_path, "deadlock", method, ordered=ordered, workers=workers)
    assert result["detected"] is (not ordered)
    if ordered:
        assert result["cycle"] == [] and result["locks"] == []
    else:
        assert sorted(result["cycle"]) == list(range(workers))
        for worker, lock in zip(result["cycle"], result["locks"], strict=True):
            assert lock == (worker + 1) % workers  # each waits for its second lock


@pytest.mark.parametrize("methods", [[m] for m in METHODS] + [METHODS])
def test_speedup_points_and_serial_fraction(tmp_path, methods):
    script_method = "spawn" if methods == ["spawn"] else FAST
    result = run_lesson_script(tmp_path, "speedup", script_method, start_methods=methods)
    assert [(p["start_method"], p["workers"]) for p in result["points"]] == [
        (m, n) for m in methods for n in (1, 2)]
    assert all(p["wall_s"] > 0 and p["speedup"] > 0 for p in result["points"])
    assert set(result["start_cost_s"]) == set(methods)
    if result["cpu_count"] >= 2:
        assert 0 <= result["serial_fraction"] <= 1


def test_cli_code_prints_and_writes_the_script(tmp_path):
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root))
    command = [sys.executable, "-m", "app", "code", "counter", "--set", "lock=none", "--start-method", "fork"]
    printed = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0, printed.stderr
    compile(printed.stdout, "counter.py", "exec")
    assert "set_start_method('fork')" in printed.stdout or 'set_start_method("fork")' in printed.stdout
    out = tmp_path / "counter.py"
    written = subprocess.run([*command, "--output", str(out)], cwd=root, env=env, capture_output=True, text=True,
                             timeout=60)
    assert written.returncode == 0 and written.stdout == ""
    assert out.read_text(encoding="utf-8") == printed.stdout
