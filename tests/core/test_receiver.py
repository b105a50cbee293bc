"""The receiver's reading of workers' pipes: whole messages, however the bytes arrive (POSIX path)."""

from __future__ import annotations

import multiprocessing
import os
import threading

import pytest

from app.core.params import TEMPO, ParamSpec, workers
from app.core.pipe_waiter import PipeWaiter

posix_only = pytest.mark.skipif(not hasattr(__import__("select"), "poll"), reason="poll() is POSIX")


def _drain(waiter, reader) -> list[bytes]:
    got = []
    while True:
        ready = waiter.wait(5.0)
        assert ready, "the pipe went quiet before its end"
        try:
            got += waiter.messages(reader)
        except EOFError:
            return got


@posix_only
def test_messages_come_out_whole_and_in_order_whatever_their_size():
    reader, writer = multiprocessing.Pipe(duplex=False)
    sent = [b"", b"x", os.urandom(3), os.urandom(70_000), *(os.urandom(n) for n in range(1, 400, 37)),
            os.urandom(300_000), b"end"]

    def write():
        for message in sent:
            writer.send_bytes(message)
        writer.close()

    waiter = PipeWaiter()
    waiter.add(reader)
    thread = threading.Thread(target=write)
    thread.start()
    try:
        assert _drain(waiter, reader) == sent
    finally:
        thread.join(10)
        waiter.remove(reader)
        reader.close()


@posix_only
def test_a_message_split_across_reads_waits_for_its_rest():
    reader, writer = multiprocessing.Pipe(duplex=False)
    waiter = PipeWaiter()
    waiter.add(reader)
    whole = (5).to_bytes(4, "big") + b"hello" + (3).to_bytes(4, "big") + b"abc"
    fd = writer.fileno()
    os.write(fd, whole[:2])
    assert waiter.messages(reader) == []
    os.write(fd, whole[2:11])
    assert waiter.messages(reader) == [b"hello"]
    os.write(fd, whole[11:])
    assert waiter.messages(reader) == [b"abc"]
    writer.close()
    with pytest.raises(EOFError):
        waiter.messages(reader)
    waiter.remove(reader)
    reader.close()


def test_param_specs_are_values():
    a = ParamSpec("n", "int", 1, "N", "N", 0, 9)
    assert a == ParamSpec("n", "int", 1, "N", "N", 0, 9) and a != workers(1) and TEMPO == TEMPO
    assert a.choice_labels == {} and a.choice_labels is not ParamSpec("m", "int", 1, "M", "M").choice_labels
    assert repr(a).startswith("ParamSpec(name='n', kind='int', default=1,")
    with pytest.raises(AttributeError):
        a.default = 2
    with pytest.raises(TypeError):
        hash(a)  # a dict field, as with the frozen dataclass it replaces
