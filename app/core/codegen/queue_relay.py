"""Script for ``queue_relay``: one token relayed from process to process through one queue."""

from __future__ import annotations

from app.core.codegen.common import constant, script

_BODY = '''
def func(i, q, chain):
    ret = q.get()  # blocks until some process has put the token back
    print('进程%s 从队列里获取了一个%s，然后又向队列里放入了一个%s' % (i, ret, i))
    # Record the step before passing the token on: a Manager list keeps the appends in order.
    chain.append({'worker': i, 'got': ret, 'put': i})
    q.put(i)
'''

_MAIN = '''
# The tutorial's queues.Queue(20, ctx=multiprocessing) is this same class.
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


def build(lesson, values: dict, start_method: str) -> str:
    return script(
        lesson=lesson, values=values, start_method=start_method,
        doc="One queue, one token: each process blocks on q.get() until the token arrives, prints what\n"
            "it got, then puts its own number back for the next one.",
        imports=["import json", "import multiprocessing", "import queue"],
        constants=[
            constant("WORKERS", values["workers"], "how many processes pass the token on"),
            constant("MAXSIZE", values["maxsize"], "the queue's capacity"),
        ],
        body=_BODY, main=_MAIN,
    )
