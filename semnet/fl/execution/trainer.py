"""One trainer interface for all local work.

Every method describes its local training as a list of ``TrainJob``s: which encoder,
which decoders (one per task of a multi-task loss), which parameters move, whose
data, which link SNRs (and the links they come from, whose channels the images
meet), how many optimiser steps. ``Trainer.run(jobs)`` executes them.
This loop trains one job after another; a batched trainer that stacks same-shaped
models of many users can replace it without touching the methods.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Hashable, Sequence

import torch
from torch import Tensor, nn

from semnet.fl.execution.task_term import TaskLossTerm
from semnet.fl.execution.terms import ClientTerm
from semnet.registry import trainers
from semnet.models import Channel, transmit
from semnet.channels.layer.channel import from_complex, power_normalize, to_complex
from semnet.channels.layer.link_channels import LinkChannels, RoutedChannel, as_link_channels


@dataclass
class LossTask:
    """One term of the multi-task loss: decode through ``decoder`` at one of ``snr_db``
    (drawn uniformly per image), weighted by ``weight``.

    ``links`` names, entry for entry of ``snr_db``, the link ``(src, dst)`` that SNR
    belongs to: an image drawn at ``snr_db[n]`` goes through the channel of
    ``links[n]`` (the trainer's :class:`~semnet.channels.layer.link_channels.LinkChannels`);
    None: every image through the default channel. With ``snr_uniform_db`` each image
    meets one of ``links``' channels, drawn uniformly, where they differ.
    """

    decoder: nn.Module
    snr_db: Sequence[float]
    weight: float = 1.0
    snr_uniform_db: tuple[float, float] | None = None  # draw uniformly in this range instead
    links: Sequence[tuple] | None = None

    def __post_init__(self):
        if self.links is not None and self.snr_uniform_db is None and len(self.links) != len(self.snr_db):
            raise ValueError(f"LossTask: {len(self.links)} links for {len(self.snr_db)} SNRs; give one link per SNR")


@dataclass
class TrainJob:
    """Local training of one node.

    ``train`` names the modules whose parameters move ('encoder', 'decoders' or both);
    the rest are frozen. ``only`` narrows them to named parameters: prefixes of
    ``encoder.<name>`` / ``decoder.<name>`` (a decoder's names, whichever task it serves);
    empty: every parameter of the moving modules (FedRep's head and body epochs move parts). ``terms`` are the algorithm's client logic (proximal pulls,
    gradient corrections, ...: :mod:`semnet.fl.algorithms.client_terms`), applied by every
    trainer in the same way.
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
    terms: tuple[ClientTerm, ...] = ()
    generator: torch.Generator | None = None
    only: tuple[str, ...] = ()
    # a long job cut into chunks (centralised training) keeps its optimiser and schedule
    optimizer_obj: torch.optim.Optimizer | None = None
    scheduler_obj: object | None = None

    def trainable(self) -> list[nn.Parameter]:
        """The parameters this job moves, in a fixed order (encoder first, then decoders)."""
        params: list[nn.Parameter] = []
        seen: set[int] = set()
        modules = ([("encoder", self.encoder)] if "encoder" in self.train else []) + (
            [("decoder", t.decoder) for t in self.tasks] if "decoders" in self.train else []
        )
        for role, module in modules:
            for name, p in module.named_parameters():
                if id(p) not in seen and self._moves(f"{role}.{name}"):
                    seen.add(id(p))
                    params.append(p)
        return params

    def _moves(self, qualified: str) -> bool:
        return not self.only or any(qualified == o or qualified.startswith(o + ".") for o in self.only)


@dataclass
class JobResult:
    """``passes``: encoder->channel->decoder forward/backward passes (steps x tasks),
    the unit of compute that budgets are matched in."""

    key: Hashable
    steps: int
    passes: int
    loss: float  # weighted task MSE, mean over steps (no proximal or weighting terms)
    task_losses: list[float] = field(default_factory=list)
    reports: dict = field(default_factory=dict)  # what the job's terms report (e.g. SCAFFOLD's grad_mean)


PRECISIONS = ("fp32", "bf16")


@trainers.register("sequential", "one job after another in this process, or spread over simulation.workers")
class Trainer:
    """Runs ``TrainJob``s with real PyTorch steps on ``device``, one after another.

    ``channel`` is one channel for every link, or the run's
    :class:`~semnet.channels.layer.link_channels.LinkChannels` (``channels``; ``channel`` is
    then its default): each task's images meet the channels of its ``links``.

    ``precision='bf16'`` runs the encoders' and decoders' layers under
    ``torch.autocast`` in bfloat16; parameters, optimiser states, power
    normalisation, channel noise and losses stay float32.

    ``task_term`` (``method.task_loss_weight``): added to every task's image loss, on
    its decoded images (the reported losses stay the image MSE).
    """

    def __init__(self, channel: Channel | LinkChannels, device: torch.device, loss: str = "mse",
                 precision: str = "fp32", task_term: TaskLossTerm | None = None):
        if loss not in IMAGE_LOSSES:
            raise ValueError(f"unknown loss {loss!r}; allowed: {', '.join(IMAGE_LOSSES)}")
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}; allowed: {', '.join(PRECISIONS)}")
        self.channels = as_link_channels(channel)
        self.channel = self.channels.default
        self.device = torch.device(device)
        self.loss = loss
        self.precision = precision
        self.task_term = task_term

    def _autocast(self):
        """Mixed precision for the model layers (a no-op in fp32)."""
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def close(self) -> None:
        """Release what the trainer holds between rounds (nothing here)."""

    def run(self, jobs: Sequence[TrainJob]) -> list[JobResult]:
        return [self._run_one(job) for job in jobs]

    def _run_one(self, job: TrainJob) -> JobResult:
        params = job.trainable()
        moving = {id(p) for p in params}
        modules = [job.encoder] + [t.decoder for t in job.tasks]
        saved_flags = [(p, p.requires_grad) for m in modules for p in m.parameters()]
        try:
            for p, _ in saved_flags:
                p.requires_grad_(id(p) in moving)
            for m in modules:
                m.train()
            return self._steps(job, params)
        finally:
            for p, flag in saved_flags:
                p.requires_grad_(flag)

    def _steps(self, job: TrainJob, params: list[nn.Parameter]) -> JobResult:
        log_vars = None
        if job.optimizer_obj is not None:
            optimizer = job.optimizer_obj
        else:
            groups = [{"params": params}]
            if job.weighting == "uncertainty" and len(job.tasks) > 1:
                log_vars = torch.zeros(len(job.tasks), device=self.device, requires_grad=True)
                groups.append({"params": [log_vars]})
            optimizer = _make_optimizer(job.optimizer, groups, job.lr)
        weights = [float(t.weight) for t in job.tasks]
        snr_choices = [torch.tensor(list(t.snr_db), dtype=torch.float32, device=self.device) for t in job.tasks]
        routes = [self.route(t) for t in job.tasks]
        reuse_latent = not getattr(job.encoder, "snr_aware", True)
        task_sums = torch.zeros(len(job.tasks), device=self.device)
        for term in job.terms:
            term.begin(params)
        for _ in range(job.steps):
            x = job.data.next()
            batch = x.shape[0]
            total = x.new_zeros(())
            z = latent_shape = None
            if reuse_latent:  # one encoder pass serves every task (SNR-agnostic encoder)
                with self._autocast():
                    latent = job.encoder(x, None)
                latent_shape = latent.shape[1:]
                z = power_normalize(to_complex(latent.float()))
            for t, task in enumerate(job.tasks):
                channels, which = routes[t]
                snr, choice = self._snr_choice(task, snr_choices[t], batch, x.device, job.generator, which is not None)
                # one channel serves the task (every run without per-link kinds): used as it is
                channel = channels[0] if which is None else RoutedChannel(channels, which[choice])
                if z is not None:
                    y = channel(z, snr, generator=job.generator)
                    with self._autocast():
                        x_hat = task.decoder(from_complex(y, latent_shape).to(x.dtype), snr)
                else:
                    # autocast reaches the model layers only: the symbols are complex
                    # float32 (to_complex), so power normalisation and noise stay fp32
                    with self._autocast():
                        x_hat = transmit(job.encoder, task.decoder, x, snr, channel, job.generator)
                squared = (x_hat.float() - x) ** 2
                task_loss = image_loss(squared, self.loss)
                # reported as MSE whatever the objective
                task_sums[t] += (task_loss if self.loss == "mse" else squared.mean()).detach()
                if self.task_term is not None:
                    task_loss = task_loss + self.task_term(x_hat.float(), x)
                if log_vars is not None:  # Kendall, Gal & Cipolla (2018) uncertainty weighting
                    total = total + weights[t] * (torch.exp(-log_vars[t]) * task_loss + log_vars[t])
                else:
                    total = total + weights[t] * task_loss
            for term in job.terms:
                penalty = term.penalty(params)
                if penalty is not None:
                    total = total + penalty
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            for term in job.terms:
                term.after_backward(params)
            optimizer.step()
            if job.scheduler_obj is not None:
                job.scheduler_obj.step()
        steps = max(job.steps, 1)
        task_losses = (task_sums / steps).tolist()
        reports: dict = {}
        for term in job.terms:
            reports.update(term.report(job.steps))
        return JobResult(
            key=job.key,
            steps=job.steps,
            passes=job.steps * max(len(job.tasks), 1),
            loss=sum(w * l for w, l in zip(weights, task_losses)),
            task_losses=task_losses,
            reports=reports,
        )

    def route(self, task: LossTask) -> tuple[list[Channel], Tensor | None]:
        """The channels ``task``'s images meet and, per entry of its ``snr_db`` (or of its
        ``links`` with ``snr_uniform_db``), which of them; None when one serves all."""
        channels, index = self.channels.route(task.links)
        return channels, None if index is None else torch.tensor(index, dtype=torch.long, device=self.device)

    @staticmethod
    def _snr(task: LossTask, choices: Tensor, batch: int, device, generator) -> Tensor:
        return Trainer._snr_choice(task, choices, batch, device, generator, False)[0]

    @staticmethod
    def _snr_choice(task: LossTask, choices: Tensor, batch: int, device, generator,
                    routed: bool) -> tuple[Tensor, Tensor | None]:
        """Each image's SNR and, when ``routed``, which entry it was drawn from (whose
        link's channel it meets); the draws of an unrouted task are those it always made."""
        if task.snr_uniform_db is not None:
            low, high = task.snr_uniform_db
            snr = low + (high - low) * torch.rand(batch, generator=generator, device=device)
            if not routed:
                return snr, None
            return snr, torch.randint(len(task.links), (batch,), generator=generator, device=device)
        if choices.numel() == 1:
            return choices.expand(batch), (torch.zeros(batch, dtype=torch.long, device=device) if routed else None)
        idx = torch.randint(choices.numel(), (batch,), generator=generator, device=choices.device)
        return choices[idx], idx


IMAGE_LOSSES = ("mse", "log_mse")


def image_loss(squared_error: Tensor, kind: str) -> Tensor:
    """Training objective from squared errors, batch first (``(B, ...)``).

    ``mse``: their mean over everything. ``log_mse``: the mean over images of
    ``10 log10 MSE_i``, i.e. minus the mean per-image PSNR (images in [0, 1]) that
    evaluations report. Its gradient weights image i by ``1 / MSE_i``, so in a batch
    that mixes link SNRs the low-SNR images, whose errors are several times larger,
    do not set the direction alone.
    """
    if kind == "mse":
        return squared_error.mean()
    if kind == "log_mse":
        per_image_mse = squared_error.reshape(squared_error.shape[0], -1).mean(dim=1)
        return (10.0 * torch.log10(per_image_mse + 1e-10)).mean()
    raise ValueError(f"unknown loss {kind!r}; allowed: {', '.join(IMAGE_LOSSES)}")


def _make_optimizer(name: str, groups, lr: float) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=0.9)
    raise ValueError(f"unknown optimizer {name!r}")


def simulated_samples(steps: int, batch_size: int, tasks: int = 1) -> int:
    """Training images processed (for the compute profile): steps x batch x tasks."""
    return steps * batch_size * max(tasks, 1)
