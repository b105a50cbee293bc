"""Lesson ``manager`` (tutorial 1.2 Manager): proxies to objects in a server process.

Result keys: ``proxy``, ``final`` (the proxy's contents after every join),
``server_pid``, ``observed`` (what each process saw right after its write, in
time order: ``worker``, ``saw``), ``expected_final``, ``explanation``.
"""

from __future__ import annotations

from app.core import events as ev
from app.core.lessons.base import Lesson, with_status
from app.core.params import ParamSpec, workers

PROXIES = ("dict", "list", "namespace", "value")


def func(probe, i: int, proxy, kind: str) -> None:
    """The tutorial's ``func``: write ``100 + i`` through the proxy and show what it holds."""
    probe.point("write", f"{kind} proxy")
    if kind == "dict":
        proxy["num"] = 100 + i
        probe.point("read", f"{kind} proxy")
        saw = proxy.items()
        print(saw)
        saw = [list(item) for item in saw]
    elif kind == "list":
        proxy.append(100 + i)
        probe.point("read", f"{kind} proxy")
        saw = list(proxy)
        print(saw)
    elif kind == "namespace":
        proxy.num = 100 + i
        probe.point("read", f"{kind} proxy")
        saw = proxy.num
        print("ns.num =", saw)
    else:
        proxy.value = 100 + i
        probe.point("read", f"{kind} proxy")
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
    step_points = ("write", "read")
    specs = (
        workers(10),
        ParamSpec("proxy", "choice", "dict", "Proxy", "代理类型", choices=PROXIES),
        ParamSpec("sequential", "bool", True, "Join each before the next", "逐个 join",
                  help_en="true as in the tutorial: start, join, start the next; false: all at once.",
                  help_zh="true 与教程相同：启动、join、再启动下一个；false：同时运行。"),
    )

    def value_slots(self, values):
        expected = 100 + values["workers"] - 1 if values["sequential"] else None
        return [{"name": "num", "label": {"en": "num (the last write)", "zh": "num（最后写入的值）"},
                 "expected": expected}]

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
        final = [r for r in trace.results(-1) if "final" in r]
        final = final[0]["final"] if final else None
        observed = [{"worker": t[3]["worker"], "saw": t[3]["saw"], "index": t[1]}
                    for t in sorted(trace.texts_of(ev.RESULT), key=lambda t: t[0])
                    if isinstance(t[3], dict) and "saw" in t[3]]
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
            "explanation": with_status(trace, en, zh, (
                f"{len(observed)} of {n} process(es) wrote through the proxy; the parent reads {final}.",
                f"{n} 个进程中有 {len(observed)} 个通过代理写入；父进程读到 {final}。")),
        }

    example_result = {"proxy": "dict", "final": {"num": 101}, "expected_final": {"num": 101},
                      "final_as_expected": True, "server_pid": 4242, "observed": [{"worker": 0, "saw": [["num", 100]]}]}

    def result_rows(self, summary):
        from app.core.lessons.rows import DASH, Row, Table, Text, process_names, yes_no
        from app.core.names import name_of

        r = summary["result"]
        names = process_names(summary)

        def worker(o):
            return name_of(names, o["index"]) if o.get("index") is not None else f"#{o['worker']}"

        out = [
            Row(Text("Proxy", "代理类型"), r["proxy"]),
            Row(Text("Final contents", "最终内容"), r["final"]),
            Row(Text("Expected", "应为"), DASH if r.get("expected_final") is None else r["expected_final"]),
            yes_no(Text("As expected", "符合预期"), r.get("final_as_expected")),
            Row(Text("Manager server pid", "Manager 服务进程 PID"), r.get("server_pid")),
        ]
        observed = r.get("observed", [])
        if observed:
            out.append(Table([Text("Process", "进程"), Text("Saw after its write", "写入后看到的内容")],
                             [[worker(o), o["saw"]] for o in observed]))
        return out

    def script(self, values, start_method):
        return _script(self, values, start_method)


LESSON = Manager()

# --- the plain script (``Lesson.script``) -------------------------------------------------
# The helpers are imported inside ``_script``: a spawned worker imports this module
# to unpickle its target, and must not pay for the script builder.


# proxy kind -> (worker parameter name, how the parent makes it, the worker's write and print,
#                the parent's read as plain data)
_PROXIES = {
    "dict": ("dic", "manager.dict()",
             '''
             dic['num'] = 100 + i
             print(dic.items())
             ''',
             "dict(dic)"),
    "list": ("lis", "manager.list()",
             '''
             lis.append(100 + i)
             print(list(lis))
             ''',
             "list(lis)"),
    "namespace": ("ns", "manager.Namespace()",
                  '''
                  ns.num = 100 + i
                  print('ns.num =', ns.num)
                  ''',
                  "{'num': getattr(ns, 'num', None)}"),
    "value": ("value", "manager.Value('i', 0)",
              '''
              value.value = 100 + i
              print('value =', value.value)
              ''',
              "value.value"),
}


def _script(lesson, values: dict, start_method: str) -> str:
    from app.core.codegen.common import constant, fill, script

    kind = values["proxy"]
    name, make, write, read = _PROXIES[kind]
    body = fill(
        '''
        def func(i, {{name}}):
            {{write}}
        ''', name=name, write=write)
    if kind == "list":
        expected = '''
            # Appends never overwrite: every number is there (in start order when joined one by one).
            expected = list(range(100, 100 + WORKERS))
            as_expected = (final if SEQUENTIAL else sorted(final)) == expected
        '''
    else:
        number = {"dict": "final['num']", "namespace": "final['num']", "value": "final"}[kind]
        wrap = {"dict": "{'num': %s}", "namespace": "{'num': %s}", "value": "%s"}[kind]
        expected = f'''
            # The last writer wins: joined one by one, that is the last worker.
            expected = {wrap % "100 + WORKERS - 1"} if SEQUENTIAL else None
            as_expected = final == expected if SEQUENTIAL else 100 <= {number} < 100 + WORKERS
        '''
    main = fill(
        '''
        manager = multiprocessing.Manager()  # starts the manager's server process
        server = multiprocessing.active_children()[0]
        print("Manager 的服务进程 / the manager's server process:", server.name, 'pid', server.pid)
        {{name}} = {{make}}  # the object lives in the server; {{name}} is a proxy to it
        processes = []
        for i in range(WORKERS):
            p = multiprocessing.Process(target=func, args=(i, {{name}}))
            p.start()
            if SEQUENTIAL:
                p.join()  # as in the tutorial: each process ends before the next starts
            processes.append(p)
        for p in processes:
            p.join()

        final = {{read}}
        {{expected}}
        manager.shutdown()  # stops the server process
        print('父进程读到 / the parent reads:', final)
        if SEQUENTIAL:
            print('逐个 join：每个进程都看到自己刚写入的值。'
                  '/ Joined one by one: each saw its own write.')
        else:
            {{concurrent}}
        result = {
            'proxy': '{{kind}}',
            'final': final,
            'expected_final': expected,
            'final_as_expected': as_expected,
            'server_pid': server.pid,
        }
        print('RESULT', json.dumps(result))
        ''',
        name=name, make=make, read=read, expected=expected, kind=kind, concurrent=(
            "print('并发运行：每次追加都保留下来，顺序由操作系统决定。'\n"
            "      '/ Running concurrently: every append is kept, in the order the OS ran them.')"
            if kind == "list" else
            "print('并发运行：最后写入者的值保留下来。/ Running concurrently: the last writer wins.')"))
    return script(
        lesson=lesson, values=values, start_method=start_method,
        doc="Manager() starts a server process that holds a Python object; every worker changes it\n"
            f"through a proxy ({make}), so all of them, and the parent, see the same {kind}.",
        imports=["import json", "import multiprocessing"],
        constants=[
            constant("WORKERS", values["workers"], "how many processes write through the proxy"),
            constant("SEQUENTIAL", values["sequential"], "True: start, join, then start the next (tutorial)"),
        ],
        body=body, main=main,
    )
