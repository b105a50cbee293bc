"""The event vocabulary: the record, its kinds, the process states, how a process ended, the run status.

This is the only thing that crosses process boundaries. A worker buffers
records ``(t_ns, process_index, kind, a, b)`` as native int64 and sends them
in batches with ``Connection.send_bytes``; text events (prints, results,
errors, hello) travel as JSON in separate messages. Every message starts with
one int64 tag so the receiver knows which it got.

Imported by workers: standard library only (no numpy, no Qt).
"""

from __future__ import annotations

import struct
from enum import StrEnum

RECORD_FIELDS = 5  # t_ns, process_index, kind, a, b
TAG_RECORDS = 1
TAG_TEXT = 2
TEXT_TAG_BYTES = struct.pack("q", TAG_TEXT)
TAG_SIZE = len(TEXT_TAG_BYTES)

# --- numeric kinds -----------------------------------------------------------
STATE = 0  # a = state code, b = detail (task number + 1, lock id + 1, ...; 0 = none)
VALUE = 1  # a = value slot, b = integer value
VALUE_F = 2  # a = value slot, b = IEEE-754 bits of a float value
TASK = 3  # a = task number, b = TASK_START / TASK_END
EXIT = 4  # parent-side: a = exit code (or EXIT_UNKNOWN), b = how it ended (EXIT_DONE, ... below)
SAMPLE = 5  # parent-side: a = CPU % × 100, b = resident bytes
LOCK = 6  # a = LOCK_REQUEST / LOCK_ACQUIRED / LOCK_RELEASED, b = lock id
QUEUE = 7  # a = QUEUE_WAIT / QUEUE_GOT / QUEUE_PUT, b = queue id (a queue whose items are tokens passed on)

# --- text kinds (carried as JSON) --------------------------------------------
PRINT = 10  # text a process printed
RESULT = 11  # a JSON object the lesson's summary reads
ERROR = 12  # traceback text of an exception that ended a process
HELLO = 13  # first sign of life: name, pid, ppid, role, main module
META = 14  # parent-side facts: requested start, role, pid, name
# step mode (``app.core.stepping``): from a worker, the step point it is held at ({"point", "object"});
# from the parent, a step of the schedule taken ({"step", "process", "index", "point", "object"}) or
# refused ({"step", "process", "refused"})
STEP = 15

TASK_START = 0
TASK_END = 1
LOCK_REQUEST = 0
LOCK_ACQUIRED = 1
LOCK_RELEASED = 2
QUEUE_WAIT = 0  # about to block in get()
QUEUE_GOT = 1  # get() returned: this process holds the token
QUEUE_PUT = 2  # about to put() a token back
EXIT_UNKNOWN = -(2**31)  # the exit code could not be read

PARENT_INDEX = -1  # events about the run itself, recorded by the parent

KIND_NAMES = {
    STATE: "state",
    VALUE: "value",
    VALUE_F: "value",
    TASK: "task",
    EXIT: "exit",
    SAMPLE: "sample",
    LOCK: "lock",
    QUEUE: "queue",
    PRINT: "print",
    RESULT: "result",
    ERROR: "error",
    HELLO: "hello",
    META: "meta",
    STEP: "step",
}

# --- states -------------------------------------------------------------------
STARTING = 0
WORKING = 1
WAITING = 2  # lock, semaphore, condition, event, barrier
HOLDING = 3  # holding a lock
BLOCKED = 4  # blocked on a queue
SLEEPING = 5  # sleeping / simulated I/O
IDLE = 6  # idle in a pool (or a server waiting for requests)
DONE = 7
CRASHED = 8

STATE_NAMES = (
    "starting",
    "working",
    "waiting",
    "holding",
    "blocked",
    "sleeping",
    "idle",
    "done",
    "crashed",
)

# Okabe–Ito, colour-blind safe; the same in lanes, legends and exports.
STATE_COLORS = {
    "starting": "#999999",
    "working": "#0072B2",
    "waiting": "#E69F00",
    "holding": "#D55E00",
    "blocked": "#CC79A7",
    "sleeping": "#56B4E9",
    "idle": "#DDDDDD",
    "done": "#FFFFFF",
    "crashed": "#000000",
}

# --- how a process ended: the ``b`` of its EXIT record ------------------------------
EXIT_DONE = 0  # it sent its last "done" state
EXIT_CRASHED = 1  # it died of an exception, a signal or a kill from outside the run
EXIT_TERMINATED = 2  # the run ended it on purpose while the run went on (a pool's terminate())
EXIT_STOPPED = 3  # the run ended it because the run was stopped (Stop, a timeout, a deadlock)
EXIT_HOW = {EXIT_DONE: "done", EXIT_CRASHED: "crashed", EXIT_TERMINATED: "terminated", EXIT_STOPPED: "stopped"}


# --- the run as a whole --------------------------------------------------------------
class RunStatus(StrEnum):
    """Where a run is. A ``str``: the values are the very strings of ``--json`` "status" and trace files."""

    READY = "ready"  # made, not started
    RUNNING = "running"
    DONE = "done"  # the lesson ran to its end (a deadlock lesson: it showed its deadlock)
    CRASHED = "crashed"  # ran to its end, but a process of it crashed
    STOPPED = "stopped"  # the user stopped it
    TIMEOUT = "timeout"  # --timeout ran out
    FAILED = "failed"  # the lesson's own parent code raised
    DEADLOCK = "deadlock"  # a wait-for cycle was found and the run was ended


FINAL_STATUSES = frozenset({RunStatus.DONE, RunStatus.CRASHED, RunStatus.STOPPED, RunStatus.TIMEOUT,
                            RunStatus.FAILED, RunStatus.DEADLOCK})
# A trace whose meta has no status yet (None) is one being recorded too.
LIVE_STATUSES = frozenset({None, RunStatus.READY, RunStatus.RUNNING})
assert not FINAL_STATUSES & LIVE_STATUSES and {None, *RunStatus} == FINAL_STATUSES | LIVE_STATUSES


def float_to_bits(value: float) -> int:
    """The int64 that carries a float value in a record's ``b`` field."""
    return struct.unpack("q", struct.pack("d", value))[0]


def bits_to_float(bits: int) -> float:
    return struct.unpack("d", struct.pack("q", bits))[0]
