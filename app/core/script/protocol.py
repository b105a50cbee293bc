"""What ProcScope and the script's processes agree on: environment variables and control messages.

Events travel as the lessons' do (``app.core.probe``: int64 record batches and JSON texts);
a third tag carries control messages (a process's hello, an object's registration, its exit),
some of which ProcScope answers with one message. Standard library only.
"""

from __future__ import annotations

import json
import struct

ENV_ADDRESS = "PROCSCOPE_SCRIPT_ADDRESS"  # the Listener's address: a script process connects to it
ENV_KEY = "PROCSCOPE_SCRIPT_KEY"  # hex authkey of that Listener
ENV_START_METHOD = "PROCSCOPE_SCRIPT_START_METHOD"  # the default start method, when --start-method is given
ENV_PARENT = "PROCSCOPE_SCRIPT_PARENT"  # ProcScope's pid: the script's main process exits when it is gone

TAG_CONTROL = 3
CONTROL_TAG_BYTES = struct.pack("q", TAG_CONTROL)


def control(message: dict) -> bytes:
    return CONTROL_TAG_BYTES + json.dumps(message, ensure_ascii=False).encode("utf-8")


def reply(value: int) -> bytes:
    return struct.pack("q", value)


def read_reply(data: bytes) -> int:
    return struct.unpack("q", data)[0]
