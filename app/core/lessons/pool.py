"""Lesson ``pool`` (tutorial 3. 进程池 Pool): M tasks on a Pool(n).

Result keys: ``mode``, ``tasks`` (each: ``task``, ``worker_pid``, ``worker``,
``start_s``, ``end_s``, ``status`` done/cancelled), ``done``, ``cancelled``,
``distinct_workers``, ``wall_s``, ``ideal_s``, ``explanation``.
"""

from __future__ import annotations

import math
import os
from time import perf_counter_ns

from app.core import events as ev
from app.core.lessons.base import Lesson, explain
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
                "status": "done" if end else "cancelled",
            })
        done = sum(1 for x in tasks if x["status"] == "done")
        parent = trace.results(-1)
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
            en += f" terminate() stopped the pool: {m - done} task(s) were cancelled."
            zh += f" terminate() 立即关闭了进程池：{m - done} 个任务被取消。"
        return {
            "mode": p["mode"],
            "tasks": tasks,
            "done": done,
            "cancelled": m - done,
            "distinct_workers": len(pids),
            "wall_s": round(wall, 6) if wall is not None else None,
            "ideal_s": round(ideal, 6),
            "total_s": round(total, 6) if total is not None else None,
            "pool_start_s": round(pool_start, 6) if pool_start is not None else None,
            "explanation": explain(en, zh),
        }


LESSON = Pool()
