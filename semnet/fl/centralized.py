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
from semnet.fl.context import ClientPlan, PhaseRecord, RunContext
from semnet.fl.evaluation import summarize
from semnet.fl.federated import global_pairing
from semnet.fl.trainer import LossTask, TrainJob, simulated_samples
from semnet.scenario.schema import CentralizedSpec
from semnet.seeding import derive_seed
from semnet.sim import Message, Task


def train_centralized(ctx: RunContext, model: nn.Module, spec: CentralizedSpec) -> tuple[list[PhaseRecord], list[dict]]:
    """Train ``model`` in place; return the phase records and the test-SNR sweep."""
    server = ctx.aggregator
    ctx.begin_phase("data_upload")
    uploads = [
        ClientPlan(Task(key=u, node=u, uploads=(Message(u, server, "dataset", 8 * int(ctx.user_images(u).numel())),)))
        for u in ctx.users
    ]
    ctx.play(uploads)
    phases = [ctx.end_phase()]

    ctx.begin_phase("centralized")
    pooled = torch.cat([ctx.user_images(u) for u in ctx.users])
    stream = BatchStream(pooled, spec.batch_size, seed=derive_seed(ctx.seed, "central"), device=ctx.device,
                         augment=ctx.settings.augment)
    total_steps = max(1, math.ceil(spec.epochs * len(pooled) / spec.batch_size))
    chunk = max(1, math.ceil(spec.eval_every_epochs * len(pooled) / spec.batch_size))
    optimizer = torch.optim.Adam(model.parameters(), lr=spec.lr)
    scheduler = _schedule(optimizer, spec.lr_schedule, total_steps)
    link_snrs = [ctx.link_snr(i, j) for i, j in ctx.image_links()]  # with multiplicity, like the links
    task = LossTask(model.decoder, link_snrs, snr_uniform_db=spec.snr_range_db)
    generator = ctx.generator("central_train")
    enc_of, dec_of = global_pairing(model)
    done = 0
    while done < total_steps:
        steps = min(chunk, total_steps - done)
        job = TrainJob(key="central", encoder=model.encoder, tasks=[task], data=stream, steps=steps,
                       lr=spec.lr, optimizer_obj=optimizer, scheduler_obj=scheduler, generator=generator)
        plan = ClientPlan(Task(key="central", node=server, samples=simulated_samples(steps, spec.batch_size)),
                          lambda job=job: [job])
        ctx.play([plan])
        done += steps
        if done < total_steps:
            ctx.checkpoint("centralized_latest.pt", model)  # before evaluating: a kill there loses nothing
            ctx.evaluate(enc_of, dec_of)
    phases.append(ctx.end_phase(enc_of, dec_of))
    sweep = []
    for snr in spec.test_snrs_db:
        links = ctx.evaluate_at_snr(snr, enc_of, dec_of)
        quality = summarize(links)
        sweep.append({"snr_db": snr, "psnr_db": quality["psnr_db"], "ssim": quality["ssim"]})
    return phases, sweep


def _schedule(optimizer, kind: str, total_steps: int):
    if kind == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps, eta_min=0.0)
    if kind == "step":
        return torch.optim.lr_scheduler.MultiStepLR(
            optimizer, milestones=[int(0.6 * total_steps), int(0.85 * total_steps)], gamma=0.1
        )
    return None
