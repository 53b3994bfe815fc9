"""FedAvgM (Hsu, Qi & Brown, 2019): FedAvg with server momentum."""

from __future__ import annotations

import torch
from pydantic import Field

from semnet.fl.algorithms.aggregation import momentum_server_step
from semnet.fl.algorithms.federated import AlgorithmOptions, FederatedStrategy
from semnet.fl.algorithms.servers import parameters_of, step_parameters
from semnet.registry import algorithms


class MomentumServer:
    """FedAvgM's server step on ``parts``: ``velocity`` persists between rounds."""

    def __init__(self, parts, options):
        self.parts, self.options = tuple(parts), options
        self.velocity = [torch.zeros_like(p) for p in parameters_of(self.parts)]

    def step(self, current, averaged, participants):
        def move(current_params, averaged_params):
            new, self.velocity = momentum_server_step(current_params, averaged_params, self.velocity,
                                                      self.options.server_lr, self.options.momentum)
            return new

        return step_parameters(self.parts, current, averaged, move)


@algorithms.register("fedavgm", "FedAvgM (Hsu et al., 2019): FedAvg with server momentum (options: server_lr, momentum)")
class FedAvgMStrategy(FederatedStrategy):
    """FedAvg with server momentum (Hsu, Qi & Brown, 2019).

    The server treats ``w - avg_k w_k`` as a gradient: ``v <- momentum v + (w - avg)``,
    ``w <- w - server_lr v`` (:func:`~semnet.fl.algorithms.aggregation.momentum_server_step`).
    ``momentum = 0`` with ``server_lr = 1`` is FedAvg. It steps the parameters;
    floating-point buffers keep the plain average, as in FedDyn and the adaptive servers.
    """

    class Options(AlgorithmOptions):
        server_lr: float = Field(1.0, gt=0, le=100, description="server step size")
        momentum: float = Field(0.9, ge=0, lt=1, description="server momentum (beta)")

    Server = MomentumServer
