"""What a federated algorithm adds to a client's local training.

An algorithm hands each client's :class:`~semnet.fl.execution.trainer.TrainJob` a tuple of
:class:`ClientTerm` objects (``TrainJob.terms``); every trainer — sequential, batched,
the worker pool and Ray — applies them the same way, at four points of a local run:

1. ``begin(params)`` once, before the first step;
2. ``penalty(params)`` each step: a scalar added to the loss before ``backward``
   (FedProx's and Ditto's proximal pull, FedDyn's linear term), or None;
3. ``after_backward(params)`` each step, in the order the terms are listed, before
   the optimiser steps: gradients read (SCAFFOLD's raw-gradient mean) or changed
   (SCAFFOLD's correction);
4. ``report(steps)`` once, after the last step: what the client returns with its
   result (merged into ``JobResult.reports``).

``params`` are the job's moving parameters in ``TrainJob.trainable()`` order
(encoder first, then decoders). The batched trainer trains several jobs' models as
stacked tensors (dim 0: the job); it asks the term's class for ``stack(terms)``, one
:class:`StackedTerm` acting on the stacked parameters. Jobs whose terms differ in
class or in ``batch_key()`` train in separate groups; a term class without ``stack``
makes its jobs train one by one. Terms travel to worker processes by pickling, so
they hold tensors and plain values only.

A new client-side algorithm is a new term: no trainer changes (see
``docs/plugins.md``).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import torch
from torch import Tensor

__all__ = ["ClientTerm", "GradientCorrection", "GradientMean", "LinearTerm", "ProximalTerm", "StackedTerm"]


class ClientTerm:
    """One piece of an algorithm's client logic (see the module docstring)."""

    def begin(self, params: Sequence[Tensor]) -> None:
        """Called once before the first local step."""

    def penalty(self, params: Sequence[Tensor]) -> Tensor | None:
        """A scalar added to the step's loss, or None."""
        return None

    def after_backward(self, params: Sequence[Tensor]) -> None:
        """Read or change ``p.grad`` of ``params`` before the optimiser steps."""

    def report(self, steps: int) -> dict:
        """What the client sends back (merged into ``JobResult.reports``)."""
        return {}

    def batch_key(self) -> Hashable:
        """Jobs train stacked only where their terms' keys are equal."""
        return type(self).__name__

    @classmethod
    def stack(cls, terms: Sequence["ClientTerm"], device: torch.device) -> "StackedTerm":
        """One term acting on the stacked parameters of ``terms``' jobs (dim 0: the job)."""
        raise NotImplementedError


class StackedTerm:
    """A term's batched form: the same four points on stacked parameters."""

    def begin(self, leaves: Sequence[Tensor]) -> None:
        pass

    def penalty(self, leaves: Sequence[Tensor], n_jobs: int) -> Tensor | None:
        return None

    def after_backward(self, leaves: Sequence[Tensor]) -> None:
        pass

    def report(self, job: int, steps: int) -> dict:
        return {}


def stackable(term: ClientTerm) -> bool:
    """Whether ``term``'s class gives a batched form."""
    return type(term).stack.__func__ is not ClientTerm.stack.__func__


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
