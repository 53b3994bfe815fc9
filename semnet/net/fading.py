"""Block-fading statistics: sampling, outage probability and ergodic capacity.

Conventions
-----------
- SNR is ``P / sigma^2`` with unit mean complex-symbol power ``P = 1``; the
  received signal is ``y = h z + n`` with ``n ~ CN(0, 1 / snr)``.
- The complex gain ``h`` is normalised to ``E|h|^2 = 1``, so the average SNR of a
  link is its ``snr``; the instantaneous SNR is ``|h|^2 snr``. One ``h`` is drawn
  per block (one image or one packet).
- The fading models are the entries of :data:`semnet.registry.channels` (the same
  ones the JSCC :class:`~semnet.models.channel.Channel` uses, see
  :mod:`semnet.channels`): ``"none"`` (alias ``"awgn"``, ``h = 1``), ``"rayleigh"``
  (``h ~ CN(0, 1)``), ``"rician"`` (line of sight plus scatter, K factor
  ``k_factor``) and any plugin's. Every function here takes the model's name
  (``kind``) or a :class:`~semnet.channels.FadingModel`; ``k_factor`` goes to models
  whose constructor takes it (``rician``) and is ignored by the others.

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

from semnet.channels import BUILTIN_NAMES, FadingModel, fading_model
from semnet.errors import ScenarioError
from semnet.net._checks import check_real
from semnet.registry import channels

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

FADING_KINDS = BUILTIN_NAMES
"""Names of the built-in block-fading models (``none``, ``rayleigh``, ``rician``); kept
for compatibility: plugins may register more in :data:`semnet.registry.channels`."""


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


def _model(kind, k_factor) -> FadingModel:
    """Validate ``kind`` and ``k_factor`` and return the registered model."""
    if not isinstance(kind, FadingModel) and kind not in channels:
        raise ScenarioError(f"unknown fading kind {kind!r}; valid kinds: {', '.join(channels.names())}")
    return fading_model(kind, check_real("k_factor", k_factor, low=0.0))


def sample_gain(kind, size, rng: np.random.Generator | None, *, k_factor: float = 0.0) -> np.ndarray:
    """Draw complex block-fading gains ``h`` with ``E|h|^2 = 1``.

    Parameters
    ----------
    kind : str or FadingModel
        A registered fading model (see the module docstring).
    size : int or tuple of int
        Output shape.
    rng : numpy.random.Generator
        Source of randomness (not used for ``"none"``).
    k_factor : float, optional
        Rician K factor (linear, ``>= 0``); ignored by models without one.

    Returns
    -------
    numpy.ndarray of complex128, shape ``size``
    """
    return _model(kind, k_factor).sample_numpy(size, rng)


def sample_power_gain(kind, size, rng: np.random.Generator | None, *, k_factor: float = 0.0) -> np.ndarray:
    """Draw power gains ``|h|^2`` (mean 1) of :func:`sample_gain`.

    Uses the same draws as :func:`sample_gain`, so with the same ``rng`` state a
    Rician ``K = 0`` sample equals the Rayleigh one.

    Returns
    -------
    numpy.ndarray of float64, shape ``size``
    """
    return _model(kind, k_factor).power_gain(size, rng)


def _check_snr_db(snr_db) -> np.ndarray:
    snr_db = np.asarray(snr_db, dtype=float)
    if not np.all(np.isfinite(snr_db)):
        raise ScenarioError(f"snr_db must be finite, got {snr_db!r}")
    return snr_db


def outage_probability(kind, snr_db, threshold_linear, *, k_factor: float = 0.0):
    """Probability that the instantaneous SNR falls below a threshold.

    ``P(|h|^2 snr < threshold)``, from the model's
    :meth:`~semnet.channels.FadingModel.power_gain_cdf`: a step for ``"none"``,
    ``1 - exp(-threshold / snr)`` for Rayleigh, the noncentral chi-square CDF
    (``1 - Q_1(sqrt(2K), sqrt(2 (K + 1) threshold / snr))``, Marcum Q) for Rician, a
    fixed-seed Monte-Carlo estimate for a plugin without a closed form.

    Parameters
    ----------
    kind : str or FadingModel
        A registered fading model.
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
    model = _model(kind, k_factor)
    snr = db_to_linear(_check_snr_db(snr_db))
    threshold = np.asarray(threshold_linear, dtype=float)
    if np.any(~np.isfinite(threshold) | (threshold < 0)):
        raise ScenarioError(f"threshold_linear must be finite and >= 0, got {threshold_linear!r}")
    x = threshold / snr
    return np.asarray(model.power_gain_cdf(x), dtype=float)[()]


def rate_outage_probability(kind, snr_db, spectral_efficiency_bps_hz, *, k_factor: float = 0.0):
    """Probability that the instantaneous capacity falls below a target rate.

    ``P(log2(1 + |h|^2 snr) < R)``, i.e. :func:`outage_probability` with threshold
    ``2^R - 1``.

    Parameters
    ----------
    kind : str or FadingModel
        A registered fading model.
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


def ergodic_capacity_bps_hz(kind, snr_db, *, k_factor: float = 0.0):
    """Ergodic capacity ``E[log2(1 + |h|^2 snr)]`` in bit/s/Hz (receiver knows ``h``).

    From the model's :meth:`~semnet.channels.FadingModel.ergodic_capacity_bps_hz`:
    ``log2(1 + snr)`` for ``"none"``; ``exp(1/snr) E1(1/snr) / ln 2`` for Rayleigh;
    numerical quadrature over the noncentral chi-square density for Rician; a
    fixed-seed Monte-Carlo mean for a plugin without a closed form.

    Parameters
    ----------
    kind : str or FadingModel
        A registered fading model.
    snr_db : float or array_like
        Average SNR in dB (finite).
    k_factor : float, optional
        Rician K factor (linear, ``>= 0``).

    Returns
    -------
    float or numpy.ndarray
    """
    model = _model(kind, k_factor)
    snr = np.asarray(db_to_linear(_check_snr_db(snr_db)), dtype=float)
    return np.asarray(model.ergodic_capacity_bps_hz(snr), dtype=float)[()]
