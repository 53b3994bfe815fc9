"""How many cores a run or a sweep may use, and how to share them: the cores this
process may run on, those other processes leave free, and the split into workers and
torch threads per worker."""

from __future__ import annotations

import os
import time

CPU_BUDGET_ENV = "SEMNET_CPUS"  # a sweep point's core budget (or the user's cap): auto never exceeds it


def available_cores() -> int:
    """CPU cores this process may use (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _busy_now(cpus: list[int], interval_s: float) -> float | None:
    """Cores of ``cpus`` busy over the next ``interval_s`` (from /proc/stat), or None."""
    def sample():
        out = {}
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("cpu") and line[3:4].isdigit():
                    name, *values = line.split()
                    values = [int(v) for v in values]
                    idle = values[3] + (values[4] if len(values) > 4 else 0)
                    out[int(name[3:])] = (sum(values), idle)
        return out

    try:
        first = sample()
        time.sleep(interval_s)
        second = sample()
    except (OSError, ValueError):
        return None
    busy = 0.0
    for cpu in cpus:
        if cpu not in first or cpu not in second:
            return None
        total = second[cpu][0] - first[cpu][0]
        idle = second[cpu][1] - first[cpu][1]
        busy += 1.0 - idle / total if total > 0 else 0.0
    return busy


def free_cores(sample_s: float = 0.5) -> int:
    """Cores not kept busy by other processes: this process's cores minus the cores busy
    over the next ``sample_s`` seconds (rounded; the 1-minute load average where the OS
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
