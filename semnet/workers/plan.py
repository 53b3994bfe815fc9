"""What ``simulation.threads: auto`` and ``simulation.workers: auto`` decide: how a run
uses the cores that are free, in the cheapest way.

One process that trains gets every free core as torch threads, unless its training
steps are too small to gain from threads. Worker processes, which cost seconds to start
(a Python interpreter importing torch each), are started only when a round's training
is large enough to pay for them — or when the process would otherwise leave free cores
idle (``threads`` pinned below them). The decision reads the free cores once, when the
run is assembled, and the first round's training work (counted in floating-point
operations, never timed), so it never depends on the wall clock; explicit settings
always win. Everything here is pure: the caller passes the cores and the work.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from semnet.workers.cores import CPU_BUDGET_ENV, free_cores, thread_budget

AUTO = "auto"
OMP_ENV = "OMP_NUM_THREADS"  # set: auto never uses more threads than this in the run's process

# a training step below this (forward + backward of one batch) is too small for torch's
# threads to win: tiny models train fastest on one thread
THREADS_MIN_STEP_FLOP = 1e8
# a round's training (every job of it) above this pays for worker processes even where
# torch's threads already use every free core (two 1-thread processes beat one 2-thread
# process by 1.14-1.21x on bare steps on the 2-core box; 5e11 FLOP is about 8 s of one core)
SPREAD_MIN_ROUND_FLOP = 5e11
# where the run's process uses one thread only (threads pinned, or steps too small for
# threads) and cores stay idle, workers nearly multiply the speed: a smaller round pays
SPREAD_MIN_ROUND_FLOP_IDLE_CORES = 5e10


@dataclass(frozen=True)
class ExecutionPlan:
    """How a run trains: ``threads`` torch threads in its own process (evaluation, jobs
    that stay in-process), a round's job chains spread over ``workers`` processes (1:
    none) of ``worker_threads`` threads each. ``cores``: the free cores auto counted
    (None where nothing was auto; machine state, logged but not part of the plan's record)."""

    threads: int
    workers: int
    worker_threads: int
    cores: int | None = None

    def as_dict(self) -> dict:
        """The record (``summary.json``'s ``execution``, resume checkpoints): the settings
        that re-run the run bit for bit."""
        return {"threads": self.threads, "workers": self.workers, "worker_threads": self.worker_threads}


def auto_cores(free: int | None = None, env: dict | None = None) -> int:
    """The cores auto may use: the free cores (:func:`~semnet.workers.cores.free_cores`,
    load-aware) capped by ``$SEMNET_CPUS`` (a sweep point's budget, or the user's cap) and
    by ``$OMP_NUM_THREADS`` where set."""
    env = os.environ if env is None else env
    caps = [int(v) for v in (env.get(var, "").strip() for var in (CPU_BUDGET_ENV, OMP_ENV)) if v.isdigit() and int(v) >= 1]
    if caps and min(caps) == 1:  # one core whatever the load: nothing to count
        return 1
    count = free_cores() if free is None else free
    return max(1, min([count, *caps]))


def needs_cores(threads, workers) -> bool:
    """Whether ``threads``/``workers`` leave anything to auto (None counts as auto for
    workers, as it did before auto existed)."""
    return threads == AUTO or workers in (AUTO, None)


def plan_execution(threads, workers, cores: int, *, device: str = "cpu", backend: str = "local",
                   step_flop: float | None = None, round_flop: float | None = None,
                   chains: int | None = None) -> ExecutionPlan:
    """The plan for settings ``threads`` (int, ``"auto"`` or None: 1) and ``workers``
    (int, ``"auto"`` or None: auto) on ``cores`` free cores.

    ``step_flop`` (the largest training step of the round), ``round_flop`` (the round's
    whole training) and ``chains`` (job chains that may run on workers) describe the
    first round; None: not known yet (the plan made before any training: auto threads
    take every core, auto workers stay at 1 on a local backend).
    """
    cores = max(1, int(cores))
    counted = cores if needs_cores(threads, workers) else None
    small_steps = step_flop is not None and step_flop < THREADS_MIN_STEP_FLOP
    auto_threads = cores if not small_steps else 1
    # the run's own threads: pinned, or every free core (one if its steps are small)
    own = int(threads) if isinstance(threads, int) else 1 if threads is None else auto_threads
    if device != "cpu":  # one device serves every job: no workers
        return ExecutionPlan(own, 1, own, counted)
    if isinstance(workers, int):
        count = max(1, workers)
    elif backend != "local":  # Ray actors: the free cores, as before auto
        count = cores
    else:
        count = _auto_workers(own, cores, round_flop, chains)
    if count <= 1:
        return ExecutionPlan(own, 1, own, counted)
    per_worker = int(threads) if isinstance(threads, int) else 1 if threads is None or small_steps \
        else thread_budget(cores, count)
    return ExecutionPlan(own, count, per_worker, counted)


def _auto_workers(own_threads: int, cores: int, round_flop: float | None, chains: int | None) -> int:
    """Workers for ``workers: auto``: as many as there are free cores and chains to run,
    where the round is large enough to pay for them; else 1 (train in-process)."""
    if round_flop is None or chains is None:
        return 1
    count = min(cores, chains)
    if count < 2:
        return 1
    needed = SPREAD_MIN_ROUND_FLOP if own_threads >= cores else SPREAD_MIN_ROUND_FLOP_IDLE_CORES
    return count if round_flop >= needed else 1
