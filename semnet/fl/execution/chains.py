"""Which of a round's training jobs depend on which: jobs that touch the same mutable
state form a *chain* that must run in order; different chains share nothing that
changes and may run anywhere (another process, another worker)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from semnet.data import BatchStream
from semnet.fl.execution.trainer import TrainJob


def modules_of(job: TrainJob) -> list[nn.Module]:
    return [job.encoder] + [t.decoder for t in job.tasks]


def job_chains(jobs: Sequence[TrainJob]) -> list[list[int]]:
    """Indices of ``jobs`` grouped into chains that share mutable state, each in job
    order, chains ordered by their first job.

    Two jobs are in one chain when they touch (train or read) a parameter that some
    job of the round trains, any buffer of the same module (buffers may change in
    training mode), the same batch stream, generator, optimiser or scheduler object.
    Modules that nobody trains (FineFed's frozen decoders in an encoder step) are
    read-only and link nothing.
    """
    written = {id(p) for job in jobs for p in job.trainable()}
    parent = list(range(len(jobs)))

    def find(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    owner: dict[tuple, int] = {}
    for k, job in enumerate(jobs):
        resources: list[tuple] = [("data", id(job.data))]
        for name in ("generator", "optimizer_obj", "scheduler_obj"):
            obj = getattr(job, name)
            if obj is not None:
                resources.append((name, id(obj)))
        for module in modules_of(job):
            resources += [("t", id(p)) for p in module.parameters() if id(p) in written]
            resources += [("t", id(b)) for b in module.buffers()]
        for res in resources:
            if res in owner:
                a, b = find(k), find(owner[res])
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                owner[res] = k
    groups: dict[int, list[int]] = {}
    for k in range(len(jobs)):
        groups.setdefault(find(k), []).append(k)
    return sorted(groups.values(), key=lambda chain: chain[0])


def shippable(job: TrainJob) -> bool:
    if job.optimizer_obj is not None or job.scheduler_obj is not None:
        return False
    if not isinstance(job.data, BatchStream) or job.data.device.type != "cpu":
        return False
    if job.generator is not None and job.generator.device.type != "cpu":
        return False
    return all(t.device.type == "cpu" for m in modules_of(job) for t in m.state_dict().values())


def shared_across_modules(jobs: Sequence[TrainJob]) -> set[int]:
    """ids of module objects that share a parameter or buffer with another module object."""
    owner: dict[int, int] = {}
    bad: set[int] = set()
    seen: set[int] = set()
    for job in jobs:
        for module in modules_of(job):
            if id(module) in seen:
                continue
            seen.add(id(module))
            for t in list(module.parameters()) + list(module.buffers()):
                other = owner.setdefault(id(t), id(module))
                if other != id(module):
                    bad.update((other, id(module)))
    return bad
