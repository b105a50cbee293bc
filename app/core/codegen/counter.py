"""Script for ``counter``: the race on one counter, for every sharing strategy and lock."""

from __future__ import annotations

from app.core.codegen.common import constant, fill, indent, script, seconds

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


def build(lesson, values: dict, start_method: str) -> str:
    sharing, lock = values["sharing"], values["lock"]
    s = _SHARING[sharing]
    make_lock, with_line, lock_doc = _LOCKS[lock]
    params = ["i"] + ([s["arg"]] if s["arg"] else []) + (["lock"] if make_lock else [])
    update = fill(
        '''
        {{read}}
        time.sleep(HOLD_S)  # the tutorial's time.sleep(1) between reading and writing
        {{write}}
        print('say hi', value + STEP)
        ''', read=s["read"], write=s["write"])
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
    main = fill(
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
        result = {'sharing': '{{sharing}}', 'lock': '{{lock}}', 'expected': expected,
                  'actual': actual, 'lost_updates': lost, 'parent_sees': actual}
        print('RESULT', json.dumps(result))
        ''',
        make=s["make"], make_lock=f"lock = {make_lock}" if make_lock else "", args=args,
        final=s["final"], cleanup=s["cleanup"], explain=_explain(sharing, lock), sharing=sharing, lock=lock)
    main = main.replace("args=(i, ))", "args=(i,))")
    imports = ["import json", "import multiprocessing", "import time"]
    if sharing == "shared_memory":
        imports += ["import struct", "from multiprocessing import shared_memory"]
    return script(
        lesson=lesson, values=values, start_method=start_method,
        doc=f"WORKERS processes each do read -> hold -> write on one counter, INCREMENTS times.\n"
            f"Sharing: {s['doc']}.\nLock: {lock_doc}.",
        imports=imports,
        constants=[
            constant("WORKERS", values["workers"], "how many processes update the counter"),
            constant("START_VALUE", values["start_value"], "the counter's first value"),
            constant("STEP", values["step"], "added by every update (the tutorial's lis[0] - 1)"),
            constant("INCREMENTS", values["increments"], "updates per process"),
            constant("HOLD_S", seconds(values["hold_s"], values["tempo"]), "seconds between read and write"),
        ],
        body=body, main=main,
    )


def _explain(sharing: str, lock: str) -> str:
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
