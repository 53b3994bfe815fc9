"""FedDyn (Acar et al., ICLR 2021): dynamic regularisation of each client's loss."""

from __future__ import annotations

import torch
from torch import nn

from pydantic import Field

from semnet.fl.algorithms.aggregation import feddyn_server_step
from semnet.fl.algorithms.client_terms import LinearTerm, ProximalTerm
from semnet.fl.algorithms.federated import AlgorithmOptions, FederatedStrategy
from semnet.fl.algorithms.servers import _ordered_parameters, model_parts, step_parameters
from semnet.fl.loop.context import RunContext
from semnet.registry import algorithms
from semnet.scenario.schema import FederatedSpec


@algorithms.register("feddyn", "FedDyn (Acar et al., 2021): dynamic regularisation of each client's loss (option: alpha)")
class FedDynStrategy(FederatedStrategy):
    """FedDyn (Acar et al., ICLR 2021).

    Client ``i`` minimises ``L_i(w) - <g_i, w> + alpha/2 ||w - w_start||^2``
    (:class:`~semnet.fl.algorithms.client_terms.LinearTerm` and
    :class:`~semnet.fl.algorithms.client_terms.ProximalTerm`) and then updates its state
    ``g_i <- g_i - alpha (w_i - w_start)``; ``g_i`` stays on the client. The server
    keeps ``h <- h - alpha (m/n) (avg - w)`` and sets ``w <- avg - h / alpha``
    (:func:`~semnet.fl.algorithms.aggregation.feddyn_server_step`) over the parameters, with ``m``
    of ``n`` users taking part; buffers are averaged as in FedAvg. ``avg`` is the
    data-weighted average (the paper's plain mean where users hold equal data).
    Messages are FedAvg's.
    """

    round_scoped = ("_start", "_reference")
    server_only = False  # its clients carry state and terms of their own

    class Options(AlgorithmOptions):
        alpha: float = Field(0.01, gt=0, le=100, description="regularisation weight")

    def __init__(self, ctx: RunContext, model: nn.Module, spec: FederatedSpec):
        super().__init__(ctx, model, spec)
        self.h = [torch.zeros_like(p) for p in _ordered_parameters(model)]
        self.g_local: dict[int, list[torch.Tensor]] = {}
        self._reference: dict[int, list[torch.Tensor]] = {}

    def client_terms(self, user, local_model):
        start = [p.detach().clone() for p in _ordered_parameters(local_model)]
        self._reference[user] = start
        g = self.g_local.setdefault(user, [torch.zeros_like(p) for p in start])
        return LinearTerm(g), ProximalTerm(self.options.alpha, start)

    def aggregate(self, rnd, replies, failures) -> None:
        alpha = self.options.alpha
        for reply in replies:  # each client's own state, from its exact model
            start = self._reference[reply.key]
            self.g_local[reply.key] = [g - alpha * (w.detach() - w0) for g, w, w0 in
                                       zip(self.g_local[reply.key], reply.jobs[0].trainable(), start, strict=True)]
        super().aggregate(rnd, replies, failures)

    def apply_average(self, current, averaged, participants):
        share = participants / len(self.ctx.topology.users)

        def step(current_params, averaged_params):
            new, self.h = feddyn_server_step(current_params, averaged_params, self.h, alpha=self.options.alpha,
                                             share=share)
            return new

        return step_parameters(model_parts(self.model), current, averaged, step)
