"""How many cores a run or a sweep may use, and how to share them: the cores this
process may run on, those other processes leave free, and the split into workers and
torch threads per worker."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

CPU_BUDGET_ENV = "SEMNET_CPUS"  # a sweep point's core budget (or the user's cap): auto never exceeds it


def available_cores() -> int:
    """CPU cores this process may use (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class CpuSample:
    """The machine's CPU counters at one moment: per core (total, idle) ticks from
    /proc/stat, and this process's own CPU seconds (every thread of it)."""

    at_s: float  # time.monotonic()
    per_cpu: dict[int, tuple[int, int]]
    own_s: float


def cpu_sample() -> CpuSample | None:
    """The counters now, or None where the OS gives no per-core counters."""
    per_cpu = {}
    try:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("cpu") and line[3:4].isdigit():
                    name, *values = line.split()
                    values = [int(v) for v in values]
                    idle = values[3] + (values[4] if len(values) > 4 else 0)
                    per_cpu[int(name[3:])] = (sum(values), idle)
    except (OSError, ValueError, IndexError):
        return None
    own = os.times()
    return CpuSample(time.monotonic(), per_cpu, own.user + own.system)


def others_busy(first: CpuSample, second: CpuSample, cpus: list[int]) -> float | None:
    """Cores of ``cpus`` kept busy by other processes between two samples: the busy
    share of each core, summed, less what this process itself ran meanwhile (so a
    window that spans the run's own start-up counts only the others); None where a
    core is missing from the counters."""
    busy = 0.0
    for cpu in cpus:
        if cpu not in first.per_cpu or cpu not in second.per_cpu:
            return None
        total = second.per_cpu[cpu][0] - first.per_cpu[cpu][0]
        idle = second.per_cpu[cpu][1] - first.per_cpu[cpu][1]
        busy += 1.0 - idle / total if total > 0 else 0.0
    elapsed_s = second.at_s - first.at_s
    own = (second.own_s - first.own_s) / elapsed_s if elapsed_s > 0 else 0.0
    return max(0.0, busy - own)


# a window opened this long ago or earlier is stale: the machine may have changed since
_WINDOW_STALE_S = 60.0
_window: CpuSample | None = None


def open_busy_window() -> None:
    """Start counting the cores busy now, so that :func:`free_cores` later measures over
    the time in between (a run's imports and loading) instead of sleeping to measure.
    The window is used once."""
    global _window
    _window = cpu_sample()


def _busy_now(cpus: list[int], interval_s: float) -> float | None:
    """Cores of ``cpus`` busy because of other processes over at least ``interval_s``:
    since :func:`open_busy_window` where one is open and fresh (waiting only for what
    is missing of ``interval_s``), else over the next ``interval_s``; None where the OS
    gives no per-core counters."""
    global _window
    first, _window = _window, None
    if first is None or time.monotonic() - first.at_s > _WINDOW_STALE_S:
        first = cpu_sample()
    if first is None:
        return None
    wait_s = interval_s - (time.monotonic() - first.at_s)
    if wait_s > 0:
        time.sleep(wait_s)
    second = cpu_sample()
    return None if second is None else others_busy(first, second, cpus)


def free_cores(sample_s: float = 0.5) -> int:
    """Cores not kept busy by other processes: this process's cores minus the cores busy
    over at least ``sample_s`` seconds (since :func:`open_busy_window`, else the next ones) (rounded; the 1-minute load average where the OS
    gives no per-core counters), at least 1. Not the load average where the counters
    exist: it lags a minute, so right after another run ends it still counts that run
    busy and an idle machine would train on one thread.

    On a busy laptop this is what keeps an untuned run fast: torch threads that
    outnumber the free cores spin against each other (a 2-core machine with one other
    busy process ran the quickstart 6x slower with torch's default 2 threads than
    with 1).
    """
    cores = available_cores()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:
        cpus = list(range(cores))
    now = _busy_now(cpus, sample_s) if sample_s > 0 else None
    busy = load if now is None else now
    return max(1, min(cores, cores - int(busy + 0.5)))


def thread_budget(cpus: int, workers: int) -> int:
    """Torch threads per worker when ``workers`` workers share ``cpus`` cores."""
    return max(1, cpus // max(1, workers))
