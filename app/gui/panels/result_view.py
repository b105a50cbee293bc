"""The result of a run in words and numbers.

The explanation the lesson wrote (in the current language), then the key
figures of that lesson as a small HTML table: expected vs actual, the
deadlock's cycle, the pool's wall time vs the ideal, the speedup table, ...
It renders the ``--json`` summary (``app.core.summary.build_summary``), the
same dict the command line prints, so a replayed file reads like a live run.

Language: the explanation comes from ``result["explanation"]["en"|"zh"]``.
Which key, in this order: ``set_language_key("en"|"zh")`` if it was called
(it wins until the next ``retranslate()`` with a ``Language``); else the
``Language`` passed to the constructor, re-read by ``retranslate()``; else the
installed translator, asked by ``retranslate()`` (the marker string
``lesson-language-key:en`` translates to ``lesson-language-key:zh`` in Chinese), so a
window that just calls ``retranslate()`` on a language change gets the
explanation in the new language.
"""

from __future__ import annotations

import html
import json

from PySide6.QtWidgets import QTextBrowser, QWidget

from app.core.lessons import LESSONS
from app.core.runner import FINAL_STATUSES
from app.core.summary import build_summary
from app.core.trace import Trace
from app.gui.view import TraceViewMixin

GOOD = "#009E73"  # Okabe–Ito bluish green
BAD = "#D55E00"  # Okabe–Ito vermillion
LONG = 400  # characters of a value shown before it is cut (the full value is in the --json summary)


def _esc(value, limit: int | None = LONG) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = json.dumps(value, ensure_ascii=False)
    if limit is not None and len(text) > limit:
        text = text[:limit] + " …"
    return html.escape(text)


def _seconds(value) -> str:
    return "—" if value is None else f"{value:.3f}"


class ResultView(QTextBrowser, TraceViewMixin):
    """Public: ``set_summary(dict | None)``, ``set_trace``/``refresh``/``set_cursor`` (mixin),
    ``set_language_key("en"|"zh")``, ``language_key``, ``retranslate()``."""

    def __init__(self, language=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("resultView")
        self.setOpenExternalLinks(False)
        self.setReadOnly(True)
        self._language = language  # app.gui.i18n.Language or None
        self._explicit_key = False
        self._key = "en"
        self._summary: dict | None = None
        self._auto_summary: dict | None = None  # built here from a finished trace without a summary
        self._html = ""
        self.retranslate()

    # --- public --------------------------------------------------------------------
    @property
    def language_key(self) -> str:
        return self._key

    def set_language_key(self, key: str) -> None:
        self._key = "zh" if key == "zh" else "en"
        self._explicit_key = True
        self._render()

    def set_summary(self, summary: dict | None) -> None:
        """Show a finished run's summary; ``None`` goes back to what the trace says (running…)."""
        self._summary = summary
        self._render()

    def set_trace(self, trace: Trace | None) -> None:
        """A new run or file: the previous summary no longer applies (call ``set_summary`` after)."""
        self._summary = None
        self._auto_summary = None
        super().set_trace(trace)

    def retranslate(self) -> None:
        if self._language is not None:
            self._key = self._language.lesson_key
            self._explicit_key = False
        elif not self._explicit_key:
            self._key = "zh" if self.tr("lesson-language-key:en").endswith(":zh") else "en"
        self._render()

    def redraw(self, trace: Trace | None) -> None:
        self._render()

    # --- rendering -------------------------------------------------------------------
    def _current(self) -> dict | None:
        if self._summary is not None:
            return self._summary
        trace = self._trace
        if trace is not None and trace.meta.get("status") in FINAL_STATUSES:
            if self._auto_summary is None:
                try:
                    self._auto_summary = build_summary(trace)
                except Exception as exc:  # noqa: BLE001 - a foreign or broken trace: say so, do not crash
                    self._auto_summary = {"_error": f"{type(exc).__name__}: {exc}"}
            return self._auto_summary
        return None

    def _render(self) -> None:
        summary = self._current()
        if summary is not None and "_error" in summary:
            why = self.tr("The result could not be computed: {error}").format(error=summary["_error"])
            text = self._page(self.tr("No result"), why)
        elif summary is not None:
            text = self._render_summary(summary)
        elif self._trace is not None:
            text = self._page(self.tr("Running…"), self.tr("The result appears when the run ends."))
        else:
            text = self._page(self.tr("No result yet"), self.tr("Run the lesson to see its result here."))
        if text != self._html:
            self._html = text
            self.setHtml(text)

    @staticmethod
    def _page(title: str, text: str) -> str:
        return f"<h3>{_esc(title)}</h3><p>{_esc(text, limit=None)}</p>"

    def _table(self, headers: list[str] | None, rows: list[list[str]]) -> str:
        """Cells are HTML already (escape with ``_esc``)."""
        out = ['<table border="1" cellspacing="0" cellpadding="4">']
        if headers:
            out.append("<tr>" + "".join(f"<th>{_esc(h)}</th>" for h in headers) + "</tr>")
        for row in rows:
            out.append("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
        out.append("</table>")
        return "".join(out)

    def _figures(self, rows: list[tuple[str, str]]) -> str:
        return self._table(None, [[f"<b>{_esc(label)}</b>", value] for label, value in rows])

    def _yes_no(self, flag, good_when=True) -> str:
        if flag is None:
            return "—"
        color = GOOD if bool(flag) == good_when else BAD
        return f'<span style="color:{color}"><b>{_esc(self.tr("yes") if flag else self.tr("no"))}</b></span>'

    def _status_word(self, status) -> str:
        words = {
            "done": self.tr("done"), "crashed": self.tr("crashed"), "stopped": self.tr("stopped"),
            "timeout": self.tr("timed out"), "failed": self.tr("failed"), "deadlock": self.tr("deadlock"),
        }
        return words.get(status, str(status))

    def _render_summary(self, s: dict) -> str:
        key = self._key
        lesson = LESSONS.get(s.get("lesson", ""))
        title = (lesson.title_zh if key == "zh" else lesson.title_en) if lesson else str(s.get("lesson") or "")
        result = s.get("result") or {}
        explanation = result.get("explanation") or {}
        words = explanation.get(key) or explanation.get("en") or ""
        status = s.get("status")
        color = GOOD if status == "done" else BAD
        parts = [f"<h3>{_esc(title)}</h3>"]
        meta = self.tr("Status: {status} · start method: {method} · {seconds} s").format(
            status="\0", method=s.get("start_method") or "—", seconds=_seconds(s.get("duration_s")))
        parts.append("<p>" + _esc(meta).replace(
            "\0", f'<span style="color:{color}"><b>{_esc(self._status_word(status))}</b></span>') + "</p>")
        if words:
            parts.append(f"<p>{_esc(words, limit=None)}</p>")
        if s.get("error"):  # the run could not be summarised (the controller says why)
            parts.append(f'<p style="color:{BAD}">{_esc(str(s["error"]))}</p>')
        builder = getattr(self, f"_lesson_{s.get('lesson')}", None)
        if builder is not None:
            try:
                parts.append(builder(result, s))
            except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
                why = self.tr("Some figures are missing from this result: {error}").format(error=exc)
                parts.append(f"<p>{_esc(why)}</p>")
        crashed = [p for p in s.get("processes", []) if p.get("errors")]
        if crashed or s.get("errors"):
            names = ", ".join(p.get("name") or str(p.get("index")) for p in crashed)
            text = self.tr("Errors were reported (see the console): {names}").format(
                names=names or self.tr("parent"))
            parts.append(f'<p style="color:{BAD}">{_esc(text)}</p>')
        return "".join(parts)

    # --- one figure table per lesson ----------------------------------------------------
    def _names(self, s: dict) -> dict[int, str]:
        return {p["index"]: p.get("name") or f"#{p['index']}" for p in s.get("processes", [])}

    def _lost(self, lost) -> str:
        if lost is None:
            return "—"
        return f'<span style="color:{BAD if lost else GOOD}"><b>{_esc(lost)}</b></span>'

    def _lesson_counter(self, r: dict, s: dict) -> str:
        figures = self._figures([
            (self.tr("Sharing"), _esc(r["sharing"])),
            (self.tr("Lock"), _esc(r["lock"])),
            (self.tr("Expected"), _esc(r["expected"])),
            (self.tr("Actual (the parent sees)"), _esc(r["actual"])),
            (self.tr("Lost updates"), self._lost(r["lost_updates"])),
        ])
        workers = sorted((p for p in s.get("processes", []) if p.get("role") == "worker"), key=lambda p: p["index"])
        views = {v["worker"]: v["views"] for v in r.get("worker_views", [])}
        rows = []
        for i, p in enumerate(workers):
            t = p.get("time_in_state_s") or {}
            seen = " ".join(f"{a}→{b}" for a, b in views.get(i, []))
            rows.append([_esc(p.get("name")), _esc(seen or "—"), _seconds(t.get("waiting", 0.0)),
                         _seconds(t.get("holding", 0.0))])
        per_worker = self._table([self.tr("Process"), self.tr("read → wrote"), self.tr("waiting (s)"),
                                  self.tr("holding (s)")], rows) if rows else ""
        return figures + ("<p></p>" + per_worker if per_worker else "")

    def _lesson_shared_array(self, r: dict, s: dict) -> str:
        rows = [
            (self.tr("Typecode"), _esc(f"'{r['typecode']}' ({r['ctype']})")),
            (self.tr("Expected"), _esc(r["expected"])),
            (self.tr("Actual"), _esc(r["actual"])),
            (self.tr("Lost updates"), self._lost(r["lost_updates"])),
            (self.tr("Overflowed"), self._yes_no(r["overflowed"], good_when=False)),
        ]
        if r.get("overflowed"):
            rows.append((self.tr("True sum (without overflow)"), _esc(r["expected_unbounded"])))
        rows.append((self.tr("Final array"), _esc(r["array"])))
        return self._figures(rows)

    def _lesson_deadlock(self, r: dict, s: dict) -> str:
        names = self._names(s)
        rows = [(self.tr("Deadlock detected"), self._yes_no(r["detected"], good_when=True))]
        if r.get("detected"):
            steps = [self.tr("{process} waits for lock {lock}").format(process=names.get(i, f"#{i}"), lock=lock)
                     for i, lock in zip(r["cycle"], r["locks"], strict=False)]
            first = names.get(r["cycle"][0], "") if r["cycle"] else ""
            cycle = " → ".join(steps + ([first] if first else []))
            rows.append((self.tr("Wait-for cycle"), f"<b>{_esc(cycle)}</b>"))
            rows.append((self.tr("Cycle (process indexes)"), _esc(r["cycle"])))
            rows.append((self.tr("Formed at (s)"), _seconds(r.get("formed_s"))))
            detect = r.get("detect_s")
            rows.append((self.tr("Time to detection (ms)"), "—" if detect is None else f"{detect * 1000:.1f}"))
        return self._figures(rows)

    def _lesson_pool(self, r: dict, s: dict) -> str:
        wall, ideal = r.get("wall_s"), r.get("ideal_s")
        ratio = f" ({wall / ideal:.2f}×)" if wall is not None and ideal else ""
        figures = self._figures([
            (self.tr("Mode"), _esc(r["mode"])),
            (self.tr("Tasks done"), _esc(r["done"])),
            (self.tr("Tasks cancelled"), self._lost(r["cancelled"])),
            (self.tr("Distinct worker processes"), _esc(r["distinct_workers"])),
            (self.tr("Wall time (s)"), _seconds(wall) + _esc(ratio)),
            (self.tr("Ideal time (s)"), _seconds(ideal)),
            (self.tr("Pool start-up (s)"), _seconds(r.get("pool_start_s"))),
        ])
        per_pid: dict = {}
        for task in r.get("tasks", []):
            if task.get("worker_pid") is not None and task.get("status") == "done":
                per_pid.setdefault(task["worker_pid"], []).append(task["task"])
        rows = [[_esc(pid), _esc(len(tasks)), _esc(tasks)] for pid, tasks in sorted(per_pid.items())]
        table = self._table([self.tr("Worker pid"), self.tr("Tasks"), self.tr("Which")], rows) if rows else ""
        return figures + ("<p></p>" + table if table else "")

    def _lesson_speedup(self, r: dict, s: dict) -> str:
        rows = [[_esc(p["workers"]), _esc(p["start_method"]), _seconds(p["wall_s"]),
                 "—" if p.get("speedup") is None else f"{p['speedup']:.2f}×", f"{p['workers']}×"]
                for p in r.get("points", [])]
        table = self._table([self.tr("Workers"), self.tr("Start method"), self.tr("Wall time (s)"),
                             self.tr("Speedup"), self.tr("Ideal")], rows)
        serial = r.get("serial_fraction")
        costs = ", ".join(f"{m} {c * 1000:.0f} ms" for m, c in (r.get("start_cost_s") or {}).items() if c is not None)
        figures = self._figures([
            (self.tr("Serial fraction (Amdahl fit)"), "—" if serial is None else f"{serial:.3f}"),
            (self.tr("CPUs on this machine"), _esc(r.get("cpu_count"))),
            (self.tr("Start cost per process"), _esc(costs or "—")),
        ])
        return table + "<p></p>" + figures

    def _lesson_sync(self, r: dict, s: dict) -> str:
        invariant = r.get("invariant") or {}
        rows = [
            (self.tr("Primitive"), _esc(r["primitive"])),
            (self.tr("Invariant"), _esc(invariant.get(self._key) or invariant.get("en") or "")),
            (self.tr("Invariant held"), self._yes_no(r["invariant_held"])),
        ]
        if "max_concurrent" in r:
            rows.append((self.tr("Most working at once"), _esc(f"{r['max_concurrent']} (k = {r.get('k')})")))
        if "waited_s" in r:
            names = self._names(s)
            waited = ", ".join(f"{names.get(int(i), i)} {w:.3f}" for i, w in r["waited_s"].items())
            rows.append((self.tr("Waited for the event (s)"), _esc(waited)))
        if "produced" in r:
            rows.append((self.tr("Produced / consumed"), _esc(f"{r['produced']} / {r['consumed']}")))
            rows.append((self.tr("Lowest stock"), _esc(r["min_stock"])))
            rows.append((self.tr("Woken without a notify"), _esc(r["woken_without_notify"])))
        if "phase_gaps_s" in r:
            rows.append((self.tr("Gaps between phases (s)"), _esc(r["phase_gaps_s"])))
        if r.get("violations"):
            rows.append((self.tr("Violations"), f'<span style="color:{BAD}">{_esc(r["violations"])}</span>'))
        return self._figures(rows)

    def _lesson_queue_relay(self, r: dict, s: dict) -> str:
        rows = [[_esc(n + 1), _esc(self.tr("worker {i}").format(i=step["worker"])), _esc(step["got"]),
                 _esc(step["put"])] for n, step in enumerate(r.get("chain", []))]
        chain = " → ".join(["0"] + [str(step["put"]) for step in r.get("chain", [])])
        figures = self._figures([
            (self.tr("Chain intact"), self._yes_no(r["chain_intact"])),
            (self.tr("Token path"), _esc(chain)),
            (self.tr("Left in the queue"), _esc(r.get("left_in_queue"))),
        ])
        table = self._table([self.tr("Step"), self.tr("Getter"), self.tr("Got"), self.tr("Put")], rows)
        return figures + "<p></p>" + table

    def _lesson_manager(self, r: dict, s: dict) -> str:
        figures = self._figures([
            (self.tr("Proxy"), _esc(r["proxy"])),
            (self.tr("Final contents"), _esc(r["final"])),
            (self.tr("Expected"), _esc("—" if r.get("expected_final") is None else r["expected_final"])),
            (self.tr("As expected"), self._yes_no(r.get("final_as_expected"))),
            (self.tr("Manager server pid"), _esc(r.get("server_pid"))),
        ])
        rows = [[_esc(self.tr("worker {i}").format(i=o["worker"])), _esc(o["saw"])] for o in r.get("observed", [])]
        table = self._table([self.tr("Process"), self.tr("Saw after its write")], rows) if rows else ""
        return figures + ("<p></p>" + table if table else "")

    def _lesson_isolation(self, r: dict, s: dict) -> str:
        parent = r.get("parent_list")
        figures = self._figures([
            (self.tr("Parent's list after join"),
             f'<span style="color:{GOOD if parent == [] else BAD}"><b>{_esc(parent)}</b></span>'),
        ])
        rows = [[_esc(self.tr("child {i}").format(i=i)), _esc(lst), _esc(ident)]
                for i, (lst, ident) in enumerate(zip(r.get("child_lists", []), r.get("child_list_ids", []),
                                                     strict=False))]
        table = self._table([self.tr("Process"), self.tr("Its own list"), "id()"], rows)
        return figures + "<p></p>" + table

    def _lesson_basics(self, r: dict, s: dict) -> str:
        parent = s.get("parent_pid")
        rows = [[_esc(name), _esc(pid), _esc(ppid), _esc(main)]
                for name, pid, ppid, main in zip(r.get("names", []), r.get("pids", []), r.get("ppids", []),
                                                 r.get("main_modules", []), strict=False)]
        table = self._table([self.tr("Name"), self.tr("PID"), self.tr("PPID"), "__main__"], rows)
        figures = self._figures([
            (self.tr("Parent pid"), _esc(parent)),
            (self.tr("Every ppid is the parent"), self._yes_no(r.get("all_ppid_is_parent"))),
            (self.tr("Start order"), _esc(r.get("start_order"))),
            (self.tr("Run order"), _esc(r.get("run_order"))),
        ])
        return table + "<p></p>" + figures
