"""Lesson ``speedup`` (beyond the tutorial): why four workers are not four times faster.

One CPU-bound job (``job_size`` loop iterations) split over 1…``max_workers``
processes, for each start method: wall time and speedup; the start cost of a
process is measured apart (no-op workers: request → first sign of life); the
serial fraction of Amdahl's law that best explains the curve is fitted over
the worker counts the machine has cores for.

Result keys: ``points`` (each ``workers``, ``start_method``, ``wall_s``,
``speedup``), ``start_cost_s`` (per start method), ``serial_fraction``,
``cpu_count``, ``explanation``.
"""

from __future__ import annotations

import os
from time import perf_counter_ns

from app.core.lessons.base import Lesson, with_status
from app.core.params import MAX_PROCESSES, ParamSpec

METHODS = ("spawn", "fork", "forkserver")


def crunch(probe, i: int, iterations: int) -> None:
    """Pure-Python CPU work: no I/O, no sharing."""
    total = 0
    for k in range(iterations):
        total += k * k % 7
    probe.result({"worker": i, "checksum": total})


def noop(probe, i: int) -> None:
    """Does nothing: what is left is the cost of starting a process."""


def cpu_count() -> int:
    return os.cpu_count() or 1


def amdahl(serial: float, n: int) -> float:
    return 1.0 / (serial + (1.0 - serial) / n)


def fit_serial_fraction(points: list[tuple[int, float]]) -> float | None:
    """The serial fraction s in [0, 1] whose Amdahl curve is closest (least squares) to the points."""
    usable = [(n, s) for n, s in points if n > 1]
    if not usable:
        return None
    grid = [k / 1000 for k in range(1001)]
    return min(grid, key=lambda s: sum((amdahl(s, n) - obs) ** 2 for n, obs in usable))


class Speedup(Lesson):
    id = "speedup"
    section = "超出教程：加速比"
    title_en = "Speedup and Amdahl's law"
    title_zh = "加速比与阿姆达尔定律"
    summary_en = "The same CPU-bound job on 1…N processes: wall time, speedup, start cost, Amdahl's serial fraction."
    summary_zh = "同一个计算密集型任务分给 1…N 个进程：耗时、加速比、进程启动开销、阿姆达尔定律的串行比例。"
    specs = (
        ParamSpec("job_size", "int", 20_000_000, "Job size (loop iterations)", "任务量（循环次数）", 1000, 10**10),
        ParamSpec("max_workers", "int", min(MAX_PROCESSES, cpu_count()), "Max workers", "最多进程数", 1,
                  MAX_PROCESSES, help_en="Defaults to this machine's CPU count.", help_zh="默认为本机的 CPU 数。"),
        ParamSpec("start_methods", "choices", ["spawn"], "Start methods", "启动方式", choices=METHODS,
                  help_en="Comma-separated, e.g. spawn,fork.", help_zh="用逗号分隔，例如 spawn,fork。"),
    )

    def check(self, values):
        import multiprocessing

        from app.core.params import ParamError

        missing = [m for m in values["start_methods"] if m not in multiprocessing.get_all_start_methods()]
        if missing:
            raise ParamError(f"start_methods: {missing[0]!r} is not available on this platform; allowed: "
                             + ", ".join(multiprocessing.get_all_start_methods()))

    def run(self, rc, values):
        size, top = values["job_size"], values["max_workers"]
        for method in values["start_methods"]:
            rc.join(*[rc.start(noop, (i,), name=f"{method}-noop-{i}", method=method) for i in range(min(top, 4))])
            for n in range(1, top + 1):
                shares = [size // n + (1 if j < size % n else 0) for j in range(n)]
                begin = perf_counter_ns()
                processes = [rc.start(crunch, (j, shares[j]), name=f"{method}-{n}w-{j}", method=method)
                             for j in range(n)]
                rc.join(*processes)
                rc.result({"start_method": method, "workers": n, "wall_ns": perf_counter_ns() - begin})

    def summarize(self, trace):
        p = trace.meta["params"]
        points = _points(trace)
        costs = {}
        for method in p["start_methods"]:
            lat = [info.start_latency_s() for info in trace.processes().values()
                   if info.name.startswith(f"{method}-noop-") and info.start_latency_s() is not None]
            costs[method] = round(sum(lat) / len(lat), 6) if lat else None
        cores = cpu_count()
        serial = _fit(points, cores)
        best = max(points, key=lambda x: x["speedup"] or 0) if points else None
        en = (f"This machine has {cores} CPU(s). " + (f"The best speedup was {best['speedup']:.2f}× with "
              f"{best['workers']} workers ({best['start_method']}). " if best else "")
              + (f"Amdahl's law fits a serial fraction of {serial:.3f}: the part that does not get faster "
                 "(starting processes, collecting results) caps the speedup. " if serial is not None else "")
              + "More workers than cores cannot help: they only take turns. Each process also costs "
              + ", ".join(f"{m} {c * 1000:.0f} ms" for m, c in costs.items() if c is not None) + " to start.")
        zh = (f"本机有 {cores} 个 CPU。" + (f"最佳加速比为 {best['speedup']:.2f} 倍（{best['workers']} 个进程，"
              f"{best['start_method']}）。" if best else "")
              + (f"阿姆达尔定律拟合出的串行比例为 {serial:.3f}：无法并行的部分（启动进程、收集结果）限制了加速比。"
                 if serial is not None else "")
              + "进程数超过 CPU 核数没有帮助：它们只能轮流运行。每启动一个进程还要花费 "
              + "、".join(f"{m} {c * 1000:.0f} 毫秒" for m, c in costs.items() if c is not None) + "。")
        start_en, start_zh = _start_up_sentences(points, costs, cores)
        en, zh = f"{en} {start_en}".strip(), zh + start_zh
        partial = (f"{len(points)} measurement(s) were made before the run ended: too few to judge the speedup.",
                   f"运行结束前只完成了 {len(points)} 次测量：不足以判断加速比。")
        return {"points": points, "start_cost_s": costs, "serial_fraction": serial, "cpu_count": cores,
                "explanation": with_status(trace, en, zh, partial)}

    def plot(self, values):
        return "chart"  # speedup against workers: its own x axis, not the lanes' time

    def story(self, trace):
        from app.core import story as st
        from app.core.lessons.rows import Text

        p = trace.meta["params"]
        points = _points(trace)
        top = p["max_workers"]
        ns = list(range(1, top + 1))
        series = []
        for method in p["start_methods"]:
            mine = [x for x in points if x["start_method"] == method and x["speedup"] is not None]
            series.append(st.Series(Text(f"measured ({method})", f"实测（{method}）"),
                                    [x["workers"] for x in mine], [x["speedup"] for x in mine], st.LINE))
        series.append(st.Series(Text("ideal: n workers, n×", "理想：n 个进程，n 倍"), ns, ns, st.DASHED))
        serial = _fit(points, cpu_count())
        if serial is not None:
            series.append(st.Series(Text(f"Amdahl fit (serial fraction {serial:.3f})",
                                         f"阿姆达尔拟合（串行比例 {serial:.3f}）"),
                                    ns, [amdahl(serial, n) for n in ns], st.DASHED))
        return st.Story(
            title=Text("Speedup against workers", "加速比与进程数"),
            y_label=Text("Speedup (×)", "加速比（倍）"),
            x_label=Text("Workers", "进程数"),
            x_is_time=False,
            integer_y=False,
            series=series,
            lines=[st.Reference(Text("no speedup (1×)", "没有加速（1 倍）"), 1.0)],
        )

    example_result = {
        "points": [{"workers": 1, "start_method": "spawn", "wall_s": 2.0, "speedup": 1.0},
                   {"workers": 2, "start_method": "spawn", "wall_s": 1.0, "speedup": 2.0}],
        "start_cost_s": {"spawn": 0.07}, "serial_fraction": 0.083, "cpu_count": 4,
    }

    def result_rows(self, summary):
        from app.core.lessons.rows import DASH, Row, Table, Text, seconds

        r = summary["result"]
        rows = [[p["workers"], p["start_method"], seconds(p["wall_s"]),
                 DASH if p.get("speedup") is None else f"{p['speedup']:.2f}×", f"{p['workers']}×"]
                for p in r.get("points", [])]
        serial = r.get("serial_fraction")
        known = [(m, c) for m, c in (r.get("start_cost_s") or {}).items() if c is not None]
        costs = Text(", ".join(f"{m} {c * 1000:.0f} ms" for m, c in known),
                     "，".join(f"{m} {c * 1000:.0f} 毫秒" for m, c in known)) if known else None
        return [
            Table([Text("Workers", "进程数"), Text("Start method", "启动方式"), Text("Wall time (s)", "耗时（秒）"),
                   Text("Speedup", "加速比"), Text("Ideal", "理想值")], rows),
            Row(Text("Serial fraction (Amdahl fit)", "串行比例（阿姆达尔拟合）"),
                DASH if serial is None else f"{serial:.3f}"),
            Row(Text("CPUs on this machine", "本机 CPU 数"), r.get("cpu_count")),
            Row(Text("Start cost per process", "每个进程的启动开销"), costs or DASH),
        ]

    def script(self, values, start_method):
        return _script(self, values, start_method)


def _points(trace) -> list[dict]:
    """Per start method and worker count: wall time and speedup over one worker, as measured so far."""
    runs = [r for r in trace.results(-1) if "wall_ns" in r]
    points = []
    for method in trace.meta["params"]["start_methods"]:
        mine = [r for r in runs if r["start_method"] == method]
        base = next((r["wall_ns"] for r in mine if r["workers"] == 1), None)
        for r in mine:
            points.append({"workers": r["workers"], "start_method": method, "wall_s": round(r["wall_ns"] / 1e9, 6),
                           "speedup": round(base / r["wall_ns"], 4) if base else None})
    return points


def _fit(points: list[dict], cores: int) -> float | None:
    return fit_serial_fraction([(x["workers"], x["speedup"]) for x in points if x["speedup"] and x["workers"] <= cores])


def _start_up_sentences(points: list[dict], costs: dict, cores: int) -> tuple[str, str]:
    """Whether starting a process ate the gain: its cost against each worker's share of the job."""
    for method, cost in costs.items():
        one = next((x["wall_s"] for x in points if x["start_method"] == method and x["workers"] == 1), None)
        if cost is None or one is None:
            continue
        n = min(cores, max((x["workers"] for x in points if x["start_method"] == method), default=1))
        if n < 2:
            return "", ""
        share = max(0.0, one - cost) / n  # one worker's wall time is its start plus the whole job
        best = max((x["speedup"] or 0 for x in points if x["start_method"] == method), default=0)
        head_en = (f"With {method}, one worker took {one:.2f} s, about {cost * 1000:.0f} ms of it starting the "
                   f"process; split over {n} workers each has about {share * 1000:.0f} ms of work. ")
        head_zh = (f"{method} 方式下，一个进程用时 {one:.2f} 秒，其中约 {cost * 1000:.0f} 毫秒用于启动进程；"
                   f"分给 {n} 个进程后，每个进程约有 {share * 1000:.0f} 毫秒的工作。")
        if share < 2 * cost:
            return (head_en + "Start-up eats the gain: starting a process costs about as much as the work it "
                    "saves. Raise job_size until each worker's share is many times its start cost.",
                    head_zh + "启动开销吃掉了收益：启动一个进程的代价与它节省的工作时间相当。"
                    "加大 job_size，直到每个进程分到的工作是启动开销的许多倍。")
        if best < 1.2:
            return (head_en + "That share is well above the start cost, so the missing speedup means the cores "
                    "were not free: other programs were using them.",
                    head_zh + "这份工作远大于启动开销，所以没有加速说明 CPU 核并不空闲：其他程序正在占用它们。")
        return (head_en + "That share is well above the start cost, so splitting the job pays off.",
                head_zh + "这份工作远大于启动开销，所以拆分任务是值得的。")
    return "", ""


LESSON = Speedup()

# --- the plain script (``Lesson.script``) -------------------------------------------------
# The helpers are imported inside ``_script``: a spawned worker imports this module
# to unpickle its target, and must not pay for the script builder.


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


def _script(lesson, values: dict, start_method: str) -> str:
    from app.core.codegen.common import constant, script

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
