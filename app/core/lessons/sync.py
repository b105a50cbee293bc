"""Lesson ``sync`` (tutorial 2.: Event, Condition, Semaphore — and Barrier): what each guarantees.

Each run checks its primitive's invariant from the recorded trace, so a broken
program (a missing semaphore, a wait that does not wait) is caught by the same
check. Work units are TASK records (task = round), the condition's stock is
value slot 0.

Result keys: ``primitive``, ``invariant`` (``en``/``zh``), ``invariant_held``,
``violations`` (what broke it, if anything; ``violations_zh`` the same in Chinese), and the measured quantity:
``max_concurrent`` (semaphore), ``waited_s`` (event: per worker), ``min_stock``/
``produced``/``consumed``/``woken_without_notify`` (condition), ``phase_gaps_s``
(barrier: the next phase's first start minus this phase's last end),
``explanation``.
"""

from __future__ import annotations

from time import perf_counter_ns

from app.core import events as ev
from app.core.lessons.base import Lesson, explain, interrupted
from app.core.params import ParamError, ParamSpec, workers

PRIMITIVES = ("event", "semaphore", "condition", "barrier")


def _work(probe, round_no: int, seconds: float) -> None:
    probe.record(ev.TASK, round_no, ev.TASK_START)
    probe.sleep(seconds, code=None)
    probe.record(ev.TASK, round_no, ev.TASK_END)


def event_worker(probe, i: int, gun, hold_s: float) -> None:
    """Wait for the start gun, then work."""
    probe.point("wait", "event")
    probe.block(ev.WAITING)
    gun.wait()
    probe.state(ev.WORKING)
    _work(probe, 0, hold_s)
    print(f"worker {i}: started after the gun")


def semaphore_worker(probe, i: int, sem, hold_s: float, rounds: int) -> None:
    """At most k inside at once."""
    for r in range(rounds):
        with probe.holding(sem):
            _work(probe, r, hold_s)
    print(f"worker {i}: done")


def producer(probe, i: int, cond, stock, items: int, hold_s: float) -> None:
    for _ in range(items):
        probe.sleep(hold_s / 2, code=ev.WORKING)  # making an item takes time
        with probe.holding(cond):
            stock.value += 1
            probe.value(0, stock.value)
            probe.point("notify", "condition")
            cond.notify()
    print(f"producer {i}: made {items}")


def consumer(probe, i: int, cond, stock, items: int, hold_s: float) -> None:
    for r in range(items):
        with probe.holding(cond):
            while stock.value == 0:
                probe.point("wait", "condition")
                # Condition.wait() releases the lock while it waits: record it so.
                probe.record(ev.LOCK, ev.LOCK_RELEASED, 0)
                probe.block(ev.WAITING, 0)  # detail 0: waiting for a notify, not for the lock
                cond.wait()
                probe.record(ev.LOCK, ev.LOCK_ACQUIRED, 0)
                probe.state(ev.HOLDING, 1)
            stock.value -= 1
            probe.value(0, stock.value)
        _work(probe, r, hold_s / 2)
    print(f"consumer {i}: took {items}")


def barrier_worker(probe, i: int, barrier, hold_s: float, rounds: int) -> None:
    """Phases of unequal work; nobody starts phase n+1 before all finished phase n."""
    for phase in range(rounds):
        _work(probe, phase, hold_s * (1 + i % 3) / 2)
        probe.point("wait", "barrier")
        probe.block(ev.WAITING)
        barrier.wait()
        probe.state(ev.WORKING)
    print(f"worker {i}: passed {rounds} barriers")


INVARIANTS = {
    "event": ("nobody works before the event is set", "事件被 set 之前，没有进程开始工作"),
    "semaphore": ("never more than k processes work at once", "同一时刻最多 k 个进程在工作"),
    "condition": ("nothing is consumed that was not produced, and every waiting consumer is woken by a notify",
                  "不会消费尚未生产的东西，每个等待的消费者都是被 notify 唤醒的"),
    "barrier": ("no process enters phase n+1 before all finished phase n",
                "所有进程完成第 n 阶段之前，没有进程进入第 n+1 阶段"),
}


class Sync(Lesson):
    id = "sync"
    section = "2. 进程锁（Event、Condition、Semaphore）"
    title_en = "Event, Semaphore, Condition, Barrier"
    title_zh = "Event、Semaphore、Condition、Barrier"
    summary_en = "What each synchronisation primitive guarantees, checked from the recorded trace."
    summary_zh = "每种同步原语保证了什么——用记录下来的轨迹来检验。"
    # the event's set() is the parent's (not held); the workers wait on it
    step_points = ("acquire", "release", "wait", "notify")
    specs = (
        ParamSpec("primitive", "choice", "semaphore", "Primitive", "同步原语", choices=PRIMITIVES),
        workers(6),
        ParamSpec("k", "int", 2, "k (semaphore slots)", "k（信号量个数）", 1, 64),
        ParamSpec("hold_s", "float", 0.5, "Work time (s)", "工作时间（秒）", 0.0, 60.0),
        ParamSpec("rounds", "int", 2, "Rounds / phases / items", "轮数/阶段数/物品数", 1, 100,
                  help_en="Semaphore rounds per worker, barrier phases, items each consumer takes.",
                  help_zh="信号量：每个进程的轮数；屏障：阶段数；条件变量：每个消费者取走的物品数。"),
    )

    def check(self, values):
        if values["primitive"] in ("condition", "barrier") and values["workers"] < 2:
            raise ParamError(f"workers: {values['workers']} is not allowed with primitive={values['primitive']}; "
                             "allowed: an integer from 2 to 64")

    def value_slots(self, values):
        stock = {"name": "stock", "label": {"en": "stock", "zh": "库存"}, "expected": 0}
        return [stock] if values["primitive"] == "condition" else []

    # The primitives are made here so that a test can swap in a broken one.
    def make(self, ctx, primitive: str, values: dict):
        if primitive == "event":
            return ctx.Event()
        if primitive == "semaphore":
            return ctx.Semaphore(values["k"])
        if primitive == "condition":
            return ctx.Condition()
        return ctx.Barrier(values["workers"])

    def run(self, rc, values):
        primitive, n, hold, rounds = values["primitive"], values["workers"], values["hold_s"], values["rounds"]
        obj = self.make(rc.ctx, primitive, values)
        if primitive == "event":
            processes = [rc.start(event_worker, (i, obj, hold)) for i in range(n)]
            rc.wait_until_entered(processes, ev.WAITING)
            rc.sleep(hold)  # the parent gets ready while everyone waits
            rc.result({"set_ns": perf_counter_ns()})
            obj.set()
        elif primitive == "semaphore":
            processes = [rc.start(semaphore_worker, (i, obj, hold, rounds)) for i in range(n)]
        elif primitive == "condition":
            stock = rc.ctx.Value("i", 0, lock=False)  # guarded by the condition's lock
            producers = max(1, n // 2)
            consumers = n - producers
            total = consumers * rounds
            share = [total // producers + (1 if j < total % producers else 0) for j in range(producers)]
            processes = [rc.start(consumer, (i, obj, stock, rounds, hold), name=f"consumer-{i}")
                         for i in range(consumers)]
            processes += [rc.start(producer, (j, obj, stock, share[j], hold), name=f"producer-{j}")
                          for j in range(producers)]
        else:
            processes = [rc.start(barrier_worker, (i, obj, hold, rounds)) for i in range(n)]
        rc.join(*processes)

    def summarize(self, trace):
        p = trace.meta["params"]
        primitive = p["primitive"]
        check = {"event": _check_event, "semaphore": _check_semaphore, "condition": _check_condition,
                 "barrier": _check_barrier}[primitive]
        from app.core.names import display_names

        measured, broken = check(trace, p, display_names(trace))
        violations = [en for en, _zh in broken]
        held = not violations
        inv_en, inv_zh = INVARIANTS[primitive]
        note = interrupted(trace)
        if note is None:
            en = f"Invariant: {inv_en} — {'held' if held else 'BROKEN'} in this run."
            zh = f"不变量：{inv_zh}——本次运行中{'成立' if held else '被破坏'}。"
        else:  # only the part that ran was checked
            en = f"{note[0]} Invariant: {inv_en} — {'held' if held else 'BROKEN'} in the part that ran."
            zh = f"{note[1]}不变量：{inv_zh}——在已运行的部分中{'成立' if held else '被破坏'}。"
        if violations:
            en += f" Violations: {'; '.join(violations[:5])}."
            zh += f" 违反之处：{'；'.join(z for _e, z in broken[:5])}。"
        return {"primitive": primitive, "invariant": {"en": inv_en, "zh": inv_zh}, "invariant_held": held,
                "violations": violations, "violations_zh": [z for _e, z in broken], **measured,
                "explanation": explain(en, zh)}

    example_result = {"primitive": "semaphore", "invariant": {"en": "never more than k", "zh": "最多 k"},
                      "invariant_held": True, "violations": [], "max_concurrent": 2, "k": 2}

    def result_rows(self, summary):
        from app.core.lessons.rows import BAD, Row, Text, process_names, yes_no
        from app.core.names import name_of

        r = summary["result"]
        invariant = r.get("invariant") or {}
        en = invariant.get("en") or ""
        out = [
            Row(Text("Primitive", "同步原语"), r["primitive"]),
            Row(Text("Invariant", "不变量"), Text(en, invariant.get("zh") or en)),
            yes_no(Text("Invariant held", "不变量成立"), r["invariant_held"]),
        ]
        if "max_concurrent" in r:
            out.append(Row(Text("Most working at once", "同时工作的最多进程数"),
                           f"{r['max_concurrent']} (k = {r.get('k')})"))
        if "waited_s" in r:
            names = process_names(summary)
            waited = ", ".join(f"{name_of(names, i)} {w:.3f}" for i, w in r["waited_s"].items())
            out.append(Row(Text("Waited for the event (s)", "等待事件的时间（秒）"), waited))
        if "produced" in r:
            out += [
                Row(Text("Produced / consumed", "生产 / 消费"), f"{r['produced']} / {r['consumed']}"),
                Row(Text("Lowest stock", "最低库存"), r["min_stock"]),
                Row(Text("Woken without a notify", "未经 notify 被唤醒"), r["woken_without_notify"]),
            ]
        if "phase_gaps_s" in r:
            out.append(Row(Text("Gaps between phases (s)", "阶段之间的间隔（秒）"), r["phase_gaps_s"]))
        if r.get("violations"):
            en = "; ".join(r["violations"])
            zh = "；".join(r.get("violations_zh") or []) or en
            out.append(Row(Text("Violations", "违反之处"), Text(en, zh), BAD))
        return out

    def script(self, values, start_method):
        return _script(self, values, start_method)

    def story(self, trace):
        from app.core import story as st
        from app.core.lessons.rows import Text

        p = trace.meta["params"]
        primitive = p["primitive"]
        working = Text("working (inside)", "工作中（在临界区内）")
        if primitive == "semaphore":
            return st.Story(
                title=Text("Processes inside the semaphore", "信号量内的进程数"),
                y_label=Text("Processes", "进程数"),
                series=[st.count_series(trace, working, *st.task_edges(trace)),
                        st.count_series(trace, Text("waiting for a slot", "等待空位"),
                                        *st.state_edges(trace, (ev.WAITING,)))],
                lines=[st.Reference(Text("limit k", "上限 k"), p["k"])],
            )
        if primitive == "condition":
            times, stock, _writers = trace.values(0)
            steps = [stock[0]] + [b - a for a, b in zip(stock.tolist(), stock[1:].tolist(), strict=False)] \
                if len(stock) else []
            return st.Story(
                title=Text("Stock and waiting consumers", "库存与等待的消费者"),
                y_label=Text("Items / processes", "数量"),
                series=[st.count_series(trace, Text("stock", "库存"), times, steps),
                        st.count_series(trace, Text("consumers waiting for a notify", "等待 notify 的消费者"),
                                        *st.state_edges(trace, (ev.WAITING,), detail=0))],
                lines=[st.Reference(Text("nothing in stock", "库存为零"), 0)],
            )
        waiting = (Text("waiting for the event", "等待事件") if primitive == "event"
                   else Text("waiting at the barrier", "在屏障处等待"))
        return st.Story(
            title=(Text("Waiting for the start gun, then working", "等待发令，然后工作") if primitive == "event"
                   else Text("Working and waiting at the barrier", "工作与在屏障处等待")),
            y_label=Text("Processes", "进程数"),
            series=[st.count_series(trace, Text("working", "工作中"), *st.task_edges(trace)),
                    st.count_series(trace, waiting, *st.state_edges(trace, (ev.WAITING,)))],
            lines=[st.Reference(Text("workers", "进程总数"), p["workers"])],
        )


def work_units(trace) -> list[tuple[int, int, int, int]]:
    """(process index, round, start_ns, end_ns) of every finished work unit."""
    recs = trace.records
    marks = recs[recs[:, 2] == ev.TASK]
    open_units, units = {}, []
    for t_ns, index, _k, round_no, what in marks[marks[:, 0].argsort(kind="stable")].tolist():
        if what == ev.TASK_START:
            open_units[(index, round_no)] = t_ns
        elif (index, round_no) in open_units:
            units.append((index, round_no, open_units.pop((index, round_no)), t_ns))
    return units


def max_overlap(intervals) -> int:
    """The most intervals open at one moment (an end at t closes before a start at t)."""
    edges = sorted([(s, 1) for s, _e in intervals] + [(e, -1) for _s, e in intervals], key=lambda x: (x[0], x[1]))
    best = now = 0
    for _t, step in edges:
        now += step
        best = max(best, now)
    return best


def _check_event(trace, p, names):
    set_ns = next((r["set_ns"] for r in trace.results(-1) if "set_ns" in r), None)
    units = work_units(trace)
    violations = [(f"{names.get(i, i)} worked {(set_ns - s) / 1e6:.1f} ms before the set",
                   f"{names.get(i, i)} 在 set 之前 {(set_ns - s) / 1e6:.1f} 毫秒就开始工作")
                  for i, _r, s, _e in units if set_ns is not None and s < set_ns]
    waited = {}
    for index in trace.processes():
        iv = trace.intervals(index)
        waits = iv[iv[:, 2] == ev.WAITING]
        waited[index] = round(float((waits[:, 1] - waits[:, 0]).sum()) / 1e9, 6)
    if set_ns is None:
        violations.append(("the event was never set", "事件从未被 set"))
    return {"waited_s": waited, "set_s": round(trace.seconds(set_ns), 6) if set_ns else None}, violations


def _check_semaphore(trace, p, names):
    units = work_units(trace)
    most = max_overlap([(s, e) for _i, _r, s, e in units])
    violations = [(f"{most} worked at once, more than k={p['k']}", f"{most} 个进程同时工作，多于 k={p['k']}")
                  ] if most > p["k"] else []
    return {"max_concurrent": most, "k": p["k"]}, violations


def _check_condition(trace, p, names):
    times, stock, _writers = trace.values(0)
    violations = []
    diffs = [stock[0]] + [b - a for a, b in zip(stock, stock[1:], strict=False)] if len(stock) else []
    produced = int(sum(1 for d in diffs if d > 0))
    consumed = int(sum(1 for d in diffs if d < 0))
    if len(stock) and stock.min() < 0:
        violations.append((f"stock fell to {int(stock.min())}: consumed what was not produced",
                           f"库存降到 {int(stock.min())}：消费了尚未生产的东西"))
    increases = [t for t, d in zip(times.tolist(), diffs, strict=False) if d > 0]
    woken_without = 0
    for index, info in trace.processes().items():
        if not info.name.startswith("consumer"):
            continue
        iv = trace.intervals(index, info)
        notify_waits = iv[(iv[:, 2] == ev.WAITING) & (iv[:, 3] == 0)]
        for start, end, _code, _d in notify_waits.tolist():
            if end > start and not any(start < t <= end for t in increases) and end != iv[-1, 1]:
                woken_without += 1
    if woken_without:
        violations.append((f"{woken_without} wait(s) ended without any notify",
                           f"{woken_without} 次等待在没有任何 notify 的情况下结束"))
    return {"min_stock": int(stock.min()) if len(stock) else 0, "produced": produced, "consumed": consumed,
            "woken_without_notify": woken_without}, violations


def _check_barrier(trace, p, names):
    units = work_units(trace)
    gaps, violations = [], []
    for phase in range(p["rounds"] - 1):
        ends = [e for _i, r, _s, e in units if r == phase]
        starts = [s for _i, r, s, _e in units if r == phase + 1]
        if ends and starts:
            gap = (min(starts) - max(ends)) / 1e9
            gaps.append(round(gap, 6))
            if gap < 0:
                violations.append((f"phase {phase + 1} began {-gap * 1000:.1f} ms before phase {phase} ended",
                                   f"第 {phase + 1} 阶段在第 {phase} 阶段结束前 {-gap * 1000:.1f} 毫秒就开始了"))
    return {"phase_gaps_s": gaps}, violations


LESSON = Sync()

# --- the plain script (``Lesson.script``) -------------------------------------------------
# The helpers are imported inside ``_script``: a spawned worker imports this module
# to unpickle its target, and must not pay for the script builder.


_EVENT = ('''
def worker(i, gun, fired, after_gun, waited):
    begin = time.perf_counter()
    gun.wait()  # blocks until the parent sets the event
    waited[i] = time.perf_counter() - begin
    after_gun[i] = fired.value  # 1: the parent had fired when this worker started
    time.sleep(HOLD_S)  # the work
    print(f'worker {i}: started after the gun')
''', '''
gun = multiprocessing.Event()
fired = multiprocessing.Value('i', 0)  # the parent sets it to 1 just before the event
after_gun = multiprocessing.Array('i', WORKERS)  # per worker: did it start after the gun?
waited = multiprocessing.Array('d', WORKERS)  # per worker: seconds spent in gun.wait()
processes = [multiprocessing.Process(target=worker, args=(i, gun, fired, after_gun, waited))
             for i in range(WORKERS)]
for p in processes:
    p.start()
time.sleep(HOLD_S)  # the parent gets ready while everyone waits
fired.value = 1
gun.set()  # the start gun: every waiting worker goes at once
for p in processes:
    p.join()

invariant_held = all(after_gun)
print('每个进程等待了 / each worker waited (s):', [round(w, 3) for w in waited])
measured = {'waited_s': [round(w, 6) for w in waited]}
''')

_SEMAPHORE = ('''
def worker(i, sem, inside, most):
    for _ in range(ROUNDS):
        with sem:  # at most K processes get past this line at once
            with inside.get_lock():
                inside.value += 1
                most.value = max(most.value, inside.value)
            time.sleep(HOLD_S)  # the work
            with inside.get_lock():
                inside.value -= 1
    print(f'worker {i}: done')
''', '''
sem = multiprocessing.Semaphore(K)
inside = multiprocessing.Value('i', 0)  # how many are working right now
most = multiprocessing.Value('i', 0, lock=False)  # the most at once (guarded by inside's lock)
processes = [multiprocessing.Process(target=worker, args=(i, sem, inside, most))
             for i in range(WORKERS)]
for p in processes:
    p.start()
for p in processes:
    p.join()

invariant_held = most.value <= K
print('同时工作的进程最多 / most working at once:', most.value, '(K = %d)' % K)
measured = {'max_concurrent': most.value, 'k': K}
''')

_CONDITION = ('''
def producer(j, cond, stock, made, items):
    for _ in range(items):
        time.sleep(HOLD_S / 2)  # making an item takes time
        with cond:
            stock.value += 1
            made.value += 1
            cond.notify()  # wake one waiting consumer
    print(f'producer {j}: made {items}')


def consumer(i, cond, stock, taken, lowest):
    for _ in range(ROUNDS):
        with cond:
            while stock.value == 0:
                cond.wait()  # releases the lock while it waits, takes it back when woken
            stock.value -= 1
            taken.value += 1
            lowest.value = min(lowest.value, stock.value)
        time.sleep(HOLD_S / 2)  # using the item
    print(f'consumer {i}: took {ROUNDS}')
''', '''
cond = multiprocessing.Condition()
# Plain shared ints (lock=False): the condition's lock guards them.
stock, made, taken, lowest = (multiprocessing.Value('i', 0, lock=False) for _ in range(4))
producers = max(1, WORKERS // 2)
consumers = WORKERS - producers
total = consumers * ROUNDS  # every consumer takes ROUNDS items
share = [total // producers + (1 if j < total % producers else 0) for j in range(producers)]
processes = [multiprocessing.Process(target=consumer, args=(i, cond, stock, taken, lowest))
             for i in range(consumers)]
processes += [multiprocessing.Process(target=producer, args=(j, cond, stock, made, share[j]))
              for j in range(producers)]
for p in processes:
    p.start()
for p in processes:
    p.join()

invariant_held = lowest.value >= 0 and made.value == taken.value == total and stock.value == 0
print('生产 / produced:', made.value, ' 消费 / consumed:', taken.value,
      ' 库存最少 / lowest stock:', lowest.value)
measured = {'min_stock': lowest.value, 'produced': made.value, 'consumed': taken.value}
''')

_BARRIER = ('''
def worker(i, barrier, finished, early):
    for phase in range(ROUNDS):
        if phase and finished[phase - 1] < WORKERS:
            with early.get_lock():
                early.value += 1  # started a phase before everyone finished the last one
        time.sleep(HOLD_S * (1 + i % 3) / 2)  # unequal work: some take longer
        with finished.get_lock():
            finished[phase] += 1
        barrier.wait()  # nobody goes on until all WORKERS have arrived
    print(f'worker {i}: passed {ROUNDS} barriers')
''', '''
barrier = multiprocessing.Barrier(WORKERS)
finished = multiprocessing.Array('i', ROUNDS)  # per phase: how many finished it
early = multiprocessing.Value('i', 0)  # phases started before the previous one was over
processes = [multiprocessing.Process(target=worker, args=(i, barrier, finished, early))
             for i in range(WORKERS)]
for p in processes:
    p.start()
for p in processes:
    p.join()

invariant_held = early.value == 0
print('每个阶段完成的进程数 / finished per phase:', list(finished))
print('提前开始 / early starts:', early.value)
measured = {'early_starts': early.value, 'finished_per_phase': list(finished)}
''')

_INVARIANTS = {  # primitive -> (zh, en), as the script checks it
    "event": ("set() 之前没有进程开始工作", "nobody works before the event is set"),
    "semaphore": ("同一时刻最多 K 个进程在工作", "never more than K processes work at once"),
    "condition": ("不会消费尚未生产的东西，生产的都被消费", "nothing is consumed that was not produced"),
    "barrier": ("所有进程完成第 n 阶段之前，没有进程进入第 n+1 阶段",
                "nobody enters phase n+1 before all finished phase n"),
}

_PRIMITIVES = {"event": _EVENT, "semaphore": _SEMAPHORE, "condition": _CONDITION, "barrier": _BARRIER}

_DOCS = {
    "event": "An Event is a start gun: every worker waits on it until the parent sets it.",
    "semaphore": "A Semaphore(K) lets at most K processes into the guarded block at once.",
    "condition": "A Condition lets consumers sleep until a producer notifies them that stock is there.",
    "barrier": "A Barrier holds everyone at the end of each phase until all WORKERS have arrived.",
}


def _script(lesson, values: dict, start_method: str) -> str:
    from app.core.codegen.common import constant, script, seconds

    primitive = values["primitive"]
    body, main = _PRIMITIVES[primitive]
    inv_zh, inv_en = _INVARIANTS[primitive]
    main = main.strip("\n") + f'''
print('不变量：{inv_zh}')
print('Invariant: {inv_en}')
print('本次运行 / this run:', '成立 / held' if invariant_held else '被破坏 / BROKEN')
result = {{'primitive': '{primitive}', 'invariant_held': invariant_held,
          'invariant': '{inv_en}', **measured}}
print('RESULT', json.dumps(result))
'''
    constants = [constant("WORKERS", values["workers"], "how many processes")]
    if primitive == "semaphore":
        constants.append(constant("K", values["k"], "the semaphore's slots"))
    constants.append(constant("HOLD_S", seconds(values["hold_s"], values["tempo"]), "seconds of work"))
    if primitive != "event":
        constants.append(constant("ROUNDS", values["rounds"], {
            "semaphore": "times each worker goes through the semaphore",
            "condition": "items each consumer takes",
            "barrier": "phases"}[primitive]))
    return script(
        lesson=lesson, values=values, start_method=start_method,
        doc=f"{_DOCS[primitive]}\nInvariant: {inv_en}.\nThe script measures it with shared values.",
        imports=["import json", "import multiprocessing", "import time"],
        constants=constants, body=body, main=main,
    )
