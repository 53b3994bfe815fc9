"""The large-scale SNR of every directed link over time: path loss from the positions
at ``t`` plus shadowing, on the mobility grid ``t_k = k * step_s``.

Per link ``l`` at grid point ``k``::

    snr_db[k, l] = base_db(d_k) + sigma_l(k) * s_k[l]

``base_db`` is a fixed SNR (``links.snr_db``, ``links.aggregator.snr_db``) or
``tx_power_dbm - PL(d_k) - noise_power_dbm`` with the scenario's path-loss model (a
:class:`~semnet.net.pathloss.PathLoss` of :data:`semnet.registry.path_losses`:
log-distance, 3GPP UMi street canyon, a plugin's), clipped to ``[snr_min_db, snr_max_db]``
together with the shadowing, as today's path-loss SNRs are. ``s`` is the unit shadowing
of the path-loss model's shadowing process (:mod:`semnet.net.shadowing`) and ``sigma``
its standard deviation in dB (the configured one, or the model's: UMi's 4 dB LOS /
7.82 dB NLOS). ``links.snr_offset_db`` is added to user-to-user links;
``links.overrides`` that give ``snr_db`` fix a link's SNR exactly (no path loss, no shadowing).

Rows are computed on demand, in order, from the ``"shadowing"`` stream, so a row
depends only on the seed and ``k``; a static network has one row.
"""

from __future__ import annotations

import math

import numpy as np

from semnet.net.mobility import Mobility
from semnet.net.pathloss import make_path_loss
from semnet.net.shadowing import make_shadowing

__all__ = ["LargeScale"]


class LargeScale:
    """Large-scale SNR table of the links ``keys`` (see the module docstring).

    Parameters
    ----------
    keys : list of (src, dst)
        The directed links; users are ``0..n-1``, the aggregator is ``aggregator``.
    mobility : Mobility
        User positions over time.
    aggregator, aggregator_pos_m
        The aggregator's node id and fixed position.
    links : LinksSpec
        The scenario's ``links`` section.
    carrier_hz : float
        Carrier frequency (handed to a path-loss model that takes it: UMi).
    rng : numpy.random.Generator
        The shadowing (and LOS draw) stream.
    """

    def __init__(self, keys, *, mobility: Mobility, aggregator, aggregator_pos_m, links, carrier_hz: float,
                 rng: np.random.Generator):
        self.keys = list(keys)
        self.index = {key: i for i, key in enumerate(self.keys)}
        self.mobility = mobility
        self.step_s = mobility.step_s
        self._agg_pos = np.asarray(aggregator_pos_m, dtype=float)
        n = mobility.n
        node = lambda x: n if x == aggregator else int(x)  # noqa: E731
        self._src = np.array([node(s) for s, _ in self.keys], dtype=int)
        self._dst = np.array([node(d) for _, d in self.keys], dtype=int)
        to_agg = (self._src == n) | (self._dst == n)
        self._to_agg = to_agg
        self._pl = make_path_loss(links.path_loss, carrier_hz)
        self._shadowing = make_shadowing(self._pl.shadowing, links.channel)
        self._links = links
        overrides = {(o.src, o.dst): o.snr_db + links.snr_offset_db for o in links.overrides if o.snr_db is not None}
        # per link: fixed SNR (nan: path loss), offset, clipped?, shadowed?
        fixed = np.full(len(self.keys), np.nan)
        offset = np.zeros(len(self.keys))
        shadowed = np.ones(len(self.keys), dtype=bool)
        for i, key in enumerate(self.keys):
            if to_agg[i]:
                if links.aggregator.snr_db is not None:
                    fixed[i] = links.aggregator.snr_db
                else:  # today's rule: otherwise as a user link, offset included
                    offset[i] = links.snr_offset_db
                    if links.snr_db is not None:
                        fixed[i] = links.snr_db
            elif key in overrides:
                fixed[i] = overrides[key]
                shadowed[i] = False
            else:
                offset[i] = links.snr_offset_db
                if links.snr_db is not None:
                    fixed[i] = links.snr_db
        powers = getattr(links, "node_tx_power_dbm", {})
        for i, (src, _) in enumerate(self.keys):  # a user's own transmit power moves its links' SNRs
            given = self.keys[i] in overrides or (to_agg[i] and links.aggregator.snr_db is not None)
            if isinstance(src, int) and src in powers and not given:
                offset[i] += powers[src] - links.path_loss.tx_power_dbm
        self._fixed, self._offset, self._shadowed = fixed, offset, shadowed
        self._path = np.isnan(fixed)
        self._std_db = links.channel.shadowing_std_db
        self._rng = rng
        self._los_u = rng.uniform(size=len(self.keys))  # a link is LOS while u < Pr_LOS(d)
        self._shadow = self._shadowing.initial(len(self.keys), rng)
        self._table = np.empty((0, len(self.keys)))  # grown by doubling; rows 0.._count-1 are set
        self._linear = np.empty((0, len(self.keys)))  # 10^(table / 10), row for row
        self._count = 0
        self._los_rows: list[np.ndarray] = []
        self._prev_pos: np.ndarray | None = None
        self.static = mobility.static

    # ------------------------------------------------------------------ queries

    def touches_aggregator(self, key) -> bool:
        """Whether link ``key`` has the (fixed) aggregator at one end."""
        return bool(self._to_agg[self.index[key]])

    def node_ends(self, key) -> tuple[int, int]:
        """Link ``key``'s two ends as node indices: users ``0..n-1``, the aggregator ``n``."""
        i = self.index[key]
        return int(self._src[i]), int(self._dst[i])

    def row(self, k: int) -> np.ndarray:
        """Large-scale SNR in dB of every link at grid point ``k`` (read-only)."""
        if self.static:
            k = 0
        while self._count <= k:
            self._extend()
        return self._table[k]

    def los(self, k: int) -> np.ndarray:
        """Line-of-sight state of every link at grid point ``k``."""
        self.row(k)
        return self._los_rows[0 if self.static else k]

    def snr_db(self, key, times_s) -> np.ndarray:
        """Large-scale SNR (dB) of link ``key`` at ``times_s`` (array)."""
        return self._at("_table", key, times_s)

    def snr_linear(self, key, times_s) -> np.ndarray:
        """Large-scale SNR (linear) of link ``key`` at ``times_s`` (array)."""
        return self._at("_linear", key, times_s)

    def _at(self, table: str, key, times_s) -> np.ndarray:
        """Link ``key``'s entries of the grid table ``table`` at ``times_s``, rows computed
        as needed (the table is read after growing: it may have moved)."""
        li = self.index[key]
        times = np.asarray(times_s, dtype=float)
        if self.static:
            self.row(0)
            return np.full(times.shape, getattr(self, table)[0, li])
        ks = np.maximum(np.floor(times / self.step_s + 1e-9).astype(int), 0)
        if not ks.size:
            return np.empty(times.shape)
        self.row(int(ks.max()))
        return getattr(self, table)[ks, li]

    def linear_column(self, li: int, until_s: float) -> np.ndarray:
        """Large-scale SNR (linear) of link index ``li`` on the grid, every row up to the
        one holding ``until_s`` computed (a read-only view; later rows may follow)."""
        self.row(max(int(math.floor(until_s / self.step_s + 1e-9)), 0))
        return self._linear[: self._count, li]

    def snr_db_at(self, li: int, t_s: float) -> float:
        """Large-scale SNR (dB) of link index ``li`` at one time (the simulator's hot path)."""
        if self.static:
            return float(self.row(0)[li])
        return float(self.row(self.mobility.index(t_s))[li])

    # ------------------------------------------------------------------ rows

    def _positions(self, k: int) -> np.ndarray:
        users = self.mobility.positions(k)
        return np.vstack([users, self._agg_pos[None, :]])

    def _extend(self) -> None:
        k = self._count
        pos = self._positions(k)
        if self._prev_pos is not None:
            step = np.hypot(*(pos - self._prev_pos).T)
            moved = step[self._src] + step[self._dst]
            self._shadow = self._shadowing.step(self._shadow, moved, self._rng)
        self._prev_pos = pos
        delta = pos[self._src] - pos[self._dst]
        dist = np.hypot(delta[:, 0], delta[:, 1])
        base, los, std_db = self._base_db(dist)
        snr = base + std_db * self._shadow * self._shadowed
        path = self._path
        clipped = np.clip(snr, self._links.snr_min_db, self._links.snr_max_db)
        snr = np.where(path, clipped, snr) + self._offset
        if self._count == self._table.shape[0]:
            rows = max(8, 2 * self._count)
            for name in ("_table", "_linear"):
                grown = np.empty((rows, len(self.keys)))
                grown[: self._count] = getattr(self, name)[: self._count]
                setattr(self, name, grown)
        self._table[self._count] = snr
        # linear SNR kept once: packets read it from here, so numpy and the compiled loop
        # (semnet.net.arq_compiled) use the very same values
        self._linear[self._count] = 10.0 ** (snr / 10.0)
        self._count += 1
        self._los_rows.append(los)

    def _base_db(self, dist: np.ndarray):
        """(base SNR in dB, LOS state, shadowing std in dB) of every link at distances ``dist``."""
        pl = self._pl
        los = pl.line_of_sight(dist, self._los_u)
        base = np.asarray(pl.snr_db(dist, los=los, to_aggregator=self._to_agg), dtype=float)
        std_db = pl.shadowing_std_db(los) if self._std_db is None else np.full(dist.shape, self._std_db)
        base = np.where(self._path, base, self._fixed)
        return base, los, std_db

    def mean_snr_db(self, key, times_s) -> float:
        return float(np.mean(self.snr_db(key, times_s)))
