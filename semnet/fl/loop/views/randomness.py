"""Random streams keyed by purpose (:mod:`semnet.seeding`), per branch: a new consumer
asks for its own purpose and shifts no other stream."""

from __future__ import annotations

import torch

from semnet.seeding import derive_seed, numpy_rng


class RandomStreams:
    def __init__(self, seed: int, branch: str, device: torch.device):
        self.seed, self._branch, self._device = seed, branch, device

    def rng(self, *purpose: object):
        """A numpy Generator for ``purpose`` on this branch (e.g. client sampling)."""
        return numpy_rng(self.seed, self._branch, *purpose)

    def generator(self, *purpose: object) -> torch.Generator:
        """A torch Generator on the run's device for ``purpose`` on this branch. Local
        training draws from ``generator("train", phase, round, user)`` and the like: the
        phase's name is part of the purpose, so renaming a phase changes its draws."""
        gen = torch.Generator(device=self._device)
        gen.manual_seed(derive_seed(self.seed, self._branch, *purpose))
        return gen
