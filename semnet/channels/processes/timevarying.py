"""The channel of every link over simulated time: one source of truth for packets and images.

A :class:`ChannelProcess` belongs to the network. It holds the large-scale SNR table
(:class:`~semnet.net.largescale.LargeScale`: positions, path loss, shadowing, shared by
every branch of a run since it depends on the seed and the time only) and the recipe of
each link's small-scale fading: the fading law (a :class:`~semnet.channels.FadingModel`
of the registry) applied to a unit complex-Gaussian scatter ``g(t)`` whose evolution is a
:class:`TimeCorrelation` of :data:`semnet.registry.time_correlations`
(``links.channel.time_correlation``; a plugin registers its own):

- ``independent``: a fresh draw per block (today's block fading, the ``f_D -> inf`` limit);
- ``gauss_markov``: :class:`~semnet.channels.processes.gauss_markov.GaussMarkovScatter`, correlation
  ``rho^(tau / T)`` with ``rho = J0(2 pi f_D T)``;
- ``jakes``: :class:`~semnet.channels.processes.jakes.JakesScatter`, correlation ``J0(2 pi f_D tau)``.

A simulator owns one :class:`LinkFading` per directed link (its own random stream per
branch, as today's outage draws); a model packet's attempts and an image sent at ``t``
read the same ``h(t)`` from it. The JSCC channel then only applies that gain and the
noise of the large-scale SNR at ``t``.
"""

from __future__ import annotations

import math

import numpy as np

from semnet.channels.laws import FadingModel
from semnet.channels.processes.doppler import (
    coherence_time_s,
    doppler_hz,
    gauss_markov_coherence_time_s,
    gauss_markov_rho,
    two_end_coherence_time_s,
)
from semnet.channels.processes.doppler_track import DopplerTrack
from semnet.channels.processes.gauss_markov import (
    GaussMarkovScatter,
    TrackedGaussMarkovScatter,
)
from semnet.channels.processes.jakes import JakesScatter, TrackedJakesScatter
from semnet.registry import time_correlations
from semnet.seeding import numpy_rng

__all__ = ["ChannelProcess", "GaussMarkov", "Independent", "Jakes", "LinkFading", "TimeCorrelation"]


class TimeCorrelation:
    """How a link's scatter ``g(t)`` evolves: the process of one link, and its coherence time.

    ``memoryless``: blocks are independent (no Doppler needed; any fading law serves).
    Methods get the :class:`ChannelProcess` (its Doppler shift, ``step_s``, ``sinusoids``
    and each link's two ends' Doppler shifts, or with ``doppler_speed: trajectory`` the
    link's :meth:`ChannelProcess.link_track`).
    """

    memoryless: bool = False

    def scatter(self, process: "ChannelProcess", key, rng: np.random.Generator, start_s: float):
        """A new scatter process of link ``key`` (``at``, ``peek``, ``peek_grid``, ``settle``,
        ``state``, ``load_state``, optionally ``grid_stretch``: see :class:`~semnet.channels.processes.gauss_markov.GaussMarkovScatter`)."""
        raise NotImplementedError(f"time correlation {type(self).__qualname__} does not implement scatter")

    def coherence_time_s(self, process: "ChannelProcess") -> float:
        """Lag at which a link with one moving end decorrelates to 0.5."""
        raise NotImplementedError

    def link_coherence_time_s(self, process: "ChannelProcess", key) -> float:
        """Lag at which link ``key``'s scatter correlation falls to 0.5."""
        raise NotImplementedError


class GaussMarkov(TimeCorrelation):
    """:class:`~semnet.channels.processes.gauss_markov.GaussMarkovScatter` at the link's ``rho``."""

    def scatter(self, process, key, rng, start_s):
        track = None if self.memoryless else process.link_track(key)
        if track is not None:
            return TrackedGaussMarkovScatter(track, rng, start_s=start_s)
        return GaussMarkovScatter(process.link_rho(key), process.step_s, rng, start_s=start_s)

    def coherence_time_s(self, process):
        return gauss_markov_coherence_time_s(process.rho, process.step_s)

    def link_coherence_time_s(self, process, key):
        return gauss_markov_coherence_time_s(process.link_rho(key), process.step_s)


class Independent(GaussMarkov):
    """Block fading: the Gauss–Markov process at ``rho = 0``."""

    memoryless = True


class Jakes(TimeCorrelation):
    """:class:`~semnet.channels.processes.jakes.JakesScatter` with the link's two ends' Doppler shifts."""

    def scatter(self, process, key, rng, start_s):
        track = process.link_track(key)
        if track is not None:
            return TrackedJakesScatter(track, process.sinusoids, rng, both_move=not process.large.touches_aggregator(key))
        f_a, f_b = process.ends_doppler_hz(key)
        return JakesScatter(f_a, process.sinusoids, rng, other_end_doppler_hz=f_b)

    def coherence_time_s(self, process):
        return coherence_time_s(process.doppler_hz)

    def link_coherence_time_s(self, process, key):
        return two_end_coherence_time_s(*process.ends_doppler_hz(key))


time_correlations.add("independent", Independent, "a fresh draw per block (block fading; f_D -> inf)")
time_correlations.add("gauss_markov", GaussMarkov, "first-order Gauss-Markov: correlation rho^(tau/T), rho = J0(2 pi f_D T)")
time_correlations.add("jakes", Jakes, "sum of sinusoids (Jakes): correlation J0(2 pi f_D tau)")


class ChannelProcess:
    """The network's channel over time (see the module docstring).

    Parameters
    ----------
    large : semnet.net.largescale.LargeScale
        Large-scale SNR of every link (the network's table: ``index``, ``snr_db``,
        ``snr_db_at``, ``touches_aggregator``).
    fading : FadingModel
        The fading law (must implement ``from_gaussian`` unless ``independent``).
    link_fading : dict, optional
        The links (``(src, dst)``) whose ``links.overrides`` give them another law.
    time_correlation : str
        A name of :data:`semnet.registry.time_correlations`.
    doppler_hz : float
        Maximum Doppler shift ``f_D`` of every moving user (``doppler_speed: mean``); with
        ``trajectory``, the nominal one of the mobility's mean speed.
    doppler_speed : str
        ``mean``: every user fades at ``doppler_hz``; ``trajectory``: at its current
        speed on its trajectory (:mod:`~semnet.channels.processes.doppler_track`).
    carrier_hz : float
        Carrier frequency (``trajectory``: the shift of each speed).
    step_s : float
        Gauss–Markov lag ``T``.
    sinusoids : int
        Jakes: number of paths.
    comparison_states, comparison_step_s
        The fixed channel states every method is scored on: the process sampled at
        ``t_k = k * comparison_step_s``, ``k < comparison_states``.
    """

    def __init__(self, large, fading: FadingModel, *, time_correlation: str, doppler_hz: float,
                 step_s: float, sinusoids: int, comparison_states: int, comparison_step_s: float,
                 link_fading: dict | None = None, doppler_speed: str = "mean", carrier_hz: float | None = None):
        self.correlation: TimeCorrelation = time_correlations.get(time_correlation)()
        self.large = large
        self.fading = fading
        self.link_fading = dict(link_fading or {})
        self.time_correlation = time_correlation
        self.doppler_hz = float(doppler_hz)
        self.step_s = float(step_s)
        self.sinusoids = int(sinusoids)
        self.rho = 0.0 if self.correlation.memoryless else gauss_markov_rho(self.doppler_hz, self.step_s)
        self.comparison_states = int(comparison_states)
        self.comparison_step_s = float(comparison_step_s)
        self._comparison: dict = {}
        self.doppler_speed = doppler_speed
        self.track: DopplerTrack | None = None
        if doppler_speed == "trajectory":
            if carrier_hz is None:
                raise ValueError("doppler_speed = 'trajectory' needs carrier_hz")
            self.track = DopplerTrack(large.mobility, carrier_hz=carrier_hz, lag_s=self.step_s)
        elif doppler_speed != "mean":
            raise ValueError(f"doppler_speed must be 'mean' or 'trajectory', got {doppler_speed!r}")
        self._link_tracks: dict = {}

    @classmethod
    def from_spec(cls, large, fading: FadingModel, channel_spec, mean_speed_mps: float,
                  link_fading: dict | None = None) -> "ChannelProcess":
        """From ``links.channel``; the Doppler speed is ``speed_mps`` or the mobility's mean
        speed, or with ``doppler_speed: trajectory`` each user's current speed."""
        speed = channel_spec.speed_mps if channel_spec.speed_mps is not None else mean_speed_mps
        return cls(
            large, fading,
            time_correlation=channel_spec.time_correlation,
            doppler_hz=doppler_hz(speed, channel_spec.carrier_hz),
            step_s=channel_spec.gauss_markov_step_s,
            sinusoids=channel_spec.jakes_sinusoids,
            comparison_states=channel_spec.comparison_states,
            comparison_step_s=channel_spec.comparison_step_s,
            link_fading=link_fading,
            doppler_speed=channel_spec.doppler_speed,
            carrier_hz=channel_spec.carrier_hz,
        )

    def fading_of(self, key) -> FadingModel:
        """The fading law of link ``key``."""
        return self.link_fading.get(key, self.fading)

    @property
    def coherence_time_s(self) -> float:
        """Lag at which the scatter correlation of a link with one moving end (a user's
        link to the aggregator) falls to 0.5 (0: independent blocks); user-to-user links
        have their own, :meth:`link_coherence_time_s`."""
        return self.correlation.coherence_time_s(self)

    def link_track(self, key):
        """Link ``key``'s :class:`~semnet.channels.processes.doppler_track.LinkDopplerTrack`
        (``doppler_speed: trajectory``); None with one speed for everyone."""
        if self.track is None:
            return None
        track = self._link_tracks.get(key)
        if track is None:
            track = self._link_tracks[key] = self.track.link(*self.large.node_ends(key))
        return track

    @property
    def horizon_s(self) -> float:
        """The comparison grid's span: what the time-averaged trajectory Doppler covers."""
        return self.comparison_states * self.comparison_step_s

    def ends_doppler_hz(self, key) -> tuple[float, float]:
        """Doppler shifts of link ``key``'s two ends: users move, the aggregator stands,
        so a user-to-user link fades about twice as fast as an uplink. With
        ``doppler_speed: trajectory``, each end's time average over :attr:`horizon_s`."""
        if self.track is not None:
            return tuple(self.track.mean_doppler_hz(node, self.horizon_s) for node in self.large.node_ends(key))
        if self.large.touches_aggregator(key):
            return self.doppler_hz, 0.0
        return self.doppler_hz, self.doppler_hz

    def link_rho(self, key) -> float:
        """Gauss–Markov correlation of link ``key`` at lag ``T``: ``J0(2 pi f_a T) J0(2 pi f_b T)``
        (``trajectory``: at the ends' time-average shifts; the process reads each step's)."""
        if self.correlation.memoryless:
            return 0.0
        f_a, f_b = self.ends_doppler_hz(key)
        if self.track is not None:  # reports: at the ends' time-average shifts
            return gauss_markov_rho(f_a, self.step_s) * gauss_markov_rho(f_b, self.step_s)
        return self.rho * gauss_markov_rho(f_b, self.step_s) if f_b > 0 else self.rho

    def link_coherence_time_s(self, key) -> float:
        """Lag at which link ``key``'s scatter correlation falls to 0.5."""
        return self.correlation.link_coherence_time_s(self, key)

    def scatter(self, key, rng: np.random.Generator, start_s: float = 0.0):
        """A new scatter process ``g(t)`` for link ``key``, drawn from ``rng``."""
        return self.correlation.scatter(self, key, rng, start_s)

    def link(self, key, rng: np.random.Generator, start_s: float = 0.0) -> "LinkFading":
        return LinkFading(self, key, rng, start_s)

    def comparison(self, key, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """The comparison states of link ``key``: (large-scale SNR in dB, complex ``h``), one per
        grid time, drawn from the link's process with a stream of their own (seed, link):
        the same for every method, branch and phase."""
        cached = self._comparison.get((key, seed))
        if cached is None:
            times = np.arange(self.comparison_states) * self.comparison_step_s
            snr_db = self.large.snr_db(key, times)
            scatter = self.scatter(key, numpy_rng(seed, "comparison", *key))
            fading = self.fading_of(key)
            h = fading.from_gaussian(scatter.at(times)) if fading.random else np.ones(times.size, complex)
            cached = (snr_db, h)
            self._comparison[(key, seed)] = cached
        return cached

    def comparison_snr_db(self, key) -> np.ndarray:
        """The link's large-scale SNR (dB) at each comparison state's time."""
        times = np.arange(self.comparison_states) * self.comparison_step_s
        return self.large.snr_db(key, times)

    def mean_snr_db(self, key) -> float:
        """The link's mean large-scale SNR (dB) over the comparison grid: what a method is told."""
        return float(np.mean(self.comparison_snr_db(key)))


class LinkFading:
    """One directed link's channel in one simulator: large-scale SNR and ``h(t)``.

    Times must not go backwards, except that the first attempt of the last message
    can be read again (an image sent at the same ``t`` as a packet sees its ``h``).
    """

    __slots__ = ("process", "key", "li", "fading", "scatter", "random", "_memo_t", "_memo_g")

    def __init__(self, process: ChannelProcess, key, rng: np.random.Generator, start_s: float = 0.0):
        self.process = process
        self.key = key
        self.li = process.large.index[key]
        self.fading = process.fading_of(key)  # the link's own law
        self.random = self.fading.random
        self.scatter = process.scatter(key, rng, start_s) if self.random else None
        self._memo_t = math.nan
        self._memo_g = 0j

    def checkpoint(self) -> dict:
        """Where this link's fading is (the large-scale table depends on time only)."""
        return {"memo_t": self._memo_t, "memo_g": self._memo_g,
                "scatter": None if self.scatter is None else self.scatter.state()}

    def resume(self, state: dict) -> None:
        """Continue from :meth:`checkpoint`."""
        self._memo_t, self._memo_g = state["memo_t"], state["memo_g"]
        if self.scatter is not None:
            self.scatter.load_state(state["scatter"])

    def snr_db(self, t_s: float) -> float:
        return self.process.large.snr_db_at(self.li, t_s)

    def peek(self, times_s: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """(scatter ``g``, gain ``h``) at non-decreasing ``times_s``, without moving the
        process (see :meth:`settle`); ``g`` is None on an unfaded link."""
        if not self.random:
            return None, np.ones(np.size(times_s), dtype=complex)
        g = self.scatter.peek(times_s)
        return g, self.fading.from_gaussian(g)

    def grid_count(self, start_s: float, spacing_s: float, n: int) -> int:
        """How many of ``start_s + j * spacing_s``, ``j < n``, :meth:`peek_grid` reads in one
        go (a trajectory's Doppler may change at most once among them; a scatter without
        ``grid_stretch``, Jakes: all)."""
        stretch = getattr(self.scatter, "grid_stretch", None) if self.random else None
        return n if stretch is None else stretch(start_s, spacing_s, n)[0]

    def peek_grid(self, start_s: float, spacing_s: float, n: int) -> tuple[np.ndarray | None, np.ndarray]:
        """:meth:`peek` at ``start_s + j * spacing_s``, ``j < n``."""
        if not self.random:
            return None, np.ones(n, dtype=complex)
        g = self.scatter.peek_grid(start_s, spacing_s, n)
        return g, self.fading.from_gaussian(g)

    def settle(self, times_s: np.ndarray, g: np.ndarray | None, index: int) -> None:
        """Go on from ``times_s[index]`` (later draws of a :meth:`peek` are discarded);
        the first of ``times_s`` stays readable by :meth:`state`."""
        if g is None or not len(times_s):
            return
        self.scatter.settle(float(times_s[index]), g[index])

    def remember(self, t_s: float, g: complex) -> None:
        """Keep ``g`` at ``t_s`` (a message's first attempt) readable by :meth:`state`."""
        self._memo_t, self._memo_g = float(t_s), complex(g)

    def gains(self, times_s) -> np.ndarray:
        """``h`` at non-decreasing ``times_s``; the process goes on from the last one."""
        times = np.asarray(times_s, dtype=float).ravel()
        g, h = self.peek(times)
        self.settle(times, g, times.size - 1)
        if g is not None and times.size:
            self.remember(times[0], g[0])
        return h

    def state(self, t_s: float) -> tuple[complex, float]:
        """(``h``, large-scale SNR in dB) of a block sent at ``t_s``."""
        snr_db = self.snr_db(t_s)
        if not self.random:
            return 1.0 + 0j, snr_db
        if t_s == self._memo_t:
            return complex(self.fading.from_gaussian(np.array([self._memo_g]))[0]), snr_db
        return complex(self.gains(np.array([t_s]))[0]), snr_db
