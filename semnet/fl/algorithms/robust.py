"""Robust aggregation of client updates as pure functions on lists of tensors.

Each client update is a list of tensors (same shapes for every client); each
function returns one update in the same layout. Coordinate-wise rules (median,
trimmed mean) treat every coordinate on its own; Krum (Blanchard et al., 2017)
picks whole updates by their distances to their neighbours.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor


def _stacked(updates: Sequence[Sequence[Tensor]]) -> list[Tensor]:
    """Per tensor position, the clients' tensors stacked on a new first axis (float32)."""
    if not updates:
        raise ValueError("nothing to aggregate")
    return [torch.stack([u[k].float() for u in updates]) for k in range(len(updates[0]))]


def coordinate_median(updates: Sequence[Sequence[Tensor]]) -> list[Tensor]:
    """Coordinate-wise median (Yin et al., 2018); with an even number of clients, the
    mean of the two middle values (not the lower one, as ``torch.median`` gives)."""
    n = len(updates)
    out = []
    for stack, like in zip(_stacked(updates), updates[0]):
        ordered = stack.sort(dim=0).values
        middle = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
        out.append(middle.to(like.dtype))
    return out


def trimmed_count(n: int, trim_fraction: float) -> int:
    """How many values a trimmed mean drops at each end of ``n``: ``floor(trim_fraction n)``."""
    return int(trim_fraction * n + 1e-9)


def trimmed_mean(updates: Sequence[Sequence[Tensor]], trim_fraction: float) -> list[Tensor]:
    """Coordinate-wise trimmed mean (Yin et al., 2018): per coordinate, drop the
    ``floor(trim_fraction n)`` largest and as many smallest values, average the rest."""
    if not 0 <= trim_fraction < 0.5:
        raise ValueError(f"trim_fraction must be in [0, 0.5), got {trim_fraction}")
    n = len(updates)
    k = trimmed_count(n, trim_fraction)
    out = []
    for stack, like in zip(_stacked(updates), updates[0]):
        kept = stack.sort(dim=0).values[k:n - k]
        out.append(kept.mean(dim=0).to(like.dtype))
    return out


def krum_scores(updates: Sequence[Sequence[Tensor]], faulty: int) -> list[float]:
    """Krum's score of each update: the sum of its squared Euclidean distances to its
    ``n - faulty - 2`` nearest other updates (at least one, so that a round that lost
    updates still scores)."""
    n = len(updates)
    if n == 1:
        return [0.0]
    squared = pairwise_squared_distances(updates)
    neighbours = max(1, n - faulty - 2)
    scores = []
    for i in range(n):
        others = torch.cat([squared[i, :i], squared[i, i + 1:]])
        scores.append(float(others.sort().values[:neighbours].sum()))
    return scores


def krum_selection(updates: Sequence[Sequence[Tensor]], faulty: int, selected: int = 1) -> list[int]:
    """Indices of the ``selected`` updates with the lowest Krum scores, best first
    (ties go to the lower index). ``selected = 1`` is Krum, more is Multi-Krum."""
    scores = krum_scores(updates, faulty)
    order = sorted(range(len(scores)), key=lambda i: (scores[i], i))
    return order[:max(1, min(selected, len(order)))]


def pairwise_squared_distances(updates: Sequence[Sequence[Tensor]]) -> Tensor:
    """``||u_i - u_j||^2`` for every pair (float64): what Krum compares."""
    flat = [torch.cat([t.double().reshape(-1) for t in u]) for u in updates]
    n = len(flat)
    out = torch.zeros(n, n, dtype=torch.float64)
    for i in range(n):  # pair by pair: no n x n x size tensor
        for j in range(i + 1, n):
            out[i, j] = out[j, i] = (flat[i] - flat[j]).pow(2).sum()
    return out
