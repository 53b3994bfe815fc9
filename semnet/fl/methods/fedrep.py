"""FedRep (Collins et al., 2021) as a round strategy: a shared representation (the
body), a personal head per user.

**The split, for JSCC.** The personal *head* is each model's image-facing ends: the
encoder's first ``head_layers`` layers (the first to see a user's images) and the
decoder's last ``head_layers`` layers (the last to shape them). The shared *body* is
everything between: the encoder's later layers, the decoder's earlier layers and any
SNR modules there, the channel-facing representation. A layer is the index in a
model's stack (a convolution, its activation and its SNR module:
:mod:`semnet.models.layout`), so the split holds for every built-in model family.

Each user u holds a full personal model (``E_u``, ``D_u``) whose body is the shared one.
In a round u first trains its head for ``head_steps`` steps (body frozen), then the
body for ``body_steps`` steps (its new head frozen), both on its own images at the
SNRs of all its links, out and in (its encoder serves the first, its decoder the
second, as Ditto's personal model), and uploads its body update; the server averages
the bodies (FedAvg, weighted by data size) and every user uses the new body.

Pairing: link i->j uses ``E_i`` and ``D_j`` (i's encoder head on the shared body, the
shared body under j's decoder head). Only the body travels (``method.codec.global_model``
down, ``method.codec.updates`` up); heads never leave their user. Every user holds
the start, so it holds its body: the first round sends nothing down.
"""

from __future__ import annotations

import copy

from torch import nn

from semnet.errors import ScenarioError
from semnet.fl.algorithms.aggregation import load_tensors, tensors_of
from semnet.fl.loop.context import ClientPlan, RunContext
from semnet.fl.loop.strategy import ClientReply, Pairing, RoundStrategy
from semnet.fl.loop.versions import versions_of
from semnet.fl.execution.trainer import TrainJob, simulated_samples
from semnet.fl.methods.baselines import SharedModel, all_links
from semnet.fl.methods.finefed import PersonalModels
from semnet.models.layout import layer_of
from semnet.scenario.controls import FedRepSpec
from semnet.scenario.schema import LocalTrainSpec
from semnet.sim import Message, Task


def head_names(model: nn.Module, head_layers: int) -> tuple[str, ...]:
    """The personal head's parameters, named ``encoder.<name>`` / ``decoder.<name>``: the
    encoder's layers below ``head_layers`` and the decoder's last ``head_layers`` layers
    (layers as :func:`semnet.models.layout.layer_of` reads them)."""
    encoder = [(n, layer_of(n)) for n, _ in model.encoder.named_parameters()]
    decoder = [(n, layer_of(n)) for n, _ in model.decoder.named_parameters()]
    last = max((where[0] for _, where in decoder if where is not None), default=0)
    head = [f"encoder.{n}" for n, where in encoder if where is not None and where[0] < head_layers]
    head += [f"decoder.{n}" for n, where in decoder if where is not None and where[0] > last - head_layers]
    return tuple(head)


def body_names(model: nn.Module, head: tuple[str, ...]) -> tuple[str, ...]:
    """Every other parameter of the model (the shared body), in the model's order."""
    names = [f"encoder.{n}" for n, _ in model.encoder.named_parameters()]
    names += [f"decoder.{n}" for n, _ in model.decoder.named_parameters()]
    return tuple(n for n in names if n not in set(head))


class Parts(nn.Module):
    """Some parameters of a model as one module (the parameters themselves, not copies):
    what a body message carries, and what loading into it changes."""

    def __init__(self, model: nn.Module, names: tuple[str, ...]):
        super().__init__()
        params = dict(model.named_parameters())
        self.values = nn.ParameterList([params[n] for n in names])


class FedRep(RoundStrategy):
    """Shared body, personal heads; head steps then body steps each round. Pairing: link
    i->j uses ``E_i`` and ``D_j`` (see the module docstring)."""

    uses = ("topology", "data", "random", "rounds")

    def __init__(self, ctx: RunContext, start: nn.Module, local: LocalTrainSpec, spec: FedRepSpec):
        super().__init__(ctx)
        self.local, self.spec = local, spec
        users = self.ctx.topology.users
        self.head = head_names(start, spec.head_layers)
        self.body = body_names(start, self.head)
        if not self.body:
            raise ScenarioError(f"method.fedrep.head_layers = {spec.head_layers}: the head takes every layer of "
                                "the model, nothing is left to share; give fewer layers")
        self.personal = {u: copy.deepcopy(start) for u in users}
        self.models = PersonalModels.of({u: m.encoder for u, m in self.personal.items()},
                                        {u: m.decoder for u, m in self.personal.items()})
        self.global_model = copy.deepcopy(start)  # the server's copy; its body is the shared one
        self.shared = Parts(self.global_model, self.body)
        self.sync = SharedModel(self.ctx, self.shared, {"fedrep.body": self.shared}, "global_model")
        holdings = self.ctx.rounds.holdings
        start_versions = versions_of((start.encoder, start.decoder))
        for u in users:  # a user that holds the start holds its body
            if holdings.holds(u, *start_versions):
                holdings.give(u, versions_of([self.shared]))

    def pairing(self) -> Pairing:
        return self.models.pairing()

    def body_of(self, user: int) -> Parts:
        return Parts(self.personal[user], self.body)

    def configure(self, rnd: int) -> list[ClientPlan]:
        ctx, local, spec = self.ctx, self.local, self.spec
        server = ctx.topology.aggregator
        self.sync.new_round()
        plans = []
        for u in ctx.topology.users:
            held = self.sync.holds(u)

            def make(u=u, held=held, rnd=rnd):
                load_tensors(self.body_of(u), tensors_of(self.sync.received(u, held)))  # the body u decoded or holds
                model = self.personal[u]
                common = dict(key=u, encoder=model.encoder, tasks=[ctx.data.loss_task(model.decoder, all_links(ctx, u))],
                              data=ctx.data.stream(u, local.batch_size), lr=local.lr, optimizer=local.optimizer)
                return [TrainJob(steps=spec.head_steps, only=self.head,
                                 generator=ctx.random.generator("fedrep_head", rnd, u), **common),
                        TrainJob(steps=spec.body_steps, only=self.body,
                                 generator=ctx.random.generator("fedrep_body", rnd, u), **common)]

            task = Task(key=u, node=u, downloads=self.sync.downloads(u),
                        samples=simulated_samples(spec.head_steps + spec.body_steps, local.batch_size),
                        uploads=(Message(u, server, "body_update", self.sync.up_bits),))
            plans.append(ClientPlan(task, make, receives=self.sync.receives(u)))
        return plans

    def aggregate(self, rnd: int, replies: list[ClientReply], failures) -> None:
        if not replies:
            return
        weights = [self.ctx.data.samples(r.key) for r in replies]
        self.sync.aggregate([(r.key, self.body_of(r.key)) for r in replies], weights)
        body = tensors_of(self.shared)
        for u in self.ctx.topology.users:  # every user decodes and sends with the new body (sent next round or at the close)
            load_tensors(self.body_of(u), body)

    def closing_plans(self) -> list[ClientPlan]:
        """Every user that lacks the final body downloads it."""
        return self.sync.broadcast()
