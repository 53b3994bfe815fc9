"""One trainer interface for all local work.

Every method describes its local training as a list of ``TrainJob``s: which encoder,
which decoders (one per task of a multi-task loss), which parameters move, whose
data, which link SNRs, how many optimiser steps. ``Trainer.run(jobs)`` executes them.
This loop trains one job after another; a batched trainer that stacks same-shaped
models of many users can replace it without touching the methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable, Sequence

import torch
from torch import Tensor, nn

from semnet.models import Channel, transmit


@dataclass
class LossTask:
    """One term of the multi-task loss: decode through ``decoder`` at one of ``snr_db``
    (drawn uniformly per image), weighted by ``weight``."""

    decoder: nn.Module
    snr_db: Sequence[float]
    weight: float = 1.0
    snr_uniform_db: tuple[float, float] | None = None  # draw uniformly in this range instead


@dataclass
class TrainJob:
    """Local training of one node.

    ``train`` names the modules whose parameters move ('encoder', 'decoders' or both);
    the rest are frozen. ``prox_mu``/``prox_reference`` add ``mu/2 ||w - w_ref||^2``
    over the moving parameters (FedProx, Ditto). ``correction`` is added to each moving
    parameter's gradient (SCAFFOLD's ``c - c_i``), aligned with ``trainable()``.
    """

    key: Hashable
    encoder: nn.Module
    tasks: list[LossTask]
    data: object  # a BatchStream: .next() -> float (B,3,H,W) in [0,1]
    steps: int
    train: tuple[str, ...] = ("encoder", "decoders")
    lr: float = 1e-3
    optimizer: str = "adam"
    weighting: str = "fixed"  # or 'uncertainty' (Kendall, Gal & Cipolla, CVPR 2018)
    prox_mu: float = 0.0
    prox_reference: list[Tensor] | None = None
    correction: list[Tensor] | None = None
    generator: torch.Generator | None = None
    # a long job cut into chunks (centralised training) keeps its optimiser and schedule
    optimizer_obj: torch.optim.Optimizer | None = None
    scheduler_obj: object | None = None

    def trainable(self) -> list[nn.Parameter]:
        """The parameters this job moves, in a fixed order (encoder first, then decoders)."""
        params: list[nn.Parameter] = []
        seen: set[int] = set()
        modules = ([self.encoder] if "encoder" in self.train else []) + (
            [t.decoder for t in self.tasks] if "decoders" in self.train else []
        )
        for module in modules:
            for p in module.parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    params.append(p)
        return params


@dataclass
class JobResult:
    key: Hashable
    steps: int
    samples: int
    loss: float
    task_losses: list[float] = field(default_factory=list)


class Trainer:
    """Runs ``TrainJob``s with real PyTorch steps on ``device``."""

    def __init__(self, channel: Channel, device: torch.device):
        self.channel = channel
        self.device = device
        self.steps_total = 0

    def run(self, jobs: Sequence[TrainJob]) -> list[JobResult]:
        return [self._run_one(job) for job in jobs]

    def _run_one(self, job: TrainJob) -> JobResult:
        params = job.trainable()
        moving = {id(p) for p in params}
        modules = [job.encoder] + [t.decoder for t in job.tasks]
        saved_flags = [(p, p.requires_grad) for m in modules for p in m.parameters()]
        for p, _ in saved_flags:
            p.requires_grad_(id(p) in moving)
        for m in modules:
            m.train()
        log_vars = None
        groups = [{"params": params}]
        if job.weighting == "uncertainty" and len(job.tasks) > 1:
            log_vars = torch.zeros(len(job.tasks), device=self.device, requires_grad=True)
            groups.append({"params": [log_vars]})
        optimizer = job.optimizer_obj or _make_optimizer(job.optimizer, groups, job.lr)
        weights = torch.tensor([t.weight for t in job.tasks], device=self.device)
        snr_choices = [torch.tensor(list(t.snr_db), dtype=torch.float32, device=self.device) for t in job.tasks]
        loss_sum = 0.0
        task_sums = [0.0] * len(job.tasks)
        samples = 0
        for _ in range(job.steps):
            x = job.data.next()
            batch = x.shape[0]
            samples += batch
            total = x.new_zeros(())
            for t, task in enumerate(job.tasks):
                if task.snr_uniform_db is not None:
                    low, high = task.snr_uniform_db
                    u = torch.rand(batch, generator=job.generator, device=x.device)
                    snr = low + (high - low) * u
                else:
                    snr = _draw_snr(snr_choices[t], batch, job.generator)
                x_hat = transmit(job.encoder, task.decoder, x, snr, self.channel, job.generator)
                task_loss = torch.mean((x_hat - x) ** 2)
                task_sums[t] += float(task_loss.detach())
                if log_vars is not None:
                    total = total + weights[t] * (torch.exp(-log_vars[t]) * task_loss + log_vars[t])
                else:
                    total = total + weights[t] * task_loss
            if job.prox_mu and job.prox_reference is not None:
                prox = sum(torch.sum((p - r) ** 2) for p, r in zip(params, job.prox_reference))
                total = total + 0.5 * job.prox_mu * prox
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            if job.correction is not None:
                for p, c in zip(params, job.correction):
                    if p.grad is not None:
                        p.grad.add_(c)
            optimizer.step()
            if job.scheduler_obj is not None:
                job.scheduler_obj.step()
            loss_sum += float(total.detach())
        for p, flag in saved_flags:
            p.requires_grad_(flag)
        self.steps_total += job.steps
        steps = max(job.steps, 1)
        return JobResult(
            key=job.key,
            steps=job.steps,
            samples=samples * max(len(job.tasks), 1),
            loss=loss_sum / steps,
            task_losses=[s / steps for s in task_sums],
        )


def _draw_snr(choices: Tensor, batch: int, generator: torch.Generator | None) -> Tensor:
    if choices.numel() == 1:
        return choices.expand(batch)
    idx = torch.randint(choices.numel(), (batch,), generator=generator, device=choices.device)
    return choices[idx]


def _make_optimizer(name: str, groups, lr: float) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=0.9)
    raise ValueError(f"unknown optimizer {name!r}")


def simulated_samples(steps: int, batch_size: int, tasks: int = 1) -> int:
    """Training images processed (for the compute profile): steps x batch x tasks."""
    return steps * batch_size * max(tasks, 1)
