"""Jakes/Clarke scatter as a sum of sinusoids: ``g(t)`` evaluable at any time.

    g(t) = M^(-1/2) sum_m exp(j (2 pi f_D cos(alpha_m) t + phi_m)),

with arrival angles ``alpha_m`` and phases ``phi_m`` uniform on ``[0, 2 pi)``, drawn
once per link. Over the ensemble (links, seeds) ``E|g|^2 = 1`` exactly and
``E[g(t) g*(t + tau)] = E_alpha[exp(-j 2 pi f_D cos(alpha) tau)] = J0(2 pi f_D tau)``,
Clarke's correlation; ``g`` tends to ``CN(0, 1)`` as ``M`` grows (``M = 16`` by default).
Unlike :mod:`semnet.channels.processes.gauss_markov` the process has no state: any time can be
evaluated in any order.

References
----------
.. [1] W. C. Jakes, *Microwave Mobile Communications*, Wiley, 1974, ch. 1.
.. [2] Y. R. Zheng and C. Xiao, "Simulation models with correct statistical properties
   for Rayleigh fading channels," *IEEE Trans. Commun.*, 51(6), 2003 (random angles
   and phases make the sum-of-sinusoids statistics exact over the ensemble).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["JakesScatter", "TrackedJakesScatter"]


class JakesScatter:
    """``g(t)`` of one link (see the module docstring).

    Parameters
    ----------
    doppler_hz : float
        Maximum Doppler shift ``f_D >= 0`` of one end.
    other_end_doppler_hz : float
        The other end's, when it moves too (mobile-to-mobile, Akki & Haber 1986): each
        path's shift is ``f_a cos(alpha) + f_b cos(beta)`` and the autocorrelation
        ``J0(2 pi f_a tau) J0(2 pi f_b tau)``. 0 (a base station): no extra draws.
    sinusoids : int
        Number of paths ``M >= 1``.
    rng : numpy.random.Generator
        Draws the angles and phases.
    """

    def __init__(self, doppler_hz: float, sinusoids: int, rng: np.random.Generator, other_end_doppler_hz: float = 0.0):
        for value in (doppler_hz, other_end_doppler_hz):
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"doppler_hz must be finite and >= 0, got {value!r}")
        if sinusoids < 1:
            raise ValueError(f"sinusoids must be >= 1, got {sinusoids!r}")
        angles = rng.uniform(0.0, 2.0 * math.pi, sinusoids)
        self.phases = rng.uniform(0.0, 2.0 * math.pi, sinusoids)
        self.omega = 2.0 * math.pi * doppler_hz * np.cos(angles)  # rad/s, one per path
        if other_end_doppler_hz > 0:  # both ends move: each path also leaves at its own angle
            departures = rng.uniform(0.0, 2.0 * math.pi, sinusoids)
            self.omega = self.omega + 2.0 * math.pi * other_end_doppler_hz * np.cos(departures)
        self.scale = 1.0 / math.sqrt(sinusoids)

    def peek(self, times_s) -> np.ndarray:
        times = np.asarray(times_s, dtype=float).ravel()
        phase = np.multiply.outer(times, self.omega) + self.phases
        return self.scale * np.exp(1j * phase).sum(axis=1)

    def peek_grid(self, start_s: float, spacing_s: float, n: int) -> np.ndarray:
        return self.peek(start_s + spacing_s * np.arange(n))

    def state(self) -> dict:
        """Nothing moves after construction: the sinusoids' phases are fixed."""
        return {}

    def load_state(self, state: dict) -> None:
        """Nothing to restore (see :meth:`state`)."""

    def settle(self, t_s: float, g: complex) -> None:
        """No state: a no-op (the interface of :class:`~semnet.channels.processes.gauss_markov.GaussMarkovScatter`)."""

    at = peek


class TrackedJakesScatter(JakesScatter):
    """The Jakes scatter of a link whose Doppler follows its ends' trajectories: path ``m``'s
    phase is ``2 pi (cos(alpha_m) Phi_a(t) + cos(beta_m) Phi_b(t)) + phi_m``, with ``Phi``
    each end's accumulated Doppler cycles
    (:class:`~semnet.channels.processes.doppler_track.LinkDopplerTrack`); at constant
    speeds it is :class:`JakesScatter` at those speeds' shifts.

    ``both_move``: the other end is a user (it may move), so each path also leaves at an
    angle ``beta_m`` of its own (drawn after the arrival angles and phases, as in
    :class:`JakesScatter`); False for a link to the aggregator.
    """

    def __init__(self, track, sinusoids: int, rng: np.random.Generator, both_move: bool):
        if sinusoids < 1:
            raise ValueError(f"sinusoids must be >= 1, got {sinusoids!r}")
        self.track = track
        self.cos_arrival = np.cos(rng.uniform(0.0, 2.0 * math.pi, sinusoids))
        self.phases = rng.uniform(0.0, 2.0 * math.pi, sinusoids)
        self.cos_departure = (np.cos(rng.uniform(0.0, 2.0 * math.pi, sinusoids)) if both_move
                              else np.zeros(sinusoids))
        self.scale = 1.0 / math.sqrt(sinusoids)

    def peek(self, times_s) -> np.ndarray:
        times = np.asarray(times_s, dtype=float).ravel()
        cycles_a, cycles_b = self.track.cycles(times)
        phase = 2.0 * math.pi * (np.multiply.outer(cycles_a, self.cos_arrival)
                                 + np.multiply.outer(cycles_b, self.cos_departure)) + self.phases
        return self.scale * np.exp(1j * phase).sum(axis=1)

    at = peek
