"""``rician``: a zero-phase line-of-sight term plus Rayleigh scatter.

``h = sqrt(K / (K + 1)) + sqrt(1 / (K + 1)) CN(0, 1)``; ``K`` (``k_factor``, linear,
``>= 0``) is the ratio of line-of-sight to scattered power. ``K = 0`` is Rayleigh,
``K -> inf`` AWGN. ``2 (K + 1) |h|^2`` is noncentral chi-square with 2 degrees of
freedom and noncentrality ``2 K``.
"""

from __future__ import annotations

import math

import numpy as np

from semnet.channels.laws.base import FadingModel, complex_normal_numpy, complex_normal_torch
from semnet.channels.laws.rayleigh import rayleigh_capacity_bps_hz
from semnet.registry import channels

__all__ = ["Rician"]


def _rician_capacity(snr: float, k_factor: float) -> float:
    """``E[log2(1 + |h|^2 snr)]`` by quadrature over the noncentral chi-square pdf."""
    from scipy import integrate, stats

    scale = 2.0 * (k_factor + 1.0)  # y = scale * |h|^2 ~ ncx2(2, 2K)
    nc = 2.0 * k_factor
    mean, std = 2.0 + nc, math.sqrt(4.0 + 4.0 * nc)

    def integrand(y: float) -> float:
        return math.log1p(snr * y / scale) * stats.ncx2.pdf(y, 2, nc)

    # Split at the bulk so quad does not miss the narrow peak of a large-K pdf.
    lower = max(0.0, mean - 40.0 * std)
    upper = mean + 40.0 * std
    body, _ = integrate.quad(integrand, lower, upper, points=[mean], limit=200)
    tail, _ = integrate.quad(integrand, upper, np.inf, limit=200)
    return (body + tail) / math.log(2.0)


@channels.register("rician", "Rician block fading: line of sight plus scatter, K = links.k_factor")
class Rician(FadingModel):
    """Rician fading with K factor ``k_factor`` (linear, ``>= 0``).

    Draws exactly what :class:`~semnet.channels.laws.rayleigh.Rayleigh` draws (the scatter)
    and adds the line of sight, so with the same generator state a ``K = 0`` sample
    equals the Rayleigh one.

    Raises
    ------
    ValueError
        If ``k_factor`` is not a finite number ``>= 0``.
    """

    name = "rician"

    def __init__(self, k_factor: float = 0.0) -> None:
        k = float(k_factor)
        if not math.isfinite(k) or k < 0:
            raise ValueError(f"rician k_factor must be a finite number >= 0 (linear, not dB), got {k_factor!r}")
        self.k_factor = k
        self._los = math.sqrt(k / (k + 1.0))
        self._scatter = math.sqrt(1.0 / (k + 1.0))

    def sample_numpy(self, size, rng: np.random.Generator | None) -> np.ndarray:
        return self._los + self._scatter * complex_normal_numpy(size, rng)

    def from_gaussian(self, g: np.ndarray) -> np.ndarray:
        return self._los + self._scatter * np.asarray(g, dtype=complex)

    def affine_gain(self) -> tuple[float, float]:
        return self._los, self._scatter

    def sample_torch(self, batch: int, generator, device, dtype):
        return self._los + self._scatter * complex_normal_torch((batch,), generator, device, dtype)

    def power_gain_cdf(self, x: np.ndarray) -> np.ndarray:
        """Noncentral chi-square CDF ``1 - Q_1(sqrt(2K), sqrt(2 (K + 1) x))`` (Marcum Q);
        ``1 - exp(-x)`` at ``K = 0``."""
        k = self.k_factor
        if k == 0.0:
            return -np.expm1(-x)
        from scipy import stats  # imported on use: scipy.stats costs ~0.5 s at start-up

        return stats.ncx2.cdf(2.0 * (k + 1.0) * x, 2, 2.0 * k)

    def ergodic_capacity_bps_hz(self, snr: np.ndarray) -> np.ndarray:
        """Quadrature over the noncentral chi-square density (the Rayleigh closed form at ``K = 0``)."""
        if self.k_factor == 0.0:
            return rayleigh_capacity_bps_hz(snr)
        snr = np.asarray(snr, dtype=float)
        values = [_rician_capacity(float(s), self.k_factor) for s in snr.ravel()]
        return np.array(values, dtype=float).reshape(snr.shape)
