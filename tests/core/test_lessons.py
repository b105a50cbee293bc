"""Every tutorial lesson runs for real under every start method and shows what the tutorial shows."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_lesson

METHODS = [m for m in ("spawn", "fork", "forkserver") if m in multiprocessing.get_all_start_methods()]


def _workers(summary, role="worker"):
    return [p for p in summary["processes"] if p["role"] == role]


@pytest.mark.parametrize("method", METHODS)
def test_basics_each_process_reports_itself(method):
    summary = run_lesson("basics", method, workers=3)
    result = summary["result"]
    assert summary["status"] == "done"
    assert sorted(result["names"]) == ["Process-1", "Process-2", "Process-3"]
    assert sorted(result["start_order"]) == sorted(result["run_order"]) == [0, 1, 2]
    assert len(set(result["pids"])) == 3
    assert all(m in ("__main__", "__mp_main__") for m in result["main_modules"])
    # Under forkserver the fork server, not the app, is every worker's parent.
    assert result["all_ppid_is_parent"] is (method != "forkserver")
    for proc in _workers(summary):
        assert proc["exitcode"] == 0
        assert proc["start_latency_s"] is not None and proc["start_latency_s"] >= 0
        states = proc["time_in_state_s"]
        assert "working" in states and states["working"] >= 0  # every worker ran foo
        assert sum(states.values()) <= summary["duration_s"] + 1e-5  # no process outlives the run
    assert result["explanation"]["en"] and result["explanation"]["zh"]


@pytest.mark.parametrize("method", METHODS)
def test_isolation_parent_list_stays_empty(method):
    result = run_lesson("isolation", method, workers=3)["result"]
    assert result["parent_list"] == []
    assert result["child_lists"] == [[0], [1], [2]]
    if method == "fork":
        assert len(set(result["child_list_ids"])) == 1  # the same address, in different processes


@pytest.mark.parametrize("method", METHODS)
def test_shared_array_with_lock_ends_at_initial_plus_all_adds(method):
    result = run_lesson("shared_array", method, workers=4, lock="get_lock")["result"]
    assert result["expected"] == result["actual"] == 1 + 4 * 100
    assert result["lost_updates"] == 0
    assert result["array"] == [401, 2, 3, 4]
    assert sorted(result["writes"]) == [101, 201, 301, 401]


def test_shared_array_byte_typecode_wraps_at_127():
    result = run_lesson("shared_array", "fork", workers=2, typecode="b", lock="lock")["result"]
    assert result["expected_unbounded"] == 201
    assert result["expected"] == result["actual"] == 201 - 256
    assert result["overflowed"] is True
    assert result["lost_updates"] == 0


# Every typecode the form offers, the tutorial's twelve and the two it left out ('q', 'Q').
ALL_TYPECODES = ("c", "u", "b", "B", "h", "H", "i", "I", "l", "L", "q", "Q", "f", "d")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("typecode", ALL_TYPECODES)
def test_shared_array_every_typecode_runs(typecode, method):
    from app.core.lessons import get_lesson

    spec = next(s for s in get_lesson("shared_array").specs if s.name == "typecode")
    assert set(spec.choices) == set(ALL_TYPECODES)
    result = run_lesson("shared_array", method, workers=2, size=2, typecode=typecode, lock="get_lock")["result"]
    final = 201 - 256 if typecode == "b" else 201  # 1 + 2 × 100 fits everywhere but in a signed byte
    assert result["expected_unbounded"] == 201
    assert result["expected"] == result["actual"] == final
    assert result["overflowed"] is (typecode == "b")
    assert result["lost_updates"] == 0
    assert result["array"] == [final, 2]
    assert "no update is lost" in result["explanation"]["en"]


def test_shared_array_text_names_the_typecodes_the_tutorial_left_out():
    root = Path(__file__).resolve().parents[2] / "resources" / "lessons"
    en = (root / "shared_array.en.md").read_text(encoding="utf-8")
    zh = (root / "shared_array.zh.md").read_text(encoding="utf-8")
    for text in (en, zh):
        assert "`'q'`" in text and "`'Q'`" in text and "c_longlong" in text and "c_ulonglong" in text
    assert "left out" in en and "教程没有列出" in zh


def test_shared_array_without_lock_loses_updates_when_reads_overlap():
    result = run_lesson("shared_array", "fork", workers=3, hold_s=0.5)["result"]
    assert result["lost_updates"] >= 1
    assert result["actual"] == result["expected"] - 100 * result["lost_updates"]


@pytest.mark.parametrize("method", METHODS)
def test_manager_dict_keeps_the_last_writer(method):
    summary = run_lesson("manager", method, workers=3)
    result = summary["result"]
    assert result["final"] == {"num": 102}
    # the manager's server takes lane 0: worker i is lane i + 1 (named Process-(i + 2) in every view)
    assert result["observed"] == [{"worker": i, "saw": [["num", 100 + i]], "index": i + 1} for i in range(3)]
    servers = _workers(summary, "manager")
    assert len(servers) == 1 and servers[0]["pid"] == result["server_pid"]


@pytest.mark.parametrize("proxy, final", [("list", [100, 101, 102]), ("namespace", {"num": 102}), ("value", 102)])
def test_manager_other_proxies(proxy, final):
    result = run_lesson("manager", "fork", workers=3, proxy=proxy)["result"]
    assert result["final"] == final
    assert result["final_as_expected"] is True


def test_manager_concurrent_writes_all_arrive_in_a_list():
    result = run_lesson("manager", "fork", workers=4, proxy="list", sequential="false")["result"]
    assert sorted(result["final"]) == [100, 101, 102, 103]


@pytest.mark.parametrize("method", METHODS)
def test_queue_relay_each_step_gets_what_the_previous_put(method):
    result = run_lesson("queue_relay", method, workers=4)["result"]
    chain = result["chain"]
    assert len(chain) == 4 and chain[0]["got"] == 0
    for before, after in zip(chain, chain[1:], strict=False):
        assert after["got"] == before["put"]
    assert sorted(step["worker"] for step in chain) == [0, 1, 2, 3]
    assert result["chain_intact"] is True
    assert result["left_in_queue"] == [chain[-1]["put"]]


@pytest.mark.parametrize("method", METHODS)
def test_locked_counter_goes_down_one_step_at_a_time(method):
    summary = run_lesson("counter", method, workers=4, hold_s=0.05)
    result = summary["result"]
    assert result["expected"] == result["actual"] == 10 - 4
    assert result["lost_updates"] == 0
    writes = sorted((v for w in result["worker_views"] for v in w["views"]), key=lambda v: -v[0])
    assert writes == [[10, 9], [9, 8], [8, 7], [7, 6]]
    holding = [p["time_in_state_s"].get("holding", 0) for p in _workers(summary)]
    assert all(h > 0 for h in holding)


SHARED_MEMORY = ("value", "array", "manager", "shared_memory")
LOCKS = ("lock", "rlock", "semaphore")


@pytest.mark.parametrize("sharing", SHARED_MEMORY)
def test_counter_without_lock_loses_updates(sharing):
    result = run_lesson("counter", "fork", workers=3, sharing=sharing, lock="none", hold_s=0.4)["result"]
    assert result["lost_updates"] >= 1
    assert result["actual"] == result["expected"] + result["lost_updates"]  # step -1
    assert "lost" in result["explanation"]["en"]


@pytest.mark.parametrize(
    "sharing, lock",
    [(s, lock) for s in SHARED_MEMORY for lock in LOCKS] + [("value", "get_lock"), ("array", "get_lock")],
)
def test_counter_with_any_lock_loses_nothing(sharing, lock):
    result = run_lesson("counter", "fork", workers=3, sharing=sharing, lock=lock, hold_s=0.05)["result"]
    assert result["lost_updates"] == 0
    assert result["actual"] == result["expected"] == 7


@pytest.mark.parametrize("lock", ("none", "lock"))
def test_counter_queue_message_passing_loses_nothing_even_without_lock(lock):
    result = run_lesson("counter", "fork", workers=3, sharing="queue", lock=lock, hold_s=0.1)["result"]
    assert result["lost_updates"] == 0 and result["actual"] == 7
    assert "queue" in result["explanation"]["en"]


@pytest.mark.parametrize("method", METHODS)
def test_counter_hold_after_the_write_is_the_tutorials_order_and_rarely_loses(method):
    # The tutorial's job: lis[0] = lis[0] - 1; time.sleep(1); print(...): the hold comes after the write.
    result = run_lesson("counter", method, workers=2, lock="none", hold_at="after", hold_s=0.3)["result"]
    assert result["hold_at"] == "after"
    assert result["lost_updates"] == 0 and result["actual"] == 8
    assert "after" in result["explanation"]["en"] and "之后" in result["explanation"]["zh"]


def test_counter_text_says_where_the_tutorial_holds():
    root = Path(__file__).resolve().parents[2] / "resources" / "lessons"
    en = (root / "counter.en.md").read_text(encoding="utf-8")
    zh = (root / "counter.zh.md").read_text(encoding="utf-8")
    assert "`hold_at`" in en and "*after* the write" in en
    assert "`hold_at`" in zh and "在写*之后*" in zh


def test_counter_hold_between_is_the_default_and_says_so():
    result = run_lesson("counter", "fork", workers=2, lock="none", hold_s=0.3)["result"]
    assert result["hold_at"] == "between"
    assert result["lost_updates"] == 1
    assert "between" in result["explanation"]["en"] and "之间" in result["explanation"]["zh"]


@pytest.mark.parametrize("method", METHODS)
def test_counter_global_leaves_the_parent_at_its_start_value(method):
    result = run_lesson("counter", method, workers=2, sharing="global", lock="none", hold_s=0.0,
                        start_value=5)["result"]
    assert result["parent_sees"] == 5
    assert result["lost_updates"] == 2
    first_reads = [w["views"][0][0] for w in result["worker_views"]]
    # fork copies the parent's assignment; spawn/forkserver re-import the module's own value.
    assert first_reads == ([5, 5] if method == "fork" else [10, 10])
    assert "not shared" in result["explanation"]["en"]


@pytest.mark.parametrize("method", METHODS)
def test_pool_apply_async_takes_about_tasks_over_workers_task_times(method):
    result = run_lesson("pool", method, pool_size=3, tasks=6, task_s=0.3)["result"]
    assert result["done"] == 6 and result["cancelled"] == 0
    assert result["ideal_s"] == pytest.approx(0.6)
    assert 0.6 <= result["wall_s"] < 0.6 + 0.6  # two rounds of three, not six
    assert 1 <= result["distinct_workers"] <= 3
    assert all(t["status"] == "done" and t["worker_pid"] for t in result["tasks"])


def test_pool_apply_runs_tasks_one_by_one():
    result = run_lesson("pool", "fork", pool_size=3, tasks=4, task_s=0.2, mode="apply")["result"]
    assert result["ideal_s"] == pytest.approx(0.8)
    assert result["wall_s"] >= 0.8
    tasks = sorted(result["tasks"], key=lambda t: t["start_s"])
    for before, after in zip(tasks, tasks[1:], strict=False):
        assert after["start_s"] >= before["end_s"]  # never two at once


@pytest.mark.parametrize("mode", ("map", "imap_unordered"))
def test_pool_map_modes_with_chunks(mode):
    result = run_lesson("pool", "fork", pool_size=2, tasks=6, task_s=0.05, mode=mode, chunksize=3)["result"]
    assert result["done"] == 6
    by_worker = {}
    for task in result["tasks"]:
        by_worker.setdefault(task["worker_pid"], []).append(task["task"])
    assert sorted(sorted(v) for v in by_worker.values()) in ([[0, 1, 2], [3, 4, 5]], [[0, 1, 2, 3, 4, 5]])


def test_pool_maxtasksperchild_replaces_workers():
    summary = run_lesson("pool", "fork", pool_size=2, tasks=4, task_s=0.05, maxtasksperchild=1)
    assert summary["result"]["distinct_workers"] == 4
    assert len(_workers(summary, "pool")) >= 4


@pytest.mark.parametrize("method", METHODS)
def test_pool_terminate_tells_finished_killed_and_never_started_apart(method):
    # 2 workers, 0.5 s tasks, terminate() at 0.7 s: some finished, two were running (killed), the rest never ran.
    result = run_lesson("pool", method, pool_size=2, tasks=6, task_s=0.5, finish="terminate",
                        terminate_after_s=0.7)["result"]
    by_status = {s: [t for t in result["tasks"] if t["status"] == s] for s in ("done", "killed", "not_started")}
    assert sum(len(v) for v in by_status.values()) == 6
    assert result["done"] == len(by_status["done"])
    assert result["killed"] == len(by_status["killed"]) and 1 <= result["killed"] <= 2
    assert result["not_started"] == len(by_status["not_started"]) >= 2
    assert all(t["start_s"] is not None and t["end_s"] is None for t in by_status["killed"])
    assert all(t["start_s"] is None for t in by_status["not_started"])
    en, zh = result["explanation"]["en"], result["explanation"]["zh"]
    assert f"{result['killed']} task(s) were running and were killed" in en
    assert f"{result['not_started']} task(s) never started" in en
    assert "被杀死" in zh and "从未开始" in zh


# What each child's __main__ is, by start method, when the app was started from a script file (as the
# installed `procscope` command is) or as a module (`python -m app`).
MAIN_FROM_SCRIPT = {"spawn": "__mp_main__", "fork": "__main__", "forkserver": "__mp_main__"}
MAIN_FROM_MODULE = {"spawn": "__main__", "fork": "__main__", "forkserver": "__main__"}
# Words the explanation must (and must not) use for each start method.
BASICS_SAYS = {"spawn": ("fresh Python", "copy of the parent"),
               "fork": ("copy of the parent", "fork server"),
               "forkserver": ("forked from the fork server", "copy of the parent")}


@pytest.mark.parametrize("method", METHODS)
def test_basics_run_from_a_script_follows_each_childs_main(tmp_path, method):
    """Started from a script, spawn and forkserver children report __mp_main__ (the tutorial's output)."""
    root = Path(__file__).resolve().parents[2]
    script = tmp_path / "tutorial_basics.py"
    script.write_text(
        "import json, sys\n"
        f"sys.path.insert(0, {str(root)!r})\n"
        "from app.core.runner import Runner\n"
        "from app.core.summary import build_summary\n"
        "if __name__ == '__main__':\n"
        f"    summary = build_summary(Runner('basics', {{'workers': '2'}}, {method!r}).run(timeout=60))\n"
        "    print(json.dumps(summary['result']))\n",
        encoding="utf-8",
    )
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["main_modules"] == [MAIN_FROM_SCRIPT[method]] * 2
    en = result["explanation"]["en"]
    assert MAIN_FROM_SCRIPT[method] in en and "as a script" in en
    must, must_not = BASICS_SAYS[method]
    assert must in en and must_not not in en


@pytest.mark.parametrize("method", METHODS)
def test_basics_run_as_a_module_follows_each_childs_main(tmp_path, method):
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-m", "app", "run", "basics", "--start-method", method,
                           "--set", "workers=2", "--json", "-"], cwd=root, capture_output=True, text=True,
                          encoding="utf-8", timeout=90)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)["result"]
    assert result["main_modules"] == [MAIN_FROM_MODULE[method]] * 2
    en, zh = result["explanation"]["en"], result["explanation"]["zh"]
    assert "python -m app" in en and "python -m app" in zh
    must, must_not = BASICS_SAYS[method]
    assert must in en and must_not not in en


def test_basics_text_does_not_claim_the_app_always_shows_its_own_main():
    root = Path(__file__).resolve().parents[2] / "resources" / "lessons"
    en = (root / "basics.en.md").read_text(encoding="utf-8")
    zh = (root / "basics.zh.md").read_text(encoding="utf-8")
    assert "here children report their own `__main__`" not in en
    assert "`procscope`" in en and "forkserver" in en and "`__mp_main__`" in en
    assert "`procscope`" in zh and "forkserver" in zh and "`__mp_main__`" in zh


def test_speedup_explains_when_start_up_eats_the_gain():
    from app.core.lessons.speedup import _start_up_sentences

    small = [{"workers": 1, "start_method": "spawn", "wall_s": 0.5, "speedup": 1.0},
             {"workers": 2, "start_method": "spawn", "wall_s": 0.6, "speedup": 0.83}]
    en, zh = _start_up_sentences(small, {"spawn": 0.3}, cores=2)
    assert "Start-up eats the gain" in en and "about 100 ms of work" in en and "启动开销吃掉了收益" in zh
    big = [{"workers": 1, "start_method": "spawn", "wall_s": 2.5, "speedup": 1.0},
           {"workers": 2, "start_method": "spawn", "wall_s": 1.4, "speedup": 1.8}]
    en, zh = _start_up_sentences(big, {"spawn": 0.2}, cores=2)
    assert "pays off" in en and "值得" in zh
    busy = [dict(p, speedup=1.0 if p["workers"] == 2 else p["speedup"]) for p in big]
    assert "other programs" in _start_up_sentences(busy, {"spawn": 0.2}, cores=2)[0]


def test_speedup_default_job_is_many_start_costs_long():
    """The default job: one worker's share on two cores is several times a spawn start (~0.1-0.3 s)."""
    from app.core.lessons import get_lesson

    job = next(spec.default for spec in get_lesson("speedup").specs if spec.name == "job_size")
    assert job >= 10_000_000  # ~1 s of pure-Python loop on a 2-core laptop, ~10× its spawn cost


# --- join=false: the tutorial's Array, Queue and Lock programs as written (no join()) -----------------------

NO_JOIN = {"shared_array": {"workers": 2, "size": 2}, "queue_relay": {"workers": 2},
           "counter": {"workers": 2, "hold_s": 0.0}}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("lesson", sorted(NO_JOIN))
def test_without_join_the_children_crash_under_spawn_and_forkserver(lesson, method):
    runner_status = "done" if method == "fork" else None
    from app.core.runner import Runner
    from app.core.summary import build_summary
    from tests.helpers import assert_all_gone

    params = {k: str(v) for k, v in {**NO_JOIN[lesson], "join": "false"}.items()}
    trace = Runner(lesson, params, method, sample_hz=None).run(timeout=60)
    summary = build_summary(trace)
    assert_all_gone(p["pid"] for p in summary["processes"])
    result, en, zh = summary["result"], summary["result"]["explanation"]["en"], summary["result"]["explanation"]["zh"]
    assert result["joined"] is False
    assert "join=false" in en and "join=false" in zh and "Windows" in en
    crashed = result["crashed"]
    workers = [p for p in summary["processes"] if p["role"] == "worker"]
    if runner_status == "done":
        assert summary["status"] == "done" and crashed == []
        assert all(p["exitcode"] == 0 for p in workers)
        assert "copy of the parent" in en
    else:
        # The children open the semaphores by name after the parent's exit unlinked them. A spawned child
        # boots far too slowly to win that race; a child of the fork server sometimes wins it.
        assert [c["index"] for c in crashed] == [p["index"] for p in workers if p["ended"] == "crashed"]
        assert all(p["ended"] in ("crashed", "done") for p in workers)
        if method == "spawn":
            assert crashed, summary["processes"]
        if not crashed:
            assert summary["status"] == "done" and "no child crashed" in en
            return
        assert summary["status"] == "crashed"
        for c in crashed:
            assert c["unlinked"] and "FileNotFoundError" in c["error"]
            lane = next(p for p in workers if p["index"] == c["index"])
            assert lane["ended"] == "crashed" and lane["exitcode"] == 1
            assert any("SemLock._rebuild" in e or "_rebuild" in e for e in lane["errors"])
        assert "SemLock._rebuild" in en and "SemLock._rebuild" in zh
        assert f"{len(crashed)} of 2 children crashed" in en


@pytest.mark.parametrize("lesson", sorted(NO_JOIN))
def test_join_is_a_parameter_defaulting_to_true(lesson):
    from app.core.lessons import get_lesson

    spec = next(s for s in get_lesson(lesson).params if s.name == "join")
    assert spec.kind == "bool" and spec.default is True
