"""The app held to the tutorial (../shared/seed/multiprocess-tutorial.zh.md): its own programs, run under spawn,
show what the lessons show; where the tutorial is wrong, the lesson texts say so, marked as errata, in English
and Chinese."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.runner import Runner
from app.core.summary import build_summary
from tests.helpers import assert_all_gone

TEXTS = Path(__file__).resolve().parents[2] / "resources" / "lessons"

# lesson -> words every erratum of that lesson must contain, (en, zh)
ERRATA = {
    "basics": [("Windows has no `fork()`", "Windows 没有 `fork()`")],
    "pool": [("`close()` does not wait", "`close()` 并不等待")],
    "queue_relay": [("`multiprocessing.Queue` is a factory", "`multiprocessing.Queue` 是一个工厂函数"),
                    ("the missing `join()`", "缺少的 `join()`")],
    "shared_array": [("output without code", "只有输出没有代码"), ("the missing `join()`", "缺少的 `join()`")],
    "counter": [("the missing `join()`", "缺少的 `join()`")],
}


def _errata(text: str, marker: str) -> list[str]:
    """The erratum items of a text: list items that start with the marker, with their continuation lines."""
    items, current = [], None
    for line in text.splitlines():
        if line.startswith("- "):
            current = [line] if line.startswith(f"- **{marker}") else None
            if current is not None:
                items.append(current)
        elif current is not None and line.startswith("  "):
            current.append(line.strip())
        else:
            current = None
    return [" ".join(item) for item in items]


@pytest.mark.parametrize("lesson", sorted(ERRATA))
def test_the_tutorials_mistakes_are_marked_as_errata(lesson):
    en = _errata((TEXTS / f"{lesson}.en.md").read_text(encoding="utf-8"), "Erratum")
    zh = _errata((TEXTS / f"{lesson}.zh.md").read_text(encoding="utf-8"), "勘误")
    assert len(en) == len(zh) == len(ERRATA[lesson])
    for (want_en, want_zh), got_en, got_zh in zip(ERRATA[lesson], en, zh, strict=True):
        assert want_en in got_en and want_zh in got_zh


def test_the_missing_join_erratum_names_the_crash_and_the_cure():
    for lesson in ("shared_array", "queue_relay", "counter"):
        en = _errata((TEXTS / f"{lesson}.en.md").read_text(encoding="utf-8"), "Erratum")[-1]
        zh = _errata((TEXTS / f"{lesson}.zh.md").read_text(encoding="utf-8"), "勘误")[-1]
        for words in ("FileNotFoundError", "SemLock._rebuild", "spawn", "forkserver", "Windows", "join=false"):
            assert words in en and words in zh, (lesson, words)


# --- the tutorial's own programs, run under spawn beside the lessons ------------------------------------------
#
# Each program is the tutorial's code verbatim (checked against the tutorial's page when it is at hand). A test
# changes it only through ``scaled``: the page's formatting (the Manager example lost its indentation and its
# underscores) and, to keep the test small on a shared 2-core machine, the counts and the sleeps, each named.
# The lesson runs with the matching parameters.

# The page sits beside the repository (../shared/seed/), or beside the folder of a worktree.
TUTORIAL = next((d / "shared" / "seed" / "multiprocess-tutorial.zh.md" for d in Path(__file__).resolve().parents[3:5]
                 if (d / "shared" / "seed" / "multiprocess-tutorial.zh.md").exists()), Path("/nonexistent"))

BASICS = '''import os
import multiprocessing

def foo(i):
    # 同样的参数传递方法
    print("这里是 ", multiprocessing.current_process().name)
    print('模块名称:', __name__)
    print('父进程 id:', os.getppid())  # 获取父进程id
    print('当前子进程 id:', os.getpid())  # 获取自己的进程id
    print('------------------------')

if __name__ == '__main__':

    for i in range(5):
        p = multiprocessing.Process(target=foo, args=(i,))
        p.start()
'''

ISOLATION = '''from multiprocessing import Process

lis = []

def foo(i):
    lis.append(i)
    print("This is Process ", i," and lis is ", lis, " and lis.address is  ", id(lis))

if __name__ == '__main__':
    for i in range(5):
        p = Process(target=foo, args=(i,))
        p.start()
    print("The end of list_1:", lis)
'''

MANAGER = '''from multiprocessing import Process
from multiprocessing import Manager

def func(i, dic):
dic["num"] = 100+i
print(dic.items())

if **name** == '**main**':
dic = Manager().dict()
for i in range(10):
    p = Process(target=func, args=(i, dic))
    p.start()
    p.join()
'''

QUEUE = '''import multiprocessing
from multiprocessing import Process
from multiprocessing import queues

def func(i, q):
    ret = q.get()
    print("进程%s 从队列里获取了一个%s，然后又向队列里放入了一个%s" % (i, ret, i))
    q.put(i)

if __name__ == "__main__":
    lis = queues.Queue(20, ctx=multiprocessing)
    lis.put(0)
    for i in range(10):
        p = Process(target=func, args=(i, lis,))
        p.start()
'''

LOCK = '''from multiprocessing import Process
from multiprocessing import Array
from multiprocessing import RLock, Lock, Event, Condition, Semaphore
import time

def func(i,lis,lc):
    lc.acquire()
    lis[0] = lis[0] - 1
    time.sleep(1)
    print('say hi', lis[0])
    lc.release()

if __name__ == "__main__":
    array = Array('i', 1)
    array[0] = 10
    lock = RLock()
    for i in range(10):
        p = Process(target=func, args=(i, array, lock))
        p.start()
'''

POOL = '''from multiprocessing import Pool
import time

def func(args):
    time.sleep(1)
    print("正在执行进程 ", args)

if __name__ == '__main__':

    p = Pool(5)     # 创建一个包含5个进程的进程池

    for i in range(30):
        p.apply_async(func=func, args=(i,))

    p.close()           # 等子进程执行完毕后关闭进程池
    # time.sleep(2)
    # p.terminate()     # 立刻关闭进程池
    p.join()
'''

# The page lost the Manager example's indentation and turned __name__/__main__ into bold markup.
MANAGER_FIXED = (MANAGER.replace("**name** == '**main**'", "__name__ == '__main__'")
                 .replace('\ndic["num"] = 100+i\nprint(dic.items())',
                          '\n    dic["num"] = 100+i\n    print(dic.items())')
                 .replace("\ndic = Manager().dict()\nfor i in range(10):\n    p = Process(target=func, args=(i, dic))\n"
                          "    p.start()\n    p.join()",
                          "\n    dic = Manager().dict()\n    for i in range(10):\n        p = Process(target=func, "
                          "args=(i, dic))\n        p.start()\n        p.join()"))


def scaled(program: str, **changes: tuple[str, str]) -> str:
    """The program with each named change (old text → new text) made; each must apply exactly once."""
    for why, (old, new) in changes.items():
        assert program.count(old) == 1, f"{why}: {old!r} is not in the program exactly once"
        program = program.replace(old, new)
    return program


def with_join(program: str, loop_body: str) -> str:
    """The erratum applied: the parent keeps its children and joins them (the tutorial never does)."""
    indent = loop_body[: len(loop_body) - len(loop_body.lstrip())]
    kept = scaled(program, keep=(loop_body, f"{loop_body}\n{indent}children.append(p)"))
    return kept.replace("    for i in range(", "    children = []\n    for i in range(", 1) + \
        "    for p in children:\n        p.join()\n"


def run_tutorial(tmp_path, program: str) -> tuple[str, str, int]:
    """Run the program under spawn as a script file, unbuffered: (stdout, stderr, its pid)."""
    path = tmp_path / "tutorial_program.py"
    path.write_text(program, encoding="utf-8")
    # The page's programs do not choose a start method: set spawn, then run the file as __main__.
    starter = ("import multiprocessing, runpy, sys; multiprocessing.set_start_method('spawn'); "
               "print('PID', __import__('os').getpid(), flush=True); runpy.run_path(sys.argv[1], run_name='__main__')")
    done = subprocess.run([sys.executable, "-u", "-c", starter, str(path)], cwd=tmp_path, capture_output=True,
                          text=True, encoding="utf-8", errors="replace", timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    first, _, rest = done.stdout.partition("\n")
    return rest, done.stderr, int(first.split()[1])


def lesson(lesson_id: str, **params) -> dict:
    summary = build_summary(Runner(lesson_id, {k: str(v).lower() if isinstance(v, bool) else str(v)
                                               for k, v in params.items()}, "spawn", sample_hz=None).run(timeout=120))
    assert_all_gone(p["pid"] for p in summary["processes"])
    return summary


@pytest.mark.parametrize(("name", "program"), [("basics", BASICS), ("isolation", ISOLATION), ("manager", MANAGER),
                                               ("queue", QUEUE), ("lock", LOCK), ("pool", POOL)])
def test_the_programs_are_the_tutorials(name, program):
    if not TUTORIAL.exists():
        pytest.skip("the tutorial's page is not at hand")
    assert program.strip() in TUTORIAL.read_text(encoding="utf-8"), name


def test_the_array_section_has_output_but_no_program():
    """So the lesson says (an erratum) which program it runs instead."""
    if not TUTORIAL.exists():
        pytest.skip("the tutorial's page is not at hand")
    page = TUTORIAL.read_text(encoding="utf-8")
    section = page[page.index("### 1.1"):page.index("### 1.2")]
    assert "```python" not in section and "修改数组第一个元素后" in section


def test_basics_each_child_reports_mp_main_and_the_parent(tmp_path):
    out, _err, pid = run_tutorial(tmp_path, scaled(BASICS, small=("range(5)", "range(3)")))
    assert re.findall(r"模块名称: (\S+)", out) == ["__mp_main__"] * 3
    assert [int(x) for x in re.findall(r"父进程 id: (\d+)", out)] == [pid] * 3
    # The lesson started from a script file, as the tutorial's program is: the same __main__, the same parent.
    root = Path(__file__).resolve().parents[2]
    script = tmp_path / "lesson_basics.py"
    script.write_text(
        f"import json, sys\nsys.path.insert(0, {str(root)!r})\nfrom app.core.runner import Runner\n"
        "from app.core.summary import build_summary\nif __name__ == '__main__':\n"
        "    print(json.dumps(build_summary(Runner('basics', {'workers': '3'}, 'spawn').run(timeout=60))['result']))\n",
        encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["main_modules"] == ["__mp_main__"] * 3 and result["all_ppid_is_parent"] is True


def test_isolation_the_parents_list_stays_empty(tmp_path):
    out, _err, _pid = run_tutorial(tmp_path, scaled(ISOLATION, small=("range(5)", "range(3)")))
    assert "The end of list_1: []" in out
    children = sorted(ast.literal_eval(x) for x in re.findall(r"and lis is\s+(\[.*?\])", out))
    result = lesson("isolation", workers=3)["result"]
    assert result["parent_list"] == []
    assert children == sorted(result["child_lists"]) == [[0], [1], [2]]


def test_manager_dict_each_child_sees_its_own_write(tmp_path):
    out, _err, _pid = run_tutorial(tmp_path, scaled(MANAGER_FIXED, small=("range(10)", "range(3)")))
    seen = [ast.literal_eval(line) for line in out.splitlines() if line.startswith("[(")]
    result = lesson("manager", workers=3, proxy="dict", sequential=True)["result"]
    assert seen == [[("num", 100 + i)] for i in range(3)]
    assert [[tuple(item) for item in o["saw"]] for o in result["observed"]] == seen
    assert result["final"] == {"num": 102}


def _relay(out: str) -> list[tuple[int, int]]:
    return [(int(got), int(put)) for got, put in re.findall(r"获取了一个(\d+)，然后又向队列里放入了一个(\d+)", out)]


def test_queue_relay_as_written_crashes_like_the_lesson_without_join(tmp_path):
    out, err, _pid = run_tutorial(tmp_path, scaled(QUEUE, small=("range(10)", "range(3)")))
    crashed = lesson("queue_relay", workers=3, join=False)["result"]["crashed"]
    assert err.count("FileNotFoundError") == len(crashed) == 3 and _relay(out) == []
    assert all(c["unlinked"] for c in crashed)


def test_queue_relay_with_join_passes_the_token_like_the_lesson(tmp_path):
    program = with_join(scaled(QUEUE, small=("range(10)", "range(3)")), "        p.start()")
    chain = _relay(run_tutorial(tmp_path, program)[0])
    result = lesson("queue_relay", workers=3)["result"]
    for steps in (chain, [(s["got"], s["put"]) for s in result["chain"]]):
        assert len(steps) == 3 and steps[0][0] == 0
        assert all(b[0] == a[1] for a, b in zip(steps, steps[1:], strict=False))  # each got what the last put


def test_lock_as_written_crashes_like_the_lesson_without_join(tmp_path):
    program = scaled(LOCK, small=("range(10)", "range(3)"), quick=("time.sleep(1)", "time.sleep(0.05)"))
    out, err, _pid = run_tutorial(tmp_path, program)
    crashed = lesson("counter", workers=3, sharing="array", lock="rlock", hold_at="after", hold_s=0.05,
                     join=False)["result"]["crashed"]
    assert err.count("FileNotFoundError") == len(crashed) == 3 and "say hi" not in out


def test_lock_with_join_counts_down_like_the_lesson(tmp_path):
    program = with_join(scaled(LOCK, small=("range(10)", "range(3)"), quick=("time.sleep(1)", "time.sleep(0.05)")),
                        "        p.start()")
    out = run_tutorial(tmp_path, program)[0]
    said = [int(x) for x in re.findall(r"say hi (-?\d+)", out)]
    result = lesson("counter", workers=3, sharing="array", lock="rlock", hold_at="after", hold_s=0.05)["result"]
    assert said == [9, 8, 7]
    assert result["actual"] == said[-1] == 7 and result["lost_updates"] == 0


def test_pool_runs_every_task_on_reused_workers_like_the_lesson(tmp_path):
    program = scaled(POOL, small_pool=("Pool(5)", "Pool(2)"), few=("range(30)", "range(6)"),
                     quick=("time.sleep(1)", "time.sleep(0.1)"))
    out = run_tutorial(tmp_path, program)[0]
    ran = sorted(int(x) for x in re.findall(r"正在执行进程\s+(\d+)", out))
    summary = lesson("pool", pool_size=2, tasks=6, task_s=0.1, mode="apply_async")
    result = summary["result"]
    assert ran == sorted(t["task"] for t in result["tasks"] if t["status"] == "done") == list(range(6))
    # ⌈M/n⌉·t is the least it can take (the start-up comes on top); no upper bound: the machine is shared.
    assert result["ideal_s"] == pytest.approx(3 * 0.1)
    assert result["wall_s"] >= result["ideal_s"] - 0.01
    assert result["distinct_workers"] <= 2
