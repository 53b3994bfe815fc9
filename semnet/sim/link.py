"""A directed link as a shared FIFO resource.

Messages queue in arrival order; each occupies the link for its airtime
(all transmission attempts), then needs ``latency_s`` more to arrive. Latency is
propagation, so the next message may start while the previous one is in flight.

Because a single FIFO server's start times follow ``start = max(now, busy_until)``,
the queue is kept as one number instead of a ``simpy.Resource``: the same
schedule, booked by arithmetic when the message is submitted, with no SimPy event
of its own (this is the hot path of large networks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from semnet.net.network import LinkParams
from semnet.net.rate import TransmissionOutcome, plan_transmission, symbol_airtime_s


@dataclass
class LinkQueue:
    """One directed link's FIFO queue; ``rng`` draws its fading (None on links that
    draw nothing: fixed-rate, or Shannon-rate without fading)."""

    params: LinkParams
    rng: np.random.Generator | None
    busy_until_s: float = 0.0

    def reserve(self, now_s: float, bits: int, symbols: int) -> tuple[float, float, TransmissionOutcome]:
        """Book the link for one message sent at ``now_s``; return (start_s, arrival_s, outcome)."""
        p = self.params
        if symbols:
            # semantic symbols are analogue channel uses: no retransmission
            outcome = TransmissionOutcome(symbol_airtime_s(symbols, p.bandwidth_hz), 1, True)
        elif p.rate_mode == "fixed":
            outcome = TransmissionOutcome(bits / p.rate_bps, 1, True)
        else:
            outcome = plan_transmission(
                bits,
                mode=p.rate_mode,
                rng=self.rng,
                rate_bps=p.rate_bps,
                bandwidth_hz=p.bandwidth_hz,
                snr_db=p.snr_db,
                fading=p.fading_model or p.fading,
                k_factor=p.k_factor,
                backoff=p.backoff,
                packet_bits=p.packet_bits,
                max_retries=p.max_retries,
            )
        start = now_s if now_s > self.busy_until_s else self.busy_until_s
        self.busy_until_s = start + outcome.airtime_s
        return start, self.busy_until_s + p.latency_s, outcome
