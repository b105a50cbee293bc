"""Lesson ``basics`` (tutorial: 多进程): N processes start and say who they are.

Result keys: ``indexes`` (lane indexes), ``names``, ``pids``, ``ppids``, ``main_modules``, ``all_ppid_is_parent``,
``started_as`` (how the app itself was started: ``{"kind": script|module|frozen|interactive, "what": ...}``),
``start_order`` (indexes in the order the parent started them), ``run_order``
(in the order they first ran), ``explanation``.
"""

from __future__ import annotations

import multiprocessing
import os

from app.core import events as ev
from app.core.lessons.base import Lesson, with_status
from app.core.params import workers


def foo(probe, i: int) -> None:
    """The tutorial's ``foo``: print who I am and what my ``__main__`` is."""
    import sys

    main = sys.modules.get("__main__")
    print("这里是 ", multiprocessing.current_process().name)
    print("模块名称:", getattr(main, "__name__", None))
    print("父进程 id:", os.getppid())
    print("当前子进程 id:", os.getpid())
    print("------------------------")


class Basics(Lesson):
    id = "basics"
    section = "多进程"
    title_en = "Starting processes"
    title_zh = "启动多个进程"
    summary_en = "Start N processes; each reports its name, pid, parent pid and what its __main__ is."
    summary_zh = "启动 N 个进程；每个进程报告自己的名字、pid、父进程 pid 以及它的 __main__ 模块。"
    specs = (workers(5),)

    def run(self, rc, values):
        rc.result({"started_as": started_as()})
        processes = [rc.start(foo, (i,)) for i in range(values["workers"])]
        rc.join(*processes)

    def summarize(self, trace):
        procs = [p for p in trace.processes().values() if p.role == "worker"]
        parent = trace.meta.get("parent_pid")
        run_order = [p.index for p in sorted(procs, key=lambda p: p.first_ns or 0)]
        mains = [p.main_module for p in procs]
        all_parent = all(p.ppid == parent for p in procs)
        method = trace.meta.get("start_method")
        how = next((r["started_as"] for r in trace.results(-1) if "started_as" in r), None)
        why_en, why_zh = explain_mains(method, mains, how)
        order_en = ("They ran in a different order than they were started: the OS schedules processes."
                    if run_order != sorted(run_order) else
                    "This time they ran in the order they were started; that is not guaranteed.")
        order_zh = ("它们实际运行的顺序与启动顺序不同：进程由操作系统调度。"
                    if run_order != sorted(run_order) else "这一次它们按启动顺序运行；但这并不保证。")
        parent_en = ("Every child's parent pid is the app's pid." if all_parent else
                     "Not every child's parent is the app: under forkserver the fork server is their parent.")
        parent_zh = ("每个子进程的父进程 id 都是本程序的 pid。" if all_parent else
                     "并非每个子进程的父进程都是本程序：在 forkserver 方式下，它们的父进程是 fork server。")
        ran = sum(1 for p in procs if p.first_ns is not None)
        partial = (f"{ran} of {len(procs)} started process(es) ran their code.",
                   f"已启动的 {len(procs)} 个进程中有 {ran} 个运行了自己的代码。")
        return {
            "indexes": [p.index for p in procs],
            "names": [p.name for p in procs],
            "pids": [p.pid for p in procs],
            "ppids": [p.ppid for p in procs],
            "main_modules": mains,
            "started_as": how,
            "all_ppid_is_parent": all_parent,
            "start_order": [p.index for p in sorted(procs, key=lambda p: p.requested_ns or 0)],
            "run_order": run_order,
            "explanation": with_status(trace, " ".join([parent_en, why_en, order_en]),
                                       "".join([parent_zh, why_zh, order_zh]), partial),
        }

    def story(self, trace):
        return live_processes_story(trace)

    example_result = {"names": ["Process-1"], "pids": [9], "ppids": [1], "main_modules": ["__mp_main__"],
                      "all_ppid_is_parent": True, "start_order": [0], "run_order": [0]}

    def result_rows(self, summary):
        from app.core.lessons.rows import Row, Table, Text, process_names, yes_no
        from app.core.names import name_of

        r = summary["result"]
        names = process_names(summary)
        shown = [name_of(names, i) for i in r["indexes"]] if "indexes" in r else r.get("names", [])
        rows = zip(shown, r.get("pids", []), r.get("ppids", []), r.get("main_modules", []), strict=False)

        def order(key):
            return " → ".join(name_of(names, i) for i in r.get(key) or []) if names else r.get(key)

        return [
            Table([Text("Name", "名称"), Text("PID", "PID"), Text("PPID", "父进程 PID"), Text("__main__", "__main__")],
                  [list(row) for row in rows]),
            Row(Text("Parent pid", "父进程 PID"), summary.get("parent_pid")),
            yes_no(Text("Every ppid is the parent", "所有父进程 PID 都是本程序"), r.get("all_ppid_is_parent")),
            Row(Text("Start order", "启动顺序"), order("start_order")),
            Row(Text("Run order", "实际运行顺序"), order("run_order")),
        ]

    def script(self, values, start_method):
        return _script(self, values, start_method)


def started_as() -> dict:
    """How this (the parent) process was started: what multiprocessing does with its ``__main__``."""
    import sys

    main = sys.modules.get("__main__")
    spec_name = getattr(getattr(main, "__spec__", None), "name", None)
    if getattr(sys, "frozen", False):
        return {"kind": "frozen", "what": os.path.basename(sys.executable)}
    if spec_name:  # python -m NAME: spawn children never re-import a NAME.__main__
        return {"kind": "module", "what": spec_name.removesuffix(".__main__")}
    if getattr(main, "__file__", None):  # python FILE, or an installed command (a small script file)
        return {"kind": "script", "what": os.path.basename(main.__file__)}
    return {"kind": "interactive", "what": None}


def _started_words(how) -> tuple[str, str]:
    kind, what = (how or {}).get("kind"), (how or {}).get("what")
    if kind == "script":
        return f"as a script ({what})", f"以脚本方式（{what}）"
    if kind == "module":
        return f"as a module (python -m {what})", f"以模块方式（python -m {what}）"
    if kind == "frozen":
        return f"as a frozen program ({what})", f"以打包程序方式（{what}）"
    return "without a main script file", "没有主脚本文件"


def explain_mains(method: str, mains: list, how) -> tuple[str, str]:
    """Why each child's ``__main__`` is what it recorded: one sentence per distinct value, by start method
    and by how the app was started."""
    started_en, started_zh = _started_words(how)
    en, zh = [], []
    for main in sorted(set(mains), key=lambda m: (m is None, str(m))):
        count = sum(1 for m in mains if m == main)
        who_en, who_zh = f"{count} child(ren) reported __main__ = {main}", f"{count} 个子进程报告的 __main__ 为 {main}"
        if main == "__mp_main__" and method == "spawn":
            en.append(f"{who_en}: under spawn each child is a fresh Python that imported the app's main script "
                      f"again, as __mp_main__ (the app was started {started_en}) — as in the tutorial. That is "
                      "why the `if __name__ == '__main__':` guard must protect the code that starts processes.")
            zh.append(f"{who_zh}：在 spawn 方式下，每个子进程都是全新的 Python，它把本程序的主脚本重新导入为 "
                      f"__mp_main__（本程序是{started_zh}启动的）——与教程一致。所以启动进程的代码必须放在 "
                      "`if __name__ == '__main__':` 之下。")
        elif main == "__mp_main__" and method == "forkserver":
            en.append(f"{who_en}: under forkserver the children are forked from the fork server, not from the app. "
                      "The fork server is a fresh Python that imported the app's main script as __mp_main__ when it "
                      f"started (the app was started {started_en}); every child forked from it inherits that "
                      "__main__ — the same name the tutorial shows.")
            zh.append(f"{who_zh}：在 forkserver 方式下，子进程是从 fork server 而不是从本程序 fork 出来的。"
                      f"fork server 是一个全新的 Python，启动时把本程序的主脚本导入为 __mp_main__（本程序是{started_zh}"
                      "启动的）；从它 fork 出来的子进程都继承了这个 __main__——与教程显示的名字相同。")
        elif main == "__main__" and method == "spawn":
            en.append(f"{who_en}: under spawn each child is a fresh Python, but the app was started {started_en}, "
                      "and CPython re-imports only a main script given as a file (multiprocessing/spawn.py); so the "
                      "children's __main__ is their own. Run the generated script as a file to see __mp_main__ as in "
                      "the tutorial.")
            zh.append(f"{who_zh}：在 spawn 方式下，每个子进程都是全新的 Python，但本程序是{started_zh}启动的，"
                      "而 CPython 只会重新导入以文件方式给出的主脚本（见 multiprocessing/spawn.py），所以子进程的 "
                      "__main__ 是它自己的。把生成的脚本作为文件运行，就能看到教程中的 __mp_main__。")
        elif main == "__main__" and method == "forkserver":
            en.append(f"{who_en}: under forkserver the children are forked from the fork server, a fresh Python. "
                      f"The app was started {started_en}, and the fork server imports the app's main only when it "
                      "is a script file; so the children inherit the fork server's own __main__. Run the generated "
                      "script as a file to see __mp_main__ as in the tutorial.")
            zh.append(f"{who_zh}：在 forkserver 方式下，子进程是从 fork server（一个全新的 Python）fork 出来的。"
                      f"本程序是{started_zh}启动的，而 fork server 只有在主程序是脚本文件时才会导入它；所以子进程"
                      "继承的是 fork server 自己的 __main__。把生成的脚本作为文件运行，就能看到教程中的 __mp_main__。")
        elif method == "fork":
            en.append(f"{who_en}: under fork each child is a copy of the parent, so its __main__ is the parent's "
                      f"({main}); nothing is re-imported (the app was started {started_en}).")
            zh.append(f"{who_zh}：在 fork 方式下，子进程是父进程的副本，__main__ 就是父进程的 __main__（{main}），"
                      f"不会重新导入（本程序是{started_zh}启动的）。")
        else:
            en.append(f"{who_en} (under {method}; the app was started {started_en}).")
            zh.append(f"{who_zh}（{method} 方式；本程序是{started_zh}启动的）。")
    return " ".join(en), "".join(zh)


def live_processes_story(trace):
    """Processes alive (asked for, not yet exited) and running their code, over time (basics, isolation)."""
    from app.core import story as st
    from app.core.lessons.rows import Text

    workers = trace.meta.get("params", {}).get("workers")
    return st.Story(
        title=Text("Processes alive over time", "存活的进程数随时间变化"),
        y_label=Text("Processes", "进程数"),
        series=[
            st.count_series(trace, Text("alive (started, not yet exited)", "存活（已启动、未退出）"),
                            *st.alive_edges(trace)),
            st.count_series(trace, Text("running their code", "正在运行自己的代码"),
                            *st.state_edges(trace, (ev.WORKING, ev.SLEEPING), roles=("worker",))),
        ],
        lines=[st.Reference(Text("processes started", "启动的进程数"), workers)] if workers else [],
    )


LESSON = Basics()

# --- the plain script (``Lesson.script``) -------------------------------------------------
# The helpers are imported inside ``_script``: a spawned worker imports this module
# to unpickle its target, and must not pay for the script builder.


_MP_MAIN = {  # forkserver? -> why the children report __mp_main__
    False: """
        print('子进程把本文件重新导入为 __mp_main__，所以启动进程的代码必须放在 '
              "if __name__ == '__main__': 之下。/ The children imported this file again as "
              "__mp_main__: that is why the guard must protect the code that starts processes.")
    """,
    True: """
        print('子进程由 fork server 分叉而来，fork server 已把本文件导入为 '
              "__mp_main__，所以启动进程的代码必须放在 if __name__ == '__main__': 之下。"
              '/ The children were forked from the fork server, which imported this file '
              'as __mp_main__: the guard must protect the code that starts processes.')
    """,
}


def _script(lesson, values: dict, start_method: str) -> str:
    from app.core.codegen.common import constant, script

    body = '''
        def foo(i, reports):
            # 同样的参数传递方法
            print('这里是 ', multiprocessing.current_process().name)
            print('模块名称:', __name__)  # '__mp_main__' when this file was imported again
            print('父进程 id:', os.getppid())  # 获取父进程id
            print('当前子进程 id:', os.getpid())  # 获取自己的进程id
            print('------------------------')
            # A print does not reach the parent's variables: send it a report as well.
            reports.put({'i': i, 'name': multiprocessing.current_process().name,
                         'pid': os.getpid(), 'ppid': os.getppid(), 'main_module': __name__})
    '''
    main = '''
        reports = multiprocessing.Queue()
        processes = []
        for i in range(WORKERS):
            p = multiprocessing.Process(target=foo, args=(i, reports))
            p.start()
            processes.append(p)
        # The reports arrive in the order the children ran, which the OS decides.
        ran = [reports.get() for _ in range(WORKERS)]
        for p in processes:
            p.join()

        run_order = [r['i'] for r in ran]
        children = sorted(ran, key=lambda r: r['i'])
        main_modules = [c['main_module'] for c in children]
        all_ppid_is_parent = all(c['ppid'] == os.getpid() for c in children)
        print('父进程 id / parent pid:', os.getpid())
        print('启动顺序 / start order:', list(range(WORKERS)))
        print('运行顺序 / run order:  ', run_order)
        if all_ppid_is_parent:
            print("每个子进程的父进程都是本进程。/ Every child's parent is this process.")
        else:
            print('并非每个子进程的父进程都是本进程：forkserver 方式下是 fork server。'
                  "/ Not every child's parent is this process: under forkserver it is the fork server.")
        if '__mp_main__' in main_modules:
            {{mp_main}}
        else:
            print('子进程是父进程的副本，__name__ 仍是 __main__，没有重新导入。'
                  '/ Each child is a copy of the parent: its __name__ is still __main__.')
        result = {
            'names': [c['name'] for c in children],
            'pids': [c['pid'] for c in children],
            'ppids': [c['ppid'] for c in children],
            'main_modules': main_modules,
            'all_ppid_is_parent': all_ppid_is_parent,
            'start_order': list(range(WORKERS)),
            'run_order': run_order,
        }
        print('RESULT', json.dumps(result))
    '''
    from app.core.codegen.common import fill

    main = fill(main, mp_main=_MP_MAIN[start_method == "forkserver"])
    return script(
        lesson=lesson, values=values, start_method=start_method,
        doc="Start WORKERS processes; each prints its name, its module name (__name__), its\n"
            "parent's pid and its own pid. They run in the order the OS chooses, not the start order.",
        imports=["import json", "import multiprocessing", "import os"],
        constants=[constant("WORKERS", values["workers"], "how many processes to start")],
        body=body, main=main,
    )
