"""The trace loader's JSON depth check (a bound on nesting, read before decoding) agrees with the nesting the
decoder finds, whatever the strings hold (brackets, quotes, backslashes) and wherever its chunks cut."""

from __future__ import annotations

import json
import random

import pytest

from app.core import trace_schema

WRAP = 70  # more brackets than the no-scan shortcut allows


def nesting(value) -> int:
    if isinstance(value, list):
        return 1 + max((nesting(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((nesting(v) for v in value.values()), default=0)
    return 0


def tricky_text(rng: random.Random) -> str:
    return "".join(rng.choice('[]{}"\\ab') for _ in range(rng.randint(0, 6)))


def document(rng: random.Random, level: int = 0):
    roll = rng.random()
    if level > 6 or roll < 0.3:
        return tricky_text(rng)
    if roll < 0.65:
        return [document(rng, level + 1) for _ in range(rng.randint(0, 3))]
    return {tricky_text(rng): document(rng, level + 1) for _ in range(rng.randint(0, 3))}


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 2**20])
def test_depth_matches_the_decoded_nesting_at_any_chunk_size(monkeypatch, chunk):
    monkeypatch.setattr(trace_schema, "_DEPTH_CHUNK", chunk)
    rng = random.Random(chunk)
    for _ in range(300):
        value = document(rng)
        for _ in range(WRAP):
            value = [value]
        raw = json.dumps(value).encode()
        assert trace_schema.json_depth(raw) == nesting(value), raw[:200]


def test_a_run_of_backslashes_across_a_chunk_border_still_escapes_the_quote(monkeypatch):
    monkeypatch.setattr(trace_schema, "_DEPTH_CHUNK", 4)
    inner = ["\\\\\\\"[[[[", "\\\\"]  # an escaped quote after escaped backslashes: the brackets stay in the string
    raw = json.dumps([[inner]] + [[]] * WRAP).encode()
    assert trace_schema.json_depth(raw) == 3
