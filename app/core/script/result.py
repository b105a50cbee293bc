"""The ``result`` of a script run's summary: read from the trace only, so a saved run says the same.

Keys: ``script``, ``args``, ``exit_code``, ``objects`` (every traced lock, queue, pipe end and value:
``kind``, ``name``, ``file``, ``line``), ``tasks`` (pool tasks per worker), ``lost_update_candidates``
(a value written by two processes where a write did not move it past what another had written),
``guard_missing`` (a spawned child re-ran the script's top level), ``notes`` (what could not be
traced) and ``explanation`` in ``en`` and ``zh``.
"""

from __future__ import annotations

import os

import numpy as np

from app.core import events as ev
from app.core.trace import Trace


def summarize_script(trace: Trace) -> dict:
    params = trace.meta.get("params") or {}
    objects, notes, guard, tasks_of, facts, left = [], [], None, {}, {}, []
    for payload in trace.results(ev.PARENT_INDEX):
        if not isinstance(payload, dict):
            continue
        if "object" in payload:
            obj = payload["object"]
            objects.append({k: obj.get(k) for k in ("kind", "name", "file", "line", "id", "slot")})
        elif "note" in payload:
            if payload["note"].get("key") not in {n["key"] for n in notes}:  # once, whichever processes said it
                notes.append({k: payload["note"].get(k) for k in ("key", "en", "zh")})
        elif "guard" in payload:
            guard = guard or payload["guard"].get("file") or params.get("script")
        elif "tasks" in payload:
            tasks_of[payload["tasks"].get("first")] = payload["tasks"].get("function")
        elif "exit_code" in payload:
            facts = payload
        elif "left_running" in payload:
            left = payload["left_running"]
    named = {o["name"] for o in objects if not o["slot"]}
    objects = [o for o in objects if not (o["slot"] and o["name"] in named)]  # a Manager Value: one entry
    procs = trace.processes()
    recs = trace.records
    task_rows = recs[(recs[:, 2] == ev.TASK) & (recs[:, 4] == ev.TASK_START)]
    per_worker: dict[str, int] = {}
    for index in task_rows[:, 1].tolist():
        name = procs[index].name if index in procs else str(index)
        per_worker[name] = per_worker.get(name, 0) + 1
    lost = _lost_update_candidates(trace)
    crashed = [p.name for p in procs.values() if p.ended == "crashed" or p.errors]
    result = {
        "script": params.get("script"),
        "args": params.get("args", []),
        "exit_code": facts.get("exit_code"),
        "processes": len(procs),
        "objects": objects,
        "tasks": {"count": int(len(task_rows)), "per_worker": per_worker,
                  "functions": sorted({f for f in tasks_of.values() if f})},
        "lost_update_candidates": lost,
        "guard_missing": guard is not None,
        "notes": notes,
        "crashed": crashed,
        "left_running": left,
    }
    result["explanation"] = _explain(result, trace.meta.get("status"), facts.get("timeout_s"), guard)
    return result


def _lost_update_candidates(trace: Trace) -> list[dict]:
    """Values written by ≥ 2 processes where a write did not go past the largest value written before it
    by another process: the trace of a read-modify-write that raced (``counter.value += 1`` without a lock)."""
    out = []
    for slot, spec in enumerate(trace.meta.get("value_slots") or []):
        _times, values, writers = trace.values(slot)
        if len(values) < 3 or len(np.unique(writers)) < 2:
            continue
        stale = 0
        for k in range(2, len(values)):  # the first write is the initial value, made by the creator
            earlier = values[1:k][writers[1:k] != writers[k]]
            if len(earlier) and values[k] <= earlier.max() and values[k] > values[0]:
                stale += 1
        if stale:
            out.append({"name": spec.get("name"), "writes": int(len(values) - 1),
                        "writers": int(len(np.unique(writers[1:]))), "stale_writes": stale,
                        "final": float(values[-1])})
    return out


def _explain(result: dict, status, timeout_s, guard) -> dict:
    name = os.path.basename(result["script"] or "script")
    code = result["exit_code"]
    n = result["processes"]
    en = [f"{name} ran in {n} process{'es' if n != 1 else ''}; exit code {code}."]
    zh = [f"{name} 共运行了 {n} 个进程；退出码 {code}。"]
    if status == "timeout":
        en.append(f"It did not end within --timeout {timeout_s} s: ProcScope ended it and every process it had "
                  "started.")
        zh.append(f"它没有在 --timeout {timeout_s} 秒内结束：ProcScope 结束了它以及它启动的所有进程。")
    elif status == "stopped":
        en.append("It was stopped; every process it had started was ended.")
        zh.append("运行被停止；它启动的所有进程都已结束。")
    if guard is not None:
        en.append("A spawned child ran the script's top level again and tried to start processes itself: the "
                  "script has no `if __name__ == \"__main__\":` guard around its start code. Under spawn (the "
                  "default on Windows and macOS) each child imports the main module as __mp_main__, so the code "
                  "that starts processes must sit under that guard.")
        zh.append("一个 spawn 子进程重新执行了脚本的顶层代码并试图自己启动进程：脚本缺少 "
                  "`if __name__ == \"__main__\":` 保护。在 spawn 方式下（Windows 和 macOS 的默认方式），每个子进程都"
                  "会以 __mp_main__ 的名字导入主模块，所以启动进程的代码必须放在这个保护之下。")
    if result["left_running"]:
        names = ", ".join(result["left_running"])
        en.append(f"Still running when the main process ended (never joined): {names}; ProcScope ended them.")
        zh.append(f"主进程结束时仍在运行（从未 join）：{names}；ProcScope 结束了它们。")
    if result["crashed"]:
        names = ", ".join(result["crashed"])
        en.append(f"Ended by an error or a non-zero exit: {names} (tracebacks under errors).")
        zh.append(f"因错误或非零退出码结束：{names}（回溯见 errors）。")
    if result["objects"]:
        kinds = ", ".join(f"{o['kind']} {o['name']}" for o in result["objects"][:8])
        more = len(result["objects"]) - 8
        en.append(f"Traced: {kinds}{f' and {more} more' if more > 0 else ''}.")
        zh.append(f"已追踪：{kinds}{f' 等另外 {more} 个' if more > 0 else ''}。")
    if result["tasks"]["count"]:
        spread = ", ".join(f"{w} {c}" for w, c in sorted(result["tasks"]["per_worker"].items()))
        en.append(f"{result['tasks']['count']} pool tasks ran: {spread}.")
        zh.append(f"进程池共运行了 {result['tasks']['count']} 个任务：{spread}。")
    for lost in result["lost_update_candidates"]:
        en.append(f"{lost['name']}: {lost['stale_writes']} of {lost['writes']} writes by {lost['writers']} processes "
                  "did not go past a value another process had already written — lost updates: read and write "
                  "were not under one lock.")
        zh.append(f"{lost['name']}：{lost['writers']} 个进程的 {lost['writes']} 次写入中有 {lost['stale_writes']} 次"
                  "没有超过另一个进程已写入的值——更新丢失：读和写没有在同一把锁的保护下进行。")
    for note in result["notes"]:
        en.append(note["en"] or "")
        zh.append(note["zh"] or "")
    return {"en": " ".join(en), "zh": "".join(zh)}


def script_result_rows(summary: dict) -> list:
    """What the window's Result tab lists for a script run (``rows``: the lessons' result rows, en and zh):
    the exit code, the missing main guard, lost-update candidates, then tables of the processes, the traced
    objects, the lost updates, the pool tasks per worker and what could not be traced."""
    from app.core.lessons.rows import BAD, DASH, GOOD, Row, Table, Text, lost, process_names, yes_no

    r = summary.get("result") or {}
    code = r.get("exit_code")
    candidates = r.get("lost_update_candidates") or []
    out = [
        Row(Text("Exit code", "退出码"), DASH if code is None else code, GOOD if code == 0 else BAD),
        Row(Text("Processes", "进程"), r.get("processes", len(summary.get("processes", [])))),
        Row(Text("Traced objects", "被追踪的对象"), len(r.get("objects") or [])),
        lost(Text("Lost-update candidates", "可能丢失更新的值"), len(candidates)),
        yes_no(Text('Main guard missing (if __name__ == "__main__")', '缺少主模块保护（if __name__ == "__main__"）'),
               r.get("guard_missing"), good_when=False),
    ]
    if r.get("left_running"):
        out.append(Row(Text("Left running, ended by ProcScope", "仍在运行、由 ProcScope 结束"),
                       ", ".join(r["left_running"]), BAD))
    names = process_names(summary)
    procs = summary.get("processes") or []
    if procs:
        out.append(Table([Text("Process", "进程"), Text("PID", "PID"), Text("__main__", "__main__"),
                          Text("Exit code", "退出码"), Text("Ended", "结束方式")],
                         [[names.get(p.get("index"), p.get("name")), p.get("pid"), p.get("main_module"),
                           p.get("exitcode"), _ended(p.get("ended"))] for p in procs]))
    objects = r.get("objects") or []
    if objects:
        out.append(Table([Text("Object", "对象"), Text("Kind", "类型"), Text("Created at", "创建位置")],
                         [[o.get("name"), o.get("kind"), _where(o)] for o in objects]))
    if candidates:
        out.append(Table([Text("Value", "共享值"), Text("Writes", "写入次数"), Text("Writers", "写入进程数"),
                          Text("Stale writes", "过时的写入"), Text("Final", "最终值")],
                         [[c.get("name"), c.get("writes"), c.get("writers"), c.get("stale_writes"), c.get("final")]
                          for c in candidates]))
    per_worker = (r.get("tasks") or {}).get("per_worker") or {}
    if per_worker:
        out.append(Table([Text("Pool worker", "进程池工作进程"), Text("Tasks", "任务数")],
                         [[w, n] for w, n in sorted(per_worker.items())]))
    notes = r.get("notes") or []
    if notes:
        out.append(Table([Text("Not traced", "未被追踪")], [[Text(n.get("en") or "", n.get("zh") or "")]
                                                           for n in notes]))
    return out


def _ended(how) -> object:
    from app.core.lessons.rows import DASH, Text

    words = {"done": Text("done", "完成"), "crashed": Text("crashed", "崩溃"),
             "terminated": Text("terminated", "被终止"), "stopped": Text("stopped", "被停止"),
             "running": Text("running", "运行中")}
    return words.get(how, how if how is not None else DASH)


def _where(obj: dict) -> str:
    file, line = obj.get("file"), obj.get("line")
    if not file:
        return "—"
    return f"{os.path.basename(file)}:{line}" if line is not None else os.path.basename(file)
