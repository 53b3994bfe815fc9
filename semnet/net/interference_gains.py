"""Who reaches whom, how strongly, and on which band: the physics the interference book reads.

:class:`CrossGains` gives the large-scale received power over noise (linear, ``I / N``
or ``S / N``) from any node to any other at time ``t``:

* a pair that is a link of the network uses that link's own large-scale SNR (its path
  loss, shadowing and transmit power: the value its messages see, from the
  :class:`~semnet.net.largescale.LargeScale` table on a channel over time);
* a pair that is no link (an interferer and a receiver that never talk) uses the
  scenario's path-loss law at their distance at ``t`` with the transmitter's power,
  without shadowing and without the ``[snr_min_db, snr_max_db]`` clip (a far interferer
  must fade away, not stop at the floor); with ``links.snr_db`` fixed every pair has it.

Received power this far below the noise is ignored (``cutoff_db``): the book then keeps
only the interferers that matter, so the cost of an event grows with the transmitters
on the air within the cut-off, not with the size of the network as such.

:func:`assign_bands` spreads node pairs (both directions of a pair share one band) over
``links.bands`` orthogonal channels: ``fixed`` round-robin in sorted order, or ``greedy``
(strongest pair first, each into the band whose pairs reach it most weakly).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from semnet.channels import make_fading

__all__ = ["CrossGains", "InterferenceSettings", "PairFading", "assign_bands", "pair_of"]


@dataclass(frozen=True)
class InterferenceSettings:
    """``links.interference`` and ``links.bands``: ``model`` none (noise only, today) or sinr."""

    model: str = "none"
    cutoff_db: float = -20.0
    bands: int = 1
    band_assignment: str = "fixed"
    band_of: dict = field(default_factory=dict)  # node pair (sorted by str) -> band
    # a cell's links user <-> aggregator: (src, dst) -> (sender, receiver, band) on the air
    # (the serving base station in the aggregator's place; semnet.net.cells)
    air_of: dict = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.model == "sinr"

    def band(self, src, dst) -> int:
        return self.band_of.get(pair_of(src, dst), 0)

    def air(self, src, dst) -> tuple:
        """``(sender, receiver, band)`` of link ``src -> dst`` on the air: its own ends and
        its pair's band, or for a cell's link its user, its base station and its cell's band."""
        found = self.air_of.get((src, dst))
        return found if found is not None else (src, dst, self.band_of.get(pair_of(src, dst), 0))


def pair_of(a, b) -> tuple:
    """The unordered node pair of link ``a -> b`` (users are ints, the aggregator a str)."""
    return (a, b) if str(a) <= str(b) else (b, a)


class CrossGains:
    """Large-scale ``P_rx / N`` (linear) between any two nodes (module docstring).

    Parameters
    ----------
    links : dict
        The network's ``(src, dst) -> LinkParams`` (``snr_db`` is each link's own).
    positions_m : dict
        Node -> (x, y) at rest (the aggregator included).
    path_snr_db : callable
        ``(distance_m, to_aggregator) -> SNR in dB`` at the law's transmit power (no clip).
    power_offset_db : dict
        Node -> its transmit power minus the law's (dB).
    channel : ChannelProcess or None
        The channel over time: link SNRs and user positions at ``t``.
    fixed_snr_db : float or None
        ``links.snr_db`` plus the offset, when every user pair has one SNR.
    stations : tuple
        A cell's base stations (:mod:`semnet.net.cells`): fixed nodes like the aggregator,
        whose pairs with users take the law's aggregator side (their positions in ``positions_m``).
    """

    def __init__(self, links: dict, positions_m: dict, path_snr_db, power_offset_db: dict, channel=None,
                 fixed_snr_db: float | None = None, aggregator="server", stations: tuple = ()):
        self.links = links
        self.positions_m = positions_m
        self.path_snr_db = path_snr_db
        self.power_offset_db = power_offset_db
        self.channel = channel
        self.fixed_snr_db = fixed_snr_db
        self.aggregator = aggregator
        self.fixed_nodes = frozenset((aggregator, *stations))  # nodes that never move
        self.static = channel is None or channel.large.static
        self._cache: dict = {}

    def _grid(self, t_s: float) -> int:
        return 0 if self.static else self.channel.large.mobility.index(t_s)

    def linear(self, a, b, t_s: float) -> float:
        """``P_rx / N`` of what node ``a`` sends, at node ``b``, at time ``t_s``."""
        k = self._grid(t_s)
        key = (a, b, k)
        value = self._cache.get(key)
        if value is None:
            value = self._cache[key] = 10.0 ** (self._db(a, b, k, t_s) / 10.0)
        return value

    def linear_many(self, a: list, b: list, times_s: list) -> list[float]:
        """:meth:`linear` of each ``(a[i], b[i], times_s[i])``, the same bits: the pairs that
        are no link have their distances and path loss computed as arrays (the scalar path's
        arithmetic element by element: ``math.hypot``, the law on an array, Python's power)."""
        many = getattr(self.path_snr_db, "many", None)
        out: list = [None] * len(a)
        todo, dists, to_aggs = [], [], []
        for i, (x, y, t) in enumerate(zip(a, b, times_s)):
            k = self._grid(t)
            value = self._cache.get((x, y, k))
            if value is not None:
                out[i] = value
                continue
            to_agg = x in self.fixed_nodes or y in self.fixed_nodes
            if many is None or (x, y) in self.links or (self.fixed_snr_db is not None and not to_agg):
                out[i] = self.linear(x, y, t)
                continue
            px, py = self._position(x, k), self._position(y, k)
            todo.append((i, x, y, k))
            dists.append(math.hypot(px[0] - py[0], px[1] - py[1]))
            to_aggs.append(to_agg)
        if todo:
            snrs = many(np.array(dists), np.array(to_aggs)).tolist()
            for (i, x, y, k), snr in zip(todo, snrs):
                value = self._cache.get((x, y, k))  # a pair asked twice in one call: its first value
                if value is None:
                    value = self._cache[(x, y, k)] = 10.0 ** ((snr + self.power_offset_db.get(x, 0.0)) / 10.0)
                out[i] = value
        return out

    def _db(self, a, b, k: int, t_s: float) -> float:
        params = self.links.get((a, b))
        if params is not None:
            if self.channel is None:
                return params.snr_db
            return self.channel.large.snr_db_at(self.channel.large.index[(a, b)], t_s)
        to_agg = a in self.fixed_nodes or b in self.fixed_nodes
        if self.fixed_snr_db is not None and not to_agg:
            return self.fixed_snr_db + self.power_offset_db.get(a, 0.0)
        pa, pb = self._position(a, k), self._position(b, k)
        dist = math.hypot(pa[0] - pb[0], pa[1] - pb[1])
        return float(self.path_snr_db(dist, to_agg)) + self.power_offset_db.get(a, 0.0)

    def _position(self, node, k: int):
        if self.channel is None or self.static or node in self.fixed_nodes:
            return self.positions_m[node]
        return self.channel.large.mobility.positions(k)[int(node)]


def assign_bands(pairs: list, bands: int, how: str, gains: CrossGains) -> dict:
    """Node pair -> band in ``range(bands)`` (module docstring)."""
    pairs = sorted(set(pairs), key=lambda p: (str(p[0]), str(p[1])))
    if bands <= 1:
        return {p: 0 for p in pairs}
    if how == "fixed":
        return {p: i % bands for i, p in enumerate(pairs)}
    strength = {p: max(gains.linear(p[0], p[1], 0.0), gains.linear(p[1], p[0], 0.0)) for p in pairs}
    order = sorted(pairs, key=lambda p: (-strength[p], str(p[0]), str(p[1])))
    members: list[list] = [[] for _ in range(bands)]
    out = {}
    for p in order:
        cost = np.zeros(bands)
        for band, others in enumerate(members):
            for q in others:
                # how strongly either end of p hears either end of q (and the reverse)
                cost[band] += sum(gains.linear(x, y, 0.0) + gains.linear(y, x, 0.0) for x in p for y in q
                                  if x != y)
        band = int(np.argmin(cost))  # ties: the lowest band
        members[band].append(p)
        out[p] = band
    return out


class PairFading:
    """The small-scale fading law of a node pair of ``network`` (its link's, or the
    network's default): the ``fading_of`` of an :class:`~semnet.sim.interference.InterferenceBook`."""

    def __init__(self, network):
        self.network = network
        self.none = make_fading("none")

    def __call__(self, src, dst):
        kind = self.network.channel_kind(src, dst)
        return self.none if kind is None else kind.model
