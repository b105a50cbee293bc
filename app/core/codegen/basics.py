"""Scripts for ``basics`` (N processes say who they are) and ``isolation`` (a global list)."""

from __future__ import annotations

from app.core.codegen.common import constant, script


def basics(lesson, values: dict, start_method: str) -> str:
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
            print('子进程把本文件重新导入为 __mp_main__，所以启动进程的代码必须放在 '
                  "if __name__ == '__main__': 之下。/ The children imported this file again as "
                  "__mp_main__: that is why the guard must protect the code that starts processes.")
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
    return script(
        lesson=lesson, values=values, start_method=start_method,
        doc="Start WORKERS processes; each prints its name, its module name (__name__), its\n"
            "parent's pid and its own pid. They run in the order the OS chooses, not the start order.",
        imports=["import json", "import multiprocessing", "import os"],
        constants=[constant("WORKERS", values["workers"], "how many processes to start")],
        body=body, main=main,
    )


def isolation(lesson, values: dict, start_method: str) -> str:
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
