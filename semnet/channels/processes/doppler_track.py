"""Doppler shifts that follow the users' trajectories (``links.channel.doppler_speed: trajectory``).

Each user's speed is piecewise constant on the mobility grid ``t_k = k * step_s``
(:meth:`semnet.net.mobility.Mobility.speeds_mps`: the path it walked in the step over
``step_s``), so is its maximum Doppler shift ``f_k = v_k f_c / c``. A link fades as
Akki & Haber's mobile-to-mobile model [1]_ with each end at its *current* shift: the
scatter's correlation over a stretch where both ends keep their speeds is
``J0(2 pi f_a tau) J0(2 pi f_b tau)``, and ``J0(2 pi f_a tau)`` alone when one end
stands (the aggregator, a pausing user). Neither the relative speed nor the sum
``f_a + f_b`` would do: two users walking side by side at the same velocity have
relative speed 0, yet the scatterers around both stand still, so their channel changes
as fast as each of them moves; the sum is only the largest shift a path can have, and
``J0(2 pi (f_a + f_b) tau)`` decorrelates faster than the double-ring product.

The two processes read a link's track differently:

- Gauss–Markov: the correlation between ``s`` and ``t`` is the product over the grid
  steps between them of ``rho_k^(overlap / T)``, ``rho_k = J0(2 pi f_a,k T) J0(2 pi f_b,k T)``
  (each factor 0 beyond J0's first zero, as with one speed), so on a leg of constant
  speeds it is the one-speed process of that leg;
- Jakes: each path's phase advances by ``2 pi cos(alpha) Phi_a(t) + 2 pi cos(beta) Phi_b(t)``
  with ``Phi(t) = integral of f(t) dt`` (the end's travelled distance in wavelengths), which
  is ``2 pi f_D cos(alpha) t`` at a constant speed.

The track depends on the trajectories only (the seed and ``k``), so every branch of a
run reads the same Doppler.

References
----------
.. [1] A. S. Akki and F. Haber, "A statistical model of mobile-to-mobile land
   communication channel," *IEEE Trans. Veh. Technol.*, 35(1), 1986.
"""

from __future__ import annotations

import math

import numpy as np

from semnet.channels.processes.doppler import _J0_FIRST_ZERO, SPEED_OF_LIGHT_MPS

__all__ = ["DopplerTrack", "LinkDopplerTrack", "stretch_coefficients"]


class DopplerTrack:
    """Every user's Doppler shift on the mobility grid, computed step by step as asked.

    Parameters
    ----------
    mobility
        The users' trajectories (``speeds_mps(k)``, ``step_s``, ``n``).
    carrier_hz : float
        Carrier frequency.
    lag_s : float
        Gauss–Markov lag ``T`` of ``rho = J0(2 pi f_D T)``.
    """

    def __init__(self, mobility, *, carrier_hz: float, lag_s: float):
        self.mobility = mobility
        self.step_s = float(mobility.step_s)
        self.lag_s = float(lag_s)
        self._hz_per_mps = float(carrier_hz) / SPEED_OF_LIGHT_MPS
        users = mobility.n + 1  # column n: the aggregator, which stands
        self._doppler = np.zeros((0, users))  # rows k: f (Hz) of every node in step k
        self._cycles = np.zeros((1, users))  # rows k: Phi(t_k), cycles travelled before t_k
        self._rho = np.ones((0, users))  # rows k: J0(2 pi f T), 0 beyond its first zero
        self._count = 0

    def _grow(self, k: int) -> None:
        """Compute rows up to step ``k`` (tables grown by doubling)."""
        while self._count <= k:
            if self._count == self._doppler.shape[0]:
                rows = max(16, 2 * self._count)
                for name, fill in (("_doppler", 0.0), ("_rho", 1.0), ("_cycles", 0.0)):
                    old = getattr(self, name)
                    grown = np.full((rows + (name == "_cycles"), old.shape[1]), fill)
                    grown[: old.shape[0]] = old
                    setattr(self, name, grown)
            i = self._count
            f_hz = np.append(self.mobility.speeds_mps(i) * self._hz_per_mps, 0.0)
            self._doppler[i] = f_hz
            x = 2.0 * math.pi * f_hz * self.lag_s
            from scipy import special

            self._rho[i] = np.where(x >= _J0_FIRST_ZERO, 0.0, np.maximum(special.j0(x), 0.0))
            self._cycles[i + 1] = self._cycles[i] + f_hz * self.step_s
            self._count += 1

    def doppler_hz(self, k: int) -> np.ndarray:
        """Every node's Doppler shift in step ``k`` (the last column: the aggregator, 0)."""
        self._grow(k)
        return self._doppler[k]

    def mean_doppler_hz(self, node: int, until_s: float) -> float:
        """Time-average Doppler shift of ``node`` over ``[0, until_s)`` (reports)."""
        if until_s <= 0:
            return float(self.doppler_hz(0)[node])
        return float(self.cycles(node, np.array([until_s]))[0] / until_s)

    def cycles(self, node: int, times_s: np.ndarray) -> np.ndarray:
        """``Phi(t)``: cycles of ``node``'s Doppler shift accumulated from 0 to ``times_s``."""
        times = np.asarray(times_s, dtype=float)
        if not times.size:
            return np.zeros(times.shape)
        ks = np.maximum(np.floor(times / self.step_s + 1e-9).astype(int), 0)
        self._grow(int(ks.max()))
        into = np.maximum(times - ks * self.step_s, 0.0)
        return self._cycles[ks, node] + self._doppler[ks, node] * into

    def link(self, end_a: int, end_b: int) -> LinkDopplerTrack:
        """The track of a link between nodes ``end_a`` and ``end_b`` (``n``: the aggregator)."""
        return LinkDopplerTrack(self, end_a, end_b)


class LinkDopplerTrack:
    """One link's Doppler over time: its Gauss–Markov coefficients and Jakes phases.

    Grid indices are ``max(floor(t / step_s + 1e-9), 0)``, as the mobility's. The link's
    ``rho_k`` and ``rho_k^(step_s / T)`` are kept in arrays grown step by step
    (:attr:`rho_steps`, :attr:`full_steps`; the compiled packet loop reads them too).
    """

    __slots__ = ("_count", "ends", "full_steps", "lag_s", "rho_steps", "step_s", "track")

    def __init__(self, track: DopplerTrack, end_a: int, end_b: int):
        self.track = track
        self.ends = (int(end_a), int(end_b))
        self.step_s = track.step_s
        self.lag_s = track.lag_s
        self.rho_steps = np.ones(0)  # rho_k (rows 0.._count-1 set)
        self.full_steps = np.ones(0)  # rho_k^(step_s / T): the coefficient over all of step k
        self._count = 0

    def index(self, t_s: float) -> int:
        return max(0, int(t_s / self.step_s + 1e-9))  # int() is the floor here: negatives clamp to 0 either way

    def ensure(self, k: int) -> None:
        """Set the rows up to step ``k`` (the arrays may be replaced: read them after)."""
        if k < self._count:
            return
        track, (a, b) = self.track, self.ends
        if k >= track._count:
            track._grow(k)
        if k >= self.rho_steps.size:
            rows = max(16, 2 * (k + 1))
            for name in ("rho_steps", "full_steps"):
                grown = np.ones(rows)
                grown[: self._count] = getattr(self, name)[: self._count]
                setattr(self, name, grown)
        power = self.step_s / self.lag_s
        for i in range(self._count, k + 1):
            value = float(track._rho[i, a] * track._rho[i, b])
            self.rho_steps[i] = value
            self.full_steps[i] = value ** power
        self._count = k + 1

    def rho(self, k: int) -> float:
        """The link's one-lag correlation ``rho_k = J0(2 pi f_a,k T) J0(2 pi f_b,k T)`` in step ``k``."""
        self.ensure(k)
        return float(self.rho_steps[k])

    def coefficient(self, from_s: float, to_s: float) -> float:
        """Correlation of the Gauss–Markov scatter between ``from_s <= to_s``:
        ``prod_k rho_k^(overlap_k / T)`` (the ``a0`` of :func:`stretch_coefficients`)."""
        return self.stretch(from_s, to_s, 0.0, 1)[2]

    def stretch(self, from_s: float, start_s: float, spacing_s: float, n: int):
        """:func:`stretch_coefficients` of this link."""
        self.ensure(self.index(start_s + spacing_s * (n - 1) if n > 1 and spacing_s > 0 else start_s))
        return stretch_coefficients(self.rho_steps, self.full_steps, self.step_s, self.lag_s, from_s, start_s,
                                    spacing_s, n)

    def cycles(self, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(``Phi_a(t)``, ``Phi_b(t)``): each end's accumulated Doppler cycles at ``times_s``."""
        a, b = self.ends
        return self.track.cycles(a, times_s), self.track.cycles(b, times_s)


def stretch_coefficients(rho_steps, full_steps, step_s: float, lag_s: float, from_s: float, start_s: float,
                         spacing_s: float, n: int):
    """``(used, count, a0, a, a_cross, a2)`` of a link's Gauss–Markov scatter for the times
    ``t_j = start_s + j * spacing_s``, ``j < n``, read after its state at ``from_s``:

    - ``a0``: the coefficient from ``from_s`` to ``start_s``, ``prod_k rho_k^(overlap_k / T)``;
    - ``a``: between neighbours among the first ``count`` times, those in the grid step of
      ``start_s``;
    - ``a_cross``: from ``t_(count-1)`` to ``t_count``, and ``a2``: between neighbours among
      the next ones up to ``used <= n``, those in the step of ``t_count``
      (``count == used``: one piece; ``a_cross``, ``a2`` unused).

    ``rho_steps[k]`` is the link's ``rho_k`` and ``full_steps[k]`` its ``rho_k^(step_s / T)``,
    set for every step up to that of ``t_(n-1)``. Plain scalar arithmetic: the compiled
    packet loop (:mod:`semnet.net.arq_compiled`) compiles this very function, so both
    loops get the same bits.
    """
    # a0: one step, or the rest of the first step, whole steps, the start of the last
    k = int(start_s / step_s + 1e-9)  # times are >= 0: int() is the floor
    rho = float(rho_steps[k])
    a0 = 1.0
    if start_s > from_s:
        k1 = int(from_s / step_s + 1e-9)
        if k1 == k:
            a0 = rho ** ((start_s - from_s) / lag_s)
        else:  # an index holds times up to 1e-9 steps before its start: no negative powers of 0
            a0 = float(rho_steps[k1]) ** (max((k1 + 1) * step_s - from_s, 0.0) / lag_s)
            for i in range(k1 + 1, k):
                a0 = a0 * float(full_steps[i])
            a0 = a0 * rho ** (max(start_s - k * step_s, 0.0) / lag_s)
    a = rho ** (spacing_s / lag_s)
    if n <= 1 or spacing_s <= 0:
        return n, n, a0, a, 0.0, 0.0
    last_k = int((start_s + spacing_s * (n - 1)) / step_s + 1e-9)
    if last_k == k:
        return n, n, a0, a, 0.0, 0.0
    # the Doppler changes inside: the run in step k, then the run in the next step held
    count = min(n - 1, int(((k + 1) * step_s - start_s) / spacing_s) + 1)
    while count > 1 and int((start_s + spacing_s * (count - 1)) / step_s + 1e-9) != k:
        count -= 1
    while count < n and int((start_s + spacing_s * count) / step_s + 1e-9) == k:
        count += 1
    cross_s = start_s + spacing_s * count
    k2 = int(cross_s / step_s + 1e-9)
    rho2 = float(rho_steps[k2])
    used = n
    if last_k != k2:  # a third step: this stretch stops before it
        used = min(n - 1, count + int(((k2 + 1) * step_s - cross_s) / spacing_s) + 1)
        while used > count + 1 and int((start_s + spacing_s * (used - 1)) / step_s + 1e-9) != k2:
            used -= 1
        while used < n and int((start_s + spacing_s * used) / step_s + 1e-9) == k2:
            used += 1
    before_s = cross_s - spacing_s
    a_cross = rho ** (max((k + 1) * step_s - before_s, 0.0) / lag_s)
    for i in range(k + 1, k2):
        a_cross = a_cross * float(full_steps[i])
    a_cross = a_cross * rho2 ** (max(cross_s - k2 * step_s, 0.0) / lag_s)
    return used, count, a0, a, a_cross, rho2 ** (spacing_s / lag_s)
