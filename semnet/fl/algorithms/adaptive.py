"""Adaptive server optimisers (Reddi et al., "Adaptive Federated Optimization", ICLR
2021): FedAdagrad, FedAdam and FedYogi. Clients train as in FedAvg; the server treats
the mean update as a pseudo-gradient and steps with Adagrad, Adam or Yogi
(:func:`~semnet.fl.algorithms.aggregation.adaptive_server_step`) over the model's
parameters (floating-point buffers keep the plain average). Messages are FedAvg's.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from pydantic import Field

from semnet.fl.algorithms.aggregation import adaptive_server_step
from semnet.fl.algorithms.federated import AlgorithmOptions, FederatedStrategy
from semnet.fl.algorithms.servers import parameters_of, step_parameters
from semnet.registry import algorithms


class AdagradOptions(AlgorithmOptions):
    server_lr: float = Field(0.01, gt=0, le=100, description="server step size (eta; tune it, as the paper does)")
    beta1: float = Field(0.9, ge=0, lt=1, description="first-moment decay")
    tau: float = Field(1e-3, gt=0, le=1, description="adaptivity: added to sqrt(v); v starts at tau^2")


class AdaptiveOptions(AdagradOptions):
    beta2: float = Field(0.99, ge=0, lt=1, description="second-moment decay")


class AdaptiveStep:
    """An adaptive server step on ``parts`` (``rule``: adagrad, adam or yogi); the
    moments ``m`` and ``v`` persist between rounds."""

    rule: ClassVar[str] = ""

    def __init__(self, parts, options):
        self.parts, self.options = tuple(parts), options
        params = parameters_of(self.parts)
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.full_like(p, options.tau ** 2) for p in params]

    def step(self, current, averaged, participants):
        opt = self.options

        def move(current_params, averaged_params):
            new, self.m, self.v = adaptive_server_step(
                current_params, averaged_params, self.m, self.v, rule=self.rule, server_lr=opt.server_lr,
                beta1=opt.beta1, beta2=getattr(opt, "beta2", 0.0), tau=opt.tau)
            return new

        return step_parameters(self.parts, current, averaged, move)


class AdagradStep(AdaptiveStep):
    rule = "adagrad"


class AdamStep(AdaptiveStep):
    rule = "adam"


class YogiStep(AdaptiveStep):
    rule = "yogi"


class AdaptiveServer(FederatedStrategy):
    """FedAvg's clients, an adaptive server step (its ``Server``)."""

    Options = AdaptiveOptions


@algorithms.register("fedadagrad", "FedAdagrad (Reddi et al., 2021): an Adagrad server step (options: server_lr, "
                     "beta1, tau)")
class FedAdagrad(AdaptiveServer):
    Server = AdagradStep
    Options = AdagradOptions


@algorithms.register("fedadam", "FedAdam (Reddi et al., 2021): an Adam server step (options: server_lr, beta1, "
                     "beta2, tau)")
class FedAdam(AdaptiveServer):
    Server = AdamStep


@algorithms.register("fedyogi", "FedYogi (Reddi et al., 2021): a Yogi server step (options: server_lr, beta1, "
                     "beta2, tau)")
class FedYogi(AdaptiveServer):
    Server = YogiStep
