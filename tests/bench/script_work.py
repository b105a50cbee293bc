"""The script that ``bench_script_overhead`` runs bare and under ``procscope trace``: standard library only.

Two workers, each ``ROUNDS`` times: ≥ 1 ms of CPU work (``LOOPS`` iterations, given by the benchmark),
then traced calls (a Lock taken around a Value's read and write, a Queue put). The parent gets
the items and prints the workers' loop time: ``LOOP_NS <max of the two>``.
"""

import multiprocessing as mp
import sys
from time import perf_counter_ns


def spin(loops):
    total = 0
    for k in range(loops):
        total += k
    return total


def work(lock, counter, results, rounds, loops):
    start = perf_counter_ns()
    for _ in range(rounds):
        spin(loops)
        with lock:
            counter.value += 1
        results.put(1)
    results.put(("loop_ns", perf_counter_ns() - start))


if __name__ == "__main__":
    rounds, loops = int(sys.argv[1]), int(sys.argv[2])
    lock, counter, results = mp.Lock(), mp.Value("i", 0), mp.Queue()
    procs = [mp.Process(target=work, args=(lock, counter, results, rounds, loops)) for _ in range(2)]
    for p in procs:
        p.start()
    loop_ns = []
    while len(loop_ns) < 2:
        item = results.get()
        if isinstance(item, tuple):
            loop_ns.append(item[1])
    for p in procs:
        p.join()
    print("LOOP_NS", max(loop_ns), "COUNTER", counter.value)
