"""Script for ``speedup``: one CPU-bound job on 1…N processes, and Amdahl's law fitted."""

from __future__ import annotations

from app.core.codegen.common import constant, script

_BODY = '''
def crunch(iterations):
    """Pure-Python CPU work: no I/O, no sharing."""
    total = 0
    for k in range(iterations):
        total += k * k % 7
    return total


def noop():
    """Does nothing: what is left is the cost of starting a process."""


def run(ctx, target, args_list):
    """Start one process per args, wait for all of them; the wall time in seconds."""
    begin = time.perf_counter()
    processes = [ctx.Process(target=target, args=args) for args in args_list]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
    return time.perf_counter() - begin


def amdahl(serial, n):
    """Amdahl's law: the speedup on n workers when the fraction `serial` cannot run in parallel."""
    return 1 / (serial + (1 - serial) / n)


def fit_serial_fraction(points):
    """The serial fraction in [0, 1] whose Amdahl curve is closest (least squares) to the points."""
    usable = [(n, s) for n, s in points if n > 1]
    if not usable:
        return None
    grid = [k / 1000 for k in range(1001)]
    return min(grid, key=lambda f: sum((amdahl(f, n) - s) ** 2 for n, s in usable))
'''

_MAIN = '''
cores = os.cpu_count() or 1
points = []
start_cost_s = {}
for method in START_METHODS:
    ctx = multiprocessing.get_context(method)  # each measurement uses this start method
    start_cost_s[method] = round(sum(run(ctx, noop, [()]) for _ in range(3)) / 3, 6)
    print(f'{method}: 启动一个进程 / starting a process: {start_cost_s[method] * 1000:.0f} ms')
    base = None
    for n in range(1, MAX_WORKERS + 1):
        shares = [JOB_SIZE // n + (1 if j < JOB_SIZE % n else 0) for j in range(n)]
        wall = run(ctx, crunch, [(share,) for share in shares])
        base = base or wall  # the time on one worker
        speedup = base / wall
        points.append({'workers': n, 'start_method': method, 'wall_s': round(wall, 6),
                       'speedup': round(speedup, 4)})
        print(f'{method}: {n} 个进程 / workers: {wall:.3f} s, 加速比 / speedup {speedup:.2f}')

# Only worker counts this machine has cores for: more workers than cores just take turns.
fitted = [(p['workers'], p['speedup']) for p in points if p['workers'] <= cores]
serial = fit_serial_fraction(fitted)
print('本机 CPU 数 / CPUs here:', cores)
if serial is not None:
    print(f'阿姆达尔定律拟合出的串行比例 / Amdahl serial fraction: {serial:.3f}')
    print('无法并行的部分（启动进程、收集结果）限制了加速比。/ The part that does not get '
          'faster (starting processes, collecting results) caps the speedup.')
result = {'points': points, 'start_cost_s': start_cost_s, 'serial_fraction': serial,
          'cpu_count': cores}
print('RESULT', json.dumps(result))
'''


def build(lesson, values: dict, start_method: str) -> str:
    return script(
        lesson=lesson, values=values, start_method=start_method,
        doc="The same CPU-bound job (JOB_SIZE loop iterations) split over 1...MAX_WORKERS processes,\n"
            "for each start method in START_METHODS: wall time and speedup, the cost of starting a\n"
            "process, and the serial fraction of Amdahl's law that best explains the speedups.",
        imports=["import json", "import multiprocessing", "import os", "import time"],
        constants=[
            constant("JOB_SIZE", values["job_size"], "loop iterations, split over the workers"),
            constant("MAX_WORKERS", values["max_workers"], "measure 1, 2, ... MAX_WORKERS workers"),
            constant("START_METHODS", list(values["start_methods"]), "measured one after the other"),
        ],
        body=_BODY, main=_MAIN,
    )
