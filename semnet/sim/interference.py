"""The interference book: who is on the air in which band, and the SINR that makes.

One book per simulator (``links.interference.model: sinr``) serves every medium that
books through :meth:`LinkQueue.plan <semnet.sim.link.LinkQueue.plan>` (dedicated links,
node radios). Each transmission is an :class:`~semnet.sim.on_air.OnAir` record ``[start_s, end_s)`` of link
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

from semnet.channels import make_fading
from semnet.net.arq import scan_attempts
from semnet.net.mcs import McsChoice
from semnet.net.rate import TransmissionOutcome
from semnet.sim.band_air import BandAir, PairTable
from semnet.sim.interference_scan import attempt_nats, hit_fades, piecewise
from semnet.sim.on_air import DEAF, DesiredGain, OnAir

__all__ = ["DEAF", "DesiredGain", "InterferenceBook", "OnAir", "piecewise"]

_LN2 = math.log(2.0)


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

    ``final`` keeps, per link, ``(sinr_db, airtime_s, interfered_s, is_image)`` of each
    record once no later transmission can overlap it (the reports).
    """

    def __init__(self, settings, gains, fading_of, rng: np.random.Generator):
        self.settings = settings
        self.gains = gains
        self.fading_of = fading_of
        self.rng = rng
        self.cutoff = 10.0 ** (settings.cutoff_db / 10.0)
        # False: the medium keeps a receiver's links apart (a radio receives one message
        # at a time, dedicated pipes each their own); True (node radios with carrier
        # sensing): every transmission in the band reaches every receiver but its sender's
        # own, two to one receiver collide, and a receiver that sends hears nothing (DEAF)
        self.shared_receivers = False
        self.none = make_fading("none")
        self.final: dict[tuple, list[tuple[float, float, float, bool]]] = {}
        self.air: dict[int, BandAir] = {}
        self.pairs = PairTable(gains, fading_of, self.cutoff)
        self._prune_at_s = -math.inf
        self._next_id = 0

    def band(self, src, dst) -> int:
        return self.settings.band(src, dst)

    def place(self, src, dst) -> tuple:
        """``(sender, receiver, band)`` of link ``src -> dst`` on the air (its settings' ``air``)."""
        return self.settings.air(src, dst)

    def _band(self, band: int) -> BandAir:
        air = self.air.get(band)
        if air is None:
            air = self.air[band] = BandAir()
        return air

    def _met(self, air: BandAir, src: int, dst: int, t0: float, t1: float) -> np.ndarray:
        """Positions of the records of ``air`` overlapping ``[t0, t1)`` that a transmission
        ``src -> dst`` (node numbers) meets: with ``shared_receivers`` every one but its
        sender's own, else those sharing neither end with it (kept apart by the medium)."""
        return air.overlapping(src, dst, t0, t1, shared_receivers=self.shared_receivers)

    def _heard(self, a: np.ndarray, b, t_s) -> np.ndarray:
        """Large-scale ``I / N`` of senders ``a`` at receivers ``b`` (node numbers, arrays or
        one a number) at ``t_s``: the cut-off pair power, or :data:`DEAF` where the receiver
        is the sender itself (``a == b``: it is transmitting)."""
        a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
        deaf = a == b
        if not deaf.any():
            return self.pairs.power(a, b, t_s)
        out = np.full(a.shape, DEAF)
        live = ~deaf
        if live.any():
            out[live] = self.pairs.power(a[live], b[live], t_s if np.ndim(t_s) == 0 else np.asarray(t_s)[live])
        return out

    def add(self, record: OnAir) -> OnAir:
        """Put ``record`` on the air: it and every overlapping record of its band hear each
        other (each hit's fading drawn in booking order: for each record met, oldest first,
        the one heard at ``record``'s receiver, then ``record`` heard at its receiver; a
        deaf hit, :data:`DEAF`, draws none; a record that does not radiate is heard by none)."""
        air, pairs = self._band(record.band), self.pairs
        src, dst = pairs.index(record.src), pairs.index(record.dst)
        met = self._met(air, src, dst, record.start_s, record.end_s)
        if met.size:
            t0 = np.maximum(air.start[met], record.start_s)
            t1 = np.minimum(air.end[met], record.end_s)
            heard = self._heard(air.src[met], dst, t0)  # each record met, at record's receiver
            heard[~air.radiates[met]] = 0.0
            heard_by = self._heard(src, air.dst[met], t0) if record.radiates else np.zeros(met.size)
            senders = np.stack((air.src[met], np.full(met.size, src)), axis=1).ravel()
            receivers = np.stack((np.full(met.size, dst), air.dst[met]), axis=1).ravel()
            slots = np.flatnonzero(np.stack((heard > 0.0, heard_by > 0.0), axis=1).ravel() & (senders != receivers))
            fades = np.ones(2 * met.size)  # a deaf hit: DEAF, unfaded
            fades[slots] = hit_fades(pairs.law(senders[slots], receivers[slots]), pairs.laws, self.rng)
            fades = fades.reshape(-1, 2)
            i = np.flatnonzero(heard > 0.0)
            record.hits.extend(zip(t0[i].tolist(), t1[i].tolist(), heard[i].tolist(),
                                   (heard[i] * fades[i, 0]).tolist(), air.image[met[i]].tolist()))
            i = np.flatnonzero(heard_by > 0.0)
            image = record.symbols > 0
            records = air.records
            for at, a, b, mean, faded in zip(met[i].tolist(), t0[i].tolist(), t1[i].tolist(), heard_by[i].tolist(),
                                             (heard_by[i] * fades[i, 1]).tolist()):
                records[at].hits.append((a, b, mean, faded, image))
        record.known = len(record.hits)
        record.id = self._next_id
        self._next_id += 1
        air.append(record, src, dst)
        return record

    def plan_packets(self, src, dst, start_s: float, bits: int, *, gains, bandwidth_hz: float, backoff: float,
                     packet_bits: int, max_retries: int, mcs: McsChoice | None = None,
                     rate_floor_snr_db: float = -math.inf) -> tuple[TransmissionOutcome, float]:
        """(outcome, SINR in dB at the start) of ``bits`` in packets on link ``src -> dst``
        (on the air between :meth:`place`'s ends) from ``start_s``, against the transmissions
        on the air now.

        The sender picks ``R = backoff * B * log2(1 + sinr0)`` from the large-scale SINR at
        its start (its link's SNR over the noise and the interferers then on the air), as
        it picks it from the SNR without interference; an SINR below ``rate_floor_snr_db``
        (and below the link's own SNR) picks the rate of that floor instead (a sender keeps
        the slowest rate a link is ever given, as an MCS table keeps its lowest entry). Attempts follow back to back; an
        attempt succeeds when the mean capacity over the intervals it overlaps,
        ``sum_k tau_k log2(1 + S |h|^2 / (1 + I_k)) / tau``, reaches ``R / B`` (``S |h|^2``
        from ``gains``, the link's own :class:`DesiredGain`; each interferer's power faded
        afresh per attempt). Failed packets are resent up to ``max_retries`` times.
        Attempt times are known in advance, so a stretch of them is drawn and judged at
        once (as :mod:`semnet.net.arq` does) and scanned for the packets' ends.

        With ``mcs`` (:mod:`semnet.net.mcs`, an entry picked by the sender from the link's
        last known SINR) the rate is the entry's ``efficiency * B`` and an attempt must
        reach ``ln(1 + threshold)`` nats: its SINR, taken over the intervals it overlaps as
        the SINR of equal mean capacity, at least the entry's threshold."""
        src, dst, band = self.place(src, dst)
        air, pairs = self._band(band), self.pairs
        s, d = pairs.index(src), pairs.index(dst)
        met = self._met(air, s, d, start_s, math.inf)
        met = met[air.radiates[met]]
        powers = self._heard(air.src[met], d, start_s)
        met, powers = met[powers > 0.0], powers[powers > 0.0]
        starts, ends = air.start[met], air.end[met]
        deaf = air.src[met] == d  # the receiver's own transmissions: DEAF, unfaded
        if deaf.any():
            laws = np.full(met.size, pairs.number_of_law(self.none))
            laws[~deaf] = pairs.law(air.src[met[~deaf]], d)
        else:
            laws = pairs.law(air.src[met], d)
        snr0 = gains.snr(np.array([start_s]))[0]
        i0 = float(powers[(starts <= start_s) & (ends > start_s)].sum()) if met.size else 0.0
        sinr0 = snr0 / (1.0 + i0)
        picked = max(sinr0, min(snr0, 10.0 ** (rate_floor_snr_db / 10.0)))
        spectral = backoff * math.log1p(picked) / _LN2 if mcs is None else mcs.spectral
        target_bps = spectral * bandwidth_hz
        num_packets = math.ceil(bits / packet_bits)
        sinr0_db = 10.0 * math.log10(max(sinr0, 1e-300))
        if num_packets == 0:
            return TransmissionOutcome(0.0, 0, True), sinr0_db
        if not target_bps > 0:
            raise ValueError(f"SINR {sinr0_db!r} dB is too low for a positive target rate")
        # nats per channel use an attempt must carry
        need = (spectral * _LN2 if mcs is None else mcs.need_nats) * (1.0 - 1e-12)
        rounds = max_retries + 1
        state = [start_s, 0, True]  # time, attempts, delivered
        for count, size in ((num_packets - 1, packet_bits), (1, bits - (num_packets - 1) * packet_bits)):
            tau = size / target_bps
            remaining, fails = count, 0
            while remaining > 0:
                n = min(remaining * rounds - fails, remaining + 8 + remaining // 3)
                times = state[0] + tau * np.arange(n)
                signal = gains.peek(times)
                nats = attempt_nats(times, tau, signal, starts, ends, powers, laws, pairs.laws, self.rng)
                used, remaining, fails, lost = scan_attempts(nats >= need, remaining, fails, rounds)
                gains.settle(times, used)
                state[0] += used * tau
                state[1] += used
                if lost:
                    state[2] = False
        return TransmissionOutcome(state[0] - start_s, state[1], state[2]), sinr0_db

    def heard(self, src, dst, t_s: float) -> float:
        """Large-scale interference (units of ``N``) at link ``src -> dst``'s receiver at
        ``t_s`` from the transmissions on the air then in its band (booked before)."""
        sender, receiver, band = self.place(src, dst)
        air = self.air.get(band)
        if air is None:
            return 0
        s, d = self.pairs.index(sender), self.pairs.index(receiver)
        n = air.size
        on = np.flatnonzero(air.radiates[:n] & (air.start[:n] <= t_s) & (air.end[:n] > t_s)
                            & air.apart(s, d))
        return sum(self.pairs.power(air.src[on], d, t_s).tolist())  # left to right, as the records were booked

    def add_broadcast(self, links: list, snrs_db: list, start_s: float, end_s: float, symbols: int = 0) -> list:
        """One broadcast from ``start_s`` to ``end_s`` on ``links`` (one sender): a record
        per receiver, the sender heard by the others once (the first record radiates)."""
        out = []
        for index, ((src, dst), snr_db) in enumerate(zip(links, snrs_db)):
            sender, receiver, band = self.place(src, dst)
            out.append(self.add(OnAir(sender, receiver, band, start_s, end_s, 10.0 ** (snr_db / 10.0), symbols,
                                      (src, dst), radiates=index == 0)))
        return out

    def prune(self, before_s: float) -> None:
        """Forget the records that end by ``before_s``: nothing booked from now on starts
        before it (each goes to ``final`` first). Runs at most once per 0.1 s."""
        if before_s < self._prune_at_s:
            return
        self._prune_at_s = before_s + 0.1
        for air in self.air.values():
            for r in air.drop_ended(before_s):
                self._settle(r)

    def find(self, values) -> OnAir | None:
        """The record kept on the air that :meth:`OnAir.as_tuple` ``values`` describe, if any."""
        rid, band = values[0], values[3]
        return next((r for r in self.air.get(band, ()) if r.id == rid), None)

    def state(self) -> dict:
        """The records kept, the fading stream and the counters (a resume checkpoint)."""
        return {"air": {band: [r.as_tuple() for r in records] for band, records in self.air.items()},
                "rng": self.rng.bit_generator.state, "prune_at_s": self._prune_at_s, "next_id": self._next_id,
                "final": {k: list(v) for k, v in self.final.items()}}

    def load_state(self, state: dict) -> None:
        self.air = {}
        for band, records in state["air"].items():
            air = self.air[band] = BandAir()
            for values in records:
                record = OnAir.of(values)
                air.append(record, self.pairs.index(record.src), self.pairs.index(record.dst))
        self.rng.bit_generator.state = state["rng"]
        self._prune_at_s, self._next_id = state["prune_at_s"], state["next_id"]
        self.final = {k: list(v) for k, v in state["final"].items()}

    def finish(self) -> None:
        """Settle every record still kept into ``final`` (the end of a run)."""
        for air in self.air.values():
            for r in air.drop_ended(math.inf):
                self._settle(r)

    def _settle(self, record: OnAir) -> None:
        self.final.setdefault(record.link, []).append(
            (record.sinr_db(), record.air_s, record.interfered_s(), record.symbols > 0))
