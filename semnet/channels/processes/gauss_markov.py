"""First-order Gauss–Markov scatter: a unit complex Gaussian ``g(t)`` correlated in time.

``g`` is a stationary ``CN(0, 1)`` process with autocorrelation ``rho^(tau / T)``:
between two evaluation times ``dt`` apart,

    g(t + dt) = a g(t) + sqrt(1 - a^2) w,   a = rho^(dt / T),   w ~ CN(0, 1),

so it can be evaluated at any increasing times (packets and images are sent at
irregular times) and stays exactly Markov. ``rho = J0(2 pi f_D T)`` matches Clarke's
correlation at lag ``T`` (:func:`semnet.channels.processes.doppler.gauss_markov_rho`); ``rho = 0``
gives independent blocks (the ``f_D -> inf`` limit), ``rho = 1`` a constant gain.

References
----------
.. [1] K. E. Baddour and N. C. Beaulieu, "Autoregressive modeling for fading channel
   simulation," *IEEE Trans. Wireless Commun.*, 4(4), 2005 (first-order AR fit to Clarke).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["GaussMarkovScatter", "TrackedGaussMarkovScatter"]


class GaussMarkovScatter:
    """``g(t)`` of one link, drawn from its own generator.

    Parameters
    ----------
    rho : float
        Correlation at lag ``step_s``, in ``[0, 1]``.
    step_s : float
        The lag ``T`` at which ``rho`` applies, ``> 0``.
    rng : numpy.random.Generator
        This link's stream.
    start_s : float
        Time of the first state (drawn from the stationary law ``CN(0, 1)``).

    Notes
    -----
    :meth:`peek` draws values at future times without moving the state, and
    :meth:`settle` moves it to one of them: a message draws the gains of every
    attempt it might make, uses some, and the process goes on from the last one used
    (the unused draws are discarded, which leaves the law unchanged).
    """

    track = None  # a Doppler that follows the trajectories: TrackedGaussMarkovScatter

    def __init__(self, rho: float, step_s: float, rng: np.random.Generator, start_s: float = 0.0):
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"rho must be in [0, 1], got {rho!r}")
        if not step_s > 0:
            raise ValueError(f"step_s must be > 0, got {step_s!r}")
        self.rho = float(rho)
        self.step_s = float(step_s)
        self.rng = rng
        self.t_s = float(start_s)
        self.g = complex(self._cn(1)[0])

    def _cn(self, n: int) -> np.ndarray:
        w = self.rng.standard_normal(2 * n)
        return (w[:n] + 1j * w[n:]) * math.sqrt(0.5)

    def _coefficient(self, dt_s):
        """``a = rho^(dt / T)`` element-wise (``0^0 = 1``: the same time, the same gain)."""
        return np.power(self.rho, np.asarray(dt_s, dtype=float) / self.step_s)

    def _coefficients(self, times: np.ndarray) -> np.ndarray:
        """The coefficient from the state's time to ``times[0]``, then between neighbours."""
        steps = np.diff(times, prepend=self.t_s)
        steps[0] = max(steps[0], 0.0)
        return self._coefficient(steps)

    def grid_stretch(self, start_s: float, spacing_s: float, n: int):
        """``(used, count, a0, a, a_cross, a2)`` for the times ``t_j = start_s + j * spacing_s``,
        ``j < n``: :meth:`peek_grid` reads the first ``used`` in one go, ``a0`` leading from
        the state to ``t_0``, ``a`` between the first ``count``, ``a_cross`` from
        ``t_(count-1)`` to ``t_count`` and ``a2`` between the rest (here one piece: ``rho``
        never changes; a trajectory's Doppler changes on the mobility grid)."""
        return n, n, self.rho ** (max(start_s - self.t_s, 0.0) / self.step_s), self.rho ** (spacing_s / self.step_s), 0.0, 0.0

    def peek(self, times_s) -> np.ndarray:
        """``g`` at non-decreasing ``times_s`` (all ``>=`` the state's time); the state stays."""
        times = np.asarray(times_s, dtype=float).ravel()
        n = times.size
        if n == 0:
            return np.empty(0, dtype=complex)
        if times[0] < self.t_s - 1e-12 or (n > 1 and np.any(np.diff(times) < 0)):
            raise ValueError(f"times must be non-decreasing from {self.t_s!r} s, got {times[:4]!r}...")
        a = self._coefficients(times)
        x = self._cn(n) * np.sqrt(1.0 - a * a)
        x[0] += a[0] * self.g
        if n == 1:
            return x
        if np.all(a[1:] == a[1]):  # a regular grid (a message's back-to-back attempts): vectorised
            return _ar1(x, float(a[1]))
        out = np.empty(n, dtype=complex)
        g = 0.0
        for j in range(n):
            g = a[j] * g + x[j] if j else x[0]
            out[j] = g
        return out

    def peek_grid(self, start_s: float, spacing_s: float, n: int) -> np.ndarray:
        """:meth:`peek` at ``start_s + j * spacing_s``, ``j < n`` (the hot path: a message's
        back-to-back attempts), in a handful of array operations."""
        if start_s < self.t_s - 1e-12 or spacing_s < 0:
            raise ValueError(f"times must be non-decreasing from {self.t_s!r} s, got {start_s!r} + j * {spacing_s!r}")
        used, count, a0, a, a_cross, a2 = self.grid_stretch(start_s, spacing_s, n)
        if used < n:  # more than two pieces: one time at a time
            return self.peek(start_s + spacing_s * np.arange(n))
        w = self._cn(n)
        x = w * math.sqrt(1.0 - a * a)
        x[0] = a0 * self.g + math.sqrt(1.0 - a0 * a0) * w[0]
        if count == n:
            return _ar1(x, a) if n > 1 else x
        # two pieces (semnet.net.arq_compiled repeats this arithmetic)
        first = _ar1(x[:count], a) if count > 1 else x[:count]
        rest = w[count:] * math.sqrt(1.0 - a2 * a2)
        rest[0] = a_cross * first[-1] + math.sqrt(1.0 - a_cross * a_cross) * w[count]
        return np.concatenate((first, _ar1(rest, a2) if rest.size > 1 else rest))

    def settle(self, t_s: float, g: complex) -> None:
        """Move the state to ``(t_s, g)``, a value :meth:`peek` returned."""
        self.t_s = float(t_s)
        self.g = complex(g)

    def state(self) -> dict:
        """The process's position (a resumed run continues from it)."""
        return {"t_s": self.t_s, "g": self.g, "rng": self.rng.bit_generator.state}

    def load_state(self, state: dict) -> None:
        self.t_s, self.g = state["t_s"], state["g"]
        self.rng.bit_generator.state = state["rng"]

    def at(self, times_s) -> np.ndarray:
        """``g`` at non-decreasing ``times_s``; the state moves to the last of them."""
        values = self.peek(times_s)
        if values.size:
            self.settle(float(np.asarray(times_s, dtype=float).ravel()[-1]), values[-1])
        return values


class TrackedGaussMarkovScatter(GaussMarkovScatter):
    """The Gauss–Markov scatter of a link whose Doppler follows its ends' trajectories: the
    coefficient between two times is the product of each grid step's ``rho_k^(overlap / T)``
    (:class:`~semnet.channels.processes.doppler_track.LinkDopplerTrack`), so on a stretch of
    constant speeds the process is the one-speed process of those speeds.

    ``rho`` is the link's correlation in the grid step of the state's time when it was made
    (reports); the coefficients read the track.
    """

    def __init__(self, track, rng: np.random.Generator, start_s: float = 0.0):
        self.track = track
        super().__init__(track.rho(track.index(start_s)), track.lag_s, rng, start_s=start_s)

    def _coefficients(self, times: np.ndarray) -> np.ndarray:
        coefficient = self.track.coefficient
        before = np.concatenate(([self.t_s], times[:-1]))
        return np.array([coefficient(s, t) for s, t in zip(before.tolist(), times.tolist())])

    def grid_stretch(self, start_s: float, spacing_s: float, n: int):
        return self.track.stretch(self.t_s, start_s, spacing_s, n)


# a^-m stays below 1e8 within a chunk, so the cumulative sum loses at most ~1e-8 (relative)
_LOG_RANGE = 8.0 * math.log(10.0)


def _ar1(x: np.ndarray, a: float) -> np.ndarray:
    """``y_j = a y_{j-1} + x_j`` with ``y_0 = x_0``, as ``y_j = a^j sum_i x_i a^-i`` in chunks."""
    if a == 0.0:
        return x.copy()
    n = x.size
    m = n if a >= 1.0 else max(1, min(n, int(_LOG_RANGE / -math.log(a))))
    out = np.empty(n, dtype=complex)
    carry = 0j
    # a^k as a running product (cumprod is sequential): the compiled packet loop
    # (semnet.net.arq_compiled) repeats it bit for bit, which np.power's vector code
    # would not guarantee
    powers = np.ones(m)
    if m > 1:
        powers[1:] = np.cumprod(np.full(m - 1, a))
    for start in range(0, n, m):
        seg = x[start:start + m]
        p = powers[: seg.size]
        y = p * (np.cumsum(seg / p) + a * carry)
        out[start:start + m] = y
        carry = y[-1]
    return out
