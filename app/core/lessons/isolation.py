"""Lesson ``isolation`` (tutorial 1. 进程间的数据共享): a global list is not shared.

Result keys: ``parent_list`` (the parent's list after every child joined),
``child_lists`` and ``child_list_ids`` (each child's own list and ``id()``),
``child_indexes`` (each child's lane index),
``explanation``.
"""

from __future__ import annotations

from app.core import events as ev
from app.core.lessons.base import Lesson, with_status
from app.core.params import workers

lis: list = []  # the tutorial's module-level list; every process has its own


def foo(probe, i: int) -> None:
    lis.append(i)
    print("This is Process ", i, " and lis is ", lis, " and lis.address is  ", id(lis))
    probe.result({"i": i, "list": list(lis), "id": id(lis)})


class Isolation(Lesson):
    id = "isolation"
    section = "1. 进程间的数据共享"
    title_en = "Processes do not share globals"
    title_zh = "进程之间不共享全局变量"
    summary_en = "Each child appends to a module-level list; the parent's list stays empty."
    summary_zh = "每个子进程向模块级列表追加元素；父进程的列表始终为空。"
    specs = (workers(5),)

    def run(self, rc, values):
        processes = [rc.start(foo, (i,)) for i in range(values["workers"])]
        rc.join(*processes)
        rc.print("The end of list_1:", lis)
        rc.result({"parent_list": list(lis)})

    def summarize(self, trace):
        parent = [r for r in trace.results(-1) if "parent_list" in r]
        lanes = {t[3]["i"]: t[1] for t in trace.texts_of(ev.RESULT) if isinstance(t[3], dict) and "i" in t[3]}
        children = sorted((r for r in trace.results() if "i" in r), key=lambda r: r["i"])
        ids = [c["id"] for c in children]
        same_id = len(set(ids)) == 1 and len(ids) > 1
        en = ("The parent's list is still empty: each child appended to its own copy of the module's list. "
              + ("All children report the same id(), because a forked copy keeps the parent's addresses — the "
                 "same address in different processes is still different memory."
                 if same_id else "The children's ids differ or repeat by chance: each is an address in its "
                 "own process, not a shared object."))
        zh = ("父进程的列表仍然为空：每个子进程追加的是它自己那一份模块级列表。"
              + ("所有子进程报告的 id() 相同，因为 fork 出的副本保留了父进程的地址——"
                 "不同进程中的同一地址仍是不同的内存。"
                 if same_id else "子进程的 id() 各不相同或偶尔相同：它只是各自进程中的地址，并不是共享对象。"))
        partial = (f"{len(children)} child(ren) reported their own list.",
                   f"{len(children)} 个子进程报告了自己的列表。")
        return {
            "parent_list": parent[0]["parent_list"] if parent else None,
            "child_lists": [c["list"] for c in children],
            "child_list_ids": ids,
            "child_indexes": [lanes.get(c["i"]) for c in children],
            "explanation": with_status(trace, en, zh, partial),
        }

    def story(self, trace):
        from app.core.lessons.basics import live_processes_story

        return live_processes_story(trace)

    example_result = {"parent_list": [], "child_lists": [[0], [1]], "child_list_ids": [77, 77]}

    def result_rows(self, summary):
        from app.core.lessons.rows import BAD, GOOD, Row, Table, Text, process_names
        from app.core.names import name_of

        r = summary["result"]
        parent = r.get("parent_list")
        names = process_names(summary)
        lists = r.get("child_lists", [])
        lanes = r.get("child_indexes") or [None] * len(lists)
        who = [name_of(names, lane) if lane is not None else f"#{i}" for i, lane in enumerate(lanes)]
        return [
            Row(Text("Parent's list after join", "join 之后父进程的列表"), parent, GOOD if parent == [] else BAD),
            Table([Text("Process", "进程"), Text("Its own list", "它自己的列表"), Text("id()", "id()")],
                  [[name, lst, ident] for name, lst, ident in zip(who, lists, r.get("child_list_ids", []),
                                                                  strict=False)]),
        ]

    def script(self, values, start_method):
        return _script(self, values, start_method)


LESSON = Isolation()

# --- the plain script (``Lesson.script``) -------------------------------------------------
# The helpers are imported inside ``_script``: a spawned worker imports this module
# to unpickle its target, and must not pay for the script builder.


def _script(lesson, values: dict, start_method: str) -> str:
    from app.core.codegen.common import constant, script

    body = '''
        lis = []  # a module-level list: every process has its own copy


        def foo(i, reports):
            lis.append(i)
            print('This is Process ', i, ' and lis is ', lis, ' and lis.address is  ', id(lis))
            reports.put((i, list(lis), id(lis)))  # show the parent what this child's list holds
    '''
    main = '''
        reports = multiprocessing.Queue()
        processes = []
        for i in range(WORKERS):
            p = multiprocessing.Process(target=foo, args=(i, reports))
            p.start()
            processes.append(p)
        children = sorted(reports.get() for _ in range(WORKERS))
        for p in processes:
            p.join()
        print('The end of list_1:', lis)

        print("父进程的列表仍然是 / the parent's list is still", lis,
              '：每个子进程只修改了自己的副本。/ each child appended to its own copy.')
        if len({c[2] for c in children}) == 1 and WORKERS > 1:
            print('所有子进程的 id(lis) 相同：fork 出的副本保留了父进程的地址，但仍是不同的内存。'
                  '/ Every child reports the same id(): a forked copy keeps the addresses, '
                  'yet it is different memory.')
        result = {
            'parent_list': lis,
            'child_lists': [c[1] for c in children],
            'child_list_ids': [c[2] for c in children],
        }
        print('RESULT', json.dumps(result))
    '''
    return script(
        lesson=lesson, values=values, start_method=start_method,
        doc="Each child appends to a module-level list; the parent's list stays empty, because\n"
            "processes do not share memory: every child works on its own copy of the list.",
        imports=["import json", "import multiprocessing"],
        constants=[constant("WORKERS", values["workers"], "how many processes to start")],
        body=body, main=main,
    )
