"""Lesson ``counter`` (tutorial 2. 进程锁): the race on one shared counter.

N workers each do read → hold → write ``increments`` times (``hold_at=between``,
the race made visible) or read → write → hold (``hold_at=after``, the tutorial's
own order). The sharing strategy decides whether they touch one counter at all;
the lock decides whether the read and the write are one step.

Result keys: ``sharing``, ``lock``, ``hold_at``, ``expected``, ``actual``, ``lost_updates``,
``parent_sees``, ``worker_views`` (per worker: ``worker``, ``index`` its lane,
``views`` each ``[read, wrote]``), ``joined`` (the ``join`` parameter), ``crashed`` (the children
that crashed: ``index``, ``name``, ``error``, ``unlinked``),
``explanation``.
"""

from __future__ import annotations

import struct
from multiprocessing import shared_memory

from app.core import events as ev
from app.core.lessons import no_join
from app.core.lessons.base import Lesson, explain, incompatible, with_status
from app.core.params import ParamSpec, workers

SHARINGS = ("global", "value", "array", "manager", "queue", "shared_memory")
LOCKS = ("none", "lock", "rlock", "semaphore", "get_lock")
HOLD_AT = ("between", "after")  # read → hold → write, or the tutorial's read → write → hold
SHOWN_PAIRS = 200  # of a worker's reads and writes in its result row: the view shows the first 400 characters

counter = 10  # the "global" strategy: a module-level variable, one copy per process


class _Shared:
    """Read and write the counter, whatever holds it (picklable for spawn)."""

    def __init__(self, sharing: str, obj=None, shm_name: str | None = None):
        self.sharing = sharing
        self.obj = obj
        self.shm_name = shm_name
        self._shm = None

    def open(self):
        if self.sharing == "shared_memory":
            self._shm = shared_memory.SharedMemory(name=self.shm_name)
        return self

    def close(self):
        if self._shm is not None:
            self._shm.close()
            self._shm = None

    def read(self, probe) -> int:
        global counter
        kind = self.sharing
        if kind == "global":
            return counter
        if kind in ("value", "manager"):
            return self.obj.value
        if kind == "array":
            return self.obj[0]
        if kind == "shared_memory":
            return struct.unpack_from("q", self._shm.buf, 0)[0]
        return probe.queue_get(self.obj)  # queue: taking the token blocks until it is there

    def write(self, value: int, probe=None) -> None:
        global counter
        kind = self.sharing
        if kind == "global":
            counter = value
        elif kind in ("value", "manager"):
            self.obj.value = value
        elif kind == "array":
            self.obj[0] = value
        elif kind == "shared_memory":
            struct.pack_into("q", self._shm.buf, 0, value)
        else:
            probe.queue_put(self.obj, value)

    def __getstate__(self):
        return {"sharing": self.sharing, "obj": self.obj, "shm_name": self.shm_name, "_shm": None}


def func(probe, i: int, shared: _Shared, lock, increments: int, step: int, hold_s: float,
         hold_at: str = "between") -> None:
    """The tutorial's ``func``: read, write and hold (in the order ``hold_at`` says), print ``say hi``."""
    shared, lock = no_join.opened(shared), no_join.opened(lock)  # join=false: opened here, after the parent left
    shared.open()
    views = []
    try:
        for _ in range(increments):
            if lock is not None:
                with probe.holding(lock):
                    views.append(_update(probe, shared, step, hold_s, hold_at, locked=True))
            else:
                views.append(_update(probe, shared, step, hold_s, hold_at, locked=False))
    finally:
        shared.close()
    probe.result({"worker": i, "views": views})


def _update(probe, shared, step, hold_s, hold_at, locked):
    queue = shared.sharing == "queue"
    probe.point("get" if queue else "read", "queue" if queue else "counter")
    read = shared.read(probe)
    if shared.sharing == "queue":
        probe.state(ev.HOLDING if locked else ev.WORKING, 1 if locked else 0)  # back from the queue's wait
    if hold_at == "between":
        _hold(probe, hold_s, locked)
    wrote = read + step
    probe.point("put" if queue else "write", "queue" if queue else "counter")
    shared.write(wrote, probe)
    probe.value(0, wrote)
    if hold_at == "after":  # the tutorial: lis[0] = lis[0] - 1; time.sleep(1); print(...)
        _hold(probe, hold_s, locked)
    print("say hi", wrote)
    return [read, wrote]


def _hold(probe, hold_s, locked):
    if not hold_s:  # no sleep at all: even time.sleep(0) gives the CPU away and changes the race
        return
    probe.sleep(hold_s, code=None if locked else ev.SLEEPING)
    if not locked:
        probe.state(ev.WORKING)


class Counter(Lesson):
    id = "counter"
    section = "2. 进程锁"
    title_en = "Locks and the race on a counter"
    title_zh = "进程锁与计数器竞争"
    summary_en = "N workers read, hold and write one counter; without a lock updates are lost."
    summary_zh = "N 个进程读取、停顿、写回同一个计数器；不加锁就会丢失更新。"
    step_points = ("read", "write", "acquire", "release", "get", "put")
    specs = (
        workers(10),
        ParamSpec("sharing", "choice", "array", "Sharing", "共享方式", choices=SHARINGS,
                  help_en="global: a module variable (not shared); value/array: shared ctypes; manager: a "
                          "Manager().Value; queue: message passing; shared_memory: a SharedMemory block.",
                  help_zh="global：模块变量（不共享）；value/array：共享 ctypes；manager：Manager().Value；"
                          "queue：消息传递；shared_memory：SharedMemory 共享内存块。"),
        ParamSpec("lock", "choice", "rlock", "Lock", "锁", choices=LOCKS,
                  help_en="get_lock is the lock built into a Value or Array.",
                  help_zh="get_lock 是 Value 或 Array 自带的锁。"),
        ParamSpec("start_value", "int", 10, "Start value", "初始值", -1000000, 1000000),
        ParamSpec("step", "int", -1, "Step", "每次加上", -1000, 1000),
        ParamSpec("increments", "int", 1, "Updates per worker", "每个进程更新次数", 1, 10000),
        ParamSpec("hold_s", "float", 1.0, "Hold time (s)", "停顿时间（秒）", 0.0, 60.0,
                  help_en="How long each update pauses (the tutorial's time.sleep(1)); hold_at says where.",
                  help_zh="每次更新停顿多久（即教程中的 time.sleep(1)）；停在哪里由 hold_at 决定。"),
        ParamSpec("hold_at", "choice", "between", "Hold at", "停顿位置", choices=HOLD_AT,
                  help_en="between: read → hold → write, the race made visible; after: read → write → hold, "
                          "the tutorial's own order (its sleep comes after the write).",
                  help_zh="between：读 → 停顿 → 写，让竞争看得见；after：读 → 写 → 停顿，"
                          "即教程自己的顺序（它的 sleep 在写之后）。"),
        no_join.JOIN,
    )

    def check(self, values):
        if values["lock"] == "get_lock" and values["sharing"] not in ("value", "array"):
            raise incompatible("lock", "get_lock", "sharing", values["sharing"],
                               "get_lock with sharing value or array; another lock for this sharing")

    def value_slots(self, values):
        expected = values["start_value"] + values["workers"] * values["increments"] * values["step"]
        return [{"name": "counter", "label": {"en": "counter", "zh": "计数器"},
                 "initial": values["start_value"], "step": values["step"], "expected": expected}]

    def run(self, rc, values):
        global counter
        sharing, start = values["sharing"], values["start_value"]
        shm = None
        before = no_join.snapshot()
        if sharing == "global":
            counter = start  # the parent's copy; spawn children re-import the module and see its default
            shared = _Shared("global")
        elif sharing == "value":
            shared = _Shared("value", rc.ctx.Value("i", start))
        elif sharing == "array":
            array = rc.ctx.Array("i", 1)
            array[0] = start
            shared = _Shared("array", array)
        elif sharing == "manager":
            shared = _Shared("manager", rc.manager().Value("i", start))
        elif sharing == "queue":
            q = rc.ctx.Queue()
            q.put(start)
            shared = _Shared("queue", q)
        else:
            shm = shared_memory.SharedMemory(create=True, size=8)
            struct.pack_into("q", shm.buf, 0, start)
            shared = _Shared("shared_memory", shm_name=shm.name)
        lock = {"none": None, "lock": rc.ctx.Lock, "rlock": rc.ctx.RLock,
                "semaphore": lambda: rc.ctx.Semaphore(1), "get_lock": lambda: shared.obj.get_lock()}
        lock = lock[values["lock"]]() if values["lock"] != "none" else None
        try:
            args = (*no_join.wrap(values["join"], shared, lock), values["increments"], values["step"],
                    values["hold_s"], values["hold_at"])
            processes = [rc.start(func, (i, *args)) for i in range(values["workers"])]
            if not values["join"]:  # the tutorial's program: the parent returns here, and Python's exit...
                no_join.exit_now(before)
                rc.join(*processes)  # ...then waits for the children (multiprocessing's own exit function)
                rc.result({"joined": False})
                return
            rc.join(*processes)
            if sharing == "queue":
                parent_sees = rc.get(shared.obj, queue_id=0)
            elif sharing == "shared_memory":
                parent_sees = struct.unpack_from("q", shm.buf, 0)[0]
            else:
                parent_sees = shared.read(None)
            rc.print("parent sees", parent_sees)
            rc.result({"parent_sees": parent_sees})
        finally:
            if shm is not None:
                shm.close()
                shm.unlink()
            if sharing == "global":
                counter = 10

    def summarize(self, trace):
        p = trace.meta["params"]
        n, inc, step, start = p["workers"], p["increments"], p["step"], p["start_value"]
        sharing, lock = p["sharing"], p["lock"]
        hold_at = p.get("hold_at", "between")  # a trace from before hold_at held between read and write
        expected = start + n * inc * step
        parent = [r for r in trace.results(-1) if "parent_sees" in r]
        actual = parent[0].get("parent_sees") if parent else None
        lost = None
        if actual is not None:
            lost = round((expected - actual) / step) if step else 0
        views = sorted(_worker_views(trace), key=lambda r: r["worker"])
        en, zh = _explain(sharing, lock, expected, actual, lost, views)
        if sharing not in ("global", "queue"):
            en, zh = f"{en} {_HOLD_NOTE[hold_at][0]}", f"{zh}{_HOLD_NOTE[hold_at][1]}"
        joined = p.get("join", True) is not False
        writes = len(trace.values(0)[0])
        if not joined:
            en, zh = no_join.explain(trace, "the counter", "计数器")
        partial = (en, zh) if not joined else (
            f"{len(views)} of {n} worker(s) finished, {writes} write(s) were recorded; expected {expected} "
            "at the end of a full run.",
            f"{n} 个进程中有 {len(views)} 个完成，记录到 {writes} 次写入；完整运行结束时应为 {expected}。")
        return {
            "sharing": sharing,
            "lock": lock,
            "hold_at": hold_at,
            "expected": expected,
            "actual": actual,
            "lost_updates": lost,
            "parent_sees": actual,
            "worker_views": views,
            "joined": joined,
            "crashed": no_join.crashes(trace),
            # join=false: the crashes are this run's point, said rather than apologised for
            "explanation": explain(en, zh) if not joined and trace.meta.get("status") == "crashed"
            else with_status(trace, en, zh, partial),
        }

    example_result = {"sharing": "value", "lock": "none", "hold_at": "between", "expected": 12, "actual": 9,
                      "lost_updates": 3, "parent_sees": 9, "worker_views": [{"worker": 0, "views": [[0, 1], [1, 2]]}]}

    def result_rows(self, summary):
        from app.core.lessons.rows import DASH, Row, Table, Text, lost, process_names, seconds

        r = summary["result"]
        if r.get("joined") is False:
            return no_join.result_rows(r)
        out = [
            Row(Text("Sharing", "共享方式"), r["sharing"]),
            Row(Text("Lock", "锁"), r["lock"]),
            Row(Text("Hold", "停顿位置"), Text(*_HOLD_ROW[r.get("hold_at", "between")])),
            Row(Text("Expected", "应为"), r["expected"]),
            Row(Text("Actual (the parent sees)", "实际（父进程看到的）"), r["actual"]),
            lost(Text("Lost updates", "丢失的更新"), r["lost_updates"]),
        ]
        workers = sorted((p for p in summary.get("processes", []) if p.get("role") == "worker"),
                         key=lambda p: p["index"])
        # by lane; a file from before lanes were recorded: by worker number, in lane order
        views = {v["index"]: v["views"] for v in r.get("worker_views", []) if "index" in v}
        by_number = {v["worker"]: v["views"] for v in r.get("worker_views", [])}
        names = process_names(summary)
        rows = []
        for i, p in enumerate(workers):
            t = p.get("time_in_state_s") or {}
            mine = views.get(p["index"]) if views else by_number.get(i)
            seen = " ".join(f"{a}→{b}" for a, b in (mine or [])[:SHOWN_PAIRS])
            rows.append([names.get(p["index"], p.get("name")), seen or DASH, seconds(t.get("waiting", 0.0)),
                         seconds(t.get("holding", 0.0))])
        if rows:
            out.append(Table([Text("Process", "进程"), Text("read → wrote", "读到 → 写入"),
                              Text("waiting (s)", "等待（秒）"), Text("holding (s)", "持有锁（秒）")], rows))
        return out

    def script(self, values, start_method):
        return _script(self, values, start_method)


_HOLD_NOTE = {
    "between": ("The hold was between the read and the write (hold_at=between), to make the race visible; the "
                "tutorial's own job holds after the write (hold_at=after), where without a lock an update is "
                "almost never lost.",
                "停顿在读和写之间（hold_at=between），为的是让竞争看得见；教程自己的 job 是在写之后停顿"
                "（hold_at=after），那样即使不加锁也几乎不会丢失更新。"),
    "after": ("The hold was after the write (hold_at=after), the tutorial's own order: the read and the write are "
              "back to back, so without a lock an update is almost never lost — the race is still there, only "
              "too short to hit; hold_at=between shows it.",
              "停顿在写之后（hold_at=after），即教程自己的顺序：读和写紧挨着，所以即使不加锁也几乎不会丢失更新——"
              "竞争仍然存在，只是窗口太短碰不上；hold_at=between 能让它显现。"),
}
_HOLD_ROW = {"between": ("read → hold → write (between)", "读 → 停顿 → 写（between）"),
             "after": ("read → write → hold (after, as the tutorial)", "读 → 写 → 停顿（after，与教程相同）")}


def _worker_views(trace):
    """Each worker's reads and writes, one result decoded at a time (a long run lists 640k of them), each
    kept as one array."""
    from app.core.pairs import IntPairs  # numpy: not in a worker, which imports this module

    texts = trace.texts
    for position in texts.where(ev.RESULT).tolist():
        _t, index, _kind, payload = texts[position]
        if isinstance(payload, dict) and "views" in payload:
            yield {"worker": payload["worker"], "views": IntPairs.of(payload["views"]), "index": index}


def _explain(sharing, lock, expected, actual, lost, views):
    head_en = f"Expected {expected}, the parent sees {actual}"
    head_zh = f"应为 {expected}，父进程看到 {actual}"
    if sharing == "global":
        reads = sorted({v[0] for w in views for v in w["views"][:1]})
        return (
            f"{head_en}: a global variable is not shared. Each worker changed its own copy (first reads: {reads}); "
            "the parent's copy never changed. Under spawn a child re-imports the module and starts from the "
            "module's own value, not the parent's; under fork it starts from a copy of the parent's.",
            f"{head_zh}：全局变量不会被共享。每个进程修改的是自己的副本（首次读到：{reads}），父进程的副本从未改变。"
            "spawn 方式下子进程重新导入模块，从模块自身的值开始；fork 方式下从父进程的副本开始。",
        )
    if sharing == "queue":
        return (
            f"{head_en}; {lost or 0} update(s) lost. Message passing: the counter is a token in a queue, and a "
            "worker that takes it holds the only copy until it puts the new value back, so no update can be "
            "lost even without a lock — the queue itself serialises the workers.",
            f"{head_zh}；丢失 {lost or 0} 次更新。消息传递：计数器是队列里的一个令牌，取走它的进程持有唯一的副本，"
            "直到放回新值为止，所以即使不加锁也不会丢失更新——队列本身让进程依次执行。",
        )
    if lock == "none":
        if lost:
            return (
                f"{head_en}: {lost} update(s) lost. Without a lock several workers read the same value during the "
                "hold time and each wrote back read + step, overwriting one another.",
                f"{head_zh}：丢失了 {lost} 次更新。"
                "没有锁时，几个进程在停顿期间读到同一个值，各自写回 读取值+步长，互相覆盖。",
            )
        return (
            f"{head_en}: none lost this time, but only by luck of timing; raise hold_s or workers to see the race.",
            f"{head_zh}：这次没有丢失，只是时序上的运气；加大 hold_s 或进程数就能看到竞争。",
        )
    return (
        f"{head_en}; {lost or 0} update(s) lost. The {lock} makes read–hold–write one step: workers wait for it "
        "(orange on their lanes) and the counter moves one step at a time, at the cost of running one by one.",
        f"{head_zh}；丢失 {lost or 0} 次更新。{lock} 让“读-停顿-写”成为一个整体：进程排队等待（泳道上的橙色），"
        "计数器一步一步变化，代价是进程只能逐个执行。",
    )


LESSON = Counter()

# --- the plain script (``Lesson.script``) -------------------------------------------------
# The helpers are imported inside ``_script``: a spawned worker imports this module
# to unpickle its target, and must not pay for the script builder.


# sharing -> how the worker names the counter, reads it, writes it; how the parent makes it,
# reads the final value and cleans up; a line for the docstring
_SHARING = {
    "global": dict(
        arg="", read="value = counter", write="counter = value + STEP",
        make="", final="actual = counter  # the parent's own copy", cleanup="",
        doc="a module-level variable: NOT shared, every process changes its own copy"),
    "value": dict(
        arg="counter", read="value = counter.value", write="counter.value = value + STEP",
        make="counter = multiprocessing.Value('i', START_VALUE)  # an int in shared memory",
        final="actual = counter.value", cleanup="",
        doc="multiprocessing.Value('i'): one C int in shared memory"),
    "array": dict(
        arg="lis", read="value = lis[0]", write="lis[0] = value + STEP",
        make="lis = multiprocessing.Array('i', 1)  # as in the tutorial\nlis[0] = START_VALUE",
        final="actual = lis[0]", cleanup="",
        doc="multiprocessing.Array('i', 1): one C int in shared memory (the tutorial)"),
    "manager": dict(
        arg="counter", read="value = counter.value", write="counter.value = value + STEP",
        make="manager = multiprocessing.Manager()  # starts a server process\n"
             "counter = manager.Value('i', START_VALUE)  # lives in the server; this is a proxy",
        final="actual = counter.value", cleanup="manager.shutdown()",
        doc="Manager().Value: the int lives in the manager's server process, reached through a proxy"),
    "queue": dict(
        arg="q", read="value = q.get()  # take the token: nobody else can have it now",
        write="q.put(value + STEP)  # give it back",
        make="q = multiprocessing.Queue()\nq.put(START_VALUE)  # the counter is a token in the queue",
        final="actual = q.get()", cleanup="",
        doc="message passing: the counter is a token in a Queue; whoever holds it has the only copy"),
    "shared_memory": dict(
        arg="name", read="value = struct.unpack_from('q', shm.buf, 0)[0]",
        write="struct.pack_into('q', shm.buf, 0, value + STEP)",
        make="shm = shared_memory.SharedMemory(create=True, size=8)  # 8 bytes, one int64\n"
             "struct.pack_into('q', shm.buf, 0, START_VALUE)",
        final="actual = struct.unpack_from('q', shm.buf, 0)[0]",
        cleanup="shm.close()\nshm.unlink()  # free the block (the creator does it once)",
        doc="a SharedMemory block: 8 raw bytes that every process maps by name"),
}

# lock -> how the parent makes it (None: no lock object is passed), the `with` line, a docstring line
_LOCKS = {
    "none": (None, "", "no lock: the read and the write are separate steps, so updates get lost"),
    "lock": ("multiprocessing.Lock()", "with lock:  # the tutorial's lc.acquire() ... lc.release()",
             "a Lock makes read-hold-write one step"),
    "rlock": ("multiprocessing.RLock()", "with lock:  # the tutorial's lc.acquire() ... lc.release()",
              "an RLock (as in the tutorial) makes read-hold-write one step"),
    "semaphore": ("multiprocessing.Semaphore(1)", "with lock:  # one slot: at most one process inside",
                  "a Semaphore(1) lets one process at a time do read-hold-write"),
    "get_lock": (None, "with {arg}.get_lock():  # the lock every Value and Array carries",
                 "the counter's own lock (get_lock()) makes read-hold-write one step"),
}


def _script(lesson, values: dict, start_method: str) -> str:
    from app.core.codegen.common import NO_JOIN_END, constant, fill, indent, script, seconds, start_children

    sharing, lock = values["sharing"], values["lock"]
    s = _SHARING[sharing]
    make_lock, with_line, lock_doc = _LOCKS[lock]
    params = ["i"] + ([s["arg"]] if s["arg"] else []) + (["lock"] if make_lock else [])
    hold_at, holds = values["hold_at"], seconds(values["hold_s"], values["tempo"]) > 0
    # No sleep at all when HOLD_S is 0, as the lesson does: even time.sleep(0) gives the CPU away.
    between = "time.sleep(HOLD_S)  # hold between reading and writing: the race made visible" \
        if holds and hold_at == "between" else ""
    after = "time.sleep(HOLD_S)  # the tutorial: lis[0] = lis[0] - 1; time.sleep(1); print()" \
        if holds and hold_at == "after" else ""
    update = fill(
        '''
        {{read}}
        {{between}}
        {{write}}
        {{after}}
        print('say hi', value + STEP)
        ''', read=s["read"], write=s["write"], between=between, after=after)
    if with_line:
        update = with_line.format(arg=s["arg"]) + "\n" + indent(update)
    loop = "for _ in range(INCREMENTS):\n" + indent(update)
    if sharing == "global":
        loop = "global counter  # this process's own copy of the module variable\n" + loop
    if sharing == "shared_memory":
        loop = ("shm = shared_memory.SharedMemory(name=name)  # attach to the block by its name\n"
                + loop + "\nshm.close()")
    body = fill(
        '''
        {{global_var}}


        def func({{params}}):
            {{loop}}
        ''',
        global_var="counter = START_VALUE  # the 'global' strategy: one copy in every process"
        if sharing == "global" else "",
        params=", ".join(params), loop=loop)
    args = ", ".join("shm.name" if x == "name" else x for x in params[1:])  # the block goes by its name
    if not values["join"]:
        main = fill(
            '''
            {{make}}
            {{make_lock}}
            {{start}}
            {{end}}
            ''',
            make=s["make"], make_lock=f"lock = {make_lock}" if make_lock else "", end=NO_JOIN_END,
            start=start_children(f"func, args=(i, {args})", False).replace("args=(i, ))", "args=(i,))"))
    else:
        main = _main_with_join(s, make_lock, args, sharing, lock, hold_at)
    main = main.replace("args=(i, ))", "args=(i,))")
    imports = ["import json", "import multiprocessing"] + (["import time"] if holds else [])
    if sharing == "shared_memory":
        imports += ["import struct", "from multiprocessing import shared_memory"]
    return script(
        lesson=lesson, values=values, start_method=start_method,
        doc=f"WORKERS processes each do {_SCRIPT_ORDER[hold_at]}\non one counter, INCREMENTS times.\n"
            f"Sharing: {s['doc']}.\nLock: {lock_doc}."
            + ("" if values["join"] else "\nNo join(), as the tutorial wrote it: under spawn and forkserver "
                                         "the children crash."),
        imports=imports,
        constants=[
            constant("WORKERS", values["workers"], "how many processes update the counter"),
            constant("START_VALUE", values["start_value"], "the counter's first value"),
            constant("STEP", values["step"], "added by every update (the tutorial's lis[0] - 1)"),
            constant("INCREMENTS", values["increments"], "updates per process"),
            constant("HOLD_S", seconds(values["hold_s"], values["tempo"]),
                     "seconds of hold " + ("between read and write" if hold_at == "between" else "after the write")),
        ],
        body=body, main=main,
    )


def _main_with_join(s, make_lock, args, sharing, lock, hold_at) -> str:
    from app.core.codegen.common import fill

    return fill(
        '''
        {{make}}
        {{make_lock}}
        processes = []
        for i in range(WORKERS):
            p = multiprocessing.Process(target=func, args=(i, {{args}}))
            p.start()
            processes.append(p)
        for p in processes:
            p.join()

        {{final}}
        {{cleanup}}
        expected = START_VALUE + WORKERS * INCREMENTS * STEP
        lost = round((expected - actual) / STEP) if STEP else 0  # each lost update is one STEP
        print('应为 / expected:', expected, ' 父进程看到 / the parent sees:', actual,
              ' 丢失的更新 / lost updates:', lost)
        {{explain}}
        result = {'sharing': '{{sharing}}', 'lock': '{{lock}}', 'hold_at': '{{hold_at}}',
                  'expected': expected,
                  'actual': actual, 'lost_updates': lost, 'parent_sees': actual}
        print('RESULT', json.dumps(result))
        ''',
        make=s["make"], make_lock=f"lock = {make_lock}" if make_lock else "", args=args,
        final=s["final"], cleanup=s["cleanup"], explain=_script_explain(sharing, lock), sharing=sharing, lock=lock,
        hold_at=hold_at)


_SCRIPT_ORDER = {"between": "read -> hold -> write (the race made visible)",
                 "after": "read -> write -> hold (the tutorial's order)"}


def _script_explain(sharing: str, lock: str) -> str:
    if sharing == "global":
        return '''
            print('全局变量不会被共享：每个子进程只修改了自己的副本，父进程的副本从未改变。'
                  '/ A global variable is not shared: each child changed its own copy; '
                  "the parent's copy never changed.")
        '''
    if sharing == "queue":
        return '''
            print('消息传递：取走令牌的进程持有唯一的副本，所以即使不加锁也不会丢失更新。'
                  '/ Message passing: whoever took the token holds the only copy, so no update '
                  'is lost, even without a lock.')
        '''
    if lock == "none":
        return '''
            if lost:
                print('没有锁：几个进程读到同一个值，各自写回 读取值+STEP，互相覆盖。'
                      '/ No lock: several processes read the same value and each wrote back '
                      'value + STEP, overwriting one another.')
            else:
                print('这次没有丢失，只是时序上的运气；加大 HOLD_S 或 WORKERS 试试。'
                      '/ Nothing lost this time, by luck of timing; raise HOLD_S or WORKERS.')
        '''
    return '''
        print('锁让“读-停顿-写”成为一个整体：计数器一步一步变化，代价是进程只能逐个执行。'
              '/ The lock makes read-hold-write one step: nothing is lost, at the cost of '
              'running one at a time.')
    '''
