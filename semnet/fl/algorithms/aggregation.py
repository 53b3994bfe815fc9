"""Aggregation rules as pure functions on lists of tensors (no SimPy, no models)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from semnet.models.base import state_bytes


def weighted_average(states: Sequence[Sequence[Tensor]], weights: Sequence[float]) -> list[Tensor]:
    """Element-wise ``sum_k w_k x_k / sum_k w_k`` over clients ``k``.

    ``states[k]`` is client k's list of tensors (same shapes for every client).
    """
    if not states:
        raise ValueError("nothing to aggregate")
    if len(states) != len(weights):
        raise ValueError(f"{len(states)} states but {len(weights)} weights")
    total = float(sum(weights))
    if total <= 0:
        raise ValueError(f"weights must sum to > 0, got {total}")
    out = [torch.zeros_like(t, dtype=torch.float32) for t in states[0]]
    for state, w in zip(states, weights):
        for acc, t in zip(out, state):
            acc.add_(t.float(), alpha=float(w) / total)
    return [o.to(t.dtype) for o, t in zip(out, states[0])]


def tensors_of(module: nn.Module) -> list[Tensor]:
    """Detached copies of a module's floating-point state (parameters and buffers)."""
    return [t.detach().clone() for t in module.state_dict().values() if t.is_floating_point()]


def load_tensors(module: nn.Module, tensors: Sequence[Tensor]) -> None:
    """Write ``tensors`` (as from ``tensors_of``) back into ``module`` in place."""
    targets = [t for t in module.state_dict().values() if t.is_floating_point()]
    if len(targets) != len(tensors):
        raise ValueError(f"module has {len(targets)} tensors, got {len(tensors)}")
    with torch.no_grad():
        for target, value in zip(targets, tensors):
            target.copy_(value)


def average_into(target: nn.Module, sources: Sequence[nn.Module], weights: Sequence[float]) -> None:
    """FedAvg: load the weighted average of ``sources``' states into ``target``."""
    load_tensors(target, weighted_average([tensors_of(m) for m in sources], weights))


def state_bits(module: nn.Module) -> int:
    """Size of a module's state as raw float32, 32 bits per value (the ``float32``
    codec's size; messages take theirs from :class:`semnet.codecs.MessageCodecs`)."""
    return 8 * state_bytes(module)


def differences(new: Sequence[Tensor], old: Sequence[Tensor]) -> list[Tensor]:
    """``new - old`` tensor by tensor: an update as its sender computes it."""
    return [n.detach() - o.detach() for n, o in zip(new, old, strict=True)]


def apply_average_update(base: Sequence[Tensor], updates: Sequence[Sequence[Tensor]],
                         weights: Sequence[float]) -> list[Tensor]:
    """``base + sum_k w_k d_k / sum_k w_k``: the receiver's own version moved by the
    weighted mean of the decoded updates (FedAvg on differences)."""
    mean = weighted_average(updates, weights)
    return [b + d.to(b.dtype) for b, d in zip(base, mean, strict=True)]


def momentum_server_step(current: Sequence[Tensor], averaged: Sequence[Tensor], velocity: Sequence[Tensor],
                         server_lr: float, momentum: float) -> tuple[list[Tensor], list[Tensor]]:
    """FedAvgM's server step (Hsu et al., 2019): with the pseudo-gradient
    ``d = current - averaged``, ``v' = momentum v + d`` and ``w' = current - server_lr v'``.
    Returns ``(w', v')``."""
    new_velocity = [momentum * v + (c - a) for c, a, v in zip(current, averaged, velocity, strict=True)]
    return [c - server_lr * v for c, v in zip(current, new_velocity, strict=True)], new_velocity


def feddyn_server_step(current: Sequence[Tensor], averaged: Sequence[Tensor], h: Sequence[Tensor], *,
                       alpha: float, share: float) -> tuple[list[Tensor], list[Tensor]]:
    """FedDyn's server step (Acar et al., 2021, Algorithm 1): ``h' = h - alpha share
    (averaged - current)`` (``share``: participants over users, so that the sum over the
    ``m`` participants is divided by all ``n`` users), ``w' = averaged - h' / alpha``.
    Returns ``(w', h')``."""
    new_h = [hk - alpha * share * (a - c) for hk, a, c in zip(h, averaged, current, strict=True)]
    return [a - hk / alpha for a, hk in zip(averaged, new_h, strict=True)], new_h


ADAPTIVE_RULES = ("adagrad", "adam", "yogi")


def adaptive_server_step(current: Sequence[Tensor], averaged: Sequence[Tensor], m: Sequence[Tensor],
                         v: Sequence[Tensor], *, rule: str, server_lr: float, beta1: float, beta2: float,
                         tau: float) -> tuple[list[Tensor], list[Tensor], list[Tensor]]:
    """One server step of FedAdagrad, FedAdam or FedYogi (Reddi et al., ICLR 2021,
    Algorithm 2), with the pseudo-gradient ``d = averaged - current``:
    ``m' = beta1 m + (1 - beta1) d``; ``v' = v + d^2`` (adagrad),
    ``beta2 v + (1 - beta2) d^2`` (adam) or ``v - (1 - beta2) d^2 sign(v - d^2)`` (yogi);
    ``w' = current + server_lr m' / (sqrt(v') + tau)``. Returns ``(w', m', v')``."""
    if rule not in ADAPTIVE_RULES:
        raise ValueError(f"unknown adaptive rule {rule!r}; allowed: {', '.join(ADAPTIVE_RULES)}")
    new_w, new_m, new_v = [], [], []
    for c, a, mk, vk in zip(current, averaged, m, v, strict=True):
        d = a - c
        m1 = beta1 * mk + (1 - beta1) * d
        d2 = d * d
        if rule == "adagrad":
            v1 = vk + d2
        elif rule == "adam":
            v1 = beta2 * vk + (1 - beta2) * d2
        else:
            v1 = vk - (1 - beta2) * d2 * torch.sign(vk - d2)
        new_m.append(m1)
        new_v.append(v1)
        new_w.append(c + server_lr * m1 / (torch.sqrt(v1) + tau))
    return new_w, new_m, new_v
