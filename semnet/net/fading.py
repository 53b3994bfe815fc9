"""Block-fading statistics: sampling, outage probability and ergodic capacity.

Conventions
-----------
- SNR is ``P / sigma^2`` with unit mean complex-symbol power ``P = 1``; the
  received signal is ``y = h z + n`` with ``n ~ CN(0, 1 / snr)``.
- The complex gain ``h`` is normalised to ``E|h|^2 = 1``, so the average SNR of a
  link is its ``snr``; the instantaneous SNR is ``|h|^2 snr``. One ``h`` is drawn
  per block (one image or one packet).
- Kinds (:data:`FADING_KINDS`):

  ``"none"``
      ``h = 1`` (AWGN).
  ``"rayleigh"``
      ``h ~ CN(0, 1)``; ``|h|^2`` is exponential with mean 1.
  ``"rician"``
      ``h = sqrt(K / (K + 1)) + sqrt(1 / (K + 1)) CN(0, 1)`` with a zero-phase
      line-of-sight term; ``K`` (``k_factor``, linear, ``>= 0``) is the ratio of
      line-of-sight to scattered power. ``K = 0`` is Rayleigh, ``K -> inf`` AWGN.
      ``2 (K + 1) |h|^2`` is noncentral chi-square with 2 degrees of freedom and
      noncentrality ``2 K``.

dB appears only in argument names ending ``_db``; everything inside is linear.
Bad kinds or values raise :class:`semnet.errors.ScenarioError`.

References
----------
.. [1] A. Goldsmith, *Wireless Communications*, Cambridge University Press, 2005,
   ch. 3 and 4.
"""

from __future__ import annotations

import math

import numpy as np

from semnet.errors import ScenarioError
from semnet.net._checks import check_real

__all__ = [
    "FADING_KINDS",
    "db_to_linear",
    "ergodic_capacity_bps_hz",
    "linear_to_db",
    "outage_probability",
    "rate_outage_probability",
    "sample_gain",
    "sample_power_gain",
]

FADING_KINDS = ("none", "rayleigh", "rician")
"""Names of the supported block-fading models."""


def db_to_linear(x_db):
    """``10 ** (x_db / 10)``, element-wise.

    Parameters
    ----------
    x_db : float or array_like
        Power ratio in dB.

    Returns
    -------
    float or numpy.ndarray
        Linear power ratio, same shape as ``x_db``.
    """
    return np.power(10.0, np.asarray(x_db, dtype=float) / 10.0)[()]


def linear_to_db(x):
    """``10 log10(x)``, element-wise; ``0`` maps to ``-inf``.

    Parameters
    ----------
    x : float or array_like
        Non-negative linear power ratio.

    Returns
    -------
    float or numpy.ndarray
        Value in dB, same shape as ``x``.

    Raises
    ------
    ValueError
        If any element is negative.
    """
    x = np.asarray(x, dtype=float)
    if np.any(x < 0):
        raise ValueError(f"linear power ratio must be >= 0, got {x[x < 0].flat[0]!r}")
    with np.errstate(divide="ignore"):
        return (10.0 * np.log10(x))[()]


def _check_kind(kind: str, k_factor: float) -> float:
    """Validate ``kind`` and return ``k_factor`` as float (it matters only for rician)."""
    if kind not in FADING_KINDS:
        raise ScenarioError(f"unknown fading kind {kind!r}; valid kinds: {', '.join(FADING_KINDS)}")
    return check_real("k_factor", k_factor, low=0.0)


def sample_gain(kind: str, size, rng: np.random.Generator, *, k_factor: float = 0.0) -> np.ndarray:
    """Draw complex block-fading gains ``h`` with ``E|h|^2 = 1``.

    Parameters
    ----------
    kind : str
        One of :data:`FADING_KINDS`.
    size : int or tuple of int
        Output shape.
    rng : numpy.random.Generator
        Source of randomness (not used for ``"none"``).
    k_factor : float, optional
        Rician K factor (linear, ``>= 0``); ignored by the other kinds.

    Returns
    -------
    numpy.ndarray of complex128, shape ``size``
    """
    k_factor = _check_kind(kind, k_factor)
    if kind == "none":
        return np.ones(size, dtype=complex)
    scatter = (rng.standard_normal(size) + 1j * rng.standard_normal(size)) / math.sqrt(2.0)
    if kind == "rayleigh":
        return scatter
    los = math.sqrt(k_factor / (k_factor + 1.0))
    return los + math.sqrt(1.0 / (k_factor + 1.0)) * scatter


def sample_power_gain(kind: str, size, rng: np.random.Generator, *, k_factor: float = 0.0) -> np.ndarray:
    """Draw power gains ``|h|^2`` (mean 1) of :func:`sample_gain`.

    Uses the same draws as :func:`sample_gain`, so with the same ``rng`` state a
    Rician ``K = 0`` sample equals the Rayleigh one.

    Returns
    -------
    numpy.ndarray of float64, shape ``size``
    """
    h = sample_gain(kind, size, rng, k_factor=k_factor)
    return h.real**2 + h.imag**2


def _check_snr_db(snr_db) -> np.ndarray:
    snr_db = np.asarray(snr_db, dtype=float)
    if not np.all(np.isfinite(snr_db)):
        raise ScenarioError(f"snr_db must be finite, got {snr_db!r}")
    return snr_db


def _power_gain_cdf(kind: str, x: np.ndarray, k_factor: float) -> np.ndarray:
    """``P(|h|^2 < x)`` for ``x >= 0`` (``inf`` allowed)."""
    if kind == "none":
        return (x > 1.0).astype(float)
    if kind == "rayleigh" or k_factor == 0.0:
        return -np.expm1(-x)
    from scipy import stats  # imported on use: scipy.stats costs ~0.5 s at start-up

    return stats.ncx2.cdf(2.0 * (k_factor + 1.0) * x, 2, 2.0 * k_factor)


def outage_probability(kind: str, snr_db, threshold_linear, *, k_factor: float = 0.0):
    """Probability that the instantaneous SNR falls below a threshold.

    ``P(|h|^2 snr < threshold)``, in closed form: a step for ``"none"``,
    ``1 - exp(-threshold / snr)`` for Rayleigh, the noncentral chi-square CDF
    (``1 - Q_1(sqrt(2K), sqrt(2 (K + 1) threshold / snr))``, Marcum Q) for Rician.

    Parameters
    ----------
    kind : str
        One of :data:`FADING_KINDS`.
    snr_db : float or array_like
        Average SNR in dB (finite).
    threshold_linear : float or array_like
        Instantaneous-SNR threshold, linear, ``>= 0``.
    k_factor : float, optional
        Rician K factor (linear, ``>= 0``).

    Returns
    -------
    float or numpy.ndarray
        Probability in ``[0, 1]``, broadcast over the inputs.
    """
    k_factor = _check_kind(kind, k_factor)
    snr = db_to_linear(_check_snr_db(snr_db))
    threshold = np.asarray(threshold_linear, dtype=float)
    if np.any(~np.isfinite(threshold) | (threshold < 0)):
        raise ScenarioError(f"threshold_linear must be finite and >= 0, got {threshold_linear!r}")
    x = threshold / snr
    return np.asarray(_power_gain_cdf(kind, x, k_factor), dtype=float)[()]


def rate_outage_probability(kind: str, snr_db, spectral_efficiency_bps_hz, *, k_factor: float = 0.0):
    """Probability that the instantaneous capacity falls below a target rate.

    ``P(log2(1 + |h|^2 snr) < R)``, i.e. :func:`outage_probability` with threshold
    ``2^R - 1``.

    Parameters
    ----------
    kind : str
        One of :data:`FADING_KINDS`.
    snr_db : float or array_like
        Average SNR in dB.
    spectral_efficiency_bps_hz : float or array_like
        Target rate ``R`` in bit/s/Hz, ``>= 0``.
    k_factor : float, optional
        Rician K factor (linear, ``>= 0``).

    Returns
    -------
    float or numpy.ndarray
    """
    rate = np.asarray(spectral_efficiency_bps_hz, dtype=float)
    if np.any(~np.isfinite(rate) | (rate < 0)):
        raise ScenarioError(
            f"spectral_efficiency_bps_hz must be finite and >= 0, got {spectral_efficiency_bps_hz!r}"
        )
    threshold = np.expm1(rate * math.log(2.0))
    return outage_probability(kind, snr_db, threshold, k_factor=k_factor)


def _exp_e1(x: float) -> float:
    """``exp(x) E1(x)`` for ``x > 0`` without overflow at large ``x``."""
    if x < 500.0:
        from scipy import special

        return math.exp(x) * float(special.exp1(x))
    # Asymptotic series 1/x sum (-1)^m m! / x^m; at x >= 500 ten terms reach double precision.
    return sum((-1) ** m * math.factorial(m) / x ** (m + 1) for m in range(10))


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


def ergodic_capacity_bps_hz(kind: str, snr_db, *, k_factor: float = 0.0):
    """Ergodic capacity ``E[log2(1 + |h|^2 snr)]`` in bit/s/Hz (receiver knows ``h``).

    Closed forms: ``log2(1 + snr)`` for ``"none"``;
    ``exp(1/snr) E1(1/snr) / ln 2`` for Rayleigh; numerical quadrature over the
    noncentral chi-square density for Rician.

    Parameters
    ----------
    kind : str
        One of :data:`FADING_KINDS`.
    snr_db : float or array_like
        Average SNR in dB (finite).
    k_factor : float, optional
        Rician K factor (linear, ``>= 0``).

    Returns
    -------
    float or numpy.ndarray
    """
    k_factor = _check_kind(kind, k_factor)
    snr = np.asarray(db_to_linear(_check_snr_db(snr_db)), dtype=float)
    if kind == "none":
        return (np.log1p(snr) / math.log(2.0))[()]
    if kind == "rayleigh" or k_factor == 0.0:
        one = lambda s: _exp_e1(1.0 / s) / math.log(2.0)  # noqa: E731
    else:
        one = lambda s: _rician_capacity(s, k_factor)  # noqa: E731
    values = np.array([one(float(s)) for s in snr.ravel()], dtype=float).reshape(snr.shape)
    return values[()]
