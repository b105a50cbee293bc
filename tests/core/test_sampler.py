"""The sampler's readings (app/core/sampler.py): /proc on Linux agrees with psutil; psutil elsewhere."""

from __future__ import annotations

import multiprocessing
import os

import psutil
import pytest

from app.core import events as ev
from app.core.sampler import ProcStat, Sampler
from tests.helpers import assert_all_gone, wait_until

pytestmark = pytest.mark.skipif(not ProcStat.available, reason="/proc is Linux's")


def _spin_until(flag) -> None:
    while not flag.is_set():
        pass


def test_proc_stat_reads_what_psutil_reads():
    stat = ProcStat()
    try:
        me = psutil.Process()
        before = sum(me.cpu_times()[:2])
        cpu_s, rss = stat.read(os.getpid())
        after = sum(me.cpu_times()[:2])
        assert before - 0.02 <= cpu_s <= after + 0.02  # the same kernel counters, a few ticks apart
        assert abs(rss - me.memory_info().rss) < 16 * 2**20  # our own memory moves a little between reads
    finally:
        stat.close()


def test_a_gone_process_reads_none_and_its_file_is_closed():
    stat = ProcStat()
    process = multiprocessing.get_context("spawn").Process(target=os.getpid)
    process.start()
    pid = process.pid
    stat.read(pid)  # it may or may not be up yet; the file is open either way if it was
    process.join(30)
    assert stat.read(pid) is None
    assert pid not in stat._fds
    stat.close()
    assert_all_gone([pid])


def test_the_sampler_reports_cpu_and_memory_of_a_busy_process():
    ctx = multiprocessing.get_context("spawn")
    flag = ctx.Event()
    process = ctx.Process(target=_spin_until, args=(flag,))
    process.start()
    rows = []
    sampler = Sampler(lambda: {0: process.pid}, rows.append)
    try:
        child = psutil.Process(process.pid)
        for _ in range(4):  # the first reading primes; then every reading is a sample
            used = sum(child.cpu_times()[:2])
            wait_until(lambda u=used: sum(child.cpu_times()[:2]) >= u + 0.05, timeout=30,
                       what="the child to use CPU between two readings")
            sampler.sample_once()
        assert len(rows) == 3
        for batch in rows:
            (_t, index, kind, cpu, rss), = batch.tolist()
            assert index == 0 and kind == ev.SAMPLE and rss > 0
            assert 0 <= cpu <= 100 * 100 * (os.cpu_count() or 1)  # CPU % × 100, every core at most
        assert max(batch.tolist()[0][3] for batch in rows) > 0  # spinning: it used some CPU
    finally:
        flag.set()
        process.join(30)
        sampler.stop()
    assert_all_gone([process.pid])
