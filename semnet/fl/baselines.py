"""Personalised baselines that start from the same federated model as FineFed, as
round strategies (each states its sender/receiver pairing rule: which encoder and
which decoder a link i->j uses at evaluation). The methods and controls that run
them are in :mod:`semnet.fl.methods` and :mod:`semnet.fl.controls`.

Shared models travel through the run's codecs like the federated ones
(:mod:`semnet.fl.federated`): the global model (FedPer: the shared encoder) with
``method.codec.global_model``, each user's change to it with ``method.codec.updates``.
"""

from __future__ import annotations

import copy

from torch import nn

from semnet.fl.aggregation import apply_average_update, average_into, differences, load_tensors, tensors_of
from semnet.fl.context import ClientPlan, RunContext
from semnet.fl.finefed import PersonalModels
from semnet.fl.strategy import ClientReply, Pairing, RoundStrategy
from semnet.fl.trainer import LossTask, TrainJob, simulated_samples
from semnet.scenario.schema import LocalTrainSpec
from semnet.sim import Message, Task


class SharedModel:
    """A model the server shares with users through the run's codecs: its download size
    and upload size, each user's decoded copy, and the server's update from the copies
    users trained (an exact average with lossless codecs, as before codecs existed)."""

    def __init__(self, ctx: RunContext, module: nn.Module):
        self.ctx, self.module = ctx, module
        codecs = ctx.codecs
        state = tensors_of(module)
        self.down_bits = codecs.bits("global_model", state, difference=False)
        self.up_bits = codecs.bits("updates", state, difference=True)
        self.exact = codecs.lossless("global_model", difference=False) and codecs.lossless("updates", difference=True)
        self._start: dict = {}  # user -> the state it decoded this round (lossy codecs)

    def new_round(self) -> None:
        self._start.clear()

    def received(self, user) -> nn.Module:
        """A trainable copy of the module as ``user`` decoded it."""
        local = copy.deepcopy(self.module)
        if not self.exact:
            state = self.ctx.codecs.send_state("global_model", tensors_of(self.module), self.ctx.aggregator, user)
            load_tensors(local, state)
            self._start[user] = tensors_of(local)
        return local

    def aggregate(self, trained: list[tuple[object, nn.Module]], weights: list[float]) -> None:
        """Fold the users' trained copies into the shared module."""
        if self.exact:
            average_into(self.module, [m for _, m in trained], weights)
            return
        server = self.ctx.aggregator
        updates = [self.ctx.codecs.send_difference("updates", differences(tensors_of(m), self._start[user]), user, server)
                   for user, m in trained]
        load_tensors(self.module, apply_average_update(tensors_of(self.module), updates, weights))


class _Pair(nn.Module):
    """An encoder and a decoder as one module, in the order of a model's state."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder


class LocalFinetune(RoundStrategy):
    """Naive local fine-tuning, one round. Pairing: link i->j uses ``E_i`` (fine-tuned by
    i against the frozen global decoder, one task per receiver at that link's SNR) and
    the global decoder. No messages: every user already holds the global decoder."""

    aggregates = False
    reports = False

    def __init__(self, ctx: RunContext, start: nn.Module, local: LocalTrainSpec, *, steps: int | None = None,
                 purpose: str = "local_finetune"):
        super().__init__(ctx)
        self.local, self.steps, self.purpose = local, steps, purpose
        shared_decoder = start.decoder
        self.models = PersonalModels.of({u: copy.deepcopy(start.encoder) for u in ctx.users},
                                        {u: shared_decoder for u in ctx.users})

    def pairing(self) -> Pairing:
        return self.models.pairing()

    def configure(self, rnd: int) -> list[ClientPlan]:
        ctx, local, models = self.ctx, self.local, self.models
        plans = []
        for i in ctx.users:
            receivers = ctx.receivers(i)
            if not receivers:
                continue
            n_steps = self.steps if self.steps is not None else local.steps_for(ctx.samples(i))

            def make(i=i, receivers=receivers, n_steps=n_steps):
                tasks = [LossTask(models.decoders[i], [ctx.link_snr(i, j)], 1.0 / len(receivers)) for j in receivers]
                return [TrainJob(key=i, encoder=models.encoders[i], tasks=tasks, data=ctx.stream(i, local.batch_size),
                                 steps=n_steps, train=("encoder",), lr=local.lr, optimizer=local.optimizer,
                                 generator=ctx.generator(self.purpose, i))]

            samples = simulated_samples(n_steps, local.batch_size, len(receivers))
            plans.append(ClientPlan(Task(key=i, node=i, samples=samples), make))
        return plans

    def aggregate(self, rnd: int, replies: list[ClientReply], failures) -> None:
        for reply in replies:  # nothing to fold: each encoder is used where it trained, once trained
            self.ctx.deploy(reply.key, encoder=self.models.encoders[reply.key], at_s=reply.plan.outcome.compute_end_s)


class FedPer(RoundStrategy):
    """Split model after FedPer (Arivazhagan et al., 2019): the encoder is shared and
    federated, each user keeps a personal decoder. Each round user u trains the shared
    encoder copy and its own decoder on its own images at the SNRs of its incoming
    links (the channels its decoder serves); the server averages the encoders.
    Pairing: link i->j uses the shared encoder and ``D_j``."""

    def __init__(self, ctx: RunContext, start: nn.Module, local: LocalTrainSpec):
        super().__init__(ctx)
        self.local = local
        self.shared = copy.deepcopy(start)
        self.models = PersonalModels(start, ctx.users)
        self.models.encoders = {u: self.shared.encoder for u in ctx.users}
        self.shared_sync = SharedModel(ctx, self.shared.encoder)

    def pairing(self) -> Pairing:
        return self.models.pairing()

    def steps_per_round(self) -> int:
        return sum(self.local.steps_for(self.ctx.samples(u)) for u in self.ctx.users)

    def configure(self, rnd: int) -> list[ClientPlan]:
        ctx, local, models = self.ctx, self.local, self.models
        server = ctx.aggregator
        self.shared_sync.new_round()
        plans = []
        for u in ctx.users:
            snrs = [ctx.link_snr(i, u) for i in ctx.transmitters(u)] or ctx.out_snrs(u)
            steps = local.steps_for(ctx.samples(u))

            def make(u=u, snrs=snrs, steps=steps, rnd=rnd):
                encoder = self.shared_sync.received(u)
                return [TrainJob(key=u, encoder=encoder, tasks=[LossTask(models.decoders[u], snrs)],
                                 data=ctx.stream(u, local.batch_size), steps=steps, lr=local.lr,
                                 optimizer=local.optimizer, generator=ctx.generator("fedper", rnd, u))]

            download = ctx.deploys(Message(server, u, "encoder", self.shared_sync.down_bits), encoder=self.shared.encoder)
            task = Task(key=u, node=u, downloads=(download,),
                        samples=simulated_samples(steps, local.batch_size),
                        uploads=(Message(u, server, "encoder_update", self.shared_sync.up_bits),))
            plans.append(ClientPlan(task, make))
        return plans

    def aggregate(self, rnd: int, replies: list[ClientReply], failures) -> None:
        for reply in replies:  # a user decodes with its personal decoder once it has trained it
            self.ctx.deploy(reply.key, decoder=self.models.decoders[reply.key],
                            at_s=reply.plan.outcome.compute_end_s)
        if replies:
            weights = [self.ctx.samples(r.key) for r in replies]
            self.shared_sync.aggregate([(r.key, r.jobs[0].encoder) for r in replies], weights)


class Ditto(RoundStrategy):
    """Ditto (Li et al., 2021): FedAvg on the global model plus, on each user, a
    personal (encoder, decoder) trained on its own images with ``lam/2 ||v - w_global||^2``
    at the SNRs of all its links, out and in (its encoder serves the first, its
    decoder the second). Pairing: link i->j uses personal ``E_i`` and personal ``D_j``
    (j's decoder was trained on j's own images, not on link i->j)."""

    def __init__(self, ctx: RunContext, start: nn.Module, local: LocalTrainSpec, lam: float):
        super().__init__(ctx)
        self.local, self.lam = local, lam
        self.global_model = copy.deepcopy(start)
        self.personal = {u: copy.deepcopy(start) for u in ctx.users}
        self.global_sync = SharedModel(ctx, self.global_model)
        self.models = PersonalModels.of({u: self.personal[u].encoder for u in ctx.users},
                                        {u: self.personal[u].decoder for u in ctx.users})

    def pairing(self) -> Pairing:
        return self.models.pairing()

    def steps_per_round(self) -> int:
        # Ditto trains a global and a personal model
        return 2 * sum(self.local.steps_for(self.ctx.samples(u)) for u in self.ctx.users)

    def configure(self, rnd: int) -> list[ClientPlan]:
        ctx, local = self.ctx, self.local
        server = ctx.aggregator
        self.global_sync.new_round()
        plans = []
        for u in ctx.users:
            steps = local.steps_for(ctx.samples(u))

            def make(u=u, steps=steps, rnd=rnd):
                snapshot = self.global_sync.received(u)  # the global model as u decoded it
                reference = [p.detach().clone() for m in (snapshot.encoder, snapshot.decoder)
                             for p in m.parameters()]
                common = dict(data=ctx.stream(u, local.batch_size), steps=steps, lr=local.lr,
                              optimizer=local.optimizer)
                personal = self.personal[u]
                return [
                    TrainJob(key=(u, "global"), encoder=snapshot.encoder,
                             tasks=[LossTask(snapshot.decoder, ctx.out_snrs(u))],
                             generator=ctx.generator("ditto_global", rnd, u), **common),
                    TrainJob(key=(u, "personal"), encoder=personal.encoder,
                             tasks=[LossTask(personal.decoder, _all_snrs(ctx, u))], prox_mu=self.lam,
                             prox_reference=reference, generator=ctx.generator("ditto_personal", rnd, u), **common),
                ]

            task = Task(key=u, node=u, downloads=(Message(server, u, "global_model", self.global_sync.down_bits),),
                        samples=simulated_samples(2 * steps, local.batch_size),
                        uploads=(Message(u, server, "model_update", self.global_sync.up_bits),))
            plans.append(ClientPlan(task, make))
        return plans

    def aggregate(self, rnd: int, replies: list[ClientReply], failures) -> None:
        for reply in replies:  # a user sends and decodes with its personal model once it has trained it
            personal = self.personal[reply.key]
            self.ctx.deploy(reply.key, encoder=personal.encoder, decoder=personal.decoder,
                            at_s=reply.plan.outcome.compute_end_s)
        if replies:
            weights = [self.ctx.samples(r.key) for r in replies]
            if self.global_sync.exact:
                average_into(self.global_model.encoder, [r.jobs[0].encoder for r in replies], weights)
                average_into(self.global_model.decoder, [r.jobs[0].tasks[0].decoder for r in replies], weights)
                return
            # the clients' global copies (the snapshot trained by the first job), as one module each
            trained = {r.key: r.jobs[0] for r in replies}
            self.global_sync.aggregate([(k, _Pair(j.encoder, j.tasks[0].decoder)) for k, j in trained.items()],
                                       weights)


def _all_snrs(ctx: RunContext, user: int) -> list[float]:
    """SNRs of the user's outgoing and incoming image links."""
    incoming = [ctx.link_snr(i, user) for i in ctx.transmitters(user)]
    return ctx.out_snrs(user) + incoming
