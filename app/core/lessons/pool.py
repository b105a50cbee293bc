"""Lesson ``pool`` (tutorial 3. 进程池 Pool): M tasks on a Pool(n).

Result keys: ``mode``, ``tasks`` (each: ``task``, ``worker_pid``, ``worker``,
``start_s``, ``end_s``, ``status``: done, killed (running when the pool was
terminated or the run stopped) or not_started), ``done``, ``killed``,
``not_started``, ``cancelled`` (every task not done, = ``killed`` + ``not_started``: the key's meaning
since the first release, kept for the JSON contract),
``distinct_workers``, ``wall_s``, ``ideal_s``, ``explanation``.
"""

from __future__ import annotations

import math
import os
from time import perf_counter_ns

from app.core import events as ev
from app.core.lessons.base import Lesson, with_status
from app.core.params import ParamSpec
from app.core.probe import pool_chunk_star, pool_task, pool_task_star

MODES = ("apply", "apply_async", "map", "imap_unordered")


def func(probe, task: int, task_s: float):
    """The tutorial's ``func``: sleep one task time, then say which task ran."""
    probe.sleep(task_s, code=None)
    print("正在执行进程 ", task)
    return task, os.getpid()


class Pool(Lesson):
    id = "pool"
    section = "3. 进程池 Pool 类"
    title_en = "A pool of processes"
    title_zh = "进程池 Pool"
    summary_en = "A Pool(n) reuses n processes for M tasks; apply is serial, apply_async/map run n at a time."
    summary_zh = "Pool(n) 用 n 个进程执行 M 个任务；apply 串行，apply_async/map 同时执行 n 个。"
    specs = (
        ParamSpec("pool_size", "int", 5, "Pool size", "进程池大小", 1, 64),
        ParamSpec("tasks", "int", 30, "Tasks", "任务数", 1, 10000),
        ParamSpec("task_s", "float", 1.0, "Task time (s)", "每个任务耗时（秒）", 0.0, 60.0),
        ParamSpec("mode", "choice", "apply_async", "Mode", "提交方式", choices=MODES),
        ParamSpec("chunksize", "int", 1, "Chunk size", "chunksize", 1, 10000,
                  help_en="Tasks handed to a worker at once by map / imap_unordered.",
                  help_zh="map / imap_unordered 每次交给一个进程的任务数。"),
        ParamSpec("maxtasksperchild", "int", 0, "Max tasks per child", "每个子进程最多任务数", 0, 10000,
                  help_en="0 = unlimited; otherwise a worker is replaced after that many tasks.",
                  help_zh="0 表示不限；否则一个进程执行这么多任务后被替换。"),
        ParamSpec("finish", "choice", "close_join", "Finish", "结束方式", choices=("close_join", "terminate"),
                  help_en="close()+join() waits for every task; terminate() stops the pool at once.",
                  help_zh="close()+join() 等所有任务完成；terminate() 立即关闭进程池。"),
        ParamSpec("terminate_after_s", "float", 2.0, "Terminate after (s)", "多久后 terminate（秒）", 0.0, 3600.0,
                  help_en="With finish=terminate: how long the pool may work first.",
                  help_zh="finish=terminate 时：先让进程池工作多久。"),
    )

    def run(self, rc, values):
        n, m, t = values["pool_size"], values["tasks"], values["task_s"]
        pool = rc.pool(n, values["maxtasksperchild"] or None)
        terminate = values["finish"] == "terminate"
        deadline = perf_counter_ns() + int(values["terminate_after_s"] * rc.tempo * 1e9)
        submitted = perf_counter_ns()
        mode = values["mode"]
        if mode == "apply":  # apply() blocks until each task is done: the tasks run one by one
            for i in range(m):
                if terminate and perf_counter_ns() >= deadline:
                    break
                rc.wait(pool.apply_async(pool_task, (func, i, t)))
        elif mode == "apply_async":
            pending = [pool.apply_async(pool_task, (func, i, t)) for i in range(m)]
            self._finish(rc, pending, terminate, deadline)
        elif mode == "map":
            packed = [(func, i, (t,)) for i in range(m)]
            self._finish(rc, [pool.map_async(pool_task_star, packed, values["chunksize"])], terminate, deadline)
        else:
            # imap_unordered(chunksize>1) returns a plain generator that cannot wait with a
            # timeout (so could not be stopped); chunks sent as single jobs are the same thing.
            c = values["chunksize"]
            chunks = [[(func, i, (t,)) for i in range(k, min(k + c, m))] for k in range(0, m, c)]
            iterator = pool.imap_unordered(pool_chunk_star, chunks, 1)
            for _ in range(len(chunks)):
                if terminate and perf_counter_ns() >= deadline:
                    break
                self._next_before(rc, iterator, deadline if terminate else None)
        if terminate:
            rc.terminate_pool(pool)
        else:
            pool.close()
            pool.join()
        rc.result({"submitted_ns": submitted, "finished_ns": perf_counter_ns()})

    @staticmethod
    def _finish(rc, pending, terminate: bool, deadline: int) -> None:
        for result in pending:
            while not result.ready():
                rc.check()
                if terminate and perf_counter_ns() >= deadline:
                    return
                result.wait(0.05)

    @staticmethod
    def _next_before(rc, iterator, deadline) -> None:
        import multiprocessing

        while True:
            rc.check()
            if deadline is not None and perf_counter_ns() >= deadline:
                return
            try:
                iterator.next(timeout=0.05)
                return
            except multiprocessing.TimeoutError:
                continue

    def summarize(self, trace):
        p = trace.meta["params"]
        n, m, t, c = p["pool_size"], p["tasks"], p["task_s"] * p["tempo"], p["chunksize"]
        procs = trace.processes()
        recs = trace.records
        marks = recs[recs[:, 2] == ev.TASK]
        starts, ends = {}, {}
        for t_ns, index, _k, task, what in marks.tolist():
            (starts if what == ev.TASK_START else ends)[task] = (t_ns, index)
        tasks = []
        for task in range(m):
            start = starts.get(task)
            end = ends.get(task)
            index = start[1] if start else None
            tasks.append({
                "task": task,
                "worker": index,
                "worker_pid": procs[index].pid if index in procs else None,
                "start_s": round(trace.seconds(start[0]), 6) if start else None,
                "end_s": round(trace.seconds(end[0]), 6) if end else None,
                # started and never ended: its worker was killed (terminate() or a stop) while it ran
                "status": "done" if end else "killed" if start else "not_started",
            })
        done = sum(1 for x in tasks if x["status"] == "done")
        killed = sum(1 for x in tasks if x["status"] == "killed")
        not_started = m - done - killed
        parent = [r for r in trace.results(-1) if "finished_ns" in r]
        total = (parent[0]["finished_ns"] - parent[0]["submitted_ns"]) / 1e9 if parent else None
        ran = [x for x in tasks if x["start_s"] is not None]
        # From the first task's start to the last task's end: what the ideal describes
        # (the pool's own start-up, large under spawn, is reported apart as pool_start_s).
        wall = max(x["end_s"] or x["start_s"] for x in ran) - min(x["start_s"] for x in ran) if ran else None
        first_start = min((x["start_s"] for x in ran), default=None)
        pool_start = first_start - trace.seconds(parent[0]["submitted_ns"]) if parent and ran else None
        if p["mode"] == "apply":
            ideal = m * t
        elif p["mode"] == "apply_async":
            ideal = math.ceil(m / n) * t
        else:
            ideal = math.ceil(math.ceil(m / c) / n) * c * t
        pids = {x["worker_pid"] for x in tasks if x["worker_pid"]}
        shown = wall if wall is not None else float("nan")
        en = (f"{done} of {m} tasks done on {len(pids)} distinct worker process(es) of a Pool({n}) in "
              f"{shown:.2f} s from the first task's start to the last one's end; the ideal is {ideal:.2f} s. ")
        zh = (f"Pool({n}) 中的 {len(pids)} 个不同进程完成了 {m} 个任务中的 {done} 个，"
              f"用时 {shown:.2f} 秒；理想时间为 {ideal:.2f} 秒。")
        if p["mode"] == "apply":
            en += "apply() waits for each task before submitting the next, so the pool runs them one at a time."
            zh += "apply() 等待每个任务完成后才提交下一个，所以进程池一次只执行一个任务（串行）。"
        else:
            en += f"{p['mode']} hands tasks to all {n} workers at once; the same processes are reused."
            zh += f"{p['mode']} 把任务同时交给全部 {n} 个进程；同一批进程被反复使用。"
        if done < m:
            if p.get("finish") == "terminate":
                en += " terminate() stopped the pool at once, without waiting:"
                zh += " terminate() 立即关闭了进程池，不等任务完成："
            en += (f" {done} task(s) finished, {killed} task(s) were running and were killed with their worker, "
                   f"{not_started} task(s) never started.")
            zh += f"{done} 个任务已完成，{killed} 个正在执行的任务随其进程被杀死，{not_started} 个任务从未开始。"
        partial = (f"{done} of {m} tasks were done on {len(pids)} distinct worker process(es) of a Pool({n}); "
                   f"{killed} task(s) were running and were killed, {not_started} task(s) never started.",
                   f"Pool({n}) 中的 {len(pids)} 个不同进程完成了 {m} 个任务中的 {done} 个；"
                   f"{killed} 个正在执行的任务被杀死，{not_started} 个任务从未开始。")
        return {
            "mode": p["mode"],
            "tasks": tasks,
            "done": done,
            "killed": killed,
            "not_started": not_started,
            "cancelled": killed + not_started,  # not done: the meaning this key always had
            "distinct_workers": len(pids),
            "wall_s": round(wall, 6) if wall is not None else None,
            "ideal_s": round(ideal, 6),
            "total_s": round(total, 6) if total is not None else None,
            "pool_start_s": round(pool_start, 6) if pool_start is not None else None,
            "explanation": with_status(trace, en, zh, partial),
        }

    def story(self, trace):
        import numpy as np

        from app.core import story as st
        from app.core.lessons.rows import Text

        p = trace.meta["params"]
        recs = trace.records
        marks = recs[recs[:, 2] == ev.TASK]
        started = marks[marks[:, 4] == ev.TASK_START, 0]
        ended = marks[marks[:, 4] == ev.TASK_END, 0]
        return st.Story(
            title=Text("Tasks of the pool over time", "进程池中的任务随时间变化"),
            y_label=Text("Tasks", "任务数"),
            series=[
                st.count_series(trace, Text("waiting (not started)", "等待中（尚未开始）"), started,
                                -np.ones(len(started)), initial=p["tasks"]),
                st.count_series(trace, Text("running", "执行中"), *st.task_edges(trace)),
                st.count_series(trace, Text("done", "已完成"), ended, np.ones(len(ended))),
            ],
            lines=[st.Reference(Text("pool size", "进程池大小"), p["pool_size"]),
                   st.Reference(Text("tasks", "任务总数"), p["tasks"])],
        )

    example_result = {"mode": "apply_async", "tasks": [{"task": 0, "worker_pid": 9, "status": "done"},
                                                       {"task": 1, "worker_pid": 8, "status": "killed"},
                                                       {"task": 2, "worker_pid": None, "status": "not_started"}],
                      "done": 1, "killed": 1, "not_started": 1, "cancelled": 2, "distinct_workers": 1,
                      "wall_s": 1.5, "ideal_s": 1.0, "pool_start_s": 0.3}

    def result_rows(self, summary):
        from app.core.lessons.rows import DASH, Row, Table, Text, lost, process_names, seconds
        from app.core.names import name_of

        r = summary["result"]
        wall, ideal = r.get("wall_s"), r.get("ideal_s")
        ratio = f" ({wall / ideal:.2f}×)" if wall is not None and ideal else ""
        out = [
            Row(Text("Mode", "提交方式"), r["mode"]),
            Row(Text("Tasks done", "完成的任务"), r["done"]),
            lost(Text("Tasks running when terminated (killed)", "终止时正在执行（被杀死）的任务"),
                 r.get("killed", 0)),
            lost(Text("Tasks never started", "从未开始的任务"), r.get("not_started", r["cancelled"])),
            Row(Text("Distinct worker processes", "不同的工作进程数"), r["distinct_workers"]),
            Row(Text("Wall time (s)", "耗时（秒）"), seconds(wall) + ratio),
            Row(Text("Ideal time (s)", "理想时间（秒）"), seconds(ideal)),
            Row(Text("Pool start-up (s)", "进程池启动（秒）"), seconds(r.get("pool_start_s"))),
        ]
        names = process_names(summary)
        per_worker: dict = {}  # (lane, pid) -> tasks; lane first: the lanes' order, which is start order
        for task in r.get("tasks", []):
            if task.get("worker_pid") is not None and task.get("status") == "done":
                lane = task.get("worker")
                per_worker.setdefault((-1 if lane is None else lane, task["worker_pid"]), []).append(task["task"])
        if per_worker:
            out.append(Table([Text("Process", "进程"), Text("PID", "PID"), Text("Tasks", "任务数"),
                              Text("Which", "哪些任务")],
                             [[name_of(names, lane) if lane >= 0 else DASH, pid, len(tasks), tasks]
                              for (lane, pid), tasks in sorted(per_worker.items())]))
        return out

    def script(self, values, start_method):
        return _script(self, values, start_method)


LESSON = Pool()

# --- the plain script (``Lesson.script``) -------------------------------------------------
# The helpers are imported inside ``_script``: a spawned worker imports this module
# to unpickle its target, and must not pay for the script builder.


_BODY = '''
task_log = None  # in each pool process: a proxy to the parent's list of finished tasks
start_log = None  # ... and to its list of started tasks


def init_worker(log, started):
    """Runs once in every pool process as it starts."""
    global task_log, start_log
    task_log, start_log = log, started


def func(args):
    start = time.time()
    start_log.append(args)
    time.sleep(TASK_S)
    print('正在执行进程 ', args)
    task_log.append((args, os.getpid(), start, time.time()))  # task, worker pid, start, end
    return args
'''

# mode -> (close_join submission, terminate submission, ideal wall time, how it runs)
_MODES = {
    "apply": (
        '''
        for i in range(TASKS):
            p.apply(func=func, args=(i,))  # 同步执行（串行）: waits for each task
        ''',
        '''
        deadline = time.time() + TERMINATE_AFTER_S
        for i in range(TASKS):
            if time.time() >= deadline:
                break
            p.apply(func=func, args=(i,))  # 同步执行（串行）: waits for each task
        ''',
        "TASKS * TASK_S  # one task at a time",
        ("apply() 等每个任务完成后才提交下一个：一次一个（串行）。",
         "apply() waits for each task before it submits the next: one at a time (serial).")),
    "apply_async": (
        '''
        for i in range(TASKS):
            p.apply_async(func=func, args=(i,))  # 异步执行（并行）: returns at once
        ''',
        None,
        "math.ceil(TASKS / POOL_SIZE) * TASK_S  # POOL_SIZE tasks at a time",
        ("apply_async() 立即返回：同时执行 POOL_SIZE 个任务（并行）。",
         "apply_async() returns at once: POOL_SIZE tasks run at a time (parallel).")),
    "map": (
        '''
        p.map(func, range(TASKS), CHUNKSIZE)  # waits for all; CHUNKSIZE tasks per hand-out
        ''',
        '''
        p.map_async(func, range(TASKS), CHUNKSIZE)  # CHUNKSIZE tasks per hand-out
        ''',
        "math.ceil(TASKS / CHUNKSIZE / POOL_SIZE) * CHUNKSIZE * TASK_S  # POOL_SIZE chunks at a time",
        ("map() 每次交给一个进程 CHUNKSIZE 个任务；结果按任务顺序返回。",
         "map() hands CHUNKSIZE tasks at a time to each of POOL_SIZE workers; results in order.")),
    "imap_unordered": (
        '''
        finished = list(p.imap_unordered(func, range(TASKS), CHUNKSIZE))  # as they finish
        print('完成顺序 / order of completion:', finished)
        ''',
        '''
        p.imap_unordered(func, range(TASKS), CHUNKSIZE)  # results come as tasks finish
        ''',
        "math.ceil(TASKS / CHUNKSIZE / POOL_SIZE) * CHUNKSIZE * TASK_S  # POOL_SIZE chunks at a time",
        ("imap_unordered() 每个任务一完成就返回它的结果，顺序不定。",
         "imap_unordered() yields each result as soon as it is done, in any order.")),
}

_MAIN = '''
manager = multiprocessing.Manager()
log = manager.list()  # every finished task, reported by the pool process that ran it
started = manager.list()  # every task a pool process began
# 创建一个包含 POOL_SIZE 个进程的进程池; init_worker(log, started) runs in each of them first
p = multiprocessing.Pool(POOL_SIZE, initializer=init_worker, initargs=(log, started),
                         maxtasksperchild=MAXTASKSPERCHILD)
{{finish}}

records = list(log)
done = len(records)
killed = len(set(started)) - done  # began, never finished: killed with their pool process
not_started = TASKS - done - killed
manager.shutdown()
pids = {pid for _task, pid, _start, _end in records}
# From the first task's start to the last task's end (the pool's own start-up is not in it)
wall_s = round(max(r[3] for r in records) - min(r[2] for r in records), 6) if records else None
# The ideal: {{ideal_why}}, no start-up, no waiting
ideal_s = round({{ideal}}, 6)
print('完成 / done:', done, 'of', TASKS, ' 被杀死 / killed while running:', killed,
      ' 从未开始 / never started:', not_started)
print('不同的工作进程 / distinct worker processes:', len(pids), 'in a Pool of', POOL_SIZE)
if wall_s is not None:
    print('用时 / wall time: %.2f s, 理想 / ideal: %.2f s' % (wall_s, ideal_s))
print({{how_zh}})
print({{how_en}})
{{cancelled}}
result = {'mode': '{{mode}}', 'done': done, 'killed': killed, 'not_started': not_started,
          'cancelled': killed + not_started,
          'distinct_workers': len(pids), 'wall_s': wall_s, 'ideal_s': ideal_s}
print('RESULT', json.dumps(result))
'''


def _script(lesson, values: dict, start_method: str) -> str:
    from app.core.codegen.common import block, constant, fill, script, seconds

    mode, terminate = values["mode"], values["finish"] == "terminate"
    tempo = values["tempo"]
    close_join, on_terminate, ideal, how = _MODES[mode]
    if not terminate:
        finish = block(close_join, """
            p.close()  # 等子进程执行完毕后关闭进程池: no more tasks
            p.join()  # 主进程等待所有子进程执行完毕
        """)
    elif mode == "apply":
        finish = block(on_terminate, """
            p.terminate()  # 立刻关闭进程池: the rest is never run
            p.join()
        """)
    else:
        finish = block(on_terminate or close_join, """
            p.close()
            time.sleep(TERMINATE_AFTER_S)
            p.terminate()  # 立刻关闭进程池: unfinished tasks are dropped
            p.join()
        """)
    cancelled = '''
        if done < TASKS:
            print('terminate() 立即关闭了进程池：', killed, '个正在执行的任务被杀死，', not_started,
                  '个任务从未开始。/ terminate() stopped the pool at once:', killed,
                  'running task(s) were killed,', not_started, 'never started.')
    ''' if terminate else ""
    constants = [
        constant("POOL_SIZE", values["pool_size"], "processes in the pool"),
        constant("TASKS", values["tasks"], "how many tasks to submit"),
        constant("TASK_S", seconds(values["task_s"], tempo), "seconds each task takes"),
    ]
    if mode in ("map", "imap_unordered"):
        constants.append(constant("CHUNKSIZE", values["chunksize"], "tasks handed to a worker at once"))
    constants.append(constant("MAXTASKSPERCHILD", values["maxtasksperchild"] or None,
                              "None: a pool process is never replaced"
                              if not values["maxtasksperchild"] else "a pool process is replaced after that many"))
    if terminate:
        constants.append(constant("TERMINATE_AFTER_S", seconds(values["terminate_after_s"], tempo),
                                  "how long the pool may work before terminate()"))
    ideal_expr, ideal_why = ideal.split("  # ")
    main = fill(_MAIN, finish=finish, ideal=ideal_expr, ideal_why=ideal_why, how_zh=repr(how[0]),
                how_en=repr(how[1]), cancelled=cancelled, mode=mode)
    return script(
        lesson=lesson, values=values, start_method=start_method,
        doc="A Pool keeps POOL_SIZE processes and reuses them for TASKS tasks;\n"
            + ("terminate() stops it at once." if terminate else "close() + join() waits for every task.")
            + "\n" + how[1],
        imports=["import json", "import multiprocessing", "import os", "import time"]
        + (["import math"] if "math." in ideal_expr else []),
        constants=constants, body=_BODY, main=main,
    )
