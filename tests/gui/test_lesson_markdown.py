"""Every lesson text renders as Markdown the way it reads: no emphasis left as literal asterisks (CommonMark
does not close `**` after a Chinese bracket that runs into the next character: `参数**停顿（hold_at）**决定`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtGui import QTextDocument

LESSON_TEXTS = sorted((Path(__file__).resolve().parents[2] / "resources" / "lessons").glob("*.md"))
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)  # code shows its asterisks on purpose


@pytest.mark.parametrize("path", LESSON_TEXTS, ids=lambda p: p.name)
def test_no_emphasis_is_left_as_literal_asterisks(qapp, path):
    document = QTextDocument()
    document.setMarkdown(_CODE.sub("code", path.read_text(encoding="utf-8")))
    left = [line for line in document.toPlainText().splitlines() if "**" in line or re.search(r"(^|\s)\*\S", line)]
    assert not left, left
