"""What the bundle holds: what build.spec leaves out stays out, what ProcScope and a traced script need is there.

The left-out items were found by recording the shared objects of every process of the frozen app (its
/proc/<pid>/maps) through lessons, the window offscreen and under X11, PNG/SVG export, replay and traced
scripts: none of them is ever loaded. If one comes back (a new PySide6 or PyInstaller collecting more),
these tests say which.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import textwrap
from pathlib import Path

import pytest

from tests.packaging.conftest import TIMINGS
from tests.packaging.frozen import run_frozen

LINUX = sys.platform.startswith("linux")

# Qt plugins left out, by plugin folder (None: all of the folder)
PLUGINS_LEFT_OUT = {
    "platforms": {"qeglfs", "qlinuxfb", "qminimal", "qminimalegl", "qvkkhrdisplay", "qvnc", "qdirect2d"},
    "egldeviceintegrations": None,
    "generic": None,
    "imageformats": {"qgif", "qicns", "qico", "qjpeg", "qtga", "qtiff", "qwbmp", "qwebp", "qpdf"},
    "platformthemes": {"qgtk3"},
}
PLATFORMS_KEPT = ({"qxcb", "qwayland", "qoffscreen"} if LINUX else {"qwindows", "qoffscreen"}
                  if sys.platform == "win32" else {"qcocoa", "qoffscreen"})
# shared libraries only the left-out parts needed (names start so; whatever their version suffix)
LIBRARIES_LEFT_OUT = ("libQt6Network", "Qt6Network", "QtNetwork", "libQt6EglFS", "libgio-2.0", "libcairo",
                      "libpango", "libgdk_pixbuf", "libatk-1.0", "libtcl", "libtk", "tcl8", "tk8", "libkrb5",
                      "libgssapi", "libtirpc")


def bundle_files(exe: Path) -> list[Path]:
    """Every file of the bundle the executable runs from (on macOS: the .app's Contents)."""
    root = exe.parents[1] if sys.platform == "darwin" else exe.parent
    return [path for path in root.rglob("*") if path.is_file()]


def stem(name: str) -> str:
    first = name.split(".")[0]
    return first[3:] if first.startswith("lib") else first


def plugin(path: Path) -> tuple[str, str] | None:
    """(plugin folder, plugin name) of a Qt plugin, or None."""
    if len(path.parts) >= 3 and path.parts[-3] == "plugins":
        return path.parts[-2], stem(path.name)
    return None


def test_what_build_spec_leaves_out_is_not_in_the_bundle(frozen_exe):
    files = bundle_files(frozen_exe)
    back = []
    for path in files:
        found = plugin(path)
        if found and found[0] in PLUGINS_LEFT_OUT:
            names = PLUGINS_LEFT_OUT[found[0]]
            if names is None or found[1] in names:
                back.append(f"Qt plugin {found[0]}/{path.name}")
        if path.suffix == ".qm" and "translations" in path.parts:
            back.append(f"Qt translation {path.name} (the app translates itself from resources/i18n)")
        if path.parent.name == "PySide6" and path.name.split(".")[0] == "QtOpenGL":
            back.append(f"PySide6.QtOpenGL bindings {path.name} (8.9 MB; pyqtgraph gets a stand-in)")
        if path.name.startswith(LIBRARIES_LEFT_OUT) or path.name.startswith(("_tkinter.", "nis.")):
            back.append(f"library {path.name}")
        for folder in {"_tcl_data", "_tk_data", "screenshots"} & set(path.parts):
            back.append(f"data folder {folder}")
    assert back == [], "\n".join(sorted(set(back)))


def test_what_procscope_and_scripts_need_is_in_the_bundle(frozen_exe):
    files = bundle_files(frozen_exe)
    plugins = {plugin(path) for path in files} - {None}
    platforms = {name for folder, name in plugins if folder == "platforms"}
    assert platforms >= PLATFORMS_KEPT, platforms
    assert {("imageformats", "qsvg"), ("iconengines", "qsvgicon")} <= plugins  # SVG icons of the desktop's theme
    if LINUX:
        assert {("platforminputcontexts", "composeplatforminputcontextplugin"),
                ("platforminputcontexts", "ibusplatforminputcontextplugin")} <= plugins  # typing Chinese
        assert any(folder.startswith("wayland-shell-integration") for folder, _name in plugins)
    names = {path.name for path in files}
    assert any(n.startswith("QtOpenGLWidgets.") for n in names)  # pyqtgraph subclasses its QOpenGLWidget
    # hashlib's OpenSSL (ProcScope's own hmac, a script's hashlib.scrypt) and ssl for a script's https
    assert any(n.startswith("_hashlib.") for n in names) and any(n.startswith("_ssl.") for n in names)
    if LINUX:
        assert any(n.startswith("libcrypto") for n in names) and any(n.startswith("libssl") for n in names)


def test_python_libraries_carry_no_debug_information_on_linux(frozen_exe):
    if not LINUX:
        pytest.skip("build.spec strips debug information on Linux only")
    libpython = [path for path in bundle_files(frozen_exe) if path.name.startswith("libpython")]
    assert libpython
    with_debug_info = [path.name for path in libpython if b".debug_info" in path.read_bytes()]
    assert with_debug_info == []


# A student's script using the standard library the way course exercises do, in its main process and in
# spawned pool workers (each re-enters the frozen executable).
SCRIPT = textwrap.dedent('''
    import multiprocessing as mp
    import sys
    import asyncio, bz2, concurrent.futures, csv, ctypes, decimal, hashlib, hmac, importlib, io, json, lzma
    import secrets, sqlite3, ssl, unicodedata, urllib.request, uuid, xml.etree.ElementTree as ET, zipfile, zlib
    import zoneinfo
    if sys.platform != "win32":
        import curses, readline

    def digest(i):
        data = str(i).encode()
        return hashlib.sha256(data).hexdigest()[:12], hmac.new(b"key", data, "md5").hexdigest()[:8]

    async def twice(x):
        await asyncio.sleep(0)
        return 2 * x

    if __name__ == "__main__":
        with mp.get_context("spawn").Pool(2) as pool:
            digests = pool.map(digest, range(4))
        context = ssl.create_default_context()
        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            threads = sorted(ex.map(lambda x: x * x, range(3)))
        rows = list(csv.reader(io.StringIO("a,b\\n1,2")))
        db = sqlite3.connect(":memory:").execute("select 40 + 2").fetchone()[0]
        packed = [len(m.decompress(m.compress(b"abc" * 100))) for m in (zlib, bz2, lzma)]
        stand_in = importlib.import_module("PySide6.QtOpenGL")
        result = {
            "digests": [list(d) for d in digests],
            "scrypt": hashlib.scrypt(b"pw", salt=b"salt", n=16, r=8, p=1, dklen=8).hex(),
            "openssl": ssl.OPENSSL_VERSION.split()[0], "verify": context.verify_mode == ssl.CERT_REQUIRED,
            "json": json.loads('{"x": [1, 2]}'), "rows": rows, "db": db, "packed": packed,
            "decimal": str(decimal.Decimal(1) / decimal.Decimal(8)), "threads": threads,
            "asyncio": asyncio.run(twice(21)), "uuid": uuid.UUID(int=1).version is None,
            "name": unicodedata.name("中"), "xml": ET.fromstring("<a><b/></a>")[0].tag,
            "ctypes": ctypes.sizeof(ctypes.c_int32), "secrets": len(secrets.token_hex(4)),
            "opengl_stand_in": not hasattr(stand_in, "QOpenGLBuffer"),
        }
        with open("out.json", "w") as out:
            json.dump(result, out)
''')


def test_a_traced_script_has_the_standard_library_it_imports(frozen_exe, tmp_path):
    script = tmp_path / "stdlib_user.py"
    script.write_text(SCRIPT, encoding="utf-8")
    out = tmp_path / "summary.json"
    run = run_frozen(frozen_exe, ["trace", str(script), "--start-method", "spawn", "--json", str(out),
                                  "--timeout", "120"], tmp_path)
    TIMINGS.append(("trace a script using the standard library", run.seconds))
    summary = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    assert run.code == 0, (run.code, summary.get("errors"), summary.get("processes"))
    assert not run.survivors
    result = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    expected_digests = [[hashlib.sha256(str(i).encode()).hexdigest()[:12],
                         hmac.new(b"key", str(i).encode(), "md5").hexdigest()[:8]] for i in range(4)]
    assert result == {
        "digests": expected_digests,
        "scrypt": hashlib.scrypt(b"pw", salt=b"salt", n=16, r=8, p=1, dklen=8).hex(),  # OpenSSL only
        "openssl": "OpenSSL", "verify": True, "json": {"x": [1, 2]}, "rows": [["a", "b"], ["1", "2"]], "db": 42,
        "packed": [300, 300, 300], "decimal": "0.125", "threads": [0, 1, 4], "asyncio": 42, "uuid": True,
        "name": "CJK UNIFIED IDEOGRAPH-4E2D", "xml": "b", "ctypes": 4, "secrets": 8, "opengl_stand_in": True,
    }
