"""A round's training jobs on several processes (``simulation.workers``) or Ray actors
(``simulation.backend: ray``), with the same numbers as one process.

The simulator settles a round before anything trains, so a round's ``TrainJob``s are
known at once. Jobs that touch the same mutable state — a module one of them trains
(or any module with buffers), a batch stream, a random generator, an optimiser
object — form a *chain* that must run in order; different chains share nothing that
changes and may run anywhere. :func:`job_chains` finds the chains, and each runs,
whole and in job order, on one worker with one torch thread:

* the parent ships every distinct module once per round and worker (pickled; copies
  with equal contents, like FedAvg's per-client copies of the global model, travel
  as one blob), the jobs without their modules (``TrainJob`` with ``encoder``,
  decoders, ``data`` and ``generator`` left out), the batch streams' positions
  (:meth:`~semnet.data.BatchStream.state`; a stream's images travel once per run and
  worker, then stay cached), the generators' states and the run's
  :class:`~semnet.channels.layer.link_channels.LinkChannels` (a task's links name its channels);
* the worker rebuilds the objects (keeping which job shares which object), runs the
  chain with the ordinary :class:`~semnet.fl.execution.trainer.Trainer`, and sends back the
  trained modules' tensors, the streams' and generators' new states and the
  ``JobResult``s, which the parent writes into its own objects.

A job's numbers therefore depend only on the job, never on the worker or on how many
there are. Jobs that cannot move run in the parent process, in the same round: those
with a persistent optimiser or schedule (``optimizer_obj``/``scheduler_obj``, i.e.
centralised training, which is one long chain anyway), those whose ``data`` is not a
:class:`~semnet.data.BatchStream` or lives on a GPU, and those whose modules share
parameters with another module object. ``device: cuda`` always trains in-process.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Sequence

import torch
from torch import nn

from semnet.data import BatchStream
from semnet.fl.execution.trainer import JobResult, Trainer, TrainJob
from semnet.fl.execution.chains import job_chains, modules_of, shared_across_modules, shippable
from semnet.fl.execution.pools import RayPool, get_pool, shutdown_pools
from semnet.fl.execution.shipping import ChainJob, Payload, dumps, without_modules
from semnet.fl.execution.work import round_work
from semnet.workers.plan import ExecutionPlan

log = logging.getLogger(__name__)

__all__ = ["ParallelTrainer", "job_chains", "shutdown_pools"]


# --------------------------------------------------------------------------- the trainer


class ParallelTrainer(Trainer):
    """A :class:`Trainer` that spreads a round's job chains over ``workers`` processes
    (``backend='local'``) or Ray actors (``backend='ray'``); numbers equal the
    in-process trainer's (one torch thread per worker, the parent's thread count for
    what stays in-process).

    ``decide`` (``simulation.workers``/``threads: auto``) leaves the plan to the first
    round: it gets that round's work (:func:`~semnet.fl.execution.work.round_work`:
    FLOP of its largest step and of all its training) and its number of movable
    chains, and returns the :class:`~semnet.workers.plan.ExecutionPlan` kept for the
    rest of the run (the workers start then, and only if the plan has several).
    """

    def __init__(self, channel, device, loss: str = "mse", precision: str = "fp32", *, workers: int = 2,
                 backend: str = "local", threads: int = 1,
                 decide: Callable[..., ExecutionPlan] | None = None, task_term=None):
        super().__init__(channel, device, loss=loss, precision=precision, task_term=task_term)
        if backend not in ("local", "ray"):
            raise ValueError(f"unknown backend {backend!r}; allowed: local, ray")
        self.workers, self.backend, self.threads = workers, backend, threads
        self._decide = decide
        self.plan: ExecutionPlan | None = None  # what ``decide`` chose (None until the first round, or without it)
        self._pool = None
        self._tokens: dict[int, tuple[int, torch.Tensor]] = {}  # id(images) -> (token, images kept alive)
        self.stats = {"rounds": 0, "shipped_jobs": 0, "local_jobs": 0, "blobs": 0, "modules": 0}

    def start(self) -> None:
        """Start (or reuse) the pool now, without waiting for it: workers import torch
        while the run loads data and scores its start."""
        if self._pool is None:
            self._pool = get_pool(self.backend, self.workers, self.threads)
            with self._pool.lock:
                self._pool.reset(wait=False)

    def _get_pool(self):
        self.start()
        with self._pool.lock:
            self._pool.settle()
        return self._pool

    def close(self) -> None:
        """Forget this run's cached images (the pool stays up for later runs)."""
        self._tokens.clear()
        self._pool = None

    def run(self, jobs: Sequence[TrainJob]) -> list[JobResult]:
        jobs = list(jobs)
        if self._decide is not None and jobs:
            self._settle_plan(jobs)
        if self.workers <= 1 or self.device.type != "cpu" or len(jobs) <= 1:
            return super().run(jobs)
        remote, local = self._split(jobs)
        if len(remote) <= 1:  # nothing to spread
            return super().run(jobs)
        results: list[JobResult | None] = [None] * len(jobs)
        pool = self._get_pool()
        with pool.lock:
            assignment = self._assign(jobs, remote, pool.workers)
            payloads, slots = {}, {}
            for worker, worker_chains in assignment.items():
                payloads[worker], slots[worker] = self._payload(jobs, worker_chains, pool, worker)
            if isinstance(pool, RayPool):
                pool.submit_round(payloads)
            else:
                for worker, payload in payloads.items():
                    pool.submit(worker, payload)
            try:
                with _torch_threads(self.threads if local else None):  # as many as a worker: no oversubscription
                    for chain in local:  # runs here while the workers train
                        for k in chain:
                            results[k] = super().run([jobs[k]])[0]
            finally:
                outs = {worker: pool.collect(worker) for worker in payloads}
        for worker, out in outs.items():
            self._apply(out, slots[worker], results)
        self.stats["rounds"] += 1
        self.stats["shipped_jobs"] += sum(len(c) for c in remote)
        self.stats["local_jobs"] += sum(len(c) for c in local)
        return results  # type: ignore[return-value]

    @staticmethod
    def _split(jobs: list[TrainJob]) -> tuple[list[list[int]], list[list[int]]]:
        """The round's job chains that may run on workers, and those that stay here."""
        shared = shared_across_modules(jobs)
        remote, local = [], []
        for chain in job_chains(jobs):
            movable = all(shippable(jobs[k]) and not any(id(m) in shared for m in modules_of(jobs[k]))
                          for k in chain)
            (remote if movable else local).append(chain)
        return remote, local

    def _settle_plan(self, jobs: list[TrainJob]) -> None:
        """The first round decides the plan (auto): threads of this process, workers."""
        step_flop, round_flop = round_work(jobs)
        movable = len(self._split(jobs)[0]) if self.device.type == "cpu" else 0
        plan = self._decide(step_flop=step_flop, round_flop=round_flop, chains=movable)
        self._decide = None
        self.plan = plan
        torch.set_num_threads(plan.threads)
        self.workers, self.threads = plan.workers, plan.worker_threads
        log.info("execution: %d torch thread(s) here, %d worker(s) of %d thread(s) (%s free cores counted; round "
                 "of %.3g FLOP, %d chain(s) to spread)", plan.threads, plan.workers, plan.worker_threads, plan.cores,
                 round_flop or 0.0, movable)
        if plan.workers > 1:
            self.start()

    @staticmethod
    def _assign(jobs, chains, workers: int) -> dict[int, list[list[int]]]:
        """Longest chains first, each to the least-loaded worker (deterministic)."""
        def cost(chain):
            return sum(jobs[k].steps * max(1, len(jobs[k].tasks)) * jobs[k].data.batch_size for k in chain)

        loads = [0] * min(workers, len(chains))
        out: dict[int, list[list[int]]] = {}
        for chain in sorted(chains, key=lambda c: (-cost(c), c[0])):
            w = min(range(len(loads)), key=lambda i: (loads[i], i))
            loads[w] += cost(chain)
            out.setdefault(w, []).append(chain)
        for w in out:
            out[w].sort(key=lambda c: c[0])
        return out

    def _token(self, images: torch.Tensor) -> int:
        entry = self._tokens.get(id(images))
        if entry is None or entry[1] is not images:
            entry = (len(self._tokens), images)
            self._tokens[id(images)] = entry
        return entry[0]

    def _payload(self, jobs, chains, pool, worker: int):
        module_slot: dict[int, int] = {}
        modules: list[nn.Module] = []
        stream_slot: dict[int, int] = {}
        streams: list[BatchStream] = []
        gen_slot: dict[int, int] = {}
        gens: list[torch.Generator] = []

        def slot_of(obj, index, store):
            if id(obj) not in index:
                index[id(obj)] = len(store)
                store.append(obj)
            return index[id(obj)]

        written = {id(p) for chain in chains for k in chain for p in jobs[k].trainable()}
        items = []
        for chain in chains:
            items.append([
                ChainJob(
                    index=k,
                    desc=without_modules(jobs[k]),
                    encoder=slot_of(jobs[k].encoder, module_slot, modules),
                    decoders=[slot_of(t.decoder, module_slot, modules) for t in jobs[k].tasks],
                    stream=slot_of(jobs[k].data, stream_slot, streams),
                    generator=slot_of(jobs[k].generator, gen_slot, gens) if jobs[k].generator is not None else None,
                )
                for k in chain
            ])
        blobs, keys = {}, {}
        for slot, module in enumerate(modules):
            blob = dumps(module)
            key = hashlib.blake2b(blob, digest_size=16).digest()
            blobs.setdefault(key, blob)
            keys[slot] = key
        self.stats["blobs"] += len(blobs)
        self.stats["modules"] += len(modules)
        returned = [slot for slot, m in enumerate(modules)
                    if any(id(p) in written for p in m.parameters()) or any(True for _ in m.buffers())]
        images, stream_states = {}, {}
        for slot, stream in enumerate(streams):
            token = self._token(stream.images)
            if token not in pool.images_held[worker]:
                images[token] = stream.images
                pool.images_held[worker].add(token)
            stream_states[slot] = (token, stream.state())
        payload = Payload(
            trainer=(self.channels, self.loss, self.precision, self.task_term),
            blobs=blobs,
            modules=keys,
            returned=returned,
            images=images,
            streams=stream_states,
            generators={slot: g.get_state() for slot, g in enumerate(gens)},
            chains=items,
        )
        return payload, (modules, streams, gens)

    @staticmethod
    def _apply(out: dict, slots, results: list) -> None:
        modules, streams, gens = slots
        with torch.no_grad():
            for slot, state in out["modules"].items():
                modules[slot].load_state_dict(state)
        for module in modules:  # as after in-process training
            module.train()
        for slot, state in out["streams"].items():
            streams[slot].load_state(state)
        for slot, state in out["generators"].items():
            gens[slot].set_state(state)
        for index, result in out["results"].items():
            results[index] = result


@contextlib.contextmanager
def _torch_threads(count: int | None):
    """Torch threads set to ``count`` inside the block (None: unchanged)."""
    saved = torch.get_num_threads()
    if count is not None and count != saved:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if torch.get_num_threads() != saved:
            torch.set_num_threads(saved)
