"""Lesson ``deadlock`` (beyond the tutorial): locks taken in opposite orders.

Worker i takes lock i, then lock (i+1) mod N: a ring, so every worker ends up
waiting for a lock its neighbour holds. The runner detects the wait-for cycle
from the event stream (``app.core.waitfor``), records it and stops the run
cleanly. With ``ordered=true`` every worker takes the lower-numbered lock
first, which breaks the ring.

Result keys: ``detected``, ``cycle`` (process indexes), ``cycle_names`` (their
display names, ``app.core.names``), ``locks`` (the lock each of them waits for),
``detect_s`` (from the cycle forming to its
detection), ``formed_s``, ``explanation``.
"""

from __future__ import annotations

from app.core import events as ev
from app.core.lessons.base import Lesson, explain, interrupted, with_status
from app.core.params import ParamSpec


def worker(probe, i: int, locks, start_line, hold_s: float, ordered: bool) -> None:
    n = len(locks)
    first, second = i, (i + 1) % n
    if ordered:
        first, second = min(first, second), max(first, second)
    probe.block(ev.WAITING)
    start_line.wait()  # everyone starts together, so the race is not decided by start-up time
    probe.state(ev.WORKING)
    with probe.holding(locks[first], first):
        print(f"worker {i}: took lock {first}, now wants lock {second}")
        probe.sleep(hold_s, code=None)
        with probe.holding(locks[second], second, after=ev.HOLDING):
            print(f"worker {i}: took lock {second} too")
            probe.sleep(hold_s / 2, code=None)
    print(f"worker {i}: released both")


class Deadlock(Lesson):
    id = "deadlock"
    section = "超出教程：死锁"
    title_en = "Deadlock: locks taken in opposite orders"
    title_zh = "死锁：以相反顺序获取锁"
    summary_en = "Each worker holds one lock and waits for the next one's: the app finds the cycle and stops."
    summary_zh = "每个进程持有一把锁，又等待下一个进程的锁：程序找出这个环并停止运行。"
    expects_deadlock = True
    step_points = ("acquire", "release")
    specs = (
        ParamSpec("workers", "int", 2, "Workers", "进程数", 2, 64,
                  help_en="Worker i takes lock i, then lock i+1 (the last takes lock 0).",
                  help_zh="第 i 个进程先取锁 i，再取锁 i+1（最后一个取锁 0）。"),
        ParamSpec("hold_s", "float", 0.2, "Hold time (s)", "持锁时间（秒）", 0.0, 60.0),
        ParamSpec("ordered", "bool", False, "One global lock order", "统一加锁顺序",
                  help_en="true: every worker takes the lower-numbered lock first — no deadlock.",
                  help_zh="true：每个进程都先取编号小的锁——不会死锁。"),
    )

    def run(self, rc, values):
        n = values["workers"]
        locks = [rc.ctx.Lock() for _ in range(n)]
        start_line = rc.ctx.Barrier(n)
        processes = [rc.start(worker, (i, locks, start_line, values["hold_s"], values["ordered"]))
                     for i in range(n)]
        rc.join(*processes)

    def summarize(self, trace):
        from app.core.names import display_names, name_of

        found = next((r["deadlock"] for r in trace.results(-1) if "deadlock" in r), None)
        ordered = trace.meta["params"]["ordered"]
        if found:
            cycle = found["cycle"]
            en_ring, zh_ring = cycle_sentences(display_names(trace), cycle, found["locks"])
            detect_s = (found["detected_ns"] - found["formed_ns"]) / 1e9
            linger = found.get("linger_s") or 0
            kept_en = f", left the processes stuck for {linger:.1f} s for you to see," if linger > 0 else ""
            kept_zh = f"让这些进程保持卡住 {linger:.1f} 秒供你观察，然后" if linger > 0 else ""
            en = (f"Deadlock: {en_ring}, each held by the next. Nobody can go on, so the app detected the cycle "
                  f"{detect_s * 1000:.0f} ms after it formed{kept_en} and stopped the run. Taking the locks in one "
                  "global order (ordered=true) prevents it.")
            zh = (f"死锁：{zh_ring}，而每把锁都被下一个进程持有。谁也无法继续，"
                  f"程序在环形成后 {detect_s * 1000:.0f} 毫秒检测到它，{kept_zh}停止了运行。"
                  "所有进程按统一顺序加锁（ordered=true）就能避免。")
            return {"detected": True, "cycle": cycle, "locks": found["locks"], "detect_s": round(detect_s, 6),
                    "formed_s": round(trace.seconds(found["formed_ns"]), 6),
                    "cycle_names": [name_of(display_names(trace), i) for i in cycle],
                    "explanation": with_status(trace, en, zh, (
                        f"A deadlock had formed: {en_ring}, each held by the next.",
                        f"已经形成了死锁：{zh_ring}，而每把锁都被下一个进程持有。"))}
        note = interrupted(trace)
        if note is not None:  # stopped before it could deadlock (or finish): no claim either way
            en, zh = (f"{note[0]} No deadlock had formed by then.", f"{note[1]}到那时还没有形成死锁。")
        elif ordered:
            en = "No deadlock: every worker took the locks in one global order, so no cycle of waits could form."
            zh = "没有死锁：每个进程都按统一顺序加锁，等待不可能形成环。"
        else:
            en, zh = "No deadlock formed this time.", "这一次没有形成死锁。"
        return {"detected": False, "cycle": [], "locks": [], "detect_s": None, "formed_s": None,
                "explanation": explain(en, zh)}

    example_result = {"detected": True, "cycle": [0, 1], "locks": [1, 0], "detect_s": 0.012, "formed_s": 0.4}

    def story(self, trace):
        from app.core import story as st
        from app.core.lessons.rows import Text

        workers = trace.meta.get("params", {}).get("workers")
        return st.Story(
            title=Text("Locks held and processes waiting", "持有的锁与等待的进程"),
            y_label=Text("Locks / processes", "锁 / 进程数"),
            series=[
                st.count_series(trace, Text("locks held", "被持有的锁"),
                                *st.mark_edges(trace, ev.LOCK, ev.LOCK_ACQUIRED, ev.LOCK_RELEASED)),
                st.count_series(trace, Text("processes waiting for a lock", "等待锁的进程"),
                                *st.mark_edges(trace, ev.LOCK, ev.LOCK_REQUEST, ev.LOCK_ACQUIRED)),
            ],
            lines=[st.Reference(Text("locks (one per worker)", "锁的总数（每个进程一把）"), workers)]
            if workers else [],
        )

    def result_rows(self, summary):
        from app.core.lessons.rows import DASH, Row, Text, process_names, seconds, yes_no

        r = summary["result"]
        names = process_names(summary)
        out = [yes_no(Text("Deadlock detected", "检测到死锁"), r["detected"], good_when=True)]
        if r.get("detected"):
            en, zh = cycle_sentences(names, r["cycle"], r["locks"], closed=True)
            detect = r.get("detect_s")
            out += [
                Row(Text("Wait-for cycle", "等待环"), Text(en, zh)),
                Row(Text("Processes in the cycle", "环中的进程"), ", ".join(names.get(i, f"#{i}") for i in r["cycle"])),
                Row(Text("Formed at (s)", "形成时刻（秒）"), seconds(r.get("formed_s"))),
                Row(Text("Time to detection (ms)", "检测用时（毫秒）"),
                    DASH if detect is None else f"{detect * 1000:.1f}"),
            ]
        return out

    def script(self, values, start_method):
        return _script(self, values, start_method)


def cycle_sentences(names: dict, cycle: list, locks: list, closed: bool = False) -> tuple[str, str]:
    """"Process-1 waits for lock 1 → Process-2 waits for lock 0" in English and Chinese, with the
    lanes' names; ``closed`` repeats the first process at the end (the ring closes)."""
    from app.core.names import name_of

    who = [name_of(names, i) for i in cycle]
    en = [f"{name} waits for lock {lock}" for name, lock in zip(who, locks, strict=False)]
    zh = [f"{name} 等待锁 {lock}" for name, lock in zip(who, locks, strict=False)]
    if closed and who:
        en.append(who[0])
        zh.append(who[0])
    return " → ".join(en), " → ".join(zh)


LESSON = Deadlock()

# --- the plain script (``Lesson.script``) -------------------------------------------------
# The helpers are imported inside ``_script``: a spawned worker imports this module
# to unpickle its target, and must not pay for the script builder.


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


def _script(lesson, values: dict, start_method: str) -> str:
    from app.core.codegen.common import constant, script, seconds

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
