"""The one declared schema of a ``.pstrace`` file, checked before anything is built.

Trace files are shared (e-mail, USB sticks, a course page), so a file is
untrusted input. ``read_trace_file`` checks, in this order and without trusting
anything it has not checked yet: the zip members and their *declared* sizes
(before any byte is decompressed, so a small zip that expands to gigabytes is
refused at once), the ``.npy`` header's shape against the record limit, the
raw JSON's nesting depth (counted on the bytes, so the decoder never recurses
deeply), then every field of ``format``, ``meta``, ``texts`` and ``records``:
its type (a ``bool`` is never an int, NaN and infinities are never numbers) and
its range. A refusal is one ``TraceFormatError`` naming the file, the field and
what was expected, in English and Chinese (the core has no Qt; the window and
the command line pick the language).
"""

from __future__ import annotations

import json
import math
import zipfile
import zlib

import numpy as np

from app.core import events as ev
from app.core.textlog import TextLog

MAX_RECORDS = 20_000_000  # ~800 MB of records: ample for a classroom run (a 64-worker counter makes 2.6M)
# Prints, results, errors, hellos: a run's texts grow with its events (the counter's results list every read and
# write: 37 MB for its largest run, 14 bytes per record), so their limit follows the records': any file the app
# writes, it opens (320 MB for the default record limit), and a small zip that inflates to more is still refused.
TEXTS_BYTES_PER_RECORD = 16
MIN_TEXTS_BYTES = 2**20
MAX_META_BYTES = 2**20
MAX_FORMAT_BYTES = 4096
MAX_JSON_DEPTH = 64  # a real trace nests 4 deep; the decoder recurses once per level
MAX_PROCESS_INDEX = 4096  # lanes are drawn per index: far above the 64 workers a lesson allows
MAX_VALUE_SLOTS = 64
MAX_NPY_HEADER = 4096
TIME_RANGE = (0, 2**62)  # nanoseconds of a monotonic clock, with room for differences in int64
INT64_RANGE = (-(2**63), 2**63 - 1)
NUMBER_LIMIT = 1e300  # value-slot figures are plotted: beyond this, arithmetic overflows
# bytes of records.npy read at a time: zipfile inflates a read into pieces it joins, so a 16 MB read cost ~60 MB
# of temporaries and 3x the time of 1 MB reads
_READ_CHUNK = 2**20
_CHECK_ROWS = 1 << 18  # records checked at a time: the rules' masks are temporaries of this many rows

MEMBERS = ("format.json", "meta.json", "texts.json", "records.npy")
TEXT_KINDS = (ev.PRINT, ev.RESULT, ev.ERROR, ev.HELLO, ev.META, ev.STEP)
RECORD_KINDS = (ev.STATE, ev.VALUE, ev.VALUE_F, ev.TASK, ev.EXIT, ev.SAMPLE, ev.LOCK, ev.QUEUE)
_RECORD_COLUMNS = ("t_ns", "process", "kind", "a", "b")

Text = tuple[str, str]  # (English, Chinese)


class TraceFormatError(ValueError):
    """A file that is not a readable ProcScope trace: one sentence, in English or Chinese."""

    def __init__(self, path: str, field: str, expected: Text, found: str | None = None):
        self.path, self.field, self.expected, self.found = str(path), field, expected, found
        super().__init__(self.message("en"))

    def message(self, lang: str = "en") -> str:
        found = self.found
        if lang == "zh":
            tail = f"，而不是 {found}" if found else ""
            return f"{self.path}：{self.field} 应为{self.expected[1]}{tail}。"
        tail = f", not {found}" if found else ""
        return f"{self.path}: {self.field} must be {self.expected[0]}{tail}."


def shown(value, limit: int = 60) -> str:
    """A value as the message shows it: its repr, cut (a 5,000-digit number is not echoed in full)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- the file and its members ------------------------------------------------------------------
class LoadCancelled(Exception):  # noqa: N818 - not an error: the user asked to stop
    """Raised by a ``progress`` callback to stop a load (the window's Cancel)."""


def read_trace_file(path: str, max_records: int | None = None, progress=None) -> tuple[dict, TextLog, np.ndarray]:
    """``(meta, texts, records)`` of a checked file; raises ``TraceFormatError``.

    ``progress(fraction)`` is called now and then from this thread; it may raise ``LoadCancelled``.
    """
    limit = MAX_RECORDS if max_records is None else max_records
    report = progress or (lambda _fraction: None)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = _check_members(path, zf, limit)
            report(0.01)
            header = _read_json(path, zf, infos["format.json"])
            _check_format(path, header)
            meta = _read_json(path, zf, infos["meta.json"])
            check_meta(path, meta)
            texts = _read_texts(path, zf, infos["texts.json"], lambda f: report(0.01 + 0.29 * f))
            records = _read_records(path, zf, infos["records.npy"], limit, lambda f: report(0.3 + 0.65 * f))
    except TraceFormatError:
        raise
    except FileNotFoundError:
        raise TraceFormatError(path, "the file", ("an existing file", "一个存在的文件"), "no such file") from None
    except IsADirectoryError:
        raise TraceFormatError(path, "the file", ("a file", "一个文件"), "a directory") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, RuntimeError,
            NotImplementedError, MemoryError, zlib.error) as exc:
        # Whatever the zip layer itself trips on (a bad CRC, a truncated member, a broken directory).
        expected = ("a ProcScope trace (a zip archive)", "ProcScope 轨迹文件（zip 压缩包）")
        raise TraceFormatError(path, "the file", expected, shown(str(exc) or type(exc).__name__, 120)) from None
    check_records(path, records)
    report(1.0)
    return meta, texts, records


def texts_limit(max_records: int = MAX_RECORDS) -> int:
    """The largest ``texts.json`` accepted alongside at most ``max_records`` records (bytes)."""
    return max(MIN_TEXTS_BYTES, TEXTS_BYTES_PER_RECORD * max_records)


def _check_members(path: str, zf: zipfile.ZipFile, max_records: int) -> dict[str, zipfile.ZipInfo]:
    infos = {}
    for name in MEMBERS:
        try:
            infos[name] = zf.getinfo(name)
        except KeyError:
            raise TraceFormatError(path, name, ("a member of the archive", "压缩包中的一个成员"), "missing") from None
    limits = {"format.json": MAX_FORMAT_BYTES, "meta.json": MAX_META_BYTES, "texts.json": texts_limit(max_records),
              "records.npy": MAX_NPY_HEADER + max_records * ev.RECORD_FIELDS * 8}
    for name, info in infos.items():
        if info.flag_bits & 0x1:
            raise TraceFormatError(path, name, ("not encrypted", "未加密"), "encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise TraceFormatError(path, name, ("stored or deflated", "存储或 deflate 压缩"),
                                   f"compression method {info.compress_type}")
        if info.file_size > limits[name]:
            # Checked on the size the archive declares, before decompressing: a zip bomb costs nothing.
            raise TraceFormatError(path, f"{name} size", (f"at most {limits[name]:,} bytes",
                                                          f"不超过 {limits[name]:,} 字节"),
                                   f"{info.file_size:,} bytes")
    return infos


def _read_texts(path: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo, report) -> TextLog:
    """The text events, checked, in a ``TextLog``: read and parsed a piece of ~1 MB at a time, so that
    neither the member's text nor its millions of events are ever all in memory as Python objects. A member
    that is not the plain JSON list a trace holds (or has any fault) is read again whole, as any other
    member, for the message that names the fault."""
    texts = _texts_in_pieces(path, zf, info, report)
    if texts is None:
        raw = zf.read(info)  # at most the declared size: zipfile stops there and checks the CRC
        items = _parse_json(path, info.filename, raw)
        del raw
        report(0.5)
        check_texts(path, items, lambda k: report(0.5 + 0.5 * k / max(1, len(items))))
        texts = TextLog(items)
    report(1.0)
    return texts


_PIECE = 1 << 20  # bytes of texts.json read and parsed at a time
_JSON_SPACE = b" \t\n\r"


def _texts_in_pieces(path: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo, report) -> TextLog | None:
    """The events of a well-formed ``texts.json``, read a piece at a time and cut at the list's own commas
    (``JsonScan``: the depth is checked before a piece is parsed); None at the first fault of any kind."""
    texts = TextLog()
    scan = JsonScan()
    head, buffer, read = True, b"", 0

    def add(piece: bytes) -> bool:
        try:
            items = json.loads("[" + piece.decode("utf-8") + "]")  # UnicodeDecodeError is a ValueError
            columns = check_texts(path, items, first=len(texts))
        except (ValueError, RecursionError, TraceFormatError):
            return False
        if not items:
            return False  # "[, ...]": not a list the whole member would parse as
        if columns is None:
            texts.extend(items)
        else:
            texts.extend_columns(*columns)
        return True

    with zf.open(info) as fp:
        while chunk := fp.read(_PIECE):  # reading to the end checks the CRC, as zf.read() does
            read += len(chunk)
            cuts: list[int] = []
            scan.feed(chunk, len(buffer), cuts)
            if scan.deepest > MAX_JSON_DEPTH:
                return None
            buffer += chunk
            if head:
                body = buffer.lstrip(_JSON_SPACE)
                if not body:
                    continue
                if body[:1] != b"[":
                    return None
                skip = len(buffer) - len(body) + 1
                buffer, cuts, head = buffer[skip:], [c - skip for c in cuts], False
            if cuts:
                if not add(buffer[:cuts[-1]]):
                    return None
                buffer = buffer[cuts[-1] + 1:]
            report(read / max(1, info.file_size))
    body = buffer.rstrip(_JSON_SPACE)
    if head or body[-1:] != b"]":
        return None
    body = body[:-1]
    if body.strip(_JSON_SPACE):
        return texts if add(body) else None
    return texts if not len(texts) else None  # "[]": no events; "[..., ]" is not JSON


def _read_json(path: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo):
    raw = zf.read(info)  # at most the declared size: zipfile stops there and checks the CRC
    return _parse_json(path, info.filename, raw)


def _parse_json(path: str, name: str, raw: bytes):
    expected = ("UTF-8 JSON", "UTF-8 编码的 JSON")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TraceFormatError(path, name, expected, f"a byte that is not UTF-8 at offset {exc.start}") from None
    depth = json_depth(raw)
    if depth > MAX_JSON_DEPTH:
        raise TraceFormatError(path, name, (f"JSON nested at most {MAX_JSON_DEPTH} deep",
                                            f"嵌套不超过 {MAX_JSON_DEPTH} 层的 JSON"), f"{depth} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TraceFormatError(path, name, expected, f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4,300 digits
        raise TraceFormatError(path, name, expected, shown(str(exc), 120)) from None


_OPEN = np.zeros(256, dtype=np.int8)
_OPEN[[ord("["), ord("{")]] = 1
_OPEN[[ord("]"), ord("}")]] = -1
_QUOTE, _BACKSLASH, _COMMA = ord('"'), ord("\\"), ord(",")
_MARK = _OPEN != 0
_MARK[[_QUOTE, _COMMA]] = True
_DEPTH_CHUNK = 2**20  # bytes scanned at a time: a few MB of numpy temporaries, whatever the file's size


def json_depth(raw: bytes) -> int:
    """The deepest bracket nesting of JSON text, brackets inside strings not counted; no recursion.

    Scanned with numpy, a chunk at a time (a 40 MB member in ~0.1 s): a quote opens or closes a string
    unless an odd run of backslashes escapes it; a bracket counts only outside strings."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return 0  # cannot be too deep: skip the scan (every real meta and format member)
    scan = JsonScan()
    for start in range(0, len(raw), _DEPTH_CHUNK):
        scan.feed(raw[start: start + _DEPTH_CHUNK])
    return scan.deepest


class JsonScan:
    """``json_depth`` fed a chunk at a time; ``cuts`` also receives where the outermost list's items part."""

    def __init__(self):
        self.depth = self.deepest = 0
        self.in_string = 0  # at the next chunk's start
        self.carry = 0  # backslashes that end the last chunk

    def feed(self, piece: bytes, offset: int = 0, cuts: list | None = None) -> None:
        """Scan the next ``piece``; ``cuts`` receives ``offset`` + the position of its last comma that
        separates two items of the outermost list (none if it has none)."""
        for start in range(0, len(piece), _DEPTH_CHUNK):
            self._feed(piece[start: start + _DEPTH_CHUNK], offset + start, cuts)

    def _feed(self, piece: bytes, offset: int, cuts: list | None) -> None:
        # Only the characters that can matter (quotes, brackets, commas: ~1 in 5 of a trace's texts) are
        # followed through the chunk: the depth and "inside a string" change only at them (3x faster than
        # following every byte; 0.5 s of a 36 MB member before)
        chars = np.frombuffer(piece, dtype=np.uint8)
        marks = np.flatnonzero(_MARK[chars])
        marked = chars[marks]
        carry = self.carry
        if carry or b'\\"' in piece:
            is_quote = np.isin(marks, self._unescaped_quotes(chars, carry), assume_unique=True)
        else:
            is_quote = marked == _QUOTE
        inside = np.bitwise_xor.accumulate(is_quote.view(np.uint8)) ^ np.uint8(self.in_string)
        steps = np.where(inside == 0, _OPEN[marked], 0)
        running = np.cumsum(steps, dtype=np.int32) + self.depth
        if len(running):
            self.deepest = max(self.deepest, int(running.max()))
            if cuts is not None:
                between = marks[(marked == _COMMA) & (inside == 0) & (running == 1)]
                if len(between):
                    cuts.append(offset + int(between[-1]))
            self.depth, self.in_string = int(running[-1]), int(inside[-1])
        self.deepest = max(self.deepest, self.depth)
        tail = len(piece) - len(piece.rstrip(b"\\"))  # backslashes that end this chunk
        self.carry = carry + tail if tail == len(piece) else tail

    @staticmethod
    def _unescaped_quotes(chars: np.ndarray, carry: int) -> np.ndarray:
        """Positions of the quotes that an odd run of backslashes (``carry`` of them end the last chunk) does
        not escape."""
        quotes = np.flatnonzero(chars == _QUOTE)
        positions = np.arange(len(chars), dtype=np.int32)
        last_plain = np.maximum.accumulate(np.where(chars == _BACKSLASH, -1, positions))
        before = quotes - 1
        anchor = last_plain[np.maximum(before, 0)]
        run = np.where(before >= 0, before - anchor, 0)
        run += np.where((before < 0) | (anchor < 0), carry, 0)  # the run reaches back into the last chunk
        return quotes[run % 2 == 0]


def _read_records(path: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo, max_records: int,
                  report) -> np.ndarray:
    name = info.filename
    expected = (f"an int64 array of shape (N, {ev.RECORD_FIELDS})", f"形状为 (N, {ev.RECORD_FIELDS}) 的 int64 数组")
    with zf.open(info) as fp:
        try:
            major, _minor = np.lib.format.read_magic(fp)
            if major == 1:
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp, max_header_size=MAX_NPY_HEADER)
            elif major in (2, 3):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp, max_header_size=MAX_NPY_HEADER)
            else:
                raise ValueError(f"npy version {major}")
        except (ValueError, TypeError, SyntaxError, EOFError) as exc:
            raise TraceFormatError(path, name, expected, shown(str(exc), 120)) from None
        if dtype != np.dtype("<i8") or len(shape) != 2 or shape[1] != ev.RECORD_FIELDS:
            raise TraceFormatError(path, name, expected, f"shape {shape} of {dtype}")
        rows = shape[0]
        if rows > max_records:
            raise TraceFormatError(path, f"{name} record count",
                                   (f"at most {max_records:,}", f"不超过 {max_records:,}"), f"{rows:,}")
        size = rows * ev.RECORD_FIELDS * 8
        if fp.tell() + size != info.file_size:
            raise TraceFormatError(path, f"{name} size", (f"{fp.tell() + size:,} bytes for {rows:,} records",
                                                          f"{rows:,} 条记录对应的 {fp.tell() + size:,} 字节"),
                                   f"{info.file_size:,} bytes")
        array = np.empty((rows, ev.RECORD_FIELDS) if not fortran else (ev.RECORD_FIELDS, rows), dtype=np.int64)
        view = memoryview(array.reshape(-1).view(np.uint8))  # bytes of the array, written in place
        done = 0
        while done < size:  # in chunks: the peak is the array, not the array and a copy of it
            chunk = fp.read(min(_READ_CHUNK, size - done))
            if not chunk:
                raise TraceFormatError(path, name, expected, "a truncated array")
            view[done: done + len(chunk)] = chunk
            done += len(chunk)
            report(done / size)
        fp.read(1)  # reaches the member's end, so zipfile checks its CRC
    return np.ascontiguousarray(array.T) if fortran else array


# --- the fields ----------------------------------------------------------------------------------
_ANY_INT = ("an integer", "整数")


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_int(path: str, field: str, value, low: int, high: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not is_int(value) or not low <= value <= high:
        what = (f"an integer from {low} to {high}", f"{low} 到 {high} 之间的整数") if low < high else (
            f"the integer {low}", f"整数 {low}")
        if allow_none:
            what = (what[0] + " or null", what[1] + "或 null")
        raise TraceFormatError(path, field, what, shown(value))


def check_str(path: str, field: str, value, allow_none: bool = True) -> None:
    if isinstance(value, str) or (value is None and allow_none):
        return
    raise TraceFormatError(path, field, ("text" + (" or null" if allow_none else ""),
                                         "文本" + ("或 null" if allow_none else "")), shown(value))


def check_number(path: str, field: str, value) -> None:
    if value is None:
        return
    ok = (is_int(value) or isinstance(value, float)) and math.isfinite(value) and abs(value) <= NUMBER_LIMIT
    if not ok:
        raise TraceFormatError(path, field, (f"a finite number within ±{NUMBER_LIMIT:g}, or null",
                                             f"±{NUMBER_LIMIT:g} 以内的有限数值或 null"), shown(value))


def _check_format(path: str, header) -> None:
    from app.core.trace import FORMAT_NAME, FORMAT_VERSION

    if not isinstance(header, dict):
        raise TraceFormatError(path, "format.json", ("a JSON object", "JSON 对象"), type(header).__name__)
    if header.get("format") != FORMAT_NAME:
        raise TraceFormatError(path, "format.json: format", (repr(FORMAT_NAME), repr(FORMAT_NAME)),
                               shown(header.get("format")))
    check_int(path, "format.json: version", header.get("version"), 1, FORMAT_VERSION)


def check_meta(path: str, meta) -> None:
    if not isinstance(meta, dict):
        raise TraceFormatError(path, "meta.json", ("a JSON object", "JSON 对象"), type(meta).__name__)
    from app.core.lessons import LESSONS
    from app.core.params import ParamError, resolve
    from app.core.script import SCRIPT_LESSON

    lesson = meta.get("lesson")
    if lesson == SCRIPT_LESSON:  # a script of the user's own: its path and arguments instead of parameters
        params = meta.get("params")
        if not isinstance(params, dict) or not isinstance(params.get("script"), str) or not (
                isinstance(params.get("args"), list) and all(isinstance(a, str) for a in params["args"])):
            raise TraceFormatError(path, "meta.json: params", ("the script's path and its arguments",
                                                               "脚本路径及其参数"), shown(params))
    elif not isinstance(lesson, str) or lesson not in LESSONS:
        raise TraceFormatError(path, "meta.json: lesson", ("one of " + ", ".join(LESSONS),
                                                           "以下之一：" + ", ".join(LESSONS)), shown(lesson))
    params = meta.get("params")
    if params is not None and lesson != SCRIPT_LESSON:
        if not isinstance(params, dict):
            raise TraceFormatError(path, "meta.json: params", ("a JSON object", "JSON 对象"), shown(params))
        try:
            resolve(LESSONS[lesson].params, params, lesson)
        except ParamError as exc:
            raise TraceFormatError(path, "meta.json: params", (f"parameters of lesson {lesson}",
                                                               f"课程 {lesson} 的参数"), shown(str(exc), 160)) from None
    for key in ("start_method", "status"):
        check_str(path, f"meta.json: {key}", meta.get(key))
    check_int(path, "meta.json: parent_pid", meta.get("parent_pid"), 0, INT64_RANGE[1], allow_none=True)
    for key in ("t0_ns", "end_ns"):
        check_int(path, f"meta.json: {key}", meta.get(key), *TIME_RANGE, allow_none=True)
    slots = meta.get("value_slots")
    if slots is None:
        return
    if not isinstance(slots, list) or len(slots) > MAX_VALUE_SLOTS:
        raise TraceFormatError(path, "meta.json: value_slots", (f"a list of at most {MAX_VALUE_SLOTS} objects",
                                                                f"最多 {MAX_VALUE_SLOTS} 个对象的列表"), shown(slots))
    for k, slot in enumerate(slots):
        field = f"meta.json: value_slots[{k}]"
        if not isinstance(slot, dict):
            raise TraceFormatError(path, field, ("a JSON object", "JSON 对象"), shown(slot))
        check_str(path, f"{field}.name", slot.get("name"))
        for key in ("initial", "step", "expected"):
            check_number(path, f"{field}.{key}", slot.get(key))


_PROCESS_TEXT = {"name": "str", "role": "str", "main_module": "str", "main_file": "str",
                 "pid": "pid", "ppid": "pid", "requested_ns": "time"}


def check_texts(path: str, texts, report=None, first: int = 0):
    """Every text event (``first``: the number of the first one, in messages). Returns the events as columns
    (times, lanes, kinds, payloads) when they could be checked as columns, else None."""
    if not isinstance(texts, list):
        raise TraceFormatError(path, "texts.json", ("a JSON list", "JSON 列表"), type(texts).__name__)
    columns = _check_columns(path, texts, first)
    if columns is not None:
        return columns
    low, high = TIME_RANGE
    for n, item in enumerate(texts, first):
        if report is not None and not n & 0xFFFF:
            report(n)
        # The common case, a print, checked inline (type() is int refuses a bool): a million of them in ~1 s.
        if type(item) is list and len(item) == 4:
            t_ns, index, kind, payload = item
            if (type(t_ns) is int and low <= t_ns <= high and type(index) is int
                    and ev.PARENT_INDEX <= index < MAX_PROCESS_INDEX and type(kind) is int
                    and (kind == ev.PRINT or kind == ev.ERROR) and type(payload) is str):
                continue
        _check_text_event(path, n, item)
    return None


def _check_columns(path: str, texts: list, first: int):
    """The events checked a column at a time (prints in ~0.3 µs each): only the ones that are not a plain
    print or error are checked one by one. None when the list is not four columns of integers and payloads."""
    if not texts or set(map(type, texts)) != {list} or set(map(len, texts)) != {4}:
        return None
    times, indexes, kinds, payloads = zip(*texts, strict=True)
    if any(set(map(type, column)) != {int} for column in (times, indexes, kinds)):
        return None  # a bool, a float, a string where a number belongs: said by the event-by-event check
    count = len(texts)
    try:
        t = np.fromiter(times, np.int64, count)
        index = np.fromiter(indexes, np.int64, count)
        kind = np.fromiter(kinds, np.int64, count)
    except OverflowError:
        return None
    low, high = TIME_RANGE
    plain = ((t >= low) & (t <= high) & (index >= ev.PARENT_INDEX) & (index < MAX_PROCESS_INDEX)
             & ((kind == ev.PRINT) | (kind == ev.ERROR)))
    types = list(map(type, payloads))
    if types.count(str) != count:
        plain &= np.fromiter((kind_of is str for kind_of in types), bool, count)
    for n in np.flatnonzero(~plain).tolist():
        _check_text_event(path, first + n, texts[n])
    return t, index.astype(np.int32), kind.astype(np.int32), payloads


def _check_text_event(path: str, n: int, item) -> None:
    """One text event in full, raising the message that names what is wrong."""
    field = f"texts.json: event {n}"
    if not isinstance(item, list) or len(item) != 4:
        raise TraceFormatError(path, field, ("a list [t_ns, process, kind, payload]",
                                             "列表 [t_ns, process, kind, payload]"), shown(item))
    t_ns, index, kind, payload = item
    check_int(path, f"{field} t_ns", t_ns, *TIME_RANGE)
    check_int(path, f"{field} process", index, ev.PARENT_INDEX, MAX_PROCESS_INDEX - 1)
    if not is_int(kind) or kind not in TEXT_KINDS:
        raise TraceFormatError(path, f"{field} kind", ("one of " + ", ".join(map(str, TEXT_KINDS)),
                                                       "以下之一：" + ", ".join(map(str, TEXT_KINDS))), shown(kind))
    if kind in (ev.PRINT, ev.ERROR):
        check_str(path, f"{field} text", payload, allow_none=False)
    elif kind == ev.STEP:
        if not isinstance(payload, dict):
            raise TraceFormatError(path, f"{field} payload", ("a JSON object", "JSON 对象"), shown(payload))
    elif kind in (ev.HELLO, ev.META):
        if not isinstance(payload, dict):
            raise TraceFormatError(path, f"{field} payload", ("a JSON object", "JSON 对象"), shown(payload))
        for key, kind_of in _PROCESS_TEXT.items():
            value = payload.get(key)
            if kind_of == "str":
                check_str(path, f"{field} {key}", value)
            else:
                low, high = TIME_RANGE if kind_of == "time" else (0, INT64_RANGE[1])
                check_int(path, f"{field} {key}", value, low, high, allow_none=True)


def check_records(path: str, records: np.ndarray) -> None:
    """Every column in range, checked a block of rows at a time on whole columns (millions of rows in
    milliseconds; a block's masks, not the whole run's: ~50 MB of temporaries for 2M records at once)."""
    for start in range(0, len(records), _CHECK_ROWS):
        _check_block(path, records[start:start + _CHECK_ROWS], start)


def _check_block(path: str, records: np.ndarray, first: int) -> None:
    t_ns, index, kind, a, b = (records[:, k] for k in range(ev.RECORD_FIELDS))
    rules = [
        ("t_ns", (t_ns < TIME_RANGE[0]) | (t_ns > TIME_RANGE[1]),
         (f"a time from {TIME_RANGE[0]} to {TIME_RANGE[1]} ns", f"{TIME_RANGE[0]} 到 {TIME_RANGE[1]} 纳秒之间的时间")),
        ("process", (index < ev.PARENT_INDEX) | (index >= MAX_PROCESS_INDEX),
         (f"from {ev.PARENT_INDEX} to {MAX_PROCESS_INDEX - 1}", f"{ev.PARENT_INDEX} 到 {MAX_PROCESS_INDEX - 1}")),
        ("kind", ~np.isin(kind, RECORD_KINDS),
         ("one of " + ", ".join(map(str, RECORD_KINDS)), "以下之一：" + ", ".join(map(str, RECORD_KINDS)))),
        ("a (state)", (kind == ev.STATE) & ((a < 0) | (a >= len(ev.STATE_NAMES))),
         (f"a state code from 0 to {len(ev.STATE_NAMES) - 1}", f"0 到 {len(ev.STATE_NAMES) - 1} 的状态码")),
        ("b (exit)", (kind == ev.EXIT) & ((b < 0) | (b > 3)), ("an exit kind from 0 to 3", "0 到 3 的退出方式")),
        ("a (lock)", (kind == ev.LOCK) & ((a < 0) | (a > 2)), ("a lock step from 0 to 2", "0 到 2 的锁步骤")),
        ("a (queue)", (kind == ev.QUEUE) & ((a < 0) | (a > 2)), ("a queue step from 0 to 2", "0 到 2 的队列步骤")),
        ("b (task)", (kind == ev.TASK) & ((b < 0) | (b > 1)), ("0 (start) or 1 (end)", "0（开始）或 1（结束）")),
    ]
    for column, bad, expected in rules:
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            value = records[row, _RECORD_COLUMNS.index(column.split()[0])]
            raise TraceFormatError(path, f"records.npy: row {first + row} {column}", expected, shown(int(value)))
