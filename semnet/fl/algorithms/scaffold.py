"""SCAFFOLD (Karimireddy et al., 2020): client drift corrected by control variates."""

from __future__ import annotations

import torch
from torch import nn

from semnet.fl.algorithms.client_terms import GradientCorrection, GradientMean
from semnet.fl.algorithms.aggregation import differences
from semnet.fl.algorithms.federated import FederatedStrategy, _ordered_parameters
from semnet.fl.loop.context import RunContext
from semnet.fl.loop.strategy import ClientReply
from semnet.registry import algorithms
from semnet.scenario.schema import FederatedSpec
from semnet.sim import Message


@algorithms.register("scaffold", "SCAFFOLD (Karimireddy et al., 2020): drift corrected by control variates")
class ScaffoldStrategy(FederatedStrategy):
    """SCAFFOLD (Karimireddy et al., 2020).

    Each client's gradient is corrected by ``c - c_i``. The new client control variate
    is the mean raw (uncorrected) minibatch gradient seen during local training, an
    estimate of the client's gradient near the global model that, unlike option II's
    ``(x - y) / (K lr)``, stays right for adaptive optimisers such as Adam. The
    server's control variate travels with the model (in float32, a download is two
    model copies) and each client uploads its model delta and control delta (two
    copies); ``method.codec.control_variates`` encodes the control variate's part.
    """

    server_only = False  # control variates travel with the model
    takes_rules = False  # it averages the updates and control variates itself

    def __init__(self, ctx: RunContext, model: nn.Module, spec: FederatedSpec):
        super().__init__(ctx, model, spec)
        self.c = [torch.zeros_like(p) for p in _ordered_parameters(model)]
        self.c_local: dict[int, list[torch.Tensor]] = {}
        self.exact = self.exact and self.codecs.lossless("control_variates", difference=False) and \
            self.codecs.lossless("control_variates", difference=True)

    def message_bits(self) -> tuple[int, int]:
        """The model and the server's control variate down; the model's and the control
        variate's changes up."""
        down, up = super().message_bits()
        return (down + self.codecs.bits("control_variates", self.c, difference=False),
                up + self.codecs.bits("control_variates", self.c, difference=True))

    def downloads(self, user: int, held: bool, bits: int) -> tuple[Message, ...]:
        """The model and the control variate; the control variate alone to a client that
        holds the model's version (it changes every round: it always travels)."""
        if not held:
            return super().downloads(user, held, bits)
        cv_bits = self.codecs.bits("control_variates", self.c, difference=False)
        return (Message(self.ctx.topology.aggregator, user, "control_variate", cv_bits),)

    def client_terms(self, user, local_model):
        c_i = self.c_local.setdefault(user, [torch.zeros_like(p) for p in self.c])
        c = self.codecs.send_state("control_variates", self.c, self.ctx.topology.aggregator, user)
        # the raw gradients are recorded before the correction changes them
        return GradientMean(), GradientCorrection([c - ci for c, ci in zip(c, c_i, strict=True)])

    def aggregate(self, rnd: int, replies: list[ClientReply], failures) -> None:
        if not replies:
            return
        finished = replies
        server = self.ctx.topology.aggregator
        x = [p.detach().clone() for p in _ordered_parameters(self.model)]
        delta_y = [torch.zeros_like(p) for p in x]
        delta_c = [torch.zeros_like(p) for p in x]
        for reply in finished:
            user, job, results = reply.key, reply.jobs[0], reply.results
            # the client's changes from what it holds: the model it decoded, its own c_i
            start = _ordered_parameters(self._start[user]) if user in self._start else x
            dy = self.codecs.send_difference("updates", differences(job.trainable(), start), user, server)
            c_i = self.c_local[user]
            new_c_i = results[0].reports["grad_mean"]
            dc = self.codecs.send_difference("control_variates", differences(new_c_i, c_i), user, server)
            for k in range(len(x)):
                delta_y[k] += dy[k] / len(finished)
                delta_c[k] += dc[k] / len(finished)
            self.c_local[user] = new_c_i
        share = len(finished) / len(self.ctx.topology.users)
        with torch.no_grad():
            for p, dy in zip(_ordered_parameters(self.model), delta_y, strict=True):
                p.add_(dy, alpha=self.spec.server_lr)
            for c, dc in zip(self.c, delta_c, strict=True):
                c.add_(dc, alpha=share)
