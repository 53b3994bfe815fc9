"""Centralised training: the upper reference for FineFed.

All users upload their training images to the aggregator (counted as messages of
their real size), which trains one model on the pooled data with SNRs drawn from
the scenario's image links (or uniformly from ``snr_range_db``), with a
learning-rate schedule and evaluation every ``eval_every_epochs``. At each
evaluation the model is also saved as ``checkpoints/centralized_latest.pt`` (the
weights of the last ``metrics.jsonl`` record): a long run stopped early leaves
weights that ``model.checkpoint`` can load; a finished run discards the file.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from semnet.data import BatchStream
from semnet.fl.loop.context import ClientPlan, PhaseRecord, RunContext
from semnet.fl.loop.evaluation import summarize
from semnet.fl.algorithms.federated import global_pairing
from semnet.fl.loop.strategy import Pairing, RoundStrategy, run_rounds
from semnet.fl.execution.trainer import TrainJob, simulated_samples
from semnet.scenario.schema import CentralizedSpec
from semnet.seeding import derive_seed
from semnet.sim import Message, Task


class DataUpload(RoundStrategy):
    """One round in which every user uploads its training images to the aggregator."""

    uses = ("topology", "data")

    aggregates = reports = False

    def configure(self, rnd: int) -> list[ClientPlan]:
        ctx, server = self.ctx, self.ctx.topology.aggregator
        return [ClientPlan(Task(key=u, node=u, uploads=(
            Message(u, server, "dataset", 8 * int(ctx.data.user_images(u).numel())),))) for u in ctx.topology.users]

    def pairing(self) -> None:
        return None  # nothing is trained


class CentralTraining(RoundStrategy):
    """The pooled model's training, one round per evaluation chunk (``eval_every_epochs``):
    its optimiser, schedule, batch stream and generator persist across the rounds (and
    into checkpoints)."""

    uses = ("topology", "data", "random", "phases")

    aggregates = reports = False

    def __init__(self, ctx: RunContext, model: nn.Module, spec: CentralizedSpec):
        super().__init__(ctx)
        self.model, self.spec = model, spec
        pooled = torch.cat([self.ctx.data.user_images(u) for u in self.ctx.topology.users])
        self.stream = BatchStream(pooled, spec.batch_size, seed=derive_seed(self.ctx.random.seed, "central"), device=self.ctx.data.device,
                                  augment=self.ctx.settings.augment)
        self.total_steps = max(1, math.ceil(spec.epochs * len(pooled) / spec.batch_size))
        self.chunk = max(1, math.ceil(spec.eval_every_epochs * len(pooled) / spec.batch_size))
        self.optimizer = torch.optim.Adam(model.parameters(), lr=spec.lr)
        self.scheduler = _schedule(self.optimizer, spec.lr_schedule, self.total_steps)
        # every link's SNRs with multiplicity, each image through the channel of the link its SNR is from
        self.task = self.ctx.data.loss_task(model.decoder, self.ctx.topology.image_links(), snr_uniform_db=spec.snr_range_db)
        self.generator = self.ctx.random.generator("central_train")

    @property
    def rounds(self) -> int:
        return math.ceil(self.total_steps / self.chunk)

    def evaluation_every(self) -> int:
        return 1  # every chunk but the last (the phase's end scores that one)

    def configure(self, rnd: int) -> list[ClientPlan]:
        steps = min(self.chunk, self.total_steps - (rnd - 1) * self.chunk)
        spec, server = self.spec, self.ctx.topology.aggregator
        job = TrainJob(key="central", encoder=self.model.encoder, tasks=[self.task], data=self.stream, steps=steps,
                       lr=spec.lr, optimizer_obj=self.optimizer, scheduler_obj=self.scheduler,
                       generator=self.generator)
        return [ClientPlan(Task(key="central", node=server, samples=simulated_samples(steps, spec.batch_size)),
                           lambda: [job])]

    def aggregate(self, rnd: int, replies, failures) -> None:
        if rnd < self.rounds:  # before evaluating: a kill there loses nothing
            self.ctx.phases.checkpoint("centralized_latest.pt", self.model)

    def pairing(self) -> Pairing:
        return global_pairing(self.model)


def train_centralized(ctx: RunContext, model: nn.Module, spec: CentralizedSpec) -> tuple[list[PhaseRecord], list[dict]]:
    """Train ``model`` in place; return the phase records and the test-SNR sweep."""
    phases = [run_rounds(ctx, DataUpload(ctx), 1, phase="data_upload")]
    training = CentralTraining(ctx, model, spec)
    phases.append(run_rounds(ctx, training, training.rounds, phase="centralized"))
    enc_of, dec_of = global_pairing(model)
    sweep = []
    for snr in spec.test_snrs_db:
        links = ctx.phases.evaluate_at_snr(snr, enc_of, dec_of)
        quality = summarize(links)
        point = {"snr_db": snr, "psnr_db": quality["psnr_db"], "ssim": quality["ssim"]}
        if "ms_ssim" in quality:  # images of 161 px and up (absent otherwise, as before)
            point["ms_ssim"] = quality["ms_ssim"]
        sweep.append(point)
    return phases, sweep


def _schedule(optimizer, kind: str, total_steps: int):
    if kind == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps, eta_min=0.0)
    if kind == "step":
        return torch.optim.lr_scheduler.MultiStepLR(
            optimizer, milestones=[int(0.6 * total_steps), int(0.85 * total_steps)], gamma=0.1
        )
    return None
