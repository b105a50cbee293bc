"""The result of a run in words and numbers.

The explanation the lesson wrote (in the current language), then the rows
the lesson gives for its result (``Lesson.result_rows``: labelled figures and
tables, good or bad news in colour), the same for every lesson.
It renders the ``--json`` summary (``app.core.summary.build_summary``), the
same dict the command line prints, so a replayed file reads like a live run.

Language: the explanation comes from ``result["explanation"]["en"|"zh"]``.
Which key, in this order: ``set_language_key("en"|"zh")`` if it was called
(it wins until the next ``retranslate()`` with a ``Language``); else the
``Language`` passed to the constructor, re-read by ``retranslate()``; else the
language the app shows now (``app.gui.i18n.installed_lesson_key``), asked by ``retranslate()``, so a
window that just calls ``retranslate()`` on a language change gets the
explanation in the new language.
"""

from __future__ import annotations

import html
import json
import os

from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import QTextBrowser, QWidget

from app.core.events import FINAL_STATUSES
from app.core.lessons import LESSONS, rows
from app.core.script import SCRIPT_LESSON
from app.core.summary import summarize
from app.core.trace import Trace
from app.gui.i18n import installed_lesson_key
from app.gui.panels.run_outcome import BAD, GOOD, outcome_color, outcome_text
from app.gui.view import TraceViewMixin

__all__ = ["BAD", "GOOD", "ResultView"]
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
        # Words are never broken ("Proces/s"): a table too wide for the panel scrolls sideways instead.
        self.setWordWrapMode(QTextOption.WrapMode.WordWrap)
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

    def set_trace(self, trace: Trace | None, summary: dict | None = None) -> None:
        """A new run or file: the previous summary no longer applies. ``summary``, when the caller has
        it already, is shown at once (a big replay's summary is not computed twice)."""
        self._summary = summary
        self._auto_summary = None
        super().set_trace(trace)

    def retranslate(self) -> None:
        if self._language is not None:
            self._key = self._language.lesson_key
            self._explicit_key = False
        elif not self._explicit_key:
            self._key = installed_lesson_key()
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
                self._auto_summary = summarize(trace)  # a foreign or broken trace: a summary saying why
            return self._auto_summary
        return None

    def _render(self) -> None:
        summary = self._current()
        if summary is not None and "error" in summary and "lesson" not in summary:
            why = self.tr("The result could not be computed: {error}").format(error=summary["error"])
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

    @staticmethod
    def _table(headers: list[str] | None, body: list[list[str]]) -> str:
        """Headers and cells are HTML already (escaped)."""
        out = ['<table border="1" cellspacing="0" cellpadding="4">']
        if headers:  # a header is one or two short words: kept on one line, the column sized to it
            out.append("<tr>" + "".join(f'<th style="white-space:nowrap">{h}</th>' for h in headers) + "</tr>")
        for row in body:
            out.append("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
        out.append("</table>")
        return "".join(out)

    def _rows(self, items: list) -> str:
        """A lesson's result rows: consecutive ``Row`` items as one table of figures, each ``Table`` as itself."""
        blocks: list[str] = []
        figures: list[list[str]] = []
        for item in items:
            if isinstance(item, rows.Row):
                figures.append([f"<b>{self._cell(item.label)}</b>", self._cell(item.value, item.emphasis)])
                continue
            if not isinstance(item, rows.Table):
                raise TypeError(f"result rows: {type(item).__name__} is not a Row or a Table")
            if figures:
                blocks.append(self._table(None, figures))
                figures = []
            blocks.append(self._table([self._cell(h) for h in item.headers],
                                      [[self._cell(c) for c in row] for row in item.rows]))
        if figures:
            blocks.append(self._table(None, figures))
        return "<p></p>".join(blocks)

    def _cell(self, value, emphasis: str = rows.NEUTRAL) -> str:
        """A value as escaped HTML in the current language; good or bad news in colour."""
        if isinstance(value, rows.Text):
            value = value.get(self._key)
        text = rows.DASH if value is None else _esc(value)
        if emphasis == rows.NEUTRAL:
            return text
        return f'<span style="color:{GOOD if emphasis == rows.GOOD else BAD}"><b>{text}</b></span>'

    def _render_summary(self, s: dict) -> str:
        key = self._key
        lesson = LESSONS.get(s.get("lesson", ""))
        title = (lesson.title_zh if key == "zh" else lesson.title_en) if lesson else str(s.get("lesson") or "")
        result = s.get("result") or {}
        explanation = result.get("explanation") or {}
        words = explanation.get(key) or explanation.get("en") or ""
        status = s.get("status")
        color = outcome_color(status, s)
        parts = [f"<h3>{_esc(title)}</h3>"]
        meta = self.tr("Status: {status} · start method: {method} · {seconds} s").format(
            status="\0", method=s.get("start_method") or "—", seconds=_seconds(s.get("duration_s")))
        parts.append("<p>" + _esc(meta).replace(
            "\0", f'<span style="color:{color}"><b>{_esc(outcome_text(status, s))}</b></span>') + "</p>")
        if words:
            parts.append(f"<p>{_esc(words, limit=None)}</p>")
        if s.get("error"):  # the run could not be summarised (the controller says why)
            parts.append(f'<p style="color:{BAD}">{_esc(str(s["error"]))}</p>')
        result_rows = lesson.result_rows if lesson is not None else None
        if s.get("lesson") == SCRIPT_LESSON:  # the user's own script: what was found in it
            from app.core.script.result import script_result_rows as result_rows

            params = s.get("params") if isinstance(s.get("params"), dict) else {}
            title = self.tr("Your script: {0}").format(os.path.basename(str(params.get("script") or "")))
            parts[0] = f"<h3>{_esc(title)}</h3>"
        if result_rows is not None:
            try:
                parts.append(self._rows(result_rows(s)))
            except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
                # an old or foreign file: say what is missing instead of crashing
                why = self.tr("Some figures are missing from this result: {error}").format(error=exc)
                parts.append(f"<p>{_esc(why)}</p>")
        crashed = [p for p in s.get("processes", []) if p.get("errors")]
        if crashed or s.get("errors"):
            names = ", ".join(p.get("name") or str(p.get("index")) for p in crashed)
            text = self.tr("Errors were reported (see the console): {names}").format(
                names=names or self.tr("parent"))
            parts.append(f'<p style="color:{BAD}">{_esc(text)}</p>')
        return "".join(parts)
