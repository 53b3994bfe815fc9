"""The interference book: who is on the air in which band, and the SINR that makes.

One book per simulator (``links.interference.model: sinr``) serves every medium that
books through :meth:`LinkQueue.plan <semnet.sim.link.LinkQueue.plan>` (dedicated links,
node radios). Each transmission is an :class:`OnAir` record ``[start_s, end_s)`` of link
``src -> dst`` in its band. When one is added, every record of the band that overlaps it
and whose ends are not its own nodes exchanges interference with it: the newcomer is
heard at the other's receiver and the other at the newcomer's, each as a *hit*
``(t0, t1, I_mean, I_faded, from_image)`` over the overlap, in units of the noise power ``N``:

* ``I_mean``: the large-scale power (path loss, shadowing, transmit power) of the pair
  ``interferer -> receiver`` (:class:`~semnet.net.interference_gains.CrossGains`, the
  link's own when the pair is a link);
* ``I_faded``: times a small-scale power gain ``|g|^2`` drawn from that pair's fading law
  (the interferer's block fading over the overlap; the book's own random stream).

Interference is thus piecewise constant between the starts and ends of transmissions,
and a transmission overlapping several intervals meets each (:meth:`OnAir.pieces`).
Hits whose ``I_mean`` is below ``cutoff_db`` (relative to ``N``) are dropped.

SINR (linear) of a record over its airtime: ``S / (1 + I)`` with ``S`` the link's
large-scale SNR and ``I`` the time average of the interference: :meth:`OnAir.sinr_db`
(large-scale terms: what ``events.jsonl``, ``images.jsonl`` and the summary report).

Causality: a model message's rate and the fate of its packets are decided when it is
booked, from the transmissions booked before it (:meth:`InterferenceBook.plan_packets`);
one booked later that overlaps it adds its hits to the record (so reports and images
see it) but does not change a fate already decided. Images are decoded after the round,
so they meet every transmission that overlapped them.
"""

from __future__ import annotations

import math

import numpy as np

from semnet.net.rate import TransmissionOutcome

__all__ = ["InterferenceBook", "OnAir", "piecewise"]

_LN2 = math.log(2.0)


class OnAir:
    """One transmission on the air: link, band, interval, what it met (module docstring).

    ``snr`` is its large-scale SNR (linear); ``hits`` the interference at its receiver;
    ``known`` how many of the hits were booked before it (its fate saw those only)."""

    __slots__ = ("src", "dst", "band", "start_s", "end_s", "snr", "hits", "known", "symbols", "id")

    def __init__(self, src, dst, band: int, start_s: float, end_s: float, snr: float, symbols: int = 0):
        self.src, self.dst, self.band = src, dst, band
        self.start_s, self.end_s = start_s, end_s
        self.snr = snr
        self.hits: list[tuple[float, float, float, float, bool]] = []
        self.known = 0
        self.symbols = symbols
        self.id = -1  # its number in the book (set when added)

    def as_tuple(self) -> tuple:
        return (self.id, self.src, self.dst, self.band, self.start_s, self.end_s, self.snr, self.symbols,
                self.known, [list(h) for h in self.hits])

    @classmethod
    def of(cls, values) -> "OnAir":
        rid, src, dst, band, start_s, end_s, snr, symbols, known, hits = values
        record = cls(src, dst, band, start_s, end_s, snr, symbols)
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


def piecewise(start_s: float, end_s: float, terms) -> list[tuple[float, float, float]]:
    """``[start_s, end_s)`` cut at every start and end of ``terms`` (``(t0, t1, value)``),
    each piece with the sum of the values covering it."""
    cuts = {start_s, end_s}
    for t0, t1, _ in terms:
        if start_s < t0 < end_s:
            cuts.add(t0)
        if start_s < t1 < end_s:
            cuts.add(t1)
    edges = sorted(cuts)
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        if b <= a:
            continue
        total = sum(v for t0, t1, v in terms if t0 <= a and t1 >= b)
        out.append((a, b, total))
    return out


class InterferenceBook:
    """The transmissions on the air of one simulator, per band (module docstring).

    Parameters
    ----------
    settings : InterferenceSettings
        Cut-off and each node pair's band.
    gains : CrossGains
        Large-scale ``P_rx / N`` between any two nodes.
    fading_of : callable
        ``(src, dst) -> FadingModel`` of a node pair (an interferer's small-scale law).
    rng : numpy.random.Generator
        The interferers' fading draws.
    on_final : callable, optional
        Receives each record once no later transmission can overlap it (reports).
    """

    def __init__(self, settings, gains, fading_of, rng: np.random.Generator, on_final=None):
        self.settings = settings
        self.gains = gains
        self.fading_of = fading_of
        self.rng = rng
        self.cutoff = 10.0 ** (settings.cutoff_db / 10.0)
        self.on_final = on_final
        self.air: dict[int, list[OnAir]] = {}
        self._prune_at_s = -math.inf
        self._next_id = 0

    def band(self, src, dst) -> int:
        return self.settings.band(src, dst)

    def _power(self, a, b, t_s: float) -> float:
        """Large-scale ``I / N`` of ``a`` at ``b`` (0 below the cut-off)."""
        g = self.gains.linear(a, b, t_s)
        return g if g >= self.cutoff else 0.0

    def _fade(self, a, b) -> float:
        law = self.fading_of(a, b)
        return float(law.power_gain(1, self.rng)[0]) if law.random else 1.0

    def _overlapping(self, band: int, src, dst, t0: float, t1: float) -> list[OnAir]:
        nodes = (src, dst)
        return [r for r in self.air.get(band, ()) if r.start_s < t1 and r.end_s > t0
                and r.src not in nodes and r.dst not in nodes]

    def add(self, record: OnAir) -> OnAir:
        """Put ``record`` on the air: it and every overlapping record of its band hear each other."""
        for other in self._overlapping(record.band, record.src, record.dst, record.start_s, record.end_s):
            t0, t1 = max(record.start_s, other.start_s), min(record.end_s, other.end_s)
            mean = self._power(other.src, record.dst, t0)
            if mean > 0.0:
                record.hits.append((t0, t1, mean, mean * self._fade(other.src, record.dst), other.symbols > 0))
            mean = self._power(record.src, other.dst, t0)
            if mean > 0.0:
                other.hits.append((t0, t1, mean, mean * self._fade(record.src, other.dst), record.symbols > 0))
        record.known = len(record.hits)
        record.id = self._next_id
        self._next_id += 1
        self.air.setdefault(record.band, []).append(record)
        return record

    def plan_packets(self, src, dst, start_s: float, bits: int, *, snr_at, gain_at, bandwidth_hz: float,
                     backoff: float, packet_bits: int, max_retries: int) -> tuple[TransmissionOutcome, float]:
        """(outcome, SINR in dB at the start) of ``bits`` in packets on ``src -> dst`` from
        ``start_s``, against the transmissions on the air now.

        The sender picks ``R = backoff * B * log2(1 + sinr0)`` from the large-scale SINR at
        its start (its link's SNR over the noise and the interferers then on the air), as
        it picks it from the SNR without interference. Attempts follow back to back; an
        attempt succeeds when the mean capacity over the intervals it overlaps,
        ``sum_k tau_k log2(1 + S |h|^2 / (1 + I_k)) / tau``, reaches ``R / B`` (``h``: the
        link's fading at the attempt, ``gain_at(t)``; each interferer's power faded
        afresh per attempt). Failed packets are resent up to ``max_retries`` times."""
        band = self.band(src, dst)
        others = self._overlapping(band, src, dst, start_s, math.inf)
        powers = [(r, self._power(r.src, dst, start_s)) for r in others]
        powers = [(r, p) for r, p in powers if p > 0.0]
        snr0 = snr_at(start_s)
        i0 = sum(p for r, p in powers if r.start_s <= start_s < r.end_s)
        sinr0 = snr0 / (1.0 + i0)
        spectral = backoff * math.log1p(sinr0) / _LN2
        target_bps = spectral * bandwidth_hz
        num_packets = math.ceil(bits / packet_bits)
        sinr0_db = 10.0 * math.log10(max(sinr0, 1e-300))
        if num_packets == 0:
            return TransmissionOutcome(0.0, 0, True), sinr0_db
        if not target_bps > 0:
            raise ValueError(f"SINR {sinr0_db!r} dB is too low for a positive target rate")
        t, attempts, delivered = start_s, 0, True
        for index in range(num_packets):
            size = packet_bits if index < num_packets - 1 else bits - (num_packets - 1) * packet_bits
            tau = size / target_bps
            for _ in range(max_retries + 1):
                attempts += 1
                signal = snr_at(t) * gain_at(t)
                terms = [(max(r.start_s, t), min(r.end_s, t + tau), p * self._fade(r.src, dst))
                         for r, p in powers if r.start_s < t + tau and r.end_s > t]
                bits_per_hz = sum((b - a) * math.log1p(signal / (1.0 + i)) for a, b, i in piecewise(t, t + tau, terms))
                t += tau
                if bits_per_hz / (tau * _LN2) >= spectral * (1.0 - 1e-12):
                    break
            else:
                delivered = False
        return TransmissionOutcome(t - start_s, attempts, delivered), sinr0_db

    def prune(self, before_s: float) -> None:
        """Forget the records that end by ``before_s``: nothing booked from now on starts
        before it (each is handed to ``on_final`` first). Runs at most once per 0.1 s."""
        if before_s < self._prune_at_s:
            return
        self._prune_at_s = before_s + 0.1
        for band, records in self.air.items():
            keep = []
            for r in records:
                if r.end_s <= before_s:
                    if self.on_final is not None:
                        self.on_final(r)
                else:
                    keep.append(r)
            self.air[band] = keep

    def find(self, values) -> OnAir | None:
        """The record kept on the air that :meth:`OnAir.as_tuple` ``values`` describe, if any."""
        rid, band = values[0], values[3]
        return next((r for r in self.air.get(band, ()) if r.id == rid), None)

    def state(self) -> dict:
        """The records kept, the fading stream and the counters (a resume checkpoint)."""
        return {"air": {band: [r.as_tuple() for r in records] for band, records in self.air.items()},
                "rng": self.rng.bit_generator.state, "prune_at_s": self._prune_at_s, "next_id": self._next_id}

    def load_state(self, state: dict) -> None:
        self.air = {band: [OnAir.of(values) for values in records] for band, records in state["air"].items()}
        self.rng.bit_generator.state = state["rng"]
        self._prune_at_s, self._next_id = state["prune_at_s"], state["next_id"]

    def finish(self) -> None:
        """Hand every record still kept to ``on_final`` (the end of a run)."""
        for band, records in self.air.items():
            if self.on_final is not None:
                for r in records:
                    self.on_final(r)
            self.air[band] = []
