"""Where sweep points run: a local process pool, or a Ray cluster.

A backend is opened with a number of points to run, decides how many run at once
(``workers``) and the torch CPU thread budget of each (``threads``), then runs
``PointTask``\\ s and hands each outcome to a callback as it arrives, in completion
order. Both call the same ``run_point`` in a separate process, so a point gives
the same numbers on either backend when its thread budget is the same (torch's CPU
kernels may sum in another order with another thread count; pin it with
``simulation.threads`` in the sweep's ``set`` when comparing across machines).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, as_completed, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

from semnet.errors import SemnetError
from semnet.sweep.worker import PointTask, one_line, run_point
from semnet.workers import available_cores, import_ray, thread_budget, watch_parent

log = logging.getLogger(__name__)

OnDone = Callable[[PointTask, dict], None]
BACKENDS = ("local", "ray")


def failed(message: str, wall_s: float = 0.0) -> dict:
    return {"status": "failed", "summary": None, "error": message, "wall_s": wall_s}


class LocalBackend:
    """A pool of ``workers`` spawned processes on this machine (default: one per core,
    at most one per point), each point with ``cores // workers`` torch threads."""

    name = "local"
    target = staticmethod(run_point)  # what a worker calls with a PointTask

    def __init__(self, num_points: int, workers: int | None = None):
        cores = available_cores()
        self.workers = max(1, min(workers or cores, max(1, num_points)))
        self.threads = thread_budget(cores, self.workers)

    def run(self, tasks: list[PointTask], on_done: OnDone) -> None:
        context = multiprocessing.get_context("spawn")
        crashed: list[PointTask] = []
        with ProcessPoolExecutor(self.workers, mp_context=context, initializer=watch_parent,
                                 initargs=(os.getpid(),)) as pool:
            futures = {pool.submit(self.target, task): task for task in tasks}
            try:
                for future in as_completed(futures):
                    task = futures[future]
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        crashed.append(task)
                        continue
                    on_done(task, outcome)
            except BaseException:
                _stop(pool)
                raise
        if crashed:
            # a worker that dies (killed, out of memory, a crash in native code) breaks the
            # whole pool: rerun each point it took down in a process of its own, so only
            # the point that kills its process fails
            log.warning("a sweep worker died; rerunning %d point(s) one process each", len(crashed))
            self._run_isolated(sorted(crashed, key=lambda t: t.index), on_done, context)

    def _run_isolated(self, tasks: list[PointTask], on_done: OnDone, context) -> None:
        queue = list(tasks)
        running: dict = {}
        try:
            while queue or running:
                while queue and len(running) < self.workers:
                    task = queue.pop(0)
                    pool = ProcessPoolExecutor(1, mp_context=context, initializer=watch_parent, initargs=(os.getpid(),))
                    running[pool.submit(self.target, task)] = (pool, task)
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    pool, task = running.pop(future)
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        outcome = failed("the worker process died (killed, out of memory or a crash in native code)")
                    pool.shutdown(wait=True)
                    on_done(task, outcome)
        except BaseException:
            for pool, _ in running.values():
                _stop(pool)
            raise

    def close(self) -> None:
        pass


class RayBackend:
    """Points as Ray tasks on the cluster at ``address`` (else ``RAY_ADDRESS``), or on a
    Ray instance started here with ``workers`` CPUs (default: this machine's cores).

    If Ray is already initialised (``ray.init`` called by the caller) that connection is
    used and left open. Each task reserves ``threads`` CPUs, where ``threads`` splits the
    cluster's CPUs over ``workers`` concurrent points (default: one per CPU, at most one
    per point), and a point that may use a GPU a ``1/workers`` share of the cluster's
    GPUs. Workers need semnet installed, and the sweep directory must be on a
    filesystem they share with the driver.
    """

    name = "ray"

    def __init__(self, num_points: int, workers: int | None = None, address: str | None = None):
        ray = import_ray()
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            address = address or os.environ.get("RAY_ADDRESS") or None
            try:
                if address:
                    ray.init(address=address, logging_level=logging.WARNING)
                else:
                    ray.init(num_cpus=workers or available_cores(), include_dashboard=False,
                             logging_level=logging.WARNING)
            except (ConnectionError, TimeoutError, ValueError) as err:
                where = f"the Ray cluster at {address!r}" if address else "a local Ray instance"
                raise SemnetError(f"cannot start or reach {where}: {one_line(err)}") from None
            self._started = True
        resources = ray.cluster_resources()
        cpus = max(1, int(resources.get("CPU", 1)))
        self.workers = max(1, min(workers or cpus, max(1, num_points)))
        self.threads = thread_budget(cpus, self.workers)
        # Ray hides GPUs from tasks that reserve none; a point that may use one (device
        # auto/cuda) gets a share, as it would see the GPU in a local worker
        self.gpu_share = min(1.0, resources.get("GPU", 0.0) / self.workers)

    def run(self, tasks: list[PointTask], on_done: OnDone) -> None:
        ray = self._ray
        # one retry: a task whose worker process died (node lost) runs once more
        remote = ray.remote(run_point)
        pending = {}
        for task in tasks:
            device = (task.raw.get("simulation") or {}).get("device", "auto")
            gpus = self.gpu_share if device != "cpu" else 0.0
            pending[remote.options(num_cpus=self.threads, num_gpus=gpus, max_retries=1).remote(task)] = task
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    task = pending.pop(ref)
                    try:
                        outcome = ray.get(ref)
                    except Exception as err:  # noqa: BLE001 - a worker crash is this point's failure
                        outcome = failed(one_line(getattr(err, "cause", None) or err))
                    on_done(task, outcome)
        except BaseException:
            for ref in pending:
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001 - already finished or gone
                    pass
            raise

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False


def check_backend(name: str, workers: int | None = None) -> None:
    """Fail early (before any directory is made) on a bad backend name or worker count,
    or on the ray backend without Ray installed."""
    if name not in BACKENDS:
        raise SemnetError(f"unknown sweep backend {name!r}; allowed: {', '.join(BACKENDS)}")
    if workers is not None and workers < 1:
        raise SemnetError(f"workers = {workers}: must be >= 1")
    if name == "ray":
        import_ray()


def open_backend(name: str, num_points: int, workers: int | None = None, address: str | None = None):
    """A ``LocalBackend`` or ``RayBackend`` for ``num_points`` points."""
    check_backend(name, workers)
    if name == "local":
        if address is not None:
            log.warning("--address is for the ray backend; the local backend ignores it")
        return LocalBackend(num_points, workers)
    return RayBackend(num_points, workers, address)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and terminate the workers (their points stay unfinished)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
