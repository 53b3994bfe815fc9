"""Carrier sensing with binary exponential backoff (CSMA/CA) on node radios (``links.csma``).

With ``links.csma.enabled`` the radios of a :class:`~semnet.sim.radio.NodeRadioMedium`
follow :class:`CarrierSense` instead of taking turns by an oracle: a sender
no longer waits for its receiver's radio (it cannot know what the receiver is doing);
it waits for its own radio, then listens.

**What a node senses.** Every transmission on the air in its band (the interference
book, :mod:`semnet.sim.interference`) whose large-scale received power at the node,
``P_rx / N`` of the pair ``transmitter -> node`` from
:class:`~semnet.net.interference_gains.CrossGains` at the transmission's start, is at
least ``sense_threshold_dbm - noise_power_dbm`` (no small-scale fading: the CCA threshold
is on the mean power). Its own transmissions keep its radio busy too.

**When it sends** (booking style: decided when the message is booked, from the
transmissions booked before it). From the moment the message is ready (its submission,
or the end of the sender's previous transmission) the node needs ``difs_s`` of idle
medium, then counts down ``k`` idle slots of ``slot_s``, ``k`` uniform in ``[0, cw]``
(drawn from the medium's stream ``numpy_rng(seed, "csma", stream)`` in booking order).
A sensed transmission *freezes* the countdown; once the medium is idle again the node
senses ``difs_s`` anew and *resumes* with the slots left (802.11 DCF). A slot counts only
if the medium is idle for all of it.

A transmission booked earlier holds the medium like a reservation: a node whose
countdown ends before a sensed transmission booked earlier starts (one whose own
countdown or radio made it start later) does not slip in ahead of it, but sends
``difs_s`` after the last such transmission ends (its countdown spent). So nodes that
all sense each other never overlap (booking order breaks what 802.11 leaves to equal
backoff draws: two such nodes never pick the same slot here). Nodes that do not sense
each other (hidden terminals) send over each other; their transmissions collide in the
book by SINR at each receiver, two messages to one receiver included, and a receiver
that is sending hears nothing.

**Backoff.** The window starts at ``cw_min``; after a failed message (a packet
retransmitted or the message lost: a collision or an outage) the sender's window
becomes ``min(2 (cw + 1) - 1, cw_max)``; after a success it goes back to ``cw_min``. A
message's packets and their retransmissions go back to back once it has the medium
(the message, not each packet, contends).

Not modelled: RTS/CTS and NAV, ACK frames and SIFS, propagation delay, capture by the
CCA of a weaker preamble, post-backoff after a success.
"""

from __future__ import annotations

import math

import numpy as np

from semnet.net.link_params import CsmaSettings
from semnet.seeding import numpy_rng

__all__ = ["CarrierSense", "sensed_start_s"]


def sensed_start_s(ready_s: float, busy: list[tuple[float, float]], backoff_slots: int, *, difs_s: float,
                   slot_s: float) -> float:
    """When a node ready at ``ready_s`` sends, among sensed ``busy`` intervals
    ``[start, end)`` (any order, overlapping allowed), counting down ``backoff_slots``
    idle slots after ``difs_s`` of idle medium, frozen while busy and resumed after
    ``difs_s`` (module docstring); never before ``difs_s`` after the last busy end."""
    t, left = ready_s, backoff_slots
    last_end = -math.inf
    done_s = None
    for a, b in sorted(busy):
        if b <= t:
            continue
        last_end = max(last_end, b)
        if done_s is None and a > t:  # an idle gap [t, a)
            slots = math.floor((a - t - difs_s) / slot_s + 1e-9) if a - t >= difs_s else -1
            if slots >= left:
                done_s = t + difs_s + left * slot_s
            elif slots > 0:
                left -= slots
        t = max(t, b)
    if done_s is None:
        done_s = t + difs_s + left * slot_s
    return max(done_s, last_end + difs_s)


class CarrierSense:
    """The access rule of node radios that sense their band before sending (module
    docstring), for :class:`~semnet.sim.radio.NodeRadios`.

    ``book`` is the simulator's interference book (re-attached after a restore, never
    pickled with the medium); ``cw`` each sender's contention window."""

    def __init__(self, settings: CsmaSettings, book, rng: np.random.Generator):
        self.settings = settings
        self.threshold = 10.0 ** (settings.sense_threshold_db / 10.0)
        self.book = book
        self.rng = rng
        self.cw: dict = {}

    @classmethod
    def of(cls, settings: CsmaSettings, sim) -> "CarrierSense":
        """For simulator ``sim``: its book, and the stream ``csma`` of its seed and branch."""
        return cls(settings, sim.book, numpy_rng(sim.seed, "csma", sim.stream))

    def __getstate__(self) -> dict:
        return {**self.__dict__, "book": None, "rng": self.rng.bit_generator.state}

    def __setstate__(self, state: dict) -> None:
        rng = np.random.default_rng()
        rng.bit_generator.state = state["rng"]
        self.__dict__.update({**state, "rng": rng})

    def attach(self, sim) -> None:
        """Serve ``sim``: sense its book, where a receiver's links now collide (no oracle keeps them apart)."""
        self.book = sim.book
        sim.book.shared_receivers = True

    def earliest_s(self, radios, src, dst, now_s: float) -> float:
        """The earliest the sender could start (its own radio free), before it listens."""
        return max(now_s, radios.free_s.get(src, now_s))

    def busy(self, src, band: int, after_s: float) -> list[tuple[float, float]]:
        """The intervals during which ``src`` senses its band busy, from ``after_s`` on."""
        gains, threshold = self.book.gains, self.threshold
        return [(r.start_s, r.end_s) for r in self.book.air.get(band, ())
                if r.end_s > after_s and (r.src == src or gains.linear(r.src, src, r.start_s) >= threshold)]

    def start_s(self, radios, queue, now_s: float) -> float:
        """When a message on ``queue``'s link submitted at ``now_s`` starts: it listens
        from when its sender's radio is free, and draws its backoff."""
        src, dst = queue.params.src, queue.params.dst
        ready = self.earliest_s(radios, src, dst, now_s)
        s = self.settings
        k = int(self.rng.integers(0, self.cw.get(src, s.cw_min) + 1))
        busy = self.busy(src, self.book.band(src, dst), ready)
        return sensed_start_s(ready, busy, k, difs_s=s.difs_s, slot_s=s.slot_s)

    def hold(self, radios, queue, bits: int, outcome, end_s: float) -> None:
        """The sender's radio is busy until ``end_s``; its window follows the outcome."""
        src = queue.params.src
        if end_s > radios.free_s.get(src, -math.inf):
            radios.free_s[src] = end_s
        packets = max(1, math.ceil(bits / queue.params.packet_bits))
        s = self.settings
        failed = not outcome.delivered or outcome.attempts > packets
        self.cw[src] = min(2 * (self.cw.get(src, s.cw_min) + 1) - 1, s.cw_max) if failed else s.cw_min
