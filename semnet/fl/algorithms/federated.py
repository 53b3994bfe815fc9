"""Federated training of one global model: FedAvg and FedProx here, SCAFFOLD, FedAvgM
and FedDyn in modules of their own, registered in :data:`semnet.registry.algorithms`
(``method.federated.algorithm``).

An algorithm's client logic is a tuple of :mod:`~semnet.fl.algorithms.client_terms` on each
client's job (:meth:`FederatedStrategy.client_terms`), which every trainer applies the
same way; its own settings are ``method.federated.options``, checked against its
``Options`` model (as a method's are) when the scenario is loaded.

A strategy configures a round (which clients, what they download and upload, what
local training they run) and aggregates the replies; the simulator moves the
messages. Clients that miss the deadline or lose a message to an outage arrive as
``failures`` and are simply left out of the aggregate. A plugin algorithm subclasses
:class:`FederatedStrategy` and registers itself the same way.

Messages go through the run's codecs (``method.codec``): a client trains from the
global model it decoded and sends its model minus that one; the server moves its own
model by the mean decoded update. With raw ``float32`` both ways (the default) the
server averages the clients' models exactly as before codecs existed.

Downloads follow one protocol (:mod:`semnet.fl.loop.versions`): a client that already holds
the global model's version is not sent it again (a continuation's first round: every
user holds the start), and once the rounds are over the final global model is
broadcast to every user that lacks it (the closing round), so that every method
counts what deploying its models costs.
"""

from __future__ import annotations

import copy
from typing import ClassVar

import torch
from pydantic import BaseModel, ConfigDict
from torch import nn

from semnet.registry import validated_options
from semnet.fl.algorithms.aggregation import apply_average_update, differences, load_tensors, tensors_of, weighted_average
from semnet.fl.algorithms.client_terms import ClientTerm, ProximalTerm
from semnet.fl.algorithms.rules import make_rule
from semnet.fl.algorithms.servers import (PlainServer, _ordered_parameters, differences_from, model_parts,  # noqa: F401
                                          moved_by, step_parameters)
from semnet.fl.loop.context import ClientPlan, PhaseRecord, RunContext
from semnet.fl.loop.schedule import RateSchedule
from semnet.fl.loop.strategy import ClientReply, Pairing, RoundStrategy, run_rounds
from semnet.fl.execution.trainer import TrainJob, simulated_samples
from semnet.fl.loop.versions import held_state, keep_state, versions_of
from semnet.registry import algorithms
from semnet.scenario.schema import FederatedSpec, LocalTrainSpec
from semnet.sim import Message, Task


@algorithms.register("fedavg", "FedAvg (McMahan et al., 2017): clients' models averaged, weighted by data size")
class FederatedStrategy(RoundStrategy):
    """FedAvg (McMahan et al., 2017), weighted by local data size.

    Subclasses give clients :meth:`client_terms` (FedProx, SCAFFOLD, FedDyn), change how
    the server applies the average (:meth:`apply_average`: FedAvgM, FedDyn) or add state
    that travels (SCAFFOLD's control variates). Every link uses the global encoder and
    decoder. An algorithm with settings of its own declares ``Options``, a pydantic model
    of ``method.federated.options``, available as ``self.options``.
    """

    uses = ("topology", "data", "random", "rounds", "deployment")

    Options: ClassVar[type[BaseModel] | None] = None
    # the server step, built on the model's parts with the options (semnet.fl.algorithms.servers)
    Server: ClassVar[type] = PlainServer
    # clients train plainly and nothing but the model travels: the algorithm's server step
    # also serves FineFed's decoders (method.finetune.decoder_server)
    server_only: ClassVar[bool] = True
    # the server combines updates through method.federated.aggregation (SCAFFOLD: its own mean)
    takes_rules: ClassVar[bool] = True
    evaluates_between_rounds = True
    round_scoped = ("_start",)

    def __init__(self, ctx: RunContext, model: nn.Module, spec: FederatedSpec):
        super().__init__(ctx)
        self.model = model
        self.spec = spec
        self.options = self.validate_options(spec.options)
        self.schedule = RateSchedule.of(spec)
        self.codecs = self.ctx.rounds.codecs
        # raw float32 both ways: clients start from the global model itself and the
        # server averages their models, with no arithmetic that could change a bit
        self.exact = self.codecs.lossless("global_model", difference=False) and self.codecs.lossless(
            "updates", difference=True)
        self._start: dict[int, nn.Module] = {}  # what each client decoded this round (lossy codecs)
        self.rule = make_rule(spec.aggregation.rule, spec.aggregation.options)
        self.server = self.Server(model_parts(model), self.options)

    @classmethod
    def validate_options(cls, options: dict) -> BaseModel | None:
        """``method.federated.options`` as this algorithm's ``Options`` (pydantic raises on bad keys)."""
        return validated_options(cls, options)

    def pairing(self) -> Pairing:
        return global_pairing(self.model)

    def message_bits(self) -> tuple[int, int]:
        """Bits of one client's download (the global model) and upload (its update)."""
        state = tensors_of(self.model)
        return (self.codecs.bits("global_model", state, difference=False),
                self.codecs.bits("updates", state, difference=True))

    def model_bits(self) -> int:
        """Bits of the global model alone, sent whole (the final broadcast)."""
        return self.codecs.bits("global_model", tensors_of(self.model), difference=False)

    def versions(self) -> tuple[str, str]:
        """The global model's version: its encoder's and its decoder's."""
        return versions_of((self.model.encoder, self.model.decoder))

    def downloads(self, user: int, held: bool, bits: int) -> tuple[Message, ...]:
        """What a client of a round downloads: the global model (``bits``, as
        :meth:`message_bits` says), unless it holds that version."""
        if held:
            return ()
        # the client uses the global model it downloads for its images from its arrival
        return (self.ctx.deployment.deploys(Message(self.ctx.topology.aggregator, user, "global_model", bits),
                                 encoder=self.model.encoder, decoder=self.model.decoder),)

    def closing_plans(self) -> list[ClientPlan]:
        """The final broadcast: every user that lacks the final global model downloads it."""
        versions, bits, plans = self.versions(), self.model_bits(), []
        holdings, server = self.ctx.rounds.holdings, self.ctx.topology.aggregator
        lossy = not self.codecs.lossless("global_model", difference=False)
        for user in self.ctx.topology.users:
            if holdings.holds(user, *versions):
                continue
            download = self.ctx.deployment.deploys(Message(server, user, "global_model", bits), encoder=self.model.encoder,
                                        decoder=self.model.decoder)  # the final model, in use from its arrival
            task = Task(key=user, node=user, downloads=(download,))
            keep = (lambda user=user: self._keep_received(user, versions)) if lossy else None
            plans.append(ClientPlan(task, keep, receives=versions))
        return plans

    def _keep_received(self, user: int, versions) -> list[TrainJob]:
        """The user decodes the broadcast and keeps its copy (no training)."""
        state = self.codecs.send_state("global_model", tensors_of(self.model), self.ctx.topology.aggregator, user)
        parts = (self.model.encoder, self.model.decoder)
        keep_state(self.ctx.rounds.holdings, user, ("global.encoder", "global.decoder"), versions, parts, state)
        return []

    def bytes_per_round(self, participants: int) -> float:
        """Bytes a round moves with ``participants`` clients (downloads and uploads, as encoded)."""
        down, up = self.message_bits()
        return participants * (down + up) / 8

    def participants(self) -> int:
        return max(1, round(self.spec.client_fraction * len(self.ctx.topology.users)))

    def clients(self, rnd: int) -> list[int]:
        users = self.ctx.topology.users
        count = self.participants()
        if count >= len(users):
            return list(users)
        rng = self.ctx.random.rng("sampling", self.ctx.position.phase, rnd)
        return sorted(int(u) for u in rng.choice(users, size=count, replace=False))

    def lr(self, rnd: int) -> float:
        """Local learning rate of round ``rnd`` (1-based) under the spec's schedule
        (:mod:`semnet.fl.loop.schedule`)."""
        return self.schedule.lr(rnd)

    def steps(self, user: int) -> int:
        return self.spec.local.steps_for(self.ctx.data.samples(user))

    def configure(self, rnd: int) -> list[ClientPlan]:
        server = self.ctx.topology.aggregator
        down, up = self.message_bits()
        versions = self.versions()
        self._start.clear()
        plans = []
        for user in self.clients(rnd):
            local = self.spec.local
            held = self.ctx.rounds.holdings.holds(user, *versions)
            task = Task(
                key=user,
                node=user,
                downloads=self.downloads(user, held, down),
                samples=simulated_samples(self.steps(user), local.batch_size),
                uploads=(Message(user, server, "model_update", up),),
            )
            plans.append(ClientPlan(task, lambda user=user, rnd=rnd, held=held: [self.job(user, rnd, held)],
                                    receives=() if held else versions))
        return plans

    def received_model(self, user: int, held: bool = False) -> nn.Module:
        """The client's copy of the global model: what it decoded from its download, or
        the copy it holds (``held``: nothing was sent)."""
        local_model = copy.deepcopy(self.model)
        if not self.exact:
            parts = (self.model.encoder, self.model.decoder)
            if held:
                state = held_state(self.ctx.rounds.holdings, user, self.versions(), parts)
            else:
                state = self.codecs.send_state("global_model", tensors_of(self.model), self.ctx.topology.aggregator, user)
                if not self.codecs.lossless("global_model", difference=False):
                    keep_state(self.ctx.rounds.holdings, user, ("global.encoder", "global.decoder"), self.versions(), parts,
                               state)
            if state is not None:
                load_tensors(local_model, state)
            self._start[user] = copy.deepcopy(local_model)
        return local_model

    def job(self, user: int, rnd: int, held: bool = False) -> TrainJob:
        local_model = self.received_model(user, held)
        local: LocalTrainSpec = self.spec.local
        return TrainJob(
            key=user,
            encoder=local_model.encoder,
            tasks=[self.ctx.data.loss_task(local_model.decoder, self.ctx.topology.out_links(user))],
            data=self.ctx.data.stream(user, local.batch_size),
            steps=self.steps(user),
            lr=self.lr(rnd),
            optimizer=local.optimizer,
            terms=self.client_terms(user, local_model),
            generator=self.ctx.random.generator("train", self.ctx.position.phase, rnd, user),
        )

    def client_terms(self, user: int, local_model: nn.Module) -> tuple[ClientTerm, ...]:
        """What ``user``'s local training adds to the plain loss and gradients, given the
        copy of the global model it starts from (FedAvg: nothing)."""
        return ()

    def aggregate(self, rnd: int, replies: list[ClientReply], failures) -> None:
        if not replies:
            return
        states, weights = [], []
        for reply in replies:
            job = reply.jobs[0]
            states.append(tensors_of(job.encoder) + tensors_of(job.tasks[0].decoder))
            weights.append(self.ctx.data.samples(reply.key))
        n_enc = len(tensors_of(self.model.encoder))
        current = tensors_of(self.model.encoder) + tensors_of(self.model.decoder)
        faults = self.ctx.rounds.faults
        if self.rule.plain and not faults.any_in("global"):
            if self.exact:
                averaged = weighted_average(states, weights)
            else:
                # each client sends its model minus the one it started from; the server
                # moves its own (full-precision) model by the mean decoded update
                averaged = apply_average_update(current, self.decoded_updates(replies, states), weights)
        else:
            # a robust rule (or a faulty client): the rule combines the updates as the
            # server received them, and the server's model moves by the result
            updates = differences_from(current, states) if self.exact else self.decoded_updates(replies, states)
            server = self.ctx.topology.aggregator
            updates = [faults.apply(u, reply.key, "global", server) for reply, u in zip(replies, updates)]
            averaged = moved_by(current, self.rule.combine(updates, weights))
        new = self.apply_average(current, averaged, len(replies))
        load_tensors(self.model.encoder, new[:n_enc])
        load_tensors(self.model.decoder, new[n_enc:])

    def decoded_updates(self, replies: list[ClientReply], states: list[list[torch.Tensor]]) -> list[list[torch.Tensor]]:
        """Each client's model minus the one it started from, as the server decodes it."""
        server = self.ctx.topology.aggregator
        updates = []
        for reply, state in zip(replies, states):
            start = self._start[reply.key]
            sent = differences(state, tensors_of(start.encoder) + tensors_of(start.decoder))
            updates.append(self.codecs.send_difference("updates", sent, reply.key, server))
        return updates

    def apply_average(self, current: list[torch.Tensor], averaged: list[torch.Tensor],
                      participants: int) -> list[torch.Tensor]:
        """The new global model (``tensors_of`` order) from the current one and the
        clients' combined model (the server step: FedAvg's gives the combined model itself)."""
        return self.server.step(current, averaged, participants)


@algorithms.register("fedprox", "FedProx (Li et al., 2020): FedAvg with a proximal term mu/2 ||w - w_global||^2")
class FedProxStrategy(FederatedStrategy):
    """FedProx (Li et al., 2020): each client adds ``mu/2 ||w - w_global||^2`` to its
    loss (``federated.mu``)."""

    server_only = False  # its clients add a proximal term

    def client_terms(self, user, local_model):
        # the pull is towards the copy the client starts from, in trainable() order
        return (ProximalTerm(self.spec.mu, [p.detach().clone() for p in _ordered_parameters(local_model)]),) \
            if self.spec.mu else ()




class AlgorithmOptions(BaseModel):
    """Base of an algorithm's ``Options``: unknown keys are refused, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def global_pairing(model: nn.Module) -> Pairing:
    """Every link uses the global encoder and decoder."""
    return (lambda _i: model.encoder), (lambda _j: model.decoder)


def make_strategy(ctx: RunContext, model: nn.Module, spec: FederatedSpec, algorithm: str) -> FederatedStrategy:
    """The registered federated algorithm ``algorithm`` on ``model``."""
    return algorithms.get(algorithm)(ctx, model, spec)


def continued(spec: FederatedSpec, lr: float) -> FederatedSpec:
    """``spec`` at a constant learning rate ``lr``: a trained model continued."""
    return spec.model_copy(update={"local": spec.local.model_copy(update={"lr": lr}), "lr_schedule": "constant",
                                  "decay_rounds": 0})


def train_federated(ctx: RunContext, model: nn.Module, spec: FederatedSpec, algorithm: str, phase: str) -> PhaseRecord:
    """Run up to ``spec.rounds`` federated rounds on ``model`` in place; return the phase
    record. With ``spec.converge`` set, stops once validation PSNR gained less than
    ``min_gain_db`` over the last ``window_frac`` of the rounds so far (converged only
    at a rate of at least ``min_lr_frac`` of ``local.lr``); with ``plateau_then_cosine``
    the rate then decays over ``decay_rounds`` more rounds."""
    strategy = make_strategy(ctx, model, spec, algorithm)
    return run_rounds(ctx, strategy, spec.rounds, phase=phase, converge=spec.converge)
