"""Script for ``pool``: M tasks on a Pool(n), submitted one of four ways, closed or terminated."""

from __future__ import annotations

from app.core.codegen.common import block, constant, fill, script, seconds

_BODY = '''
task_log = None  # in each pool process: a proxy to the parent's list of finished tasks


def init_worker(log):
    """Runs once in every pool process as it starts."""
    global task_log
    task_log = log


def func(args):
    start = time.time()
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
# 创建一个包含 POOL_SIZE 个进程的进程池; init_worker(log) runs in each of them first
p = multiprocessing.Pool(POOL_SIZE, initializer=init_worker, initargs=(log,),
                         maxtasksperchild=MAXTASKSPERCHILD)
{{finish}}

records = list(log)
manager.shutdown()
done = len(records)
pids = {pid for _task, pid, _start, _end in records}
# From the first task's start to the last task's end (the pool's own start-up is not in it)
wall_s = round(max(r[3] for r in records) - min(r[2] for r in records), 6) if records else None
# The ideal: {{ideal_why}}, no start-up, no waiting
ideal_s = round({{ideal}}, 6)
print('完成 / done:', done, 'of', TASKS, ' 取消 / cancelled:', TASKS - done)
print('不同的工作进程 / distinct worker processes:', len(pids), 'in a Pool of', POOL_SIZE)
if wall_s is not None:
    print('用时 / wall time: %.2f s, 理想 / ideal: %.2f s' % (wall_s, ideal_s))
print({{how_zh}})
print({{how_en}})
{{cancelled}}
result = {'mode': '{{mode}}', 'done': done, 'cancelled': TASKS - done,
          'distinct_workers': len(pids), 'wall_s': wall_s, 'ideal_s': ideal_s}
print('RESULT', json.dumps(result))
'''


def build(lesson, values: dict, start_method: str) -> str:
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
            print('terminate() 立即关闭了进程池，', TASKS - done, '个任务被取消。'
                  '/ terminate() stopped the pool:', TASKS - done, 'task(s) were cancelled.')
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
