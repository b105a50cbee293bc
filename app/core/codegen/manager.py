"""Script for ``manager``: workers write through proxies to an object in the Manager's server."""

from __future__ import annotations

from app.core.codegen.common import constant, fill, script

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


def build(lesson, values: dict, start_method: str) -> str:
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
