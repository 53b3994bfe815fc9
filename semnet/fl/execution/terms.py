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
they hold tensors and plain values only; what comes back is what ``report`` returns
(a term's own attributes are not written back from a worker).

A new client-side algorithm is a new term: no trainer changes (see
``docs/plugins.md``).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import torch
from torch import Tensor

__all__ = ["ClientTerm", "StackedTerm", "stackable"]


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
