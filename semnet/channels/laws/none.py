"""``none`` (alias ``awgn``): no fading, ``h = 1``; the link is AWGN."""

from __future__ import annotations

import math

import numpy as np

from semnet.channels.laws.base import FadingModel
from semnet.registry import channels

__all__ = ["NoFading"]


@channels.register("none", "no fading (AWGN): h = 1; alias awgn")
class NoFading(FadingModel):
    """``h = 1`` on every block: the link is AWGN. Draws no random numbers."""

    name = "none"
    random = False

    def sample_numpy(self, size, rng: np.random.Generator | None) -> np.ndarray:
        return np.ones(size, dtype=complex)

    def from_gaussian(self, g: np.ndarray) -> np.ndarray:
        return np.ones(np.shape(g), dtype=complex)

    def sample_torch(self, batch: int, generator, device, dtype):
        import torch

        return torch.ones(batch, device=device, dtype=torch.complex128 if dtype == torch.float64 else torch.complex64)

    def power_gain_cdf(self, x: np.ndarray) -> np.ndarray:
        """A step: ``P(1 < x)``."""
        return (x > 1.0).astype(float)

    def ergodic_capacity_bps_hz(self, snr: np.ndarray) -> np.ndarray:
        """``log2(1 + snr)``."""
        return np.log1p(snr) / math.log(2.0)
