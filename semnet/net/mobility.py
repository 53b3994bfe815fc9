"""User mobility inside the square ``[0, area_m]^2``, on a fixed time grid.

Positions are defined at ``t_k = k * step_s`` (the large-scale channel, path loss and
shadowing, is constant between grid points) and generated lazily, step after step,
from one stream: they depend on the seed and ``k`` only, never on who asks when, so
every branch of a run sees the same trajectories. The aggregator does not move.

A mobility model is a :class:`Mobility` subclass registered in
:data:`semnet.registry.mobilities` under the name ``topology.mobility.model`` gives
(a plugin registers its own the same way); :func:`make_mobility` builds one. Built in:

``static``
    Nobody moves (today's behaviour).
``random_waypoint``
    Each user walks in a straight line to a destination drawn uniformly in the square
    at a speed drawn uniformly in ``speed_mps = [v_min, v_max]``, pauses for a time
    uniform in ``pause_s``, and repeats [1]_. The time-average speed while moving is
    ``(v_max - v_min) / ln(v_max / v_min)`` (a leg lasts ``d / v``, so slow legs weigh
    more), which is why ``v_min > 0`` is required [2]_.
``gauss_markov``
    Speed and direction are first-order Gauss–Markov processes (memory ``alpha``)
    around the mean speed ``(v_min + v_max) / 2`` and a per-user mean direction [3]_;
    the speed is clipped to ``[v_min, v_max]`` and users reflect off the walls.

References
----------
.. [1] D. B. Johnson and D. A. Maltz, "Dynamic source routing in ad hoc wireless
   networks," in *Mobile Computing*, Kluwer, 1996.
.. [2] J. Yoon, M. Liu and B. Noble, "Random waypoint considered harmful," *IEEE
   INFOCOM*, 2003.
.. [3] B. Liang and Z. J. Haas, "Predictive distance-based mobility management for
   PCS networks," *IEEE INFOCOM*, 1999; T. Camp, J. Boleng and V. Davies, "A survey
   of mobility models for ad hoc network research," *WCMC*, 2(5), 2002.
"""

from __future__ import annotations

import math

import numpy as np

from semnet.registry import mobilities, signature_of

__all__ = ["GaussMarkovMobility", "Mobility", "RandomWaypoint", "StaticMobility", "make_mobility"]


class Mobility:
    """Positions of ``n`` users on the grid ``t_k = k * step_s``.

    Subclasses implement :meth:`_step` (one grid step of every user), may draw their
    initial state in :meth:`_start`, and override :attr:`mean_speed_mps` where it is
    not the speed range's midpoint.

    Parameters
    ----------
    initial_m : array (n, 2)
        Positions at ``t = 0`` (clipped into the square).
    area_m : float
        Side of the square.
    step_s : float
        Grid step.
    speed_mps : (float, float)
        Speed range ``[v_min, v_max]``.
    pause_s : (float, float)
        Random waypoint: pause range.
    alpha : float
        Gauss–Markov memory in ``[0, 1]``.
    direction_std_rad : float
        Gauss–Markov: stationary standard deviation of the direction around its mean.
    rng : numpy.random.Generator
        The mobility stream.

    Attributes
    ----------
    model : str
        The registered name (set by :func:`make_mobility`).
    static : bool
        Nobody ever moves (one position per user for the whole run).
    """

    model: str = ""
    static: bool = False

    def __init__(self, initial_m, *, area_m: float, step_s: float = 1.0, speed_mps=(1.0, 1.0),
                 pause_s=(0.0, 0.0), alpha: float = 0.75, direction_std_rad: float = 0.5,
                 rng: np.random.Generator | None = None):
        self.area_m = float(area_m)
        self.step_s = float(step_s)
        self.v_min, self.v_max = (float(v) for v in speed_mps)
        self.pause = tuple(float(p) for p in pause_s)
        self.alpha = float(alpha)
        self.direction_std = float(direction_std_rad)
        self.rng = rng
        start = np.clip(np.asarray(initial_m, dtype=float).reshape(-1, 2), 0.0, self.area_m)
        self._track = [start]
        self._travelled: list[np.ndarray] = []  # path length (m) of each user in step k
        self.n = start.shape[0]
        self._start()

    def _start(self) -> None:
        """Draw what the model needs at ``t = 0`` (after the common attributes are set)."""

    @property
    def mean_speed_mps(self) -> float:
        """Time-average speed (the Doppler speed when ``links.channel.speed_mps`` is null)."""
        return 0.5 * (self.v_min + self.v_max)

    def positions(self, k: int) -> np.ndarray:
        """Positions (n, 2) in metres at ``t = k * step_s`` (read-only view)."""
        if self.static:
            return self._track[0]
        while len(self._track) <= k:
            before = self._track[-1]
            after = self._step(before)
            self._track.append(after)
            self._travelled.append(self._path_length_m(before, after))
        return self._track[k]

    def speeds_mps(self, k: int) -> np.ndarray:
        """Every user's speed (n,) over ``[t_k, t_{k+1})``: the path length it travelled
        in that step over ``step_s`` (a turn, a pause or a wall inside the step averages
        in). The Doppler shift of ``links.channel.doppler_speed: trajectory`` reads it."""
        if self.static:
            return np.zeros(self.n)
        self.positions(k + 1)
        return self._travelled[k] / self.step_s

    def position_at(self, t_s: float) -> np.ndarray:
        return self.positions(self.index(t_s))

    def index(self, t_s: float) -> int:
        return max(int(math.floor(t_s / self.step_s + 1e-9)), 0)

    def _step(self, pos: np.ndarray) -> np.ndarray:
        """Every user's position one grid step after ``pos``."""
        raise NotImplementedError(f"mobility {type(self).__qualname__} does not implement _step")

    def _path_length_m(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        """Path length of every user in the step just made; a model whose users may turn
        inside a step (a waypoint, a wall) overrides it with what it walked."""
        return np.hypot(*(after - before).T)

    def _uniform_points(self, n: int) -> np.ndarray:
        return self.rng.uniform(0.0, self.area_m, size=(n, 2))


def make_mobility(spec, initial_m, *, area_m: float, rng: np.random.Generator | None) -> Mobility:
    """The mobility model ``spec.model`` names (``spec``: a ``topology.mobility``
    section, its other keys read by the model's constructor by name)."""
    cls = mobilities.get(spec.model)
    kwargs = {name: getattr(spec, name) for name in signature_of(cls).accepted if hasattr(spec, name)}
    kwargs.pop("model", None)
    mobility = cls(initial_m, area_m=area_m, rng=rng, **kwargs)
    mobility.model = mobilities.canonical(spec.model)
    return mobility


@mobilities.register("static", "nobody moves")
class StaticMobility(Mobility):
    """Nobody moves (today's behaviour)."""

    model = "static"
    static = True

    @property
    def mean_speed_mps(self) -> float:
        return 0.0


@mobilities.register("random_waypoint", "straight legs to uniform destinations, uniform speeds and pauses")
class RandomWaypoint(Mobility):
    """Random waypoint (module docstring); needs ``v_min > 0``."""

    model = "random_waypoint"

    def _start(self) -> None:
        self._dest = self._uniform_points(self.n)
        self._speed = self.rng.uniform(self.v_min, self.v_max, self.n)
        self._pause_left = np.zeros(self.n)

    @property
    def mean_speed_mps(self) -> float:
        """``(v_max - v_min) / ln(v_max / v_min)`` while moving (pauses excluded)."""
        if self.v_max == self.v_min:
            return 0.5 * (self.v_min + self.v_max)
        return (self.v_max - self.v_min) / math.log(self.v_max / self.v_min)

    def _step(self, pos: np.ndarray) -> np.ndarray:
        pos = pos.copy()
        left = np.full(self.n, self.step_s)
        self._walked_m = np.zeros(self.n)
        while True:
            active = left > 1e-12
            if not active.any():
                return pos
            # pausing users wait first
            wait = np.where(active, np.minimum(self._pause_left, left), 0.0)
            self._pause_left -= wait
            left -= wait
            moving = (left > 1e-12) & (self._pause_left <= 1e-12)
            if not moving.any():
                continue
            delta = self._dest[moving] - pos[moving]
            dist = np.hypot(delta[:, 0], delta[:, 1])
            need = dist / self._speed[moving]
            avail = left[moving]
            arrive = need <= avail
            frac = np.where(arrive, 1.0, avail / np.maximum(need, 1e-300))
            pos[moving] += delta * frac[:, None]
            self._walked_m[moving] += dist * frac
            left[moving] = np.where(arrive, avail - need, 0.0)
            idx = np.flatnonzero(moving)[arrive]
            if idx.size:  # a new leg: destination, speed, pause
                self._dest[idx] = self._uniform_points(idx.size)
                self._speed[idx] = self.rng.uniform(self.v_min, self.v_max, idx.size)
                self._pause_left[idx] = self.rng.uniform(self.pause[0], self.pause[1], idx.size)

    def _path_length_m(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        return self._walked_m  # legs, turns at waypoints and pauses inside the step


@mobilities.register("gauss_markov", "Gauss-Markov speed and direction, reflected off the walls")
class GaussMarkovMobility(Mobility):
    """Gauss–Markov (module docstring): the mean speed is the range's midpoint."""

    model = "gauss_markov"

    def _start(self) -> None:
        self._mean_dir = self.rng.uniform(0.0, 2.0 * math.pi, self.n)
        self._dir = self._mean_dir.copy()
        self._speed = np.full(self.n, self.mean_speed_mps)

    def _step(self, pos: np.ndarray) -> np.ndarray:
        a = self.alpha
        noise = math.sqrt(max(1.0 - a * a, 0.0))
        mean = self.mean_speed_mps
        speed_std = (self.v_max - self.v_min) / 4.0
        w = self.rng.standard_normal((2, self.n))
        self._speed = np.clip(a * self._speed + (1 - a) * mean + noise * speed_std * w[0], self.v_min, self.v_max)
        self._dir = a * self._dir + (1 - a) * self._mean_dir + noise * self.direction_std * w[1]
        new = pos + self.step_s * self._speed[:, None] * np.stack([np.cos(self._dir), np.sin(self._dir)], axis=1)
        # reflect off the walls: mirror the position, turn the direction (and its mean) back inside
        for axis in (0, 1):
            low, high = new[:, axis] < 0.0, new[:, axis] > self.area_m
            new[low, axis] = -new[low, axis]
            new[high, axis] = 2.0 * self.area_m - new[high, axis]
            hit = low | high
            if hit.any():
                mirror = (math.pi - self._dir[hit]) if axis == 0 else -self._dir[hit]
                mean_mirror = (math.pi - self._mean_dir[hit]) if axis == 0 else -self._mean_dir[hit]
                self._dir[hit], self._mean_dir[hit] = mirror, mean_mirror
        return np.clip(new, 0.0, self.area_m)

    def _path_length_m(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        return self.step_s * self._speed  # a reflection off a wall keeps the path length
