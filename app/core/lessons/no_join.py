"""The tutorial's Array, Queue and Lock programs as written: they never ``join()`` their children.

Their parent returns right after the last ``start()``. Python's exit then does
what ``multiprocessing.util._exit_function`` does: first the finalizers with an
exit priority (a semaphore's unlinks its name, a manager shuts down), then it
joins the children. Under fork the children are copies that already hold every
semaphore, so nothing happens. Under spawn and forkserver a child opens each
semaphore *by name* when it unpickles its arguments; if the parent's exit
unlinked the name first, the child dies with ``FileNotFoundError`` in
``SemLock._rebuild``. (Windows duplicates the handles into the child instead
of naming them, so the tutorial's author never saw it.)

A lesson run with ``join=false`` does the same inside the app: ``exit_now``
runs the finalizers the parent's exit would run, but only those of the objects
the lesson made (the app itself keeps running), then the lesson waits for the
children as the exit does. The shared objects travel as ``Later``: a child
unpickles them when its code starts rather than while it boots, so the probe
records the exception and the lane shows why the child crashed.

Imported by workers: standard library, ``params`` only.
"""

from __future__ import annotations

import pickle
from multiprocessing import reduction, util

from app.core.params import ParamSpec

JOIN = ParamSpec(
    "join", "bool", True, "join() the children", "join() 子进程",
    help_en="true: the parent waits for every child. false: the tutorial's program as written — the parent "
            "returns right after start(); under spawn and forkserver its exit removes the shared semaphores "
            "before the children open them, and they crash.",
    help_zh="true：父进程等待每个子进程。false：按教程原样运行——父进程 start() 之后立即返回；在 spawn 和 "
            "forkserver 方式下，它退出时删除了共享的信号量，子进程还没来得及打开就崩溃了。")


class Later:
    """A shared object that a child opens (unpickles) when its code starts, not while it boots."""

    def __init__(self, obj, data: bytes | None = None):
        self.obj = obj
        self.data = data

    def __reduce__(self):
        # Called while a spawn or forkserver child is being started (fork copies the object instead): the
        # object's own pickling (a semaphore's name, a memory block's file descriptor) happens now, as usual.
        return (Later, (None, bytes(reduction.ForkingPickler.dumps(self.obj))))

    def open(self):
        return pickle.loads(self.data) if self.data is not None else self.obj


def opened(obj):
    """``obj`` itself, or what a ``Later`` holds (opened here, in the child)."""
    return obj.open() if isinstance(obj, Later) else obj


def wrap(join: bool, *objs):
    """The shared objects as a child's arguments: as they are when the parent joins, else each a ``Later``."""
    return objs if join else tuple(Later(o) if o is not None else None for o in objs)


def snapshot() -> set:
    """The finalizers that exist now: ``exit_now`` leaves these (the app's own) alone."""
    return set(util._finalizer_registry)  # private, but it is what the exit itself reads


def exit_now(before: set) -> None:
    """What the parent's exit does before it joins the children, for the objects made since ``before``:
    the finalizers with an exit priority ≥ 0, highest first (``multiprocessing.util._run_finalizers(0)``)."""
    keys = [k for k in list(util._finalizer_registry) if k not in before and k[0] is not None and k[0] >= 0]
    for key in sorted(keys, reverse=True):
        finalizer = util._finalizer_registry.get(key)
        if finalizer is not None:
            finalizer()


def crashes(trace) -> list[dict]:
    """The workers that crashed: ``index``, ``name``, ``error`` (the exception's last line), ``unlinked``
    (it failed opening a semaphore whose name was gone)."""
    out = []
    for info in trace.processes().values():
        if info.role != "worker" or info.ended != "crashed":
            continue
        text = "\n".join(info.errors or [])
        last = next((line.strip() for line in reversed(text.splitlines()) if line.strip()), None)
        out.append({"index": info.index, "name": info.name, "error": last,
                    "unlinked": "FileNotFoundError" in text and "_rebuild" in text})
    return sorted(out, key=lambda c: c["index"])


def explain(trace, what_en: str, what_zh: str) -> tuple[str, str]:
    """The explanation of a run without join(): which children crashed, why, and what avoids it."""
    method = trace.meta.get("start_method")
    crashed = crashes(trace)
    workers = sum(1 for p in trace.processes().values() if p.role == "worker")
    en = [f"join=false ran the tutorial's program as written: the parent returned right after starting its "
          f"{workers} children, without join()."]
    zh = [f"join=false 按教程原样运行：父进程启动 {workers} 个子进程后立即返回，没有调用 join()。"]
    if crashed:
        names = ", ".join(c["name"] or f"#{c['index']}" for c in crashed)
        error = next((c["error"] for c in crashed if c["error"]), "an error")
        en.append(f"{len(crashed)} of {workers} children crashed ({names}): {error}.")
        # the exception's type only: its message is the OS's English
        zh.append(f"{workers} 个子进程中有 {len(crashed)} 个崩溃（{names}）：{error.split(':')[0]}。")
        if any(c["unlinked"] for c in crashed):
            en.append(f"In SemLock._rebuild: the child opens {what_en}'s semaphore by its name, but the parent's "
                      "exit had already unlinked that name — the parent did not wait, so it ended first.")
            zh.append(f"发生在 SemLock._rebuild 中：子进程按名字打开{what_zh}的信号量，"
                      "但父进程退出时已经删除了这个名字——父进程没有等待，所以先结束了。")
        else:
            en.append("The parent's exit had already torn down what the child needed to open.")
            zh.append("父进程退出时已经拆掉了子进程需要打开的东西。")
    elif method == "fork":
        en.append("No child crashed: under fork each child is a copy of the parent that already holds every "
                  "semaphore. Under spawn or forkserver a child opens them by name, after the parent's exit "
                  "removed them, and crashes.")
        zh.append("没有子进程崩溃：fork 方式下子进程是父进程的副本，已经持有所有信号量。在 spawn 或 forkserver "
                  "方式下，子进程要按名字打开它们，而父进程退出时已经删除了它们，子进程就会崩溃。")
    else:
        en.append("This time no child crashed: each opened the shared objects before the parent's exit removed "
                  "them — a race the children usually lose.")
        zh.append("这一次没有子进程崩溃：每个子进程都在父进程退出、删除共享对象之前打开了它们——通常子进程会输掉这场竞争。")
    en.append("join() on every child (or keeping the parent alive until they finish) avoids it. Windows "
              "duplicates the handles into the child instead of naming them, so the tutorial's author never saw it.")
    zh.append("对每个子进程调用 join()（或让父进程一直运行到它们结束）就能避免。Windows 把句柄复制给子进程，"
              "而不是按名字打开，所以教程作者从没遇到过。")
    return " ".join(en), "".join(zh)


def result_rows(result: dict) -> list:
    """The result rows of a run without join(): the children that crashed, and why."""
    from app.core.lessons.rows import DASH, Table, Text, lost, yes_no

    crashed = result.get("crashed") or []
    out = [
        yes_no(Text("join() the children", "join() 子进程"), False, good_when=True),
        lost(Text("Children that crashed", "崩溃的子进程"), len(crashed)),
    ]
    if crashed:
        out.append(Table(
            [Text("Process", "进程"), Text("Error", "错误"), Text("Semaphore already unlinked", "信号量已被删除")],
            [[c.get("name") or DASH, c.get("error") or DASH, yes_no(Text("", ""), c.get("unlinked")).value]
             for c in crashed]))
    return out
