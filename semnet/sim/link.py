"""A directed link as a FIFO server.

A message's service time on a link is known when it is submitted (fixed rate, or the
Shannon-rate plan of its packets), so booking the link is arithmetic: the message
starts when both it and the link are ready and holds the link for its airtime. No
SimPy resource or process is needed per message, and a link that nobody is using
costs nothing: links that carry no traffic never schedule an event
of its own (this is the hot path of large networks).

On a network whose channel varies in time (:mod:`semnet.channels.processes.timevarying`) the link
also owns its :class:`~semnet.channels.processes.timevarying.LinkFading`: every message reads the
channel at its start time (and a model message's packets at each attempt), and the
realised SNR and gain at the start are kept for the event record.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from semnet.channels.processes.timevarying import LinkFading
from semnet.net.arq import plan_over_time
from semnet.net.block_fading import BlockFadingLink
from semnet.net.mcs import McsChoice, choose_mcs
from semnet.net.link_params import LinkParams
from semnet.net.rate import TransmissionOutcome, plan_transmission
from semnet.sim.interference import InterferenceBook
from semnet.sim.on_air import DesiredGain, OnAir


@dataclass
class LinkQueue:
    """One directed link's FIFO queue; ``rng`` draws its fading (None on links that
    draw nothing: fixed-rate, or Shannon-rate without fading). ``fading`` is the
    link's channel over time (None on a network without one)."""

    params: LinkParams
    rng: np.random.Generator | None
    busy_until_s: float = 0.0
    fading: LinkFading | None = None
    last_snr_db: float = math.nan  # realised SNR at the last message's start (time-varying channel)
    last_h: complex = 1.0 + 0j
    used: bool = False  # has carried a message (a checkpoint keeps only used queues' state)
    block: BlockFadingLink | None | bool = False  # the compiled packet loop; False: not looked up yet
    # the simulator's interference book (links.interference.model sinr; None: noise only),
    # and the record of the last transmission planned on this link in it
    interference: InterferenceBook | None = None
    last_on_air: OnAir | None = None
    # rate_mode "mcs" (semnet.net.mcs): the large-scale SINR realised on the last message
    # (read from last_on_air while it is kept: later overlaps still add to it), and the
    # CQI entry of the last model message
    known_sinr_db: float = math.nan
    last_cqi: int | None = None
    restored_on_air: tuple | None = None  # a checkpoint's last_on_air, until the book is loaded

    def state(self) -> dict:
        """The queue's mutable state: when it frees, its random stream, its fading (and,
        adapting its MCS, what it knows of its SINR)."""
        state = {
            "busy_until_s": self.busy_until_s,
            "rng": None if self.rng is None else self.rng.bit_generator.state,
            "last_snr_db": self.last_snr_db,
            "last_h": self.last_h,
            "fading": None if self.fading is None else self.fading.checkpoint(),
        }
        if self.params.rate_mode == "mcs":
            state["known_sinr_db"] = self._known_sinr_db()
            if self.last_on_air is not None:  # images booked later may still overlap it: find it again
                state["last_on_air"] = self.last_on_air.as_tuple()
        return state

    def load_state(self, state: dict) -> None:
        self.used = True
        self.busy_until_s = state["busy_until_s"]
        if self.rng is not None:
            self.rng.bit_generator.state = state["rng"]
        self.last_snr_db, self.last_h = state["last_snr_db"], state["last_h"]
        if self.fading is not None:
            self.fading.resume(state["fading"])
        self.known_sinr_db = state.get("known_sinr_db", math.nan)
        self.restored_on_air = state.get("last_on_air")

    def find_on_air(self, book: InterferenceBook) -> None:
        """After a checkpoint's book is loaded: the record of the link's last message, if
        the book still keeps it (else its SINR is final, and ``known_sinr_db`` holds it)."""
        if self.restored_on_air is not None:
            self.last_on_air = book.find(self.restored_on_air)
            self.restored_on_air = None

    def reserve(self, now_s: float, bits: int, symbols: int) -> tuple[float, float, TransmissionOutcome]:
        """Book the link for one message sent at ``now_s``; return (start_s, arrival_s, outcome)."""
        start = now_s if now_s > self.busy_until_s else self.busy_until_s
        outcome = self.plan(start, bits, symbols)
        self.busy_until_s = start + outcome.airtime_s
        return start, self.busy_until_s + self.params.latency_s, outcome

    def plan(self, start_s: float, bits: int, symbols: int) -> TransmissionOutcome:
        """Airtime, attempts and delivery of one message whose transmission starts at
        ``start_s`` on this link alone (it draws the link's fading, if any); the link
        is not booked (a medium that shares airtime books it, :mod:`semnet.sim.medium`)."""
        mcs = self._choose_mcs(start_s, bits, symbols) if self.params.rate_mode == "mcs" else None
        if self.interference is not None:
            return self._plan_in_book(start_s, bits, symbols, mcs)
        outcome = self._plan_alone(start_s, bits, symbols, mcs)
        if self.params.rate_mode == "mcs":  # no interference: the SINR realised is the large-scale SNR
            self.known_sinr_db = self._large_snr_db(start_s)
        return outcome

    def _large_snr_db(self, start_s: float) -> float:
        return self.params.snr_db if self.fading is None else self.fading.snr_db(start_s)

    def _known_sinr_db(self) -> float:
        return self.last_on_air.sinr_db() if self.last_on_air is not None else self.known_sinr_db

    def _choose_mcs(self, start_s: float, bits: int, symbols: int) -> McsChoice | None:
        """The CQI entry of a model message (:mod:`semnet.net.mcs`): from the SINR realised on
        the link's last message, or its large-scale SNR now for its first."""
        if symbols or bits == 0:
            return None
        known = self._known_sinr_db()
        if math.isnan(known):
            known = self._large_snr_db(start_s)
        choice = choose_mcs(known, self.params.mcs_margin_db, self.params.bandwidth_hz)
        self.last_cqi = choice.cqi
        return choice

    def _plan_alone(self, start_s: float, bits: int, symbols: int, mcs: McsChoice | None = None
                    ) -> TransmissionOutcome:
        """:meth:`plan` on a link that meets noise only."""
        p = self.params
        self.used = True
        if self.fading is not None:
            outcome = self._reserve_over_time(start_s, bits, symbols, mcs)
        elif symbols:
            # semantic symbols are analogue channel uses: no retransmission; k / B (as
            # symbol_airtime_s, in plain floats: live images take this path by the thousand)
            outcome = TransmissionOutcome(symbols / p.bandwidth_hz, 1, True)
        elif p.rate_mode == "fixed":
            outcome = TransmissionOutcome(bits / p.rate_bps, 1, True)
        else:
            if self.block is False:  # once per link: Shannon rate over static block fading, compiled
                self.block = BlockFadingLink.of(p, self.rng)
            outcome = None if self.block is None else self.block.send(bits, self.rng)
        if outcome is None:  # the reference (numpy) loop
            outcome = plan_transmission(
                bits,
                mode=p.rate_mode,
                rng=self.rng,
                rate_bps=p.rate_bps,
                bandwidth_hz=p.bandwidth_hz,
                snr_db=p.snr_db,
                fading=p.fading_model,
                backoff=p.backoff,
                packet_bits=p.packet_bits,
                max_retries=p.max_retries,
                known_snr_db=None if mcs is None else mcs.known_sinr_db,
                mcs_margin_db=p.mcs_margin_db,
            )
        return outcome

    def _plan_in_book(self, start_s: float, bits: int, symbols: int, mcs: McsChoice | None = None
                      ) -> TransmissionOutcome:
        """:meth:`plan` against the transmissions on the air (:mod:`semnet.sim.interference`):
        model packets at a Shannon rate or an MCS meet the SINR; images and fixed-rate
        messages are planned as alone (their airtime does not depend on it) and put on the air."""
        p, book = self.params, self.interference
        if symbols or p.rate_mode == "fixed" or bits == 0:
            outcome = self._plan_alone(start_s, bits, symbols)
        else:
            self.used = True
            outcome = self._packets_in_book(start_s, bits, mcs)
        snr_db = p.snr_db if self.fading is None else self.fading.snr_db(start_s)
        sender, receiver, band = book.place(p.src, p.dst)
        record = OnAir(sender, receiver, band, start_s, start_s + outcome.airtime_s, 10.0 ** (snr_db / 10.0),
                       symbols, (p.src, p.dst))
        self.last_on_air = book.add(record)
        return outcome

    def _packets_in_book(self, start_s: float, bits: int, mcs: McsChoice | None) -> TransmissionOutcome:
        p, fading = self.params, self.fading
        gains = DesiredGain(p.snr_db, p.fading_model, self.rng, fading)
        outcome, _ = self.interference.plan_packets(
            p.src, p.dst, start_s, bits, gains=gains, bandwidth_hz=p.bandwidth_hz, backoff=p.backoff,
            packet_bits=p.packet_bits, max_retries=p.max_retries, mcs=mcs, rate_floor_snr_db=p.rate_floor_snr_db)
        if fading is not None:  # the realised SNR at the first attempt, as on a link alone
            h = gains.first_h if gains.first_h is not None else fading.state(start_s)[0]
            self.last_h = h
            self.last_snr_db = fading.snr_db(start_s) + 10.0 * math.log10(max(abs(h) ** 2, 1e-300))
        return outcome

    def _reserve_over_time(self, start: float, bits: int, symbols: int, mcs: McsChoice | None
                           ) -> TransmissionOutcome:
        p = self.params
        if symbols or p.rate_mode == "fixed":
            h, snr_db = self.fading.state(start)
            self.last_h = h
            self.last_snr_db = snr_db + 10.0 * math.log10(max(h.real * h.real + h.imag * h.imag, 1e-300))
            if symbols:
                return TransmissionOutcome(symbols / p.bandwidth_hz, 1, True)
            return TransmissionOutcome(bits / p.rate_bps, 1, True)
        outcome, self.last_snr_db = plan_over_time(
            bits, start, self.fading, bandwidth_hz=p.bandwidth_hz, backoff=p.backoff,
            packet_bits=p.packet_bits, max_retries=p.max_retries, mcs=mcs,
        )
        return outcome
