"""Lesson ``queue_relay`` (tutorial 1.3 queues.Queue): a token relayed through one queue.

Result keys: ``chain`` (in the order the gets happened: ``worker``, ``got``,
``put``, ``index``: the getter's lane), ``chain_intact`` (each step got what the previous one put),
``left_in_queue``, ``joined`` (the ``join`` parameter), ``crashed`` (the children that crashed:
``index``, ``name``, ``error``, ``unlinked``), ``explanation``.
"""

from __future__ import annotations

import time
from multiprocessing import queues

from app.core import events as ev
from app.core.lessons import no_join
from app.core.lessons.base import Lesson, explain, with_status
from app.core.params import ParamSpec, workers


def func(probe, i: int, q) -> None:
    """The tutorial's ``func``: take the token, say so, put our own number back."""
    q = no_join.opened(q)  # join=false: opened here, after the parent left
    probe.point("get", "queue")
    ret = probe.queue_get(q)  # q.get(), shown as blocked; the runner knows who waits for the token
    got_ns = time.perf_counter_ns()
    probe.state(ev.WORKING)
    print("进程%s 从队列里获取了一个%s，然后又向队列里放入了一个%s" % (i, ret, i))
    probe.point("put", "queue")
    probe.block(ev.BLOCKED)
    put_ns = time.perf_counter_ns()  # the token is on its way into the queue from here
    probe.queue_put(q, i)
    probe.state(ev.WORKING)
    _depth(probe, q)
    probe.result({"worker": i, "got": ret, "put": i, "got_ns": got_ns, "put_ns": put_ns})


def _depth(probe, q) -> None:
    try:
        probe.value(0, q.qsize())
    except NotImplementedError:  # macOS has no sem_getvalue
        pass


class QueueRelay(Lesson):
    id = "queue_relay"
    section = "1.3 使用 queues 的 Queue 类共享数据"
    title_en = "Passing a token through a Queue"
    title_zh = "用 Queue 传递数据"
    summary_en = "One queue, one token: each process takes what the previous one put, then puts its own number."
    summary_zh = "一个队列、一个令牌：每个进程取出上一个进程放入的值，再放入自己的编号。"
    step_points = ("get", "put")
    specs = (
        workers(10),
        ParamSpec("maxsize", "int", 20, "Queue maxsize", "队列容量", 1, 10000),
        no_join.JOIN,
    )

    def run(self, rc, values):
        before = no_join.snapshot()
        q = queues.Queue(values["maxsize"], ctx=rc.ctx)
        q.put(0)
        (shared,) = no_join.wrap(values["join"], q)
        processes = [rc.start(func, (i, shared)) for i in range(values["workers"])]
        if not values["join"]:  # the tutorial's program: the parent returns here, and Python's exit...
            no_join.exit_now(before)
            rc.join(*processes)  # ...then waits for the children (multiprocessing's own exit function)
            rc.result({"joined": False})
            return
        rc.join(*processes)
        left = [rc.get(q, queue_id=0)]
        while True:
            try:
                left.append(q.get_nowait())
            except Exception:  # noqa: BLE001 - queue.Empty: nothing more is left
                break
        rc.result({"left_in_queue": left})

    def summarize(self, trace):
        lanes = {t[3]["worker"]: t[1] for t in trace.texts_of(ev.RESULT) if isinstance(t[3], dict) and "got" in t[3]}
        chain = sorted((r for r in trace.results() if "got" in r), key=lambda r: r["got_ns"])
        intact = bool(chain) and chain[0]["got"] == 0 and all(
            b["got"] == a["put"] for a, b in zip(chain, chain[1:], strict=False)
        )
        final = [r for r in trace.results(-1) if "left_in_queue" in r]
        left = final[0].get("left_in_queue") if final else None
        joined = trace.meta["params"].get("join", True) is not False
        en = ("Each process blocked on q.get() until the token arrived, then put its own number: "
              + ("every step got exactly what the previous one put. " if intact else "the chain is broken. ")
              + "Who goes next is decided by the OS, not by the start order; the queue carries data between "
              f"processes safely. Left in the queue: {left}.")
        zh = ("每个进程都阻塞在 q.get() 上，直到令牌到来，然后放入自己的编号："
              + ("每一步拿到的正是上一步放入的值。" if intact else "链条断了。")
              + f"谁先拿到由操作系统决定，而不是启动顺序；队列能在进程之间安全地传递数据。队列中剩余：{left}。")
        partial = (f"{len(chain)} process(es) took the token and passed it on; each got what the previous one "
                   "put." if intact else f"{len(chain)} process(es) took the token before the run ended.",
                   f"{len(chain)} 个进程取到令牌并传了下去；"
                   + ("每一步拿到的正是上一步放入的值。" if intact else "链条不完整。"))
        if not joined:
            en, zh = no_join.explain(trace, "the Queue", " Queue ")
            partial = (en, zh)
        explanation = with_status(trace, en, zh, partial)
        if not joined and trace.meta.get("status") == "crashed":
            explanation = explain(en, zh)  # the crashes are this run's point: said, not apologised for
        return {
            "chain": [{"worker": r["worker"], "got": r["got"], "put": r["put"], "index": lanes.get(r["worker"])}
                      for r in chain],
            "chain_intact": intact,
            "left_in_queue": left,
            "joined": joined,
            "crashed": no_join.crashes(trace),
            "explanation": explanation,
        }

    def story(self, trace):
        import numpy as np

        from app.core import story as st
        from app.core.lessons.rows import Text

        done = [r for r in trace.results() if "got_ns" in r]
        gets = [r["got_ns"] for r in done]
        if all("put_ns" in r for r in done):
            puts = np.asarray([r["put_ns"] for r in done], dtype=np.int64)
        else:  # a file from before put_ns: each worker wrote slot 0 right after its put
            puts, _values, _writers = trace.values(0)
        times = np.concatenate([np.asarray(gets, dtype=np.int64), puts])
        steps = np.concatenate([-np.ones(len(gets)), np.ones(len(puts))])
        return st.Story(
            title=Text("The token in the queue", "队列中的令牌"),
            y_label=Text("Items / processes", "数量"),
            series=[
                st.count_series(trace, Text("items in the queue", "队列中的元素数"), times, steps, initial=1),
                st.count_series(trace, Text("processes blocked on the queue", "阻塞在队列上的进程"),
                                *st.state_edges(trace, (ev.BLOCKED,), roles=("worker",))),
            ],
        )

    example_result = {"chain": [{"worker": 1, "got": 0, "put": 1}, {"worker": 0, "got": 1, "put": 0}],
                      "chain_intact": True, "left_in_queue": [0]}

    def result_rows(self, summary):
        from app.core.lessons.rows import Row, Table, Text, process_names, yes_no
        from app.core.names import name_of

        r = summary["result"]
        if r.get("joined") is False:
            return no_join.result_rows(r)
        chain = r.get("chain", [])
        names = process_names(summary)

        def worker(step):
            return name_of(names, step["index"]) if step.get("index") is not None else f"#{step['worker']}"

        return [
            yes_no(Text("Chain intact", "链条完整"), r["chain_intact"]),
            Row(Text("Token path", "令牌路径"), " → ".join(["0"] + [str(step["put"]) for step in chain])),
            Row(Text("Left in the queue", "队列中剩余"), r.get("left_in_queue")),
            Table([Text("Step", "步骤"), Text("Getter", "取出者"), Text("Got", "取出"), Text("Put", "放入")],
                  [[n + 1, worker(step), step["got"], step["put"]] for n, step in enumerate(chain)]),
        ]

    def script(self, values, start_method):
        return _script(self, values, start_method)


LESSON = QueueRelay()

# --- the plain script (``Lesson.script``) -------------------------------------------------
# The helpers are imported inside ``_script``: a spawned worker imports this module
# to unpickle its target, and must not pay for the script builder.


_BODY = '''
def func(i, q, chain):
    ret = q.get()  # blocks until some process has put the token back
    print('进程%s 从队列里获取了一个%s，然后又向队列里放入了一个%s' % (i, ret, i))
    # Record the step before passing the token on: a Manager list keeps the appends in order.
    chain.append({'worker': i, 'got': ret, 'put': i})
    q.put(i)
'''

_MAIN = '''
# multiprocessing.Queue() returns a multiprocessing.queues.Queue, the class of the
# tutorial's queues.Queue(20, ctx=multiprocessing).
q = multiprocessing.Queue(MAXSIZE)
q.put(0)  # the token
manager = multiprocessing.Manager()
chain = manager.list()  # who got what, in the order the gets happened
processes = []
for i in range(WORKERS):
    p = multiprocessing.Process(target=func, args=(i, q, chain))
    p.start()
    processes.append(p)
for p in processes:
    p.join()

left_in_queue = [q.get()]  # the last process's number is still in the queue
while True:
    try:
        left_in_queue.append(q.get_nowait())
    except queue.Empty:
        break
chain = list(chain)
manager.shutdown()
chain_intact = chain[0]['got'] == 0 and all(
    b['got'] == a['put'] for a, b in zip(chain, chain[1:]))
print('接力顺序 / relay order:', ' -> '.join(str(step['worker']) for step in chain))
if chain_intact:
    print('每一步拿到的正是上一步放入的值：队列在进程之间安全地传递数据；'
          '谁先拿到由操作系统决定。'
          '/ Every step got exactly what the previous one put: the queue passes data safely '
          'between processes; the OS decides who goes next.')
else:
    print('链条断了！/ The chain is broken!')
print('队列中剩余 / left in the queue:', left_in_queue)
result = {'chain': chain, 'chain_intact': chain_intact, 'left_in_queue': left_in_queue}
print('RESULT', json.dumps(result))
'''


_BODY_NO_JOIN = '''
def func(i, q):
    ret = q.get()  # blocks until some process has put the token back
    print('进程%s 从队列里获取了一个%s，然后又向队列里放入了一个%s' % (i, ret, i))
    q.put(i)
'''

_MAIN_NO_JOIN = '''
# multiprocessing.Queue() returns a multiprocessing.queues.Queue, the class of the
# tutorial's queues.Queue(20, ctx=multiprocessing).
q = multiprocessing.Queue(MAXSIZE)
q.put(0)  # the token
{{start}}
{{end}}
'''


def _script(lesson, values: dict, start_method: str) -> str:
    from app.core.codegen.common import NO_JOIN_END, constant, fill, script, start_children

    join = values["join"]
    main = _MAIN if join else fill(_MAIN_NO_JOIN, start=start_children("func, args=(i, q)", False),
                                   end=NO_JOIN_END)
    return script(
        lesson=lesson, values=values, start_method=start_method,
        doc="One queue, one token: each process blocks on q.get() until the token arrives, prints what\n"
            "it got, then puts its own number back for the next one."
            + ("" if join else "\nNo join(), as the tutorial wrote it: under spawn and forkserver the children crash."),
        imports=["import json", "import multiprocessing"] + (["import queue"] if join else []),
        constants=[
            constant("WORKERS", values["workers"], "how many processes pass the token on"),
            constant("MAXSIZE", values["maxsize"], "the queue's capacity"),
        ],
        body=_BODY if join else _BODY_NO_JOIN, main=main,
    )
