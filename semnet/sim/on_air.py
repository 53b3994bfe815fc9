"""What the interference book keeps of one transmission, and what the sender itself receives.

:class:`OnAir` is one transmission on the air (link, band, interval) with the
interference it met as *hits* ``(t0, t1, I_mean, I_faded, from_image)`` in units of the
noise power; its SINR, interfered airtime and the interference each image symbol met
follow from them (:mod:`semnet.sim.interference` explains the model).

:class:`DesiredGain` is a link's own received signal ``S |h|^2`` at packet-attempt times.
"""

from __future__ import annotations

import math

import numpy as np

from semnet.sim.interference_scan import piecewise

__all__ = ["DEAF", "DesiredGain", "OnAir"]

# I / N met by a reception while its receiver transmits (half duplex: it hears nothing):
# 120 dB over the noise, finite so that SINRs, their averages and an image's channel noise
# stay numbers (in float32 too)
DEAF = 1e12


class OnAir:
    """One transmission on the air: link, band, interval, what it met (module docstring).

    ``src`` and ``dst`` are its sender and receiver on the air, ``link`` the network's link
    it carries (the same ends, but for a cell's link: the aggregator's place is its base
    station there, :meth:`~semnet.net.interference_gains.InterferenceSettings.air`).
    ``snr`` is its large-scale SNR (linear); ``hits`` the interference at its receiver;
    ``known`` how many of the hits were booked before it (its fate saw those only).
    ``radiates`` is False for the second and later receivers of one broadcast: their
    records hear the others, but the station's signal is heard by the others once."""

    __slots__ = ("band", "dst", "end_s", "hits", "id", "known", "link", "radiates", "snr", "src", "start_s",
                 "symbols")

    def __init__(self, src, dst, band: int, start_s: float, end_s: float, snr: float, symbols: int = 0,
                 link: tuple | None = None, radiates: bool = True):
        self.src, self.dst, self.band = src, dst, band
        self.link = (src, dst) if link is None else link
        self.radiates = radiates
        self.start_s, self.end_s = start_s, end_s
        self.snr = snr
        self.hits: list[tuple[float, float, float, float, bool]] = []
        self.known = 0
        self.symbols = symbols
        self.id = -1  # its number in the book (set when added)

    def as_tuple(self) -> tuple:
        values = (self.id, self.src, self.dst, self.band, self.start_s, self.end_s, self.snr, self.symbols,
                  self.known, [list(h) for h in self.hits])
        if not self.radiates:
            return values + (self.link, False)
        return values if self.link == (self.src, self.dst) else values + (self.link,)

    @classmethod
    def of(cls, values) -> OnAir:
        rid, src, dst, band, start_s, end_s, snr, symbols, known, hits = values[:10]
        record = cls(src, dst, band, start_s, end_s, snr, symbols, tuple(values[10]) if len(values) > 10 else None,
                     bool(values[11]) if len(values) > 11 else True)
        record.id, record.known = rid, known
        record.hits = [tuple(h) for h in hits]
        return record

    @property
    def air_s(self) -> float:
        return self.end_s - self.start_s

    def mean_interference(self, faded: bool = False, hits=None) -> float:
        """Time-averaged interference over the airtime (units of ``N``)."""
        air = self.air_s
        if air <= 0:
            return 0.0
        column = 3 if faded else 2
        hits = self.hits if hits is None else hits
        return sum((h[1] - h[0]) * h[column] for h in hits) / air

    def sinr_db(self, known_only: bool = False) -> float:
        """Large-scale SINR over the airtime, in dB (``known_only``: the hits booked before it)."""
        hits = self.hits[: self.known] if known_only else self.hits
        return 10.0 * math.log10(max(self.snr, 1e-300) / (1.0 + self.mean_interference(False, hits)))

    def interfered_s(self) -> float:
        """Seconds of its airtime during which at least one interferer was heard."""
        if not self.hits:
            return 0.0
        spans = sorted((h[0], h[1]) for h in self.hits)
        total, cur_a, cur_b = 0.0, spans[0][0], spans[0][1]
        for a, b in spans[1:]:
            if a > cur_b:
                total += cur_b - cur_a
                cur_a, cur_b = a, b
            elif b > cur_b:
                cur_b = b
        return total + cur_b - cur_a

    def interfered_by(self) -> list[str]:
        """What it met: ``image`` and/or ``model`` transmissions (sorted)."""
        return sorted({"image" if h[4] else "model" for h in self.hits})

    def pieces(self, faded: bool = True) -> list[tuple[float, float, float]]:
        """The airtime cut where the interference changes: ``(t0, t1, I)`` in time order."""
        return piecewise(self.start_s, self.end_s, [(h[0], h[1], h[3] if faded else h[2]) for h in self.hits])

    def symbol_interference(self, k: int) -> np.ndarray:
        """Interference (units of ``N``, faded) met by each of ``k`` channel uses sent
        evenly over the airtime: symbol ``m`` at the middle of its ``1/k`` of it."""
        out = np.zeros(k)
        air = self.air_s
        if not self.hits or air <= 0:
            return out
        mid = self.start_s + (np.arange(k) + 0.5) * (air / k)
        for t0, t1, _, faded, _ in self.hits:
            out[(mid >= t0) & (mid < t1)] += faded
        return out


class DesiredGain:
    """A link's own received signal ``S |h|^2`` at attempt times: its large-scale SNR and
    fading, drawn from its own stream (``rng``, static link) or read from its channel over
    time (``fading``: peeked, then settled at the last attempt used, as
    :mod:`semnet.net.arq` does). ``first_h`` is ``h`` of the first attempt."""

    def __init__(self, snr_db: float, law, rng, fading=None):
        self.snr_linear = 10.0 ** (snr_db / 10.0)
        self.law, self.rng, self.fading = law, rng, fading
        self.first_h: complex | None = None
        self._g = None

    def snr(self, times: np.ndarray) -> np.ndarray:
        if self.fading is None:
            return np.full(times.shape, self.snr_linear)
        return self.fading.process.large.snr_linear(self.fading.key, times)

    def peek(self, times: np.ndarray) -> np.ndarray:
        if self.fading is None:
            power = self.law.power_gain(times.size, self.rng) if self.law.random else np.ones(times.size)
            return self.snr_linear * power
        self._g, h = self.fading.peek(times)
        if self.first_h is None:
            self.first_h = complex(h[0])
            if self._g is not None:  # an image sent at the message's start reads its h
                self.fading.remember(times[0], self._g[0])
        return self.snr(times) * (h.real * h.real + h.imag * h.imag)

    def settle(self, times: np.ndarray, used: int) -> None:
        """The link's process goes on from the last attempt used."""
        if self.fading is not None and used:
            self.fading.settle(times, self._g, used - 1)
