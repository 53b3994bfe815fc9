"""The client terms of the built-in algorithms: FedProx's and Ditto's proximal pull,
FedDyn's linear term, SCAFFOLD's raw-gradient mean and gradient correction, each with
its batched form. The contract every trainer applies is
:class:`~semnet.fl.execution.terms.ClientTerm`."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from semnet.fl.execution.terms import ClientTerm, StackedTerm

__all__ = ["ClientTerm", "GradientCorrection", "GradientMean", "LinearTerm", "ProximalTerm", "StackedTerm"]


# --------------------------------------------------------------------------- proximal pull


class ProximalTerm(ClientTerm):
    """``mu/2 ||w - w_ref||^2`` over the moving parameters (FedProx, Ditto, FedDyn's
    quadratic part); ``reference`` aligned with ``trainable()``. Adds nothing at ``mu = 0``."""

    def __init__(self, mu: float, reference: Sequence[Tensor]):
        self.mu = float(mu)
        self.reference = list(reference)

    def penalty(self, params):
        if not self.mu:
            return None
        prox = sum(torch.sum((p - r) ** 2) for p, r in zip(params, self.reference, strict=True))
        return 0.5 * self.mu * prox

    def batch_key(self):
        return ("proximal", bool(self.mu))

    @classmethod
    def stack(cls, terms, device):
        return _StackedProximal([t.reference for t in terms], [t.mu for t in terms], device)


class _StackedProximal(StackedTerm):
    def __init__(self, references, mus, device):
        self.refs = [torch.stack([r.to(device) for r in rs]) for rs in zip(*references)]
        self.mus = torch.tensor([float(m) for m in mus], device=device)
        self.active = any(mus)

    def penalty(self, leaves, n_jobs):
        if not self.active:
            return None
        sq = sum(((p - r) ** 2).reshape(n_jobs, -1).sum(dim=1) for p, r in zip(leaves, self.refs, strict=True))
        return (0.5 * self.mus * sq).sum()


# --------------------------------------------------------------------------- linear term


class LinearTerm(ClientTerm):
    """``-<g, w>`` over the moving parameters (FedDyn's first-order term: ``g`` is the
    client's gradient state), ``g`` aligned with ``trainable()``."""

    def __init__(self, g: Sequence[Tensor]):
        self.g = list(g)

    def penalty(self, params):
        return -sum(torch.sum(g * p) for p, g in zip(params, self.g, strict=True))

    @classmethod
    def stack(cls, terms, device):
        return _StackedLinear([t.g for t in terms], device)


class _StackedLinear(StackedTerm):
    def __init__(self, gs, device):
        self.g = [torch.stack([g.to(device) for g in column]) for column in zip(*gs)]

    def penalty(self, leaves, n_jobs):
        return -sum((g * p).reshape(n_jobs, -1).sum(dim=1) for p, g in zip(leaves, self.g, strict=True)).sum()


# --------------------------------------------------------------------------- gradients


class GradientMean(ClientTerm):
    """Records the mean raw minibatch gradient over the local steps, reported as
    ``grad_mean`` (SCAFFOLD's new client control variate). List it before any term
    that changes gradients: it sees them as ``backward`` left them."""

    def begin(self, params):
        self.sums = [torch.zeros_like(p) for p in params]

    def after_backward(self, params):
        for acc, p in zip(self.sums, params, strict=True):
            if p.grad is not None:
                acc.add_(p.grad)

    def report(self, steps):
        steps = max(steps, 1)
        return {"grad_mean": [g / steps for g in self.sums]}

    @classmethod
    def stack(cls, terms, device):
        return _StackedGradientMean()


class _StackedGradientMean(StackedTerm):
    def begin(self, leaves):
        self.sums = [torch.zeros_like(p) for p in leaves]

    def after_backward(self, leaves):
        for acc, p in zip(self.sums, leaves, strict=True):
            if p.grad is not None:
                acc.add_(p.grad)

    def report(self, job, steps):
        steps = max(steps, 1)
        return {"grad_mean": [g[job] / steps for g in self.sums]}


class GradientCorrection(ClientTerm):
    """Adds ``correction`` to each moving parameter's gradient (SCAFFOLD's ``c - c_i``),
    aligned with ``trainable()``."""

    def __init__(self, correction: Sequence[Tensor]):
        self.correction = list(correction)

    def after_backward(self, params):
        for p, c in zip(params, self.correction, strict=True):
            if p.grad is not None:
                p.grad.add_(c)

    @classmethod
    def stack(cls, terms, device):
        return _StackedCorrection([t.correction for t in terms], device)


class _StackedCorrection(StackedTerm):
    def __init__(self, corrections, device):
        self.corrections = [torch.stack([c.to(device) for c in cs]) for cs in zip(*corrections)]

    def after_backward(self, leaves):
        for p, c in zip(leaves, self.corrections, strict=True):
            if p.grad is not None:
                p.grad.add_(c)
