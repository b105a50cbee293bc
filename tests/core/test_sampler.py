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
USED_S = 0.2  # CPU seconds the busy child uses between two readings, at least
# A running thread's time reaches the kernel's counters at its next tick or switch; on a loaded VM (its vCPU
# descheduled) that fold can come late, so a reading can lag the truth and the next one catch up. Seen here:
# ~50 ms on a 2-core VM at load 15, ~130 ms at times. The bound below allows 0.25 s: it still catches a wrong
# unit, a reading of the wrong process or of its children too, which is what this test is for.
COUNTER_LAG_S = 0.25


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
            wait_until(lambda u=used: sum(child.cpu_times()[:2]) >= u + USED_S, timeout=30,
                       what="the child to use CPU between two readings")
            sampler.sample_once()
        assert len(rows) == 3
        # One spinning thread uses at most the wall time between two readings, and that is more than the
        # USED_S it was seen to use (less one tick: the kernel counts CPU time in ticks). Each reading may be
        # behind by a tick and by the counters' lag, so a sample can show that much more than was used:
        # at most 100 % × (1 + (tick + lag) / (USED_S - tick)), ~237 % at 100 ticks a second.
        tick = 1 / os.sysconf("SC_CLK_TCK")
        most = 100 * (1 + (tick + COUNTER_LAG_S) / (USED_S - tick))
        for batch in rows:
            (_t, index, kind, cpu, rss), = batch.tolist()
            assert index == 0 and kind == ev.SAMPLE and rss > 0
            assert 0 <= cpu / 100 <= most  # CPU % × 100
        assert max(batch.tolist()[0][3] for batch in rows) > 0  # spinning: it used some CPU
    finally:
        flag.set()
        process.join(30)
        sampler.stop()
    assert_all_gone([process.pid])


class _FakeStat:
    """A ``ProcStat`` that hands out prepared readings and counts them."""

    def __init__(self, readings):
        self._readings = list(readings)
        self.reads = 0

    def read(self, pid):
        self.reads += 1
        return self._readings.pop(0)

    def close(self):
        pass


def test_a_sampler_paused_between_its_clock_and_its_read_never_reports_more_than_the_process_used():
    """A loaded machine pauses the sampler thread anywhere; the interval must still hold the CPU time read."""
    ms = 1_000_000
    # the first reading at 0-1 ms (CPU 0 s); the second: clock at 100 ms, the thread paused for 50 ms, the read at
    # 150 ms finds 0.150 s of CPU (a spinning process used all of it), clock at 150 ms
    clock = iter([0, 1 * ms, 100 * ms, 150 * ms, 150 * ms])
    rows = []
    sampler = Sampler(lambda: {0: 4242}, rows.append, clock=lambda: next(clock))
    sampler._stat = _FakeStat([(0.0, 1 << 20), (0.150, 1 << 20)])
    sampler.sample_once()
    sampler.sample_once()
    ((_t, _index, _kind, cpu, _rss),) = rows[0].tolist()
    assert cpu <= 100 * 100  # one thread: at most 100 %, whenever the read happened


def test_a_gone_process_is_not_read_again():
    """A dead pid costs one failed read, not one a tick; a reused pid is never read as the run's process."""
    ctx = multiprocessing.get_context("spawn")
    process = ctx.Process(target=os.getpid)
    process.start()
    process.join(30)
    sampler = Sampler(lambda: {0: process.pid}, lambda rows: None)
    stat = sampler._stat
    reads = []
    real_read = stat.read
    stat.read = lambda pid: reads.append(pid) or real_read(pid)
    for _ in range(3):
        sampler.sample_once()
    assert reads == [process.pid]
    assert process.pid not in stat._fds
    sampler.stop()
    assert_all_gone([process.pid])
