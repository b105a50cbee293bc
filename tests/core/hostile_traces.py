"""Mutated trace files for the hostile-input tests: byte flips, truncations, member swaps, type swaps, huge sizes.

Deterministic (seeded): a failure names a mutation that can be made again.
"""

from __future__ import annotations

import io
import json
import random
import struct
import zipfile

import numpy as np

from app.core import events as ev

MEMBERS = ("format.json", "meta.json", "texts.json", "records.npy")
ODD_VALUES = (True, False, "abc", float("nan"), float("inf"), 1e400, 10**30, -1, 0, None, [], {}, [[1]],
              {"a": {"b": 1}}, "x" * 300, 2**63, -(2**63) - 1, 1.5)


def members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def zip_bytes(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def declare_size(data: bytes, member: str, size: int) -> bytes:
    """The same zip, its central directory declaring ``size`` uncompressed bytes for ``member``."""
    out = bytearray(data)
    name = member.encode()
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        name_len = struct.unpack_from("<H", out, at + 28)[0]
        if bytes(out[at + 46: at + 46 + name_len]) == name:
            struct.pack_into("<I", out, at + 24, size)
        at = out.find(b"PK\x01\x02", at + 4)
    return bytes(out)


def _replace_somewhere(rng: random.Random, value):
    """``value`` with one nested item (a dict value or a list element) swapped for an odd value."""
    if isinstance(value, dict) and value:
        key = rng.choice(sorted(value, key=str))
        copy = dict(value)
        copy[key] = _replace_somewhere(rng, value[key]) if rng.random() < 0.5 else rng.choice(ODD_VALUES)
        return copy
    if isinstance(value, list) and value:
        k = rng.randrange(len(value))
        copy = list(value)
        copy[k] = _replace_somewhere(rng, value[k]) if rng.random() < 0.5 else rng.choice(ODD_VALUES)
        return copy
    return rng.choice(ODD_VALUES)


def mutations(good: bytes, seed: int = 15):
    """``(name, bytes)`` of at least 200 mutated trace files made from ``good``."""
    rng = random.Random(seed)
    parts = members_of(good)
    out = []
    for k in range(70):  # byte flips anywhere in the file
        data = bytearray(good)
        for _ in range(rng.choice((1, 1, 2, 8))):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        out.append((f"flip-{k}", bytes(data)))
    for k in range(30):  # truncations
        out.append((f"truncate-{k}", good[: rng.randrange(len(good))]))
    for a in MEMBERS:  # member swaps and losses
        out.append((f"drop-{a}", zip_bytes({n: d for n, d in parts.items() if n != a})))
        for b in MEMBERS:
            if a < b:
                swapped = dict(parts)
                swapped[a], swapped[b] = parts[b], parts[a]
                out.append((f"swap-{a}-{b}", zip_bytes(swapped)))
    for k in range(80):  # type swaps inside the JSON members
        name = ("format.json", "meta.json", "texts.json", "texts.json")[k % 4]
        value = _replace_somewhere(rng, json.loads(parts[name]))
        changed = dict(parts)
        changed[name] = dumps(value)
        out.append((f"type-{name}-{k}", zip_bytes(changed)))
    records = np.load(io.BytesIO(parts["records.npy"]), allow_pickle=False)
    for k in range(20):  # records of another shape, type or range
        changed = dict(parts)
        choice = k % 5
        if choice == 0:
            bad = records.astype(np.float64)
        elif choice == 1:
            bad = records[:, :4].copy()
        elif choice == 2:
            bad = records.ravel().copy()
        else:
            bad = records.copy()
            bad[rng.randrange(len(bad)), rng.randrange(ev.RECORD_FIELDS)] = rng.choice((-(2**63), 2**63 - 1, -5, 99))
        changed["records.npy"] = npy(bad)
        out.append((f"records-{k}", zip_bytes(changed)))
    for k, member in enumerate(MEMBERS * 4):  # huge (or lying) declared sizes
        size = (2**32 - 16, 2**31, 10**9, 0)[k // len(MEMBERS)]
        out.append((f"declared-{member}-{size}", declare_size(good, member, size)))
    return out
