"""atomic_open: new files get a plain open()'s permissions, and the process-wide umask is never touched."""

from __future__ import annotations

import os
import stat

import pytest

from app.core import atomic


def test_writing_never_changes_the_umask(tmp_path, monkeypatch):
    """os.umask() is process-wide: setting it, even for a moment, races with every thread creating a file."""

    def no_umask(_mask):
        raise AssertionError("atomic_open called os.umask()")

    monkeypatch.setattr(atomic.os, "umask", no_umask)
    with atomic.atomic_open(str(tmp_path / "a.txt")) as out:
        out.write("hello")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "hello"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_new_file_has_the_permissions_of_a_plain_open_and_a_replaced_one_keeps_its_own(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x", encoding="utf-8")  # the umask of this process, applied by the kernel
    with atomic.atomic_open(str(tmp_path / "new.txt")) as out:
        out.write("y")
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    plain.chmod(0o640)
    with atomic.atomic_open(str(plain)) as out:
        out.write("z")
    assert stat.S_IMODE(plain.stat().st_mode) == 0o640
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".procscope-")]


def test_the_umask_read_at_import_is_the_process_umask():
    current = os.umask(0o022)  # the test may set it: it runs no other thread
    os.umask(current)
    assert atomic._read_umask() == current
    expected = 0o666 & ~current
    assert expected == atomic.DEFAULT_MODE
