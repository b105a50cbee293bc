"""A small Python syntax highlighter: keywords, builtins, strings, comments, numbers, decorators.

Triple-quoted strings may span lines: the block state remembers which quote is
still open (1: ``\"\"\"``, 2: ``'''``).
"""

from __future__ import annotations

import builtins
import keyword
import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

COLORS = {
    "keyword": "#0033B3",
    "builtin": "#7A3E9D",
    "string": "#067D17",
    "comment": "#8C8C8C",
    "number": "#1750EB",
    "decorator": "#9E880D",
    "definition": "#00627A",
}

_KEYWORDS = set(keyword.kwlist) | set(getattr(keyword, "softkwlist", ()))
_BUILTINS = {name for name in dir(builtins) if not name.startswith("_")}
_TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n]*)
  | (?P<triple>(?:[rRbBuUfF]{0,2})(?:\"\"\"|'''))
  | (?P<string>(?:[rRbBuUfF]{0,2})(?:"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?))
  | (?P<number>\b(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?j?)\b)
  | (?P<decorator>^\s*@[\w.]+)
  | (?P<word>\b[A-Za-z_]\w*\b)
    """,
    re.VERBOSE,
)
_DEFINITION = re.compile(r"\b(?:def|class)\s+([A-Za-z_]\w*)")
NO_STRING, IN_DOUBLE, IN_SINGLE = -1, 1, 2
_CLOSERS = {IN_DOUBLE: '"""', IN_SINGLE: "'''"}


def _format(color: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(color))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    if italic:
        fmt.setFontItalic(True)
    return fmt


class PythonHighlighter(QSyntaxHighlighter):
    def __init__(self, document: QTextDocument):
        super().__init__(document)
        self.formats = {
            "keyword": _format(COLORS["keyword"], bold=True),
            "builtin": _format(COLORS["builtin"]),
            "string": _format(COLORS["string"]),
            "comment": _format(COLORS["comment"], italic=True),
            "number": _format(COLORS["number"]),
            "decorator": _format(COLORS["decorator"]),
            "definition": _format(COLORS["definition"], bold=True),
        }

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt's name
        self.setCurrentBlockState(NO_STRING)
        start = 0
        open_quote = self.previousBlockState()
        if open_quote in _CLOSERS:  # inside a triple-quoted string from an earlier line
            end = text.find(_CLOSERS[open_quote])
            if end < 0:
                self.setFormat(0, len(text), self.formats["string"])
                self.setCurrentBlockState(open_quote)
                return
            start = end + 3
            self.setFormat(0, start, self.formats["string"])
        quoted = [(0, start)] if start else []  # spans of strings and comments
        position = start
        while position < len(text):
            match = _TOKEN.search(text, position)
            if match is None:
                break
            kind = match.lastgroup
            begin, finish = match.span()
            if kind == "triple":
                quote = text[finish - 3:finish]
                close = text.find(quote, finish)
                if close < 0:
                    self.setFormat(begin, len(text) - begin, self.formats["string"])
                    self.setCurrentBlockState(IN_DOUBLE if quote == '"""' else IN_SINGLE)
                    return
                finish = close + 3
                self.setFormat(begin, finish - begin, self.formats["string"])
                quoted.append((begin, finish))
            elif kind == "word":
                word = match.group()
                if word in _KEYWORDS:
                    self.setFormat(begin, finish - begin, self.formats["keyword"])
                elif word in _BUILTINS:
                    self.setFormat(begin, finish - begin, self.formats["builtin"])
            elif kind in ("comment", "string", "number", "decorator"):
                self.setFormat(begin, finish - begin, self.formats[kind])
                if kind in ("comment", "string"):
                    quoted.append((begin, finish))
            position = max(finish, begin + 1)
        for match in _DEFINITION.finditer(text, start):
            if any(b <= match.start() < e for b, e in quoted):
                continue
            self.setFormat(match.start(1), len(match.group(1)), self.formats["definition"])
