"""Lesson ``shared_array`` (tutorial 1.1 Array): workers add to element 0 of an ``Array``.

Result keys: ``typecode``, ``ctype``, ``expected`` (the final element 0 as the
C type stores it), ``expected_unbounded`` (the arithmetic answer), ``overflowed``,
``actual``, ``array`` (the whole array after the join), ``lost_updates``,
``joined`` (the ``join`` parameter), ``crashed`` (the children that crashed: ``index``, ``name``, ``error``,
``unlinked``; with ``join=false``), ``explanation``.
"""

from __future__ import annotations

import ctypes

from app.core.lessons import no_join
from app.core.lessons.base import Lesson, explain, with_status
from app.core.params import ParamSpec, workers

TYPECODES = {
    "c": "c_char", "u": "c_wchar", "b": "c_byte", "B": "c_ubyte", "h": "c_short", "H": "c_ushort",
    "i": "c_int", "I": "c_uint", "l": "c_long", "L": "c_ulong",
    # 'q' and 'Q' (long long, since Python 3.3) are missing from the tutorial's table.
    "q": "c_longlong", "Q": "c_ulonglong",
    "f": "c_float", "d": "c_double",
}


def to_number(typecode: str, item):
    """An element as a plain number (chars by code point).

    A 'c' element read alone (``temp[0]``) is a one-byte ``bytes``; a slice (``temp[:]``) is
    ``bytes``, whose items are already ints.
    """
    if typecode == "c":
        return item if isinstance(item, int) else item[0]
    if typecode == "u":
        return ord(item)
    return item


def to_item(typecode: str, number):
    """A number as the element the C type stores (wrapping as C does)."""
    if typecode == "c":
        return bytes([int(number) % 256])
    if typecode == "u":
        return chr(int(number) % 0x10000)
    if typecode in "fd":
        return getattr(ctypes, TYPECODES[typecode])(number).value
    return getattr(ctypes, TYPECODES[typecode])(int(number)).value


def func(probe, i: int, temp, lock, typecode: str, add, hold_s: float) -> None:
    """The tutorial's worker: ``temp[0] += 100`` and print the element."""
    temp, lock = no_join.opened(temp), no_join.opened(lock)  # join=false: opened here, after the parent left
    if lock is not None:
        with probe.holding(lock):
            _add(probe, i, temp, typecode, add, hold_s)
    else:
        _add(probe, i, temp, typecode, add, hold_s)


def _add(probe, i, temp, typecode, add, hold_s):
    probe.point("read", "temp[0]")
    read = to_number(typecode, temp[0])
    if hold_s:
        probe.sleep(hold_s, code=None)
    probe.point("write", "temp[0]")
    temp[0] = to_item(typecode, read + add)
    wrote = to_number(typecode, temp[0])
    probe.value(0, wrote)
    print("进程%s " % i, " 修改数组第一个元素后----->", temp[0])
    probe.result({"i": i, "read": read, "wrote": wrote})


class SharedArray(Lesson):
    id = "shared_array"
    section = "1.1 使用 Array 共享数据"
    title_en = "Sharing an Array"
    title_zh = "用 Array 共享数据"
    summary_en = "Every worker adds to element 0 of a shared Array; the typecode decides the C type."
    summary_zh = "每个工作进程给共享 Array 的第 0 个元素加一个数；typecode 决定 C 类型。"
    step_points = ("read", "write", "acquire", "release")
    specs = (
        workers(10),
        ParamSpec("typecode", "choice", "i", "Typecode", "类型码", choices=tuple(TYPECODES),
                  help_en="'i' is ctypes.c_int; 'b' is a signed byte that wraps at 127; "
                          "'q'/'Q' (long long) are not in the tutorial's table.",
                  help_zh="'i' 即 ctypes.c_int；'b' 是有符号字节，超过 127 会回绕；"
                          "'q'/'Q'（long long）教程的表里没有。"),
        ParamSpec("size", "int", 4, "Array size", "数组大小", 1, 1000),
        ParamSpec("initial", "int", 1, "Initial element 0", "第 0 个元素初值", -1000000, 1000000,
                  help_en="The array starts as initial, initial+1, …", help_zh="数组初值为 initial, initial+1, …"),
        ParamSpec("add", "int", 100, "Added by each worker", "每个进程加上", -1000000, 1000000),
        ParamSpec("lock", "choice", "none", "Lock", "锁", choices=("none", "get_lock", "lock"),
                  help_en="none as in the tutorial; get_lock: the Array's own lock; lock: a separate Lock().",
                  help_zh="none 与教程相同；get_lock：Array 自带的锁；lock：单独的 Lock()。"),
        ParamSpec("hold_s", "float", 0.0, "Time between read and write (s)", "读写之间的时间（秒）", 0.0, 60.0,
                  help_en="0 as in the tutorial; more makes the race visible.",
                  help_zh="教程中为 0；加大它会让竞争更明显。"),
        no_join.JOIN,
    )

    def value_slots(self, values):
        final = values["initial"] + values["workers"] * values["add"]
        return [{"name": "array[0]", "label": {"en": "array[0]", "zh": "array[0]（第 0 个元素）"},
                 "initial": values["initial"], "step": values["add"],
                 "expected": to_number(values["typecode"], to_item(values["typecode"], final))}]

    def run(self, rc, values):
        typecode = values["typecode"]
        before = no_join.snapshot()
        temp = rc.ctx.Array(typecode, values["size"])
        for k in range(values["size"]):
            temp[k] = to_item(typecode, values["initial"] + k)
        lock = {"none": None, "get_lock": temp.get_lock(), "lock": rc.ctx.Lock()}[values["lock"]]
        shared = no_join.wrap(values["join"], temp, lock)
        processes = [
            rc.start(func, (i, *shared, typecode, values["add"], values["hold_s"]))
            for i in range(values["workers"])
        ]
        if not values["join"]:  # the tutorial's program: the parent returns here, and Python's exit...
            no_join.exit_now(before)
            rc.join(*processes)  # ...then waits for the children (multiprocessing's own exit function)
            rc.result({"joined": False})
            return
        rc.join(*processes)
        rc.result({"array": [to_number(typecode, x) for x in temp[:]]})

    def summarize(self, trace):
        p = trace.meta["params"]
        typecode, n, add, initial = p["typecode"], p["workers"], p["add"], p["initial"]
        unbounded = initial + n * add
        expected = to_number(typecode, to_item(typecode, unbounded))
        final = [r for r in trace.results(-1) if "array" in r]
        array = final[0].get("array") if final else None
        actual = array[0] if array else None
        lost = _lost_updates(typecode, initial, add, n, actual)
        writes = [r["wrote"] for r in trace.results() if "wrote" in r]
        overflowed = expected != unbounded
        if p.get("join", True) is False:
            return self._without_join(trace, typecode, expected, unbounded, writes)
        en = [f"{n} workers each added {add} to element 0 ({TYPECODES[typecode]}): expected {expected}, got {actual}."]
        zh = [f"{n} 个进程各给第 0 个元素（{TYPECODES[typecode]}）加 {add}：应为 {expected}，实际为 {actual}。"]
        if overflowed:
            en.append(f"The true sum {unbounded} does not fit in {TYPECODES[typecode]}, so it wrapped around.")
            zh.append(f"真实的和 {unbounded} 超出了 {TYPECODES[typecode]} 的范围，因此发生了回绕。")
        if lost:
            en.append(f"{lost} update(s) were lost: `temp[0] += add` reads, then writes; two workers that read "
                      "the same value both write the same result. Use the lock.")
            zh.append(f"丢失了 {lost} 次更新：`temp[0] += add` 先读后写，"
                      "两个进程读到同一个值就会写回同一个结果。请加锁。")
        elif p["lock"] == "none":
            en.append("No update was lost this time, but nothing prevents it: the read and the write are separate "
                      "steps (raise hold_s to see the race).")
            zh.append("这一次没有丢失更新，但并没有什么能阻止它：读和写是两个独立的步骤（加大 hold_s 就能看到竞争）。")
        else:
            en.append("The lock makes read-and-write one step: no update is lost.")
            zh.append("锁让“读-写”成为一个整体：没有丢失任何更新。")
        return {
            "typecode": typecode,
            "ctype": TYPECODES[typecode],
            "expected": expected,
            "expected_unbounded": unbounded,
            "overflowed": overflowed,
            "actual": actual,
            "array": array,
            "lost_updates": lost,
            "writes": writes,
            "joined": True,
            "crashed": no_join.crashes(trace),
            "explanation": with_status(trace, " ".join(en), "".join(zh), (
                f"{len(writes)} of {n} worker(s) wrote element 0; a full run would end at {expected}.",
                f"{n} 个进程中有 {len(writes)} 个写入了第 0 个元素；完整运行结束时应为 {expected}。")),
        }

    def _without_join(self, trace, typecode, expected, unbounded, writes):
        en, zh = no_join.explain(trace, "the Array", " Array ")
        # the crashes are this run's point: said, not apologised for
        explanation = explain(en, zh) if trace.meta.get("status") == "crashed" else with_status(trace, en, zh, (en, zh))
        return {"typecode": typecode, "ctype": TYPECODES[typecode], "expected": expected,
                "expected_unbounded": unbounded, "overflowed": expected != unbounded, "actual": None, "array": None,
                "lost_updates": None, "writes": writes, "joined": False, "crashed": no_join.crashes(trace),
                "explanation": explanation}

    example_result = {"typecode": "b", "ctype": "c_byte", "expected": -23, "expected_unbounded": 1001,
                      "overflowed": True, "actual": -23, "array": [-23, 2], "lost_updates": 0}

    def result_rows(self, summary):
        from app.core.lessons.rows import Row, Text, lost, yes_no

        r = summary["result"]
        if r.get("joined") is False:
            return no_join.result_rows(r)
        out = [
            Row(Text("Typecode", "类型码"), f"'{r['typecode']}' ({r['ctype']})"),
            Row(Text("Expected", "应为"), r["expected"]),
            Row(Text("Actual", "实际"), r["actual"]),
            lost(Text("Lost updates", "丢失的更新"), r["lost_updates"]),
            yes_no(Text("Overflowed", "溢出"), r["overflowed"], good_when=False),
        ]
        if r.get("overflowed"):
            out.append(Row(Text("True sum (without overflow)", "真实的和（不溢出时）"), r["expected_unbounded"]))
        out.append(Row(Text("Final array", "最终数组"), r["array"]))
        return out

    def script(self, values, start_method):
        return _script(self, values, start_method)


def _lost_updates(typecode, initial, add, n, actual):
    """How many of the n additions the final value does not contain."""
    if actual is None:
        return None
    if add == 0:
        return 0
    if typecode in "fd":
        return max(0, round((initial + n * add - actual) / add))
    for k in range(n, -1, -1):  # the most additions that explain the value
        if to_number(typecode, to_item(typecode, initial + k * add)) == actual:
            return n - k
    return n


LESSON = SharedArray()

# --- the plain script (``Lesson.script``) -------------------------------------------------
# The helpers are imported inside ``_script``: a spawned worker imports this module
# to unpickle its target, and must not pay for the script builder.


_CHARS = {  # typecode -> (element -> number, number -> element) as source, wrapping like C
    "c": ("item[0]  # a c_char element is one byte: its code 0…255",
          "bytes([number % 256])  # a C char keeps 8 bits: 256 wraps to 0"),
    "u": ("ord(item)  # a c_wchar element is one character: its code point",
          "chr(number % 0x10000)  # wraps at 0x10000"),
}


def _script(lesson, values: dict, start_method: str) -> str:
    from app.core.codegen.common import NO_JOIN_END, constant, fill, indent, script, seconds, start_children

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
    # No sleep at all when HOLD_S is 0, as the lesson does: even time.sleep(0) gives the CPU away,
    # and another process would then read the same value.
    hold = "time.sleep(HOLD_S)  # another process may read the same value meanwhile" \
        if seconds(values["hold_s"], values["tempo"]) > 0 else ""
    lock_arg = ", lock" if lock == "lock" else ""
    update = fill(
        '''
        read = {{read}}
        {{hold}}
        temp[0] = {{write}}  # the tutorial's temp[0] += 100, which is a read and then a write
        print('进程%s ' % i, ' 修改数组第一个元素后----->', {{show}})
        ''', read=read, write=write, show=show, hold=hold)
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
    report = fill(
        '''
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
        stored=stored, lost=lost, ctype=ctype) if values["join"] else NO_JOIN_END
    main = fill(
        '''
        temp = multiprocessing.Array(TYPECODE, SIZE)  # lives in shared memory
        for k in range(SIZE):
            temp[k] = {{fill_in}}
        {{make_lock}}
        {{start}}

        {{report}}
        ''',
        fill_in=fill_in, report=report, start=start_children(f"func, args=(i, temp{lock_arg})", values["join"]),
        make_lock="lock = multiprocessing.Lock()" if lock == "lock" else "")
    lock_doc = {"none": "No lock, as in the tutorial: raise HOLD_S and updates get lost.",
                "get_lock": "The Array's own lock (temp.get_lock()) makes read and write one step.",
                "lock": "A separate Lock makes read and write one step."}[lock]
    if not values["join"]:
        lock_doc += "\nNo join(), as the tutorial wrote it: under spawn and forkserver the children crash."
    imports = ["import json", "import multiprocessing"] + (["import time"] if hold else [])
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
