"""``rayleigh``: ``h ~ CN(0, 1)``; ``|h|^2`` is exponential with mean 1.

References
----------
.. [1] A. Goldsmith, *Wireless Communications*, Cambridge University Press, 2005,
   ch. 3 and 4.
"""

from __future__ import annotations

import math

import numpy as np

from semnet.channels.laws.base import FadingModel, complex_normal_numpy, complex_normal_torch
from semnet.registry import channels

__all__ = ["Rayleigh", "exp_e1", "rayleigh_capacity_bps_hz"]


def exp_e1(x: float) -> float:
    """``exp(x) E1(x)`` for ``x > 0`` without overflow at large ``x``."""
    if x < 500.0:
        from scipy import special  # imported on use: scipy costs start-up time

        return math.exp(x) * float(special.exp1(x))
    # Asymptotic series 1/x sum (-1)^m m! / x^m; at x >= 500 ten terms reach double precision.
    return sum((-1) ** m * math.factorial(m) / x ** (m + 1) for m in range(10))


def rayleigh_capacity_bps_hz(snr: np.ndarray) -> np.ndarray:
    """``exp(1/snr) E1(1/snr) / ln 2`` element-wise (Rayleigh ergodic capacity)."""
    snr = np.asarray(snr, dtype=float)
    values = [exp_e1(1.0 / float(s)) / math.log(2.0) for s in snr.ravel()]
    return np.array(values, dtype=float).reshape(snr.shape)


@channels.register("rayleigh", "Rayleigh block fading: h ~ CN(0, 1)")
class Rayleigh(FadingModel):
    """``h ~ CN(0, 1)``: real and imaginary parts ``N(0, 1/2)``, no line of sight.

    numpy draws the real parts of the whole block, then the imaginary parts; torch
    draws interleaved (real, imaginary) pairs (:func:`complex_normal_torch`).
    """

    name = "rayleigh"

    def sample_numpy(self, size, rng: np.random.Generator | None) -> np.ndarray:
        return complex_normal_numpy(size, rng)

    def from_gaussian(self, g: np.ndarray) -> np.ndarray:
        return np.asarray(g, dtype=complex)

    def affine_gain(self) -> tuple[float, float]:
        return 0.0, 1.0

    def sample_torch(self, batch: int, generator, device, dtype):
        return complex_normal_torch((batch,), generator, device, dtype)

    def power_gain_cdf(self, x: np.ndarray) -> np.ndarray:
        """``1 - exp(-x)``."""
        return -np.expm1(-x)

    def ergodic_capacity_bps_hz(self, snr: np.ndarray) -> np.ndarray:
        """``exp(1/snr) E1(1/snr) / ln 2``."""
        return rayleigh_capacity_bps_hz(snr)
