"""Personalised baselines that start from the same federated model as FineFed.

Each states its sender/receiver pairing rule: which encoder and which decoder a
link i->j uses at evaluation.
"""

from __future__ import annotations

import copy

from torch import nn

from semnet.fl.aggregation import average_into, state_bits
from semnet.fl.context import ClientPlan, PhaseRecord, RunContext
from semnet.fl.finefed import PersonalModels
from semnet.fl.trainer import LossTask, TrainJob, simulated_samples
from semnet.scenario.schema import LocalTrainSpec
from semnet.sim import Message, Task


def local_finetune(
    ctx: RunContext, start: nn.Module, local: LocalTrainSpec, *, steps: int | None = None, phase: str = "local_finetune"
) -> tuple[PersonalModels, PhaseRecord]:
    """Naive local fine-tuning. Pairing: link i->j uses ``E_i`` (fine-tuned by i against
    the frozen global decoder, one task per receiver at that link's SNR) and the global
    decoder. No messages: every user already holds the global decoder."""
    ctx.begin_phase(phase)
    shared_decoder = start.decoder
    models = PersonalModels.of({u: copy.deepcopy(start.encoder) for u in ctx.users},
                               {u: shared_decoder for u in ctx.users})
    plans = []
    for i in ctx.users:
        receivers = ctx.network.receivers(i)
        if not receivers:
            continue
        n_steps = steps if steps is not None else local.steps_for(ctx.samples(i))

        def make(i=i, receivers=receivers, n_steps=n_steps):
            tasks = [LossTask(shared_decoder, [ctx.link_snr(i, j)], 1.0 / len(receivers)) for j in receivers]
            return [TrainJob(key=i, encoder=models.encoders[i], tasks=tasks, data=ctx.stream(i, local.batch_size),
                             steps=n_steps, train=("encoder",), lr=local.lr, optimizer=local.optimizer,
                             generator=ctx.generator(phase, i))]

        samples = simulated_samples(n_steps, local.batch_size, len(receivers))
        plans.append(ClientPlan(Task(key=i, node=i, samples=samples), make))
    ctx.play(plans)
    return models, ctx.end_phase(models.encoder_of, models.decoder_of)


def fedper(ctx: RunContext, start: nn.Module, rounds: int, local: LocalTrainSpec) -> tuple[PersonalModels, PhaseRecord]:
    """Split model after FedPer (Arivazhagan et al., 2019): the encoder is shared and
    federated, each user keeps a personal decoder. Each round user u trains the shared
    encoder copy and its own decoder on its own images at the SNRs of its incoming
    links (the channels its decoder serves); the server averages the encoders.
    Pairing: link i->j uses the shared encoder and ``D_j``."""
    ctx.begin_phase("fedper")
    shared = copy.deepcopy(start)
    models = PersonalModels(start, ctx.users)
    server = ctx.network.aggregator
    bits = state_bits(shared.encoder)
    for rnd in range(1, rounds + 1):
        plans = []
        for u in ctx.users:
            snrs = [ctx.link_snr(i, u) for i in ctx.network.transmitters(u)] or ctx.out_snrs(u)
            steps = local.steps_for(ctx.samples(u))

            def make(u=u, snrs=snrs, steps=steps, rnd=rnd):
                encoder = copy.deepcopy(shared.encoder)
                return [TrainJob(key=u, encoder=encoder, tasks=[LossTask(models.decoders[u], snrs)],
                                 data=ctx.stream(u, local.batch_size), steps=steps, lr=local.lr,
                                 optimizer=local.optimizer, generator=ctx.generator("fedper", rnd, u))]

            task = Task(key=u, node=u, downloads=(Message(server, u, "encoder", bits),),
                        samples=simulated_samples(steps, local.batch_size),
                        uploads=(Message(u, server, "encoder_update", bits),))
            plans.append(ClientPlan(task, make))
        finished, failures = ctx.play(plans)
        if finished:
            weights = [ctx.samples(plan.task.key) for plan, _, _ in finished]
            average_into(shared.encoder, [jobs[0].encoder for _, jobs, _ in finished], weights)
        ctx.aggregation_delay()
        ctx.report(clients=len(finished), failures=len(failures))
    models.encoders = {u: shared.encoder for u in ctx.users}
    return models, ctx.end_phase(models.encoder_of, models.decoder_of)


def ditto(
    ctx: RunContext, start: nn.Module, rounds: int, local: LocalTrainSpec, lam: float
) -> tuple[PersonalModels, PhaseRecord]:
    """Ditto (Li et al., 2021): FedAvg on the global model plus, on each user, a
    personal (encoder, decoder) trained on its own images with ``lam/2 ||v - w_global||^2``
    at the SNRs of all its links, out and in (its encoder serves the first, its
    decoder the second). Pairing: link i->j uses personal ``E_i`` and personal ``D_j``
    (j's decoder was trained on j's own images, not on link i->j)."""
    ctx.begin_phase("ditto")
    global_model = copy.deepcopy(start)
    personal = {u: copy.deepcopy(start) for u in ctx.users}
    server = ctx.network.aggregator
    bits = state_bits(global_model)
    for rnd in range(1, rounds + 1):
        plans = []
        for u in ctx.users:
            steps = local.steps_for(ctx.samples(u))

            def make(u=u, steps=steps, rnd=rnd):
                snapshot = copy.deepcopy(global_model)
                reference = [p.detach().clone() for m in (global_model.encoder, global_model.decoder)
                             for p in m.parameters()]
                common = dict(data=ctx.stream(u, local.batch_size), steps=steps, lr=local.lr,
                              optimizer=local.optimizer)
                return [
                    TrainJob(key=(u, "global"), encoder=snapshot.encoder,
                             tasks=[LossTask(snapshot.decoder, ctx.out_snrs(u))],
                             generator=ctx.generator("ditto_global", rnd, u), **common),
                    TrainJob(key=(u, "personal"), encoder=personal[u].encoder,
                             tasks=[LossTask(personal[u].decoder, _all_snrs(ctx, u))], prox_mu=lam,
                             prox_reference=reference, generator=ctx.generator("ditto_personal", rnd, u), **common),
                ]

            task = Task(key=u, node=u, downloads=(Message(server, u, "global_model", bits),),
                        samples=simulated_samples(2 * steps, local.batch_size),
                        uploads=(Message(u, server, "model_update", bits),))
            plans.append(ClientPlan(task, make))
        finished, failures = ctx.play(plans)
        if finished:
            weights = [ctx.samples(plan.task.key) for plan, _, _ in finished]
            average_into(global_model.encoder, [jobs[0].encoder for _, jobs, _ in finished], weights)
            average_into(global_model.decoder, [jobs[0].tasks[0].decoder for _, jobs, _ in finished], weights)
        ctx.aggregation_delay()
        ctx.report(clients=len(finished), failures=len(failures))
    models = PersonalModels.of({u: personal[u].encoder for u in ctx.users},
                               {u: personal[u].decoder for u in ctx.users})
    return models, ctx.end_phase(models.encoder_of, models.decoder_of)


def _all_snrs(ctx: RunContext, user: int) -> list[float]:
    """SNRs of the user's outgoing and incoming image links."""
    incoming = [ctx.link_snr(i, user) for i in ctx.network.transmitters(user)]
    return ctx.out_snrs(user) + incoming
