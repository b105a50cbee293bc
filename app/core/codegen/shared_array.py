"""Script for ``shared_array``: every worker adds to element 0 of one ``Array``."""

from __future__ import annotations

from app.core.codegen.common import constant, fill, indent, script, seconds
from app.core.lessons.shared_array import TYPECODES

_CHARS = {  # typecode -> (element -> number, number -> element) as source, wrapping like C
    "c": ("item[0]  # a c_char element is one byte: its code 0…255",
          "bytes([number % 256])  # a C char keeps 8 bits: 256 wraps to 0"),
    "u": ("ord(item)  # a c_wchar element is one character: its code point",
          "chr(number % 0x10000)  # wraps at 0x10000"),
}


def build(lesson, values: dict, start_method: str) -> str:
    typecode, lock = values["typecode"], values["lock"]
    ctype = TYPECODES[typecode]
    if typecode in _CHARS:
        to_number, to_item = _CHARS[typecode]
        helpers = f'''
            def to_number(item):
                return {to_number}


            def to_item(number):
                return {to_item}


            def as_stored(number):
                """number as the element holds it (wrapped), as a plain number."""
                return to_number(to_item(number))
        '''
        read, write, fill_in, show = "to_number(temp[0])", "to_item(read + ADD)", "to_item(INITIAL + k)", \
            "repr(temp[0])" if typecode == "u" else "temp[0]"
        stored = "[to_number(temp[k]) for k in range(SIZE)]"
    else:
        helpers = f'''
            def as_stored(number):
                """number as ctypes.{ctype} stores it: a value that does not fit wraps around, as in C."""
                return ctypes.{ctype}(number).value
        '''
        read, write, fill_in, show = "temp[0]", "read + ADD", "INITIAL + k", "temp[0]"
        stored = "[temp[k] for k in range(SIZE)]"
    update = fill(
        '''
        read = {{read}}
        time.sleep(HOLD_S)  # another process may read the same value meanwhile
        temp[0] = {{write}}  # the tutorial's temp[0] += 100, which is a read and then a write
        print('进程%s ' % i, ' 修改数组第一个元素后----->', {{show}})
        ''', read=read, write=write, show=show)
    guard = {"none": "", "get_lock": "with temp.get_lock():  # the Array's own lock",
             "lock": "with lock:  # a separate multiprocessing.Lock()"}[lock]
    body = fill(
        '''
        {{helpers}}


        def func(i, temp{{lock_arg}}):
            {{update}}
        ''',
        helpers=helpers, lock_arg=", lock" if lock == "lock" else "",
        update=f"{guard}\n{indent(update)}" if guard else update)
    if typecode in "fd":
        lost = '''
            # Each addition moves element 0 by ADD: the missing distance counts the lost ones.
            lost = max(0, round((unbounded - actual) / ADD)) if ADD else 0
        '''
    else:
        lost = '''
            # The most additions k that explain the value (wrapping included): the rest were lost.
            held = next((k for k in range(WORKERS, -1, -1) if as_stored(INITIAL + k * ADD) == actual), 0)
            lost = WORKERS - held
        '''
    main = fill(
        '''
        temp = multiprocessing.Array(TYPECODE, SIZE)  # lives in shared memory
        for k in range(SIZE):
            temp[k] = {{fill_in}}
        {{make_lock}}
        processes = []
        for i in range(WORKERS):
            p = multiprocessing.Process(target=func, args=(i, temp{{lock_arg}}))
            p.start()
            processes.append(p)
        for p in processes:
            p.join()

        array = {{stored}}
        unbounded = INITIAL + WORKERS * ADD
        expected = as_stored(unbounded)
        actual = array[0]
        {{lost}}
        print('数组 / array:', array)
        print('应为 / expected:', expected, ' 实际 / actual:', actual,
              ' 丢失的更新 / lost updates:', lost)
        if expected != unbounded:
            print('真实的和', unbounded, '超出了 {{ctype}} 的范围，发生了回绕。'
                  '/ The true sum', unbounded, 'does not fit in {{ctype}}: it wrapped around.')
        if lost:
            print('读和写是两个步骤：两个进程读到同一个值，就会写回同一个结果。请加锁。'
                  '/ A read and a write are two steps: two processes that read the same value '
                  'write the same result. Use a lock.')
        else:
            print('没有丢失任何更新。/ No update was lost.')
        result = {
            'typecode': TYPECODE,
            'ctype': '{{ctype}}',
            'expected': expected,
            'expected_unbounded': unbounded,
            'overflowed': expected != unbounded,
            'actual': actual,
            'array': array,
            'lost_updates': lost,
        }
        print('RESULT', json.dumps(result))
        ''',
        fill_in=fill_in, stored=stored, lost=lost, ctype=ctype,
        make_lock="lock = multiprocessing.Lock()" if lock == "lock" else "",
        lock_arg=", lock" if lock == "lock" else "")
    lock_doc = {"none": "No lock, as in the tutorial: raise HOLD_S and updates get lost.",
                "get_lock": "The Array's own lock (temp.get_lock()) makes read and write one step.",
                "lock": "A separate Lock makes read and write one step."}[lock]
    imports = ["import json", "import multiprocessing", "import time"]
    if typecode not in _CHARS:
        imports.append("import ctypes")
    return script(
        lesson=lesson, values=values, start_method=start_method,
        doc=f"Every worker adds ADD to element 0 of a shared multiprocessing.Array. The typecode picks\n"
            f"the C type ('{typecode}' is ctypes.{ctype}); a small type wraps around when the sum is too big.\n"
            + lock_doc,
        imports=imports,
        constants=[
            constant("WORKERS", values["workers"], "how many processes add to element 0"),
            constant("TYPECODE", typecode, f"ctypes.{ctype}"),
            constant("SIZE", values["size"], "elements in the array"),
            constant("INITIAL", values["initial"], "the array starts as INITIAL, INITIAL + 1, ..."),
            constant("ADD", values["add"], "what each worker adds to element 0"),
            constant("HOLD_S", seconds(values["hold_s"], values["tempo"]), "seconds between read and write"),
        ],
        body=body, main=main,
    )

