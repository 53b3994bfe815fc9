"""Personalised baselines that start from the same federated model as FineFed, as
round strategies (each states its sender/receiver pairing rule: which encoder and
which decoder a link i->j uses at evaluation). The methods and controls that run
them are in :mod:`semnet.fl.methods.registered` and :mod:`semnet.fl.methods.controls`.

Shared models travel through the run's codecs like the federated ones
(:mod:`semnet.fl.algorithms.federated`): the global model (FedPer: the shared encoder) with
``method.codec.global_model``, each user's change to it with ``method.codec.updates``,
and only to users that lack its version (:mod:`semnet.fl.loop.versions`): every user holds
the federated start, so the first round sends no model down.
"""

from __future__ import annotations

import copy

from torch import nn

from semnet.fl.algorithms.aggregation import apply_average_update, average_into, differences, load_tensors, tensors_of
from semnet.fl.algorithms.client_terms import ProximalTerm
from semnet.fl.loop.context import ClientPlan, RunContext
from semnet.fl.methods.finefed import PersonalModels
from semnet.fl.loop.strategy import ClientReply, Pairing, RoundStrategy
from semnet.fl.execution.trainer import TrainJob, simulated_samples
from semnet.fl.loop.versions import held_state, keep_state, versions_of
from semnet.scenario.schema import LocalTrainSpec
from semnet.sim import Message, Task


class SharedModel:
    """A model the server shares with users through the run's codecs: its download size
    and upload size, its version (per part: ``slots`` names them), each user's decoded
    copy, and the server's update from the copies users trained (an exact average with
    lossless codecs, as before codecs existed)."""

    def __init__(self, ctx: RunContext, module: nn.Module, slots: dict[str, nn.Module], kind: str,
                 deploys_as: str | None = None):
        self.ctx, self.module, self.kind = ctx, module, kind
        # the role the module takes at a user once its download arrives ("encoder" or
        # "decoder", for live images); None: users do not send or decode with it
        self.deploys_as = deploys_as
        self.slots = slots  # slot name -> the part of `module` it names, in `module`'s state order
        codecs = ctx.rounds.codecs
        state = tensors_of(module)
        self.down_bits = codecs.bits("global_model", state, difference=False)
        self.up_bits = codecs.bits("updates", state, difference=True)
        self.exact = codecs.lossless("global_model", difference=False) and codecs.lossless("updates", difference=True)
        self._start: dict = {}  # user -> the state it decoded this round (lossy codecs)
        self._versions: tuple[str, ...] = ()  # the module's version this round

    def new_round(self) -> None:
        self._start.clear()
        self._versions = self.versions()

    def versions(self) -> tuple[str, ...]:
        return versions_of(list(self.slots.values()))

    def holds(self, user) -> bool:
        return self.ctx.rounds.holdings.holds(user, *self._versions)

    def downloads(self, user) -> tuple[Message, ...]:
        """The module's download to ``user`` this round, unless it holds that version."""
        if self.holds(user):
            return ()
        message = Message(self.ctx.topology.aggregator, user, self.kind, self.down_bits)
        if self.deploys_as is not None:
            message = self.ctx.deployment.deploys(message, **{self.deploys_as: self.module})
        return (message,)

    def receives(self, user) -> tuple[str, ...]:
        return () if self.holds(user) else self._versions

    def broadcast(self) -> list[ClientPlan]:
        """The closing round: the module to every user that lacks its final version."""
        self.new_round()
        lossy = not self.ctx.rounds.codecs.lossless("global_model", difference=False)
        plans = []
        for u in self.ctx.topology.users:
            if not self.holds(u):
                keep = (lambda u=u: self._keep(u)) if lossy else None
                plans.append(ClientPlan(Task(key=u, node=u, downloads=self.downloads(u)), keep,
                                        receives=self._versions))
        return plans

    def _keep(self, user) -> list[TrainJob]:
        self.received(user)  # decoded and kept, nothing trained
        return []

    def received(self, user, held: bool = False) -> nn.Module:
        """A trainable copy of the module as ``user`` decoded it, or as it holds it
        (``held``: nothing was sent)."""
        local = copy.deepcopy(self.module)
        if not self.exact:
            parts = list(self.slots.values())
            if held:
                state = held_state(self.ctx.rounds.holdings, user, self._versions, parts)
            else:
                state = self.ctx.rounds.codecs.send_state("global_model", tensors_of(self.module), self.ctx.topology.aggregator, user)
                if not self.ctx.rounds.codecs.lossless("global_model", difference=False):
                    keep_state(self.ctx.rounds.holdings, user, list(self.slots), self._versions, parts, state)
            if state is not None:
                load_tensors(local, state)
            self._start[user] = tensors_of(local)
        return local

    def aggregate(self, trained: list[tuple[object, nn.Module]], weights: list[float]) -> None:
        """Fold the users' trained copies into the shared module."""
        if self.exact:
            average_into(self.module, [m for _, m in trained], weights)
            return
        server = self.ctx.topology.aggregator
        updates = [self.ctx.rounds.codecs.send_difference("updates", differences(tensors_of(m), self._start[user]), user, server)
                   for user, m in trained]
        load_tensors(self.module, apply_average_update(tensors_of(self.module), updates, weights))


class _Pair(nn.Module):
    """An encoder and a decoder as one module, in the order of a model's state."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder


def model_pair(job: TrainJob) -> nn.Module:
    """The (encoder, decoder) a single-task job trained, as one module in a model's state order."""
    return _Pair(job.encoder, job.tasks[0].decoder)


class LocalFinetune(RoundStrategy):
    """Naive local fine-tuning, one round. Pairing: link i->j uses ``E_i`` (fine-tuned by
    i against the frozen global decoder, one task per receiver at that link's SNR) and
    the global decoder. Every user holds the global decoder after the federated start's
    final broadcast, so no message travels; a user that lacks it (its broadcast was lost)
    downloads it first."""

    uses = ("topology", "data", "random", "rounds", "deployment")

    aggregates = False
    reports = False

    def __init__(self, ctx: RunContext, start: nn.Module, local: LocalTrainSpec, *, steps: int | None = None,
                 purpose: str = "local_finetune"):
        super().__init__(ctx)
        self.local, self.steps, self.purpose = local, steps, purpose
        shared_decoder = start.decoder
        self.models = PersonalModels.of({u: copy.deepcopy(start.encoder) for u in self.ctx.topology.users},
                                        {u: shared_decoder for u in self.ctx.topology.users})
        self.decoder_sync = SharedModel(self.ctx, shared_decoder, {"global.decoder": shared_decoder}, "decoder",
                                        deploys_as="decoder")

    def pairing(self) -> Pairing:
        return self.models.pairing()

    def configure(self, rnd: int) -> list[ClientPlan]:
        ctx, local, models, sync = self.ctx, self.local, self.models, self.decoder_sync
        sync.new_round()
        plans = []
        for i in ctx.topology.users:
            receivers = ctx.topology.receivers(i)
            if not receivers:
                continue
            n_steps = self.steps if self.steps is not None else local.steps_for(ctx.data.samples(i))
            held = sync.holds(i)

            def make(i=i, receivers=receivers, n_steps=n_steps, held=held):
                # the global decoder as i holds it: itself, unless a lossy codec gave i a copy
                decoder = models.decoders[i] if sync.exact else sync.received(i, held)
                tasks = [ctx.data.loss_task(decoder, [(i, j)], 1.0 / len(receivers)) for j in receivers]
                return [TrainJob(key=i, encoder=models.encoders[i], tasks=tasks, data=ctx.data.stream(i, local.batch_size),
                                 steps=n_steps, train=("encoder",), lr=local.lr, optimizer=local.optimizer,
                                 generator=ctx.random.generator(self.purpose, i))]

            samples = simulated_samples(n_steps, local.batch_size, len(receivers))
            plans.append(ClientPlan(Task(key=i, node=i, downloads=sync.downloads(i), samples=samples), make,
                                    receives=sync.receives(i)))
        return plans

    def aggregate(self, rnd: int, replies: list[ClientReply], failures) -> None:
        for reply in replies:  # nothing to fold: each encoder is used where it trained, once trained
            self.ctx.deployment.deploy(reply.key, encoder=self.models.encoders[reply.key], at_s=reply.plan.outcome.compute_end_s)


class FedPer(RoundStrategy):
    """Split model after FedPer (Arivazhagan et al., 2019): the encoder is shared and
    federated, each user keeps a personal decoder. Each round user u trains the shared
    encoder copy and its own decoder on its own images at the SNRs of its incoming
    links (the channels its decoder serves); the server averages the encoders.
    Pairing: link i->j uses the shared encoder and ``D_j``."""

    uses = ("topology", "data", "random", "rounds", "deployment")

    def __init__(self, ctx: RunContext, start: nn.Module, local: LocalTrainSpec):
        super().__init__(ctx)
        self.local = local
        self.shared = copy.deepcopy(start)
        self.models = PersonalModels(start, self.ctx.topology.users)
        self.models.encoders = {u: self.shared.encoder for u in self.ctx.topology.users}
        self.shared_sync = SharedModel(self.ctx, self.shared.encoder, {"global.encoder": self.shared.encoder}, "encoder",
                                       deploys_as="encoder")

    def pairing(self) -> Pairing:
        return self.models.pairing()

    def closing_plans(self) -> list[ClientPlan]:
        """Every user that lacks the final shared encoder downloads it."""
        return self.shared_sync.broadcast()

    def steps_per_round(self) -> int:
        return sum(self.local.steps_for(self.ctx.data.samples(u)) for u in self.ctx.topology.users)

    def configure(self, rnd: int) -> list[ClientPlan]:
        ctx, local, models = self.ctx, self.local, self.models
        server = ctx.topology.aggregator
        self.shared_sync.new_round()
        plans = []
        for u in ctx.topology.users:
            links = [(i, u) for i in ctx.topology.transmitters(u)] or ctx.topology.out_links(u)  # the links u's decoder serves
            steps = local.steps_for(ctx.data.samples(u))
            held = self.shared_sync.holds(u)

            def make(u=u, links=links, steps=steps, rnd=rnd, held=held):
                encoder = self.shared_sync.received(u, held)
                return [TrainJob(key=u, encoder=encoder, tasks=[ctx.data.loss_task(models.decoders[u], links)],
                                 data=ctx.data.stream(u, local.batch_size), steps=steps, lr=local.lr,
                                 optimizer=local.optimizer, generator=ctx.random.generator("fedper", rnd, u))]

            task = Task(key=u, node=u, downloads=self.shared_sync.downloads(u),
                        samples=simulated_samples(steps, local.batch_size),
                        uploads=(Message(u, server, "encoder_update", self.shared_sync.up_bits),))
            plans.append(ClientPlan(task, make, receives=self.shared_sync.receives(u)))
        return plans

    def aggregate(self, rnd: int, replies: list[ClientReply], failures) -> None:
        for reply in replies:  # a user decodes with its personal decoder once it has trained it
            self.ctx.deployment.deploy(reply.key, decoder=self.models.decoders[reply.key],
                            at_s=reply.plan.outcome.compute_end_s)
        if replies:
            weights = [self.ctx.data.samples(r.key) for r in replies]
            self.shared_sync.aggregate([(r.key, r.jobs[0].encoder) for r in replies], weights)


class Ditto(RoundStrategy):
    """Ditto (Li et al., 2021): FedAvg on the global model plus, on each user, a
    personal (encoder, decoder) trained on its own images with ``lam/2 ||v - w_global||^2``
    at the SNRs of all its links, out and in (its encoder serves the first, its
    decoder the second). Pairing: link i->j uses personal ``E_i`` and personal ``D_j``
    (j's decoder was trained on j's own images, not on link i->j)."""

    uses = ("topology", "data", "random", "rounds", "deployment")

    def __init__(self, ctx: RunContext, start: nn.Module, local: LocalTrainSpec, lam: float):
        super().__init__(ctx)
        self.local, self.lam = local, lam
        self.global_model = copy.deepcopy(start)
        self.personal = {u: copy.deepcopy(start) for u in self.ctx.topology.users}
        self.global_sync = SharedModel(self.ctx, self.global_model, {"global.encoder": self.global_model.encoder,
                                                                "global.decoder": self.global_model.decoder},
                                       "global_model")
        self.models = PersonalModels.of({u: self.personal[u].encoder for u in self.ctx.topology.users},
                                        {u: self.personal[u].decoder for u in self.ctx.topology.users})

    def pairing(self) -> Pairing:
        return self.models.pairing()

    def steps_per_round(self) -> int:
        # Ditto trains a global and a personal model
        return 2 * sum(self.local.steps_for(self.ctx.data.samples(u)) for u in self.ctx.topology.users)

    def configure(self, rnd: int) -> list[ClientPlan]:
        ctx, local = self.ctx, self.local
        server = ctx.topology.aggregator
        self.global_sync.new_round()
        plans = []
        for u in ctx.topology.users:
            steps = local.steps_for(ctx.data.samples(u))
            held = self.global_sync.holds(u)

            def make(u=u, steps=steps, rnd=rnd, held=held):
                snapshot = self.global_sync.received(u, held)  # the global model as u decoded or holds it
                reference = [p.detach().clone() for m in (snapshot.encoder, snapshot.decoder)
                             for p in m.parameters()]
                common = dict(data=ctx.data.stream(u, local.batch_size), steps=steps, lr=local.lr,
                              optimizer=local.optimizer)
                personal = self.personal[u]
                return [
                    TrainJob(key=(u, "global"), encoder=snapshot.encoder,
                             tasks=[ctx.data.loss_task(snapshot.decoder, ctx.topology.out_links(u))],
                             generator=ctx.random.generator("ditto_global", rnd, u), **common),
                    TrainJob(key=(u, "personal"), encoder=personal.encoder,
                             tasks=[ctx.data.loss_task(personal.decoder, all_links(ctx, u))],
                             terms=(ProximalTerm(self.lam, reference),) if self.lam else (), generator=ctx.random.generator("ditto_personal", rnd, u), **common),
                ]

            task = Task(key=u, node=u, downloads=self.global_sync.downloads(u),
                        samples=simulated_samples(2 * steps, local.batch_size),
                        uploads=(Message(u, server, "model_update", self.global_sync.up_bits),))
            plans.append(ClientPlan(task, make, receives=self.global_sync.receives(u)))
        return plans

    def aggregate(self, rnd: int, replies: list[ClientReply], failures) -> None:
        for reply in replies:  # a user sends and decodes with its personal model once it has trained it
            personal = self.personal[reply.key]
            self.ctx.deployment.deploy(reply.key, encoder=personal.encoder, decoder=personal.decoder,
                            at_s=reply.plan.outcome.compute_end_s)
        if replies:
            weights = [self.ctx.data.samples(r.key) for r in replies]
            if self.global_sync.exact:
                average_into(self.global_model.encoder, [r.jobs[0].encoder for r in replies], weights)
                average_into(self.global_model.decoder, [r.jobs[0].tasks[0].decoder for r in replies], weights)
                return
            # the clients' global copies (the snapshot trained by the first job), as one module each
            trained = {r.key: r.jobs[0] for r in replies}
            self.global_sync.aggregate([(k, _Pair(j.encoder, j.tasks[0].decoder)) for k, j in trained.items()],
                                       weights)


def all_links(ctx: RunContext, user: int) -> list[tuple]:
    """The user's outgoing and incoming image links (its uplink when it sends none)."""
    return ctx.topology.out_links(user) + [(i, user) for i in ctx.topology.transmitters(user)]
