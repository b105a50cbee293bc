"""The receiver's pipes: wait on many at once and read whole messages from them cheaply.

Used by ``Runner``'s receiver thread only.
"""

from __future__ import annotations

import os
import select
import struct
from multiprocessing.connection import wait


class PipeWaiter:
    """The pipes the receiver waits on, and what they hold.

    POSIX: one ``poll`` set kept across wake-ups, and each ready pipe read with
    one ``os.read`` of all it holds, cut into ``Connection.send_bytes``
    messages here: a wake-up costs the pipes that are ready, not a new selector
    over every pipe of the run (what ``multiprocessing.connection.wait`` builds
    at each call), and one system call per pipe, not three per message. The
    receiver shares the GIL with the lesson's thread while that starts
    processes (the target: a lesson starts within 1.1× of bare multiprocessing). Elsewhere (Windows):
    ``connection.wait`` and ``recv_bytes``. Only the receiver's thread uses it.
    """

    def __init__(self):
        self._conns: dict = {}  # fd (POSIX) or the connection itself -> connection
        self._partial: dict[int, bytearray] = {}  # fd -> bytes of a message still arriving
        self._poll = select.poll() if hasattr(select, "poll") else None

    def add(self, conn) -> None:
        if self._poll is None:
            self._conns[conn] = conn
        else:
            fd = conn.fileno()
            self._conns[fd] = conn
            self._poll.register(fd, select.POLLIN)

    def remove(self, conn) -> None:
        """Before the connection is closed (its fd may then be reused)."""
        if self._poll is None:
            self._conns.pop(conn, None)
            return
        fd = next((f for f, c in self._conns.items() if c is conn), None)
        if fd is not None:
            del self._conns[fd]
            self._partial.pop(fd, None)
            self._poll.unregister(fd)

    def wait(self, timeout: float) -> list:
        if self._poll is None:
            return wait(list(self._conns), timeout)
        return [self._conns[fd] for fd, _events in self._poll.poll(timeout * 1000)]

    def messages(self, conn) -> list:
        """The whole messages a ready connection holds; EOFError once it is closed and empty."""
        if self._poll is None:
            found = []
            for _ in range(256):  # bounded: one busy pipe must not starve the others
                found.append(conn.recv_bytes())
                if not conn.poll():
                    break
            return found
        fd = conn.fileno()
        chunk = os.read(fd, _READ_BYTES)  # what a pipe holds (64 KiB by default), without blocking: it is ready
        if not chunk:
            raise EOFError
        buf = self._partial.get(fd)
        if buf:
            buf += chunk
        else:
            buf = chunk
        found, pos, end = [], 0, len(buf)
        while end - pos >= 4:
            size = _SIZE.unpack_from(buf, pos)[0]
            head = 4
            if size == -1:  # a message of 2 GiB or more: a 64-bit size follows
                if end - pos < 12:
                    break
                size = _BIG_SIZE.unpack_from(buf, pos + 4)[0]
                head = 12
            if end - pos - head < size:
                break
            found.append(bytes(buf[pos + head : pos + head + size]))
            pos += head + size
        if pos < end:
            self._partial[fd] = bytearray(buf[pos:])
        else:
            self._partial.pop(fd, None)
        return found


# ``Connection.send_bytes`` framing: a big-endian int32 size, -1 then a uint64 size for huge messages
_SIZE = struct.Struct("!i")
_BIG_SIZE = struct.Struct("!Q")
_READ_BYTES = 1 << 18
