"""Federated training of one global model: FedAvg, FedProx and SCAFFOLD, registered
in :data:`semnet.registry.algorithms` (``method.federated.algorithm``).

A strategy configures a round (which clients, what they download and upload, what
local training they run) and aggregates the replies; the simulator moves the
messages. Clients that miss the deadline or lose a message to an outage arrive as
``failures`` and are simply left out of the aggregate. A plugin algorithm subclasses
:class:`FederatedStrategy` and registers itself the same way.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from semnet.fl.aggregation import load_tensors, state_bits, tensors_of, weighted_average
from semnet.fl.context import ClientPlan, PhaseRecord, RunContext
from semnet.fl.schedule import RateSchedule
from semnet.fl.strategy import ClientReply, Pairing, RoundStrategy, run_rounds
from semnet.fl.trainer import LossTask, TrainJob, simulated_samples
from semnet.registry import algorithms
from semnet.scenario.schema import FederatedSpec, LocalTrainSpec
from semnet.sim import Message, Task


@algorithms.register("fedavg", "FedAvg (McMahan et al., 2017): clients' models averaged, weighted by data size")
class FederatedStrategy(RoundStrategy):
    """FedAvg (McMahan et al., 2017), weighted by local data size.

    Subclasses set ``mu`` (FedProx) or add control variates (SCAFFOLD). Every link uses
    the global encoder and decoder.
    """

    messages_per_direction = 1  # model copies per download / upload
    evaluates_between_rounds = True

    def __init__(self, ctx: RunContext, model: nn.Module, spec: FederatedSpec):
        super().__init__(ctx)
        self.model = model
        self.spec = spec
        self.mu = 0.0
        self.model_bits = state_bits(model)
        self.schedule = RateSchedule.of(spec)

    def pairing(self) -> Pairing:
        return global_pairing(self.model)

    def bytes_per_round(self, participants: int) -> float:
        """Bytes a round moves with ``participants`` clients (download and upload)."""
        return 2 * self.messages_per_direction * participants * self.model_bits / 8

    def participants(self) -> int:
        return max(1, round(self.spec.client_fraction * len(self.ctx.users)))

    def clients(self, rnd: int) -> list[int]:
        users = self.ctx.users
        count = self.participants()
        if count >= len(users):
            return list(users)
        rng = self.ctx.rng("sampling", self.ctx.phase_name, rnd)
        return sorted(int(u) for u in rng.choice(users, size=count, replace=False))

    def lr(self, rnd: int) -> float:
        """Local learning rate of round ``rnd`` (1-based) under the spec's schedule
        (:mod:`semnet.fl.schedule`)."""
        return self.schedule.lr(rnd)

    def steps(self, user: int) -> int:
        return self.spec.local.steps_for(self.ctx.samples(user))

    def configure(self, rnd: int) -> list[ClientPlan]:
        server = self.ctx.aggregator
        bits = self.model_bits * self.messages_per_direction
        plans = []
        for user in self.clients(rnd):
            local = self.spec.local
            task = Task(
                key=user,
                node=user,
                downloads=(Message(server, user, "global_model", bits),),
                samples=simulated_samples(self.steps(user), local.batch_size),
                uploads=(Message(user, server, "model_update", bits),),
            )
            plans.append(ClientPlan(task, lambda user=user, rnd=rnd: [self.job(user, rnd)]))
        return plans

    def job(self, user: int, rnd: int) -> TrainJob:
        local_model = copy.deepcopy(self.model)
        local: LocalTrainSpec = self.spec.local
        # the copy's parameters in trainable() order: encoder first, then decoder
        reference = [p.detach().clone() for p in _ordered_parameters(local_model)] if self.mu else None
        return TrainJob(
            key=user,
            encoder=local_model.encoder,
            tasks=[LossTask(local_model.decoder, self.ctx.out_snrs(user))],
            data=self.ctx.stream(user, local.batch_size),
            steps=self.steps(user),
            lr=self.lr(rnd),
            optimizer=local.optimizer,
            prox_mu=self.mu,
            prox_reference=reference,
            generator=self.ctx.generator("train", self.ctx.phase_name, rnd, user),
        )

    def aggregate(self, rnd: int, replies: list[ClientReply], failures) -> None:
        if not replies:
            return
        states, weights = [], []
        for reply in replies:
            job = reply.jobs[0]
            states.append(tensors_of(job.encoder) + tensors_of(job.tasks[0].decoder))
            weights.append(self.ctx.samples(reply.key))
        averaged = weighted_average(states, weights)
        n_enc = len(tensors_of(self.model.encoder))
        load_tensors(self.model.encoder, averaged[:n_enc])
        load_tensors(self.model.decoder, averaged[n_enc:])


@algorithms.register("fedprox", "FedProx (Li et al., 2020): FedAvg with a proximal term mu/2 ||w - w_global||^2")
class FedProxStrategy(FederatedStrategy):
    """FedProx (Li et al., 2020): each client adds ``mu/2 ||w - w_global||^2`` to its
    loss (``federated.mu``)."""

    def __init__(self, ctx: RunContext, model: nn.Module, spec: FederatedSpec):
        super().__init__(ctx, model, spec)
        self.mu = spec.mu


@algorithms.register("scaffold", "SCAFFOLD (Karimireddy et al., 2020): drift corrected by control variates")
class ScaffoldStrategy(FederatedStrategy):
    """SCAFFOLD (Karimireddy et al., 2020).

    Each client's gradient is corrected by ``c - c_i``. The new client control variate
    is the mean raw (uncorrected) minibatch gradient seen during local training, an
    estimate of the client's gradient near the global model that, unlike option II's
    ``(x - y) / (K lr)``, stays right for adaptive optimisers such as Adam. The
    server's control variate travels with the model (downloads are two model
    copies) and each client uploads its model delta and control delta (two copies).
    """

    messages_per_direction = 2

    def __init__(self, ctx: RunContext, model: nn.Module, spec: FederatedSpec):
        super().__init__(ctx, model, spec)
        self.c = [torch.zeros_like(p) for p in _ordered_parameters(model)]
        self.c_local: dict[int, list[torch.Tensor]] = {}

    def job(self, user: int, rnd: int) -> TrainJob:
        job = super().job(user, rnd)
        c_i = self.c_local.setdefault(user, [torch.zeros_like(p) for p in self.c])
        job.correction = [c - ci for c, ci in zip(self.c, c_i, strict=True)]
        job.track_gradients = True
        return job

    def aggregate(self, rnd: int, replies: list[ClientReply], failures) -> None:
        if not replies:
            return
        finished = replies
        x = [p.detach().clone() for p in _ordered_parameters(self.model)]
        delta_y = [torch.zeros_like(p) for p in x]
        delta_c = [torch.zeros_like(p) for p in x]
        for reply in finished:
            user, job, results = reply.key, reply.jobs[0], reply.results
            y = job.trainable()
            c_i = self.c_local[user]
            new_c_i = results[0].grad_mean
            for k in range(len(x)):
                delta_y[k] += (y[k].detach() - x[k]) / len(finished)
                delta_c[k] += (new_c_i[k] - c_i[k]) / len(finished)
            self.c_local[user] = new_c_i
        share = len(finished) / len(self.ctx.users)
        with torch.no_grad():
            for p, dy in zip(_ordered_parameters(self.model), delta_y, strict=True):
                p.add_(dy, alpha=self.spec.server_lr)
            for c, dc in zip(self.c, delta_c, strict=True):
                c.add_(dc, alpha=share)


def _ordered_parameters(model: nn.Module) -> list[nn.Parameter]:
    """Encoder parameters, then decoder parameters: the order of ``TrainJob.trainable``."""
    return list(model.encoder.parameters()) + list(model.decoder.parameters())


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
