"""Lesson ``manager`` (tutorial 1.2 Manager): proxies to objects in a server process.

Result keys: ``proxy``, ``final`` (the proxy's contents after every join),
``server_pid``, ``observed`` (what each process saw right after its write, in
time order: ``worker``, ``saw``), ``expected_final``, ``explanation``.
"""

from __future__ import annotations

from app.core.lessons.base import Lesson, explain
from app.core.params import ParamSpec, workers

PROXIES = ("dict", "list", "namespace", "value")


def func(probe, i: int, proxy, kind: str) -> None:
    """The tutorial's ``func``: write ``100 + i`` through the proxy and show what it holds."""
    if kind == "dict":
        proxy["num"] = 100 + i
        saw = proxy.items()
        print(saw)
        saw = [list(item) for item in saw]
    elif kind == "list":
        proxy.append(100 + i)
        saw = list(proxy)
        print(saw)
    elif kind == "namespace":
        proxy.num = 100 + i
        saw = proxy.num
        print("ns.num =", saw)
    else:
        proxy.value = 100 + i
        saw = proxy.value
        print("value =", saw)
    probe.value(0, 100 + i)
    probe.result({"worker": i, "saw": saw})


def contents(proxy, kind: str):
    """A proxy's contents as plain JSON-able data, read from the parent."""
    if kind == "dict":
        return dict(proxy)
    if kind == "list":
        return list(proxy)
    if kind == "namespace":
        return {"num": getattr(proxy, "num", None)}
    return proxy.value


class Manager(Lesson):
    id = "manager"
    section = "1.2 使用 Manager 共享数据"
    title_en = "Sharing through a Manager"
    title_zh = "用 Manager 共享数据"
    summary_en = "Manager() starts a server process; workers change a dict (list, …) in it through proxies."
    summary_zh = "Manager() 启动一个服务进程；工作进程通过代理修改其中的 dict（list 等）。"
    specs = (
        workers(10),
        ParamSpec("proxy", "choice", "dict", "Proxy", "代理类型", choices=PROXIES),
        ParamSpec("sequential", "bool", True, "Join each before the next", "逐个 join",
                  help_en="true as in the tutorial: start, join, start the next; false: all at once.",
                  help_zh="true 与教程相同：启动、join、再启动下一个；false：同时运行。"),
    )

    def value_slots(self, values):
        expected = 100 + values["workers"] - 1 if values["sequential"] else None
        return [{"name": "num", "expected": expected}]

    def run(self, rc, values):
        manager = rc.manager()
        kind = values["proxy"]
        proxy = {"dict": manager.dict, "list": manager.list, "namespace": manager.Namespace,
                 "value": lambda: manager.Value("i", 0)}[kind]()
        if values["sequential"]:
            for i in range(values["workers"]):
                rc.join(rc.start(func, (i, proxy, kind)))
        else:
            rc.join(*[rc.start(func, (i, proxy, kind)) for i in range(values["workers"])])
        rc.result({"final": contents(proxy, kind)})

    def summarize(self, trace):
        p = trace.meta["params"]
        n, kind = p["workers"], p["proxy"]
        procs = trace.processes().values()
        server = next((x for x in procs if x.role == "manager"), None)
        final = trace.results(-1)
        final = final[0]["final"] if final else None
        observed = [{"worker": r["worker"], "saw": r["saw"]} for r in trace.results() if "saw" in r]
        if kind == "list":
            expected = list(range(100, 100 + n)) if p["sequential"] else sorted(range(100, 100 + n))
            got = final if p["sequential"] or final is None else sorted(final)
        elif p["sequential"]:
            expected = {"dict": {"num": 99 + n}, "namespace": {"num": 99 + n}}.get(kind, 99 + n)
            got = final
        else:  # concurrent: the last writer wins, and which one that is depends on timing
            expected = None
            got = final
        num = final.get("num") if isinstance(final, dict) else final
        ok = got == expected if expected is not None else num in range(100, 100 + n)
        en = (f"All {n} processes wrote through proxies to one {kind} that lives in the manager's server process "
              f"(pid {server.pid if server else '?'}); the parent reads {final}. ")
        server_pid = server.pid if server else "?"
        zh = (f"全部 {n} 个进程通过代理写入同一个位于 manager 服务进程（pid {server_pid}）中的 {kind}；"
              f"父进程读到 {final}。")
        if p["sequential"]:
            en += "Joined one by one, each saw the value it had just written, as in the tutorial."
            zh += "逐个 join 时，每个进程都看到自己刚写入的值，与教程一致。"
        else:
            en += "Running concurrently, the last writer wins; what each saw depends on timing."
            zh += "并发运行时，最后写入者的值保留下来；每个进程看到什么取决于时序。"
        return {
            "proxy": kind,
            "final": final,
            "expected_final": expected,
            "final_as_expected": ok,
            "server_pid": server.pid if server else None,
            "observed": observed,
            "explanation": explain(en, zh),
        }


LESSON = Manager()
