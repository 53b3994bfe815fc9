"""Doppler frequency, Clarke's time correlation and the coherence time of a link.

A receiver moving at ``v`` through isotropic scatter (Clarke's model) sees the
complex gain ``h(t)`` with autocorrelation ``E[h(t) h*(t + tau)] = J0(2 pi f_D tau)``,
``f_D = v f_c / c`` [1]_ [2]_. The coherence time reported here is the lag at which
the correlation of ``h`` first falls to ``0.5`` (for Clarke: ``J0(x) = 0.5`` at
``x = 1.5211``, so ``T_c = 0.2421 / f_D``).

References
----------
.. [1] R. H. Clarke, "A statistical theory of mobile-radio reception," *Bell Syst.
   Tech. J.*, 47(6), 1968.
.. [2] W. C. Jakes, *Microwave Mobile Communications*, Wiley, 1974, ch. 1.
"""

from __future__ import annotations

import math

__all__ = [
    "SPEED_OF_LIGHT_MPS",
    "clarke_correlation",
    "coherence_time_s",
    "doppler_hz",
    "gauss_markov_coherence_time_s",
    "gauss_markov_rho",
]

SPEED_OF_LIGHT_MPS = 299_792_458.0

# J0(x) = 0.5 at this x (first crossing); J0's first zero is at 2.404825557695773
_J0_HALF = 1.5211440576687651
_J0_FIRST_ZERO = 2.404825557695773


def doppler_hz(speed_mps: float, carrier_hz: float) -> float:
    """Maximum Doppler shift ``f_D = v f_c / c`` in Hz (``v >= 0``, ``f_c > 0``)."""
    if not (speed_mps >= 0 and math.isfinite(speed_mps)):
        raise ValueError(f"speed_mps must be finite and >= 0, got {speed_mps!r}")
    if not (carrier_hz > 0 and math.isfinite(carrier_hz)):
        raise ValueError(f"carrier_hz must be finite and > 0, got {carrier_hz!r}")
    return speed_mps * carrier_hz / SPEED_OF_LIGHT_MPS


def clarke_correlation(doppler_hz: float, lag_s):
    """``J0(2 pi f_D tau)``: Clarke/Jakes autocorrelation of ``h`` at lag ``tau`` (element-wise)."""
    from scipy import special

    return special.j0(2.0 * math.pi * doppler_hz * lag_s)


def gauss_markov_rho(doppler_hz: float, step_s: float) -> float:
    """One-step correlation ``rho = J0(2 pi f_D T)`` of the first-order Gauss–Markov fit.

    Clipped at 0: beyond the first zero of ``J0`` (``2 pi f_D T > 2.405``) the blocks
    are independent, which is also the limit ``f_D -> inf`` (today's independent blocks).
    """
    if not step_s > 0:
        raise ValueError(f"step_s must be > 0, got {step_s!r}")
    x = 2.0 * math.pi * doppler_hz * step_s
    if not math.isfinite(x) or x >= _J0_FIRST_ZERO:
        return 0.0
    from scipy import special

    return float(max(special.j0(x), 0.0))


def coherence_time_s(doppler_hz: float) -> float:
    """Lag at which ``J0(2 pi f_D tau)`` falls to 0.5: ``0.2421 / f_D`` (``inf`` when ``f_D = 0``)."""
    if doppler_hz <= 0:
        return math.inf
    return _J0_HALF / (2.0 * math.pi * doppler_hz)


def two_end_coherence_time_s(doppler_a_hz: float, doppler_b_hz: float) -> float:
    """Lag at which ``J0(2 pi f_a tau) J0(2 pi f_b tau)`` (both ends of a link moving,
    Akki & Haber 1986) falls to 0.5; :func:`coherence_time_s` when one end stands."""
    if doppler_b_hz <= 0 or doppler_a_hz <= 0:
        return coherence_time_s(max(doppler_a_hz, doppler_b_hz))
    from scipy import optimize, special

    def excess(tau: float) -> float:
        return special.j0(2 * math.pi * doppler_a_hz * tau) * special.j0(2 * math.pi * doppler_b_hz * tau) - 0.5

    # the product is below 0.5 before the faster end's J0 reaches its 0.5 point
    upper = coherence_time_s(max(doppler_a_hz, doppler_b_hz))
    return float(optimize.brentq(excess, 0.0, upper, xtol=1e-15, rtol=1e-12))


def gauss_markov_coherence_time_s(rho: float, step_s: float) -> float:
    """Lag at which ``rho^(tau / T)`` falls to 0.5 (``inf`` for ``rho = 1``, ``0`` for ``rho = 0``)."""
    if rho >= 1.0:
        return math.inf
    if rho <= 0.0:
        return 0.0
    return step_s * math.log(0.5) / math.log(rho)
