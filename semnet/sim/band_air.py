"""What the interference book scans on every booking, as arrays.

:class:`BandAir` holds the transmissions still on the air in one band, in the order they
were booked: their :class:`~semnet.sim.on_air.OnAir` records and, column by
column, their ends (node numbers), intervals, kind and whether they radiate (a
broadcast's later receivers do not), so that finding the ones a new
transmission overlaps is one vectorised comparison instead of a Python loop over
records. The book drops the records that ended before anything still to be booked can
start (:meth:`BandAir.drop_ended`), so the columns hold only the records that matter.

:class:`PairTable` gives the large-scale ``I / N`` between node pairs (the book's
:class:`~semnet.net.interference_gains.CrossGains`, 0 below the cut-off) and each pair's
fading law for arrays of node numbers. Each value is computed once per pair (and
mobility step) by the scalar :meth:`CrossGains.linear` and kept in an ``(n, n)`` table
(gains with ``linear`` alone, no ``static``, are asked every time), so the values, and
hence every result, are the scalar path's to the bit.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BandAir", "PairTable"]

_KEPT_STEPS = 4  # mobility steps whose pair tables are kept (older ones are refilled if needed)


class BandAir:
    """The records on the air in one band, oldest first, and their columns (module docstring)."""

    __slots__ = ("dst", "end", "image", "radiates", "records", "size", "src", "start")

    def __init__(self, capacity: int = 64):
        self.records: list = []
        self.src = np.empty(capacity, dtype=np.int64)
        self.dst = np.empty(capacity, dtype=np.int64)
        self.start = np.empty(capacity)
        self.end = np.empty(capacity)
        self.image = np.empty(capacity, dtype=bool)
        self.radiates = np.empty(capacity, dtype=bool)  # False: a broadcast's later receivers
        self.size = 0

    def __iter__(self):
        return iter(self.records)

    def __len__(self) -> int:
        return self.size

    def append(self, record, src: int, dst: int) -> None:
        n = self.size
        if n == self.src.size:
            for name in ("src", "dst", "start", "end", "image", "radiates"):
                column = getattr(self, name)
                grown = np.empty(2 * n, dtype=column.dtype)
                grown[:n] = column
                setattr(self, name, grown)
        self.src[n], self.dst[n] = src, dst
        self.start[n], self.end[n] = record.start_s, record.end_s
        self.image[n] = record.symbols > 0
        self.radiates[n] = record.radiates
        self.records.append(record)
        self.size = n + 1

    def overlapping(self, src: int, dst: int, t0: float, t1: float, shared_receivers: bool = False) -> np.ndarray:
        """Positions (oldest first) of the records overlapping ``[t0, t1)`` whose ends are
        neither ``src`` nor ``dst`` (with ``shared_receivers``: whose sender is not ``src``)."""
        n = self.size
        mask = (self.start[:n] < t1) & (self.end[:n] > t0)
        mask &= self.src[:n] != src if shared_receivers else self.apart(src, dst)
        return np.flatnonzero(mask)

    def apart(self, src: int, dst: int) -> np.ndarray:
        """Whether each record shares neither end with ``src -> dst`` (a medium keeps those apart)."""
        s, d = self.src[: self.size], self.dst[: self.size]
        return (s != src) & (s != dst) & (d != src) & (d != dst)

    def drop_ended(self, before_s: float) -> list:
        """Remove the records that end by ``before_s``; return them, oldest first."""
        n = self.size
        ended = self.end[:n] <= before_s
        if not ended.any():
            return []
        gone = [self.records[i] for i in np.flatnonzero(ended)]
        keep = np.flatnonzero(~ended)
        for name in ("src", "dst", "start", "end", "image", "radiates"):
            column = getattr(self, name)
            column[: keep.size] = column[keep]
        self.records = [self.records[i] for i in keep]
        self.size = keep.size
        return gone


class PairTable:
    """Cut-off ``I / N`` and fading law of node pairs, by node number (module docstring).

    ``gains`` is the book's :class:`CrossGains` (or anything with its ``linear(a, b, t_s)``:
    without ``static`` nothing is tabled, every value is asked for), ``fading_of`` its
    ``(src, dst) -> law``, ``cutoff`` the linear cut-off (``I / N`` below it counts as 0).
    Nodes are numbered up front (the gains' nodes, link ends, base stations) and on first
    sight (:meth:`index`)."""

    def __init__(self, gains, fading_of, cutoff: float):
        self.gains, self.fading_of, self.cutoff = gains, fading_of, cutoff
        self.tabled = getattr(gains, "static", None) is not None
        self.nodes: list = []
        self.number: dict = {}
        self.laws: list = []  # law number -> law (one number per law object)
        self._law_number: dict[int, int] = {}
        self._law_of = np.full((0, 0), -1, dtype=np.int64)
        self._tables: dict[int, np.ndarray] = {}  # mobility step -> cut-off I / N by numbers, NaN: not computed
        known = list(getattr(gains, "positions_m", ()))  # every node, and the ends of links placed nowhere (tests)
        known += sorted({node for link in getattr(gains, "links", ()) for node in link} - set(known), key=str)
        # a cell's base stations (on the air in the aggregator's place)
        known += sorted(set(getattr(gains, "fixed_nodes", ())) - set(known), key=str)
        for node in known:
            self.index(node)

    def index(self, node) -> int:
        """The number of ``node``, numbering it (and widening the tables) if new."""
        number = self.number.get(node)
        if number is None:
            number = self.number[node] = len(self.nodes)
            self.nodes.append(node)
            if number >= self._law_of.shape[0]:
                self._law_of = _widened(self._law_of, 2 * number + 8, -1)
                self._tables = {k: _widened(t, 2 * number + 8, np.nan) for k, t in self._tables.items()}
        return number

    def steps(self, times_s) -> np.ndarray:
        """Mobility step of each time (all 0 on a static network), as :meth:`CrossGains.linear` reads it."""
        times = np.asarray(times_s, dtype=float)
        if not self.tabled or self.gains.static:
            return np.zeros(times.shape, dtype=np.int64)
        step = self.gains.channel.large.mobility.step_s
        return np.maximum(np.floor(times / step + 1e-9).astype(np.int64), 0)

    def power(self, a, b, times_s) -> np.ndarray:
        """Cut-off ``I / N`` of node numbers ``a`` at ``b`` (arrays, or one of them a
        number) at ``times_s`` (one time, or an array alike)."""
        if not self.tabled:
            return self._asked(a, b, times_s)
        if self.gains.static or np.ndim(times_s) == 0:  # one mobility step: one table
            k = int(self.steps(times_s if np.ndim(times_s) == 0 else 0.0))
            return self._lookup(self._table(k), a, b, times_s)
        a, b, times = np.broadcast_arrays(np.asarray(a), np.asarray(b), np.asarray(times_s, dtype=float))
        out = np.empty(a.shape)
        ks = self.steps(times)
        for k in np.unique(ks).tolist():
            at = ks == k
            out[at] = self._lookup(self._table(k), a[at], b[at], times[at])
        return out

    def _asked(self, a, b, times_s) -> np.ndarray:
        a, b, times = np.broadcast_arrays(np.asarray(a), np.asarray(b), np.asarray(times_s, dtype=float))
        out = np.empty(a.shape)
        for i, (x, y, t) in enumerate(zip(a.ravel().tolist(), b.ravel().tolist(), times.ravel().tolist())):
            g = self.gains.linear(self.nodes[x], self.nodes[y], t)
            out.flat[i] = g if g >= self.cutoff else 0.0
        return out

    def _lookup(self, table: np.ndarray, a, b, times_s) -> np.ndarray:
        values = table[a, b]
        if not np.isnan(values).any():
            return values
        a, b, times = np.broadcast_arrays(np.asarray(a), np.asarray(b), np.asarray(times_s, dtype=float))
        missing = np.flatnonzero(np.isnan(values))
        first: dict = {}  # computed once per pair and step, at the time of its first occurrence
        for x, y, t in zip(a[missing].tolist(), b[missing].tolist(), times[missing].tolist()):
            first.setdefault((x, y), t)
        xs, ys = [x for x, _ in first], [y for _, y in first]
        many = getattr(self.gains, "linear_many", None)
        if many is None:
            gains = [self.gains.linear(self.nodes[x], self.nodes[y], t) for (x, y), t in first.items()]
        else:
            gains = many([self.nodes[x] for x in xs], [self.nodes[y] for y in ys], list(first.values()))
        for x, y, g in zip(xs, ys, gains):
            table[x, y] = g if g >= self.cutoff else 0.0
        return table[a, b]

    def law(self, a, b) -> np.ndarray:
        """Law numbers (into :attr:`laws`) of node numbers ``a`` to ``b`` (arrays, or one a number)."""
        numbers = self._law_of[a, b]
        if numbers.size == 0 or numbers.min() >= 0:
            return numbers
        a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
        missing = np.flatnonzero(numbers < 0)
        for x, y in zip(a[missing].tolist(), b[missing].tolist()):
            self._law_of[x, y] = self.number_of_law(self.fading_of(self.nodes[x], self.nodes[y]))
        return self._law_of[a, b]

    def number_of_law(self, law) -> int:
        """The law number of ``law`` (into :attr:`laws`), numbering it if new."""
        number = self._law_number.get(id(law))
        if number is None:
            number = self._law_number[id(law)] = len(self.laws)
            self.laws.append(law)
        return number

    def _table(self, k: int) -> np.ndarray:
        table = self._tables.get(k)
        if table is None:
            if len(self._tables) >= _KEPT_STEPS:
                del self._tables[min(self._tables)]
            n = self._law_of.shape[0]
            table = self._tables[k] = np.full((n, n), np.nan)
        return table


def _widened(table: np.ndarray, n: int, fill) -> np.ndarray:
    """``table`` as the top-left corner of an ``(n, n)`` table filled with ``fill``."""
    out = np.full((n, n), fill, dtype=table.dtype)
    out[: table.shape[0], : table.shape[1]] = table
    return out
