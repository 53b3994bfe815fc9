"""Faulty clients (``faults:``): chosen users send corrupted updates.

The corruption is applied to the update as the server decodes it, before the
aggregation rule sees it, so every rule and server step meets the same lie. Noise
draws from its own stream per branch, phase, round, sender and receiver
(:mod:`semnet.seeding`), so turning faults on shifts no other random draw.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import Tensor


def corrupted(update: Sequence[Tensor], kind: str, *, std: float | None = None, factor: float | None = None,
              generator: torch.Generator | None = None) -> list[Tensor]:
    """``update`` as a faulty client sends it: ``update + N(0, std^2)`` per value
    (``gaussian``), ``-update`` (``sign_flip``) or ``factor x update`` (``scaled``)."""
    if kind == "gaussian":
        return [t + std * torch.randn(t.shape, generator=generator, dtype=t.dtype, device=t.device)
                if t.is_floating_point() else t for t in update]
    if kind == "sign_flip":
        return [-t for t in update]
    if kind == "scaled":
        return [factor * t for t in update]
    raise ValueError(f"unknown fault kind {kind!r}; allowed: gaussian, sign_flip, scaled")


class Faults:
    """The run's ``faults:`` section applied to updates; ``generator(*purpose)`` gives
    the noise stream for one purpose (a CPU torch Generator)."""

    def __init__(self, spec, generator: Callable[..., torch.Generator]):
        self.spec, self._generator = spec, generator

    def lies(self, user: int, step: str) -> bool:
        """Whether ``user`` corrupts its updates in ``step`` (``global`` or ``decoders``)."""
        return self.spec is not None and step in self.spec.steps and user in self.spec.users

    def any_in(self, step: str) -> bool:
        """Whether some user corrupts its updates in ``step``."""
        return self.spec is not None and step in self.spec.steps

    def apply(self, update: Sequence[Tensor], user: int, step: str, receiver: object = "server") -> list[Tensor]:
        """``user``'s update as it reaches ``receiver`` in ``step``: corrupted if ``user`` is faulty there."""
        if not self.lies(user, step):
            return list(update)
        spec = self.spec
        gen = self._generator("faults", step, user, receiver) if spec.kind == "gaussian" else None
        return corrupted(update, spec.kind, std=spec.std, factor=spec.factor, generator=gen)
