"""Server steps: how a server moves its model once a rule has combined the updates.

A server step acts on the parameters of some model parts (the global encoder and
decoder, or one receiver's decoder in FineFed) and keeps its own state (momentum,
moments) between rounds. An algorithm names its step as ``Server``; FedAvg's is
:class:`PlainServer`. A server is an object with a ``step`` method (not a callable),
so that a checkpoint captures its state with the strategy that holds it.
"""

from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn


class PlainServer:
    """FedAvg's step: the combined model is the new model."""

    def __init__(self, parts: Sequence[nn.Module], options=None):
        pass

    def step(self, current: list[Tensor], averaged: list[Tensor], participants: int) -> list[Tensor]:
        return averaged


def model_parts(model: nn.Module) -> tuple[nn.Module, nn.Module]:
    """A JSCC model's encoder and decoder: the parts a global server steps."""
    return model.encoder, model.decoder


def parameters_of(parts: Sequence[nn.Module]) -> list[nn.Parameter]:
    """The parts' parameters in order: the layout of a server step's state."""
    return [p for part in parts for p in part.parameters()]


def _ordered_parameters(model: nn.Module) -> list[nn.Parameter]:
    """Encoder parameters, then decoder parameters: the order of ``TrainJob.trainable``."""
    return parameters_of(model_parts(model))


def step_parameters(parts: Sequence[nn.Module], current: list[Tensor], averaged: list[Tensor],
                    step) -> list[Tensor]:
    """``averaged`` (``tensors_of`` order over ``parts``) with its parameters replaced by
    ``step(current parameters, averaged parameters)``: a server optimiser acts on the
    parameters, floating-point buffers keep the plain average."""
    at = _parameter_positions(parts)
    out = list(averaged)
    for k, value in zip(at, step([current[k] for k in at], [averaged[k] for k in at]), strict=True):
        out[k] = value
    return out


def _parameter_positions(parts: Sequence[nn.Module]) -> list[int]:
    """Where the parameters sit in the concatenated ``tensors_of(part)`` lists (in
    :func:`parameters_of`' order; the rest are floating-point buffers)."""
    positions, offset = [], 0
    for part in parts:
        names = {n for n, _ in part.named_parameters()}
        floating = [n for n, t in part.state_dict().items() if t.is_floating_point()]
        positions += [offset + k for k, n in enumerate(floating) if n in names]
        offset += len(floating)
    return positions


def differences_from(current: Sequence[Tensor], states: Sequence[Sequence[Tensor]]) -> list[list[Tensor]]:
    """Each client's state minus the server's ``current`` one: the updates an exact link carries."""
    return [[s.detach() - c.detach() for s, c in zip(state, current, strict=True)] for state in states]


def moved_by(current: Sequence[Tensor], update: Sequence[Tensor]) -> list[Tensor]:
    """``current + update`` tensor by tensor (in ``current``'s dtype)."""
    return [c + u.to(c.dtype) for c, u in zip(current, update, strict=True)]
