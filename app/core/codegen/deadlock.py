"""Script for ``deadlock``: locks taken in opposite orders, and a parent that notices."""

from __future__ import annotations

from app.core.codegen.common import constant, script, seconds

_BODY = '''
def take(locks, k, i, table):
    """Acquire lock k as worker i, keeping the wait-for table true."""
    table_lock, waiting_for, holder = table
    with table_lock:
        waiting_for[i] = k
    locks[k].acquire()
    with table_lock:
        waiting_for[i] = -1
        holder[k] = i


def give(locks, k, table):
    """Release lock k."""
    table_lock, _waiting_for, holder = table
    with table_lock:
        holder[k] = -1
    locks[k].release()


def worker(i, locks, start_line, table):
    first, second = i, (i + 1) % WORKERS  # a ring: the last worker wants lock 0 second
    if ORDERED:
        first, second = min(first, second), max(first, second)  # one global order
    start_line.wait()  # everyone starts together, so the race is not decided by start-up time
    take(locks, first, i, table)
    print(f'worker {i}: took lock {first}, now wants lock {second}')
    time.sleep(HOLD_S)
    take(locks, second, i, table)
    print(f'worker {i}: took lock {second} too')
    time.sleep(HOLD_S / 2)
    give(locks, second, table)
    give(locks, first, table)
    print(f'worker {i}: released both')


def find_cycle(table):
    """A cycle of waits: worker -> the worker holding the lock it waits for -> ... -> itself."""
    table_lock, waiting_for, holder = table
    with table_lock:  # one consistent picture
        wants, owner = list(waiting_for), list(holder)
    for start in range(WORKERS):
        path, i = [], start
        while i != -1 and i not in path:
            path.append(i)
            i = owner[wants[i]] if wants[i] != -1 else -1
        if i != -1:  # came back to a worker already on the path
            cycle = path[path.index(i):]
            return [(w, wants[w]) for w in cycle]
    return None
'''

_MAIN = '''
locks = [multiprocessing.Lock() for _ in range(WORKERS)]
start_line = multiprocessing.Barrier(WORKERS)
# The wait-for table: which lock each worker waits for, which worker holds each lock (-1: none).
table = (multiprocessing.Lock(), multiprocessing.RawArray('i', [-1] * WORKERS),
         multiprocessing.RawArray('i', [-1] * WORKERS))
processes = [multiprocessing.Process(target=worker, args=(i, locks, start_line, table))
             for i in range(WORKERS)]
for p in processes:
    p.start()
begin = time.perf_counter()
cycle = None
while cycle is None and any(p.is_alive() for p in processes):
    time.sleep(POLL_S)
    cycle = find_cycle(table)
if cycle:
    found_after_s = time.perf_counter() - begin
    print('死锁！每个进程都在等待下一个进程持有的锁，谁也无法继续。'
          '/ Deadlock! Each worker waits for a lock the next one holds; nobody can go on.')
    print('  ' + ' -> '.join(f'worker {w} waits for lock {k}' for w, k in cycle))
    stuck = [i for i, p in enumerate(processes) if p.is_alive()]
    print('仍卡住的进程 / workers still stuck:', stuck, '- terminate() them')
    for p in processes:
        p.terminate()  # nothing else would ever end them
    print('按统一顺序加锁（ORDERED = True）就能避免。'
          '/ One global lock order (ORDERED = True) prevents it.')
for p in processes:
    p.join()
if not cycle:
    print('没有死锁：每个进程都完成了。/ No deadlock: every worker finished.')
result = {'detected': bool(cycle), 'cycle': [w for w, _k in cycle or []],
          'locks': [k for _w, k in cycle or []],
          'found_after_s': round(found_after_s, 6) if cycle else None}
print('RESULT', json.dumps(result))
'''


def build(lesson, values: dict, start_method: str) -> str:
    return script(
        lesson=lesson, values=values, start_method=start_method,
        doc="Worker i takes lock i, then lock i + 1 (the last one takes lock 0): a ring. Once each\n"
            "holds its first lock, each waits for the next one's: a deadlock. The parent watches a\n"
            "wait-for table, finds the cycle, and terminates the stuck workers.",
        imports=["import json", "import multiprocessing", "import time"],
        constants=[
            constant("WORKERS", values["workers"], "workers, and locks"),
            constant("HOLD_S", seconds(values["hold_s"], values["tempo"]),
                     "seconds a worker holds its first lock before it takes the second"),
            constant("ORDERED", values["ordered"],
                     "True: every worker takes the lower-numbered lock first - no deadlock"),
            constant("POLL_S", 0.05, "how often the parent looks at the wait-for table"),
        ],
        body=_BODY, main=_MAIN,
    )
