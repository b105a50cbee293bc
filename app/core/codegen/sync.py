"""Script for ``sync``: what Event, Semaphore, Condition and Barrier guarantee, measured."""

from __future__ import annotations

from app.core.codegen.common import constant, script, seconds

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


def build(lesson, values: dict, start_method: str) -> str:
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
