"""Airtime of one broadcast from the base station to several receivers.

One transmission reaches every receiver, so it goes at the rate the weakest can take:
``min_i R_i`` with ``R_i`` the receiver's link rate (``rate_bps``, or the Shannon
target rate ``backoff * B * log2(1 + snr_i)`` at its average SNR); images (``k``
channel uses) take ``k / min_i B_i``. On Shannon-rate links under block fading a
packet is resent until every receiver has decoded it (receiver ``i`` decodes an
attempt when ``B_i log2(1 + |h_i|^2 snr_i) >= R``, its own fading draw), at most
``max_retries`` times: a receiver that missed a packet on every attempt has lost the
message. Not modelled: rate groups (one broadcast per group of similar receivers),
feedback delays, and broadcasts on a channel over time with Shannon-rate packets.
"""

from __future__ import annotations

import math

import numpy as np

from semnet.channels import FadingModel
from semnet.net.rate import TransmissionOutcome

__all__ = ["plan_broadcast"]

_LN2 = math.log(2.0)


def plan_broadcast(bits: int, symbols: int, links: list, rngs: list, fading: FadingModel | None = None,
                   ) -> tuple[float, list[TransmissionOutcome]]:
    """(airtime_s, one outcome per receiver) of one broadcast (module docstring).

    Parameters
    ----------
    bits, symbols : int
        The message: model bits, or complex channel uses of images.
    links : list of LinkParams
        The base station's link to each receiver (they share ``rate_mode``,
        ``packet_bits`` and ``max_retries``: one aggregator links section).
    rngs : list of numpy Generators or None
        Each receiver's fading stream (None where its link draws nothing).
    fading : FadingModel, optional
        The fading law of Shannon-rate links (default: the first link's).
    """
    if not links:
        raise ValueError("a broadcast needs at least one receiver")
    if symbols:
        airtime = symbols / min(p.bandwidth_hz for p in links)
        return airtime, [TransmissionOutcome(airtime, 1, True)] * len(links)
    first = links[0]
    if first.rate_mode == "fixed":
        airtime = bits / min(p.rate_bps for p in links)
        return airtime, [TransmissionOutcome(airtime, 1, True)] * len(links)
    model = fading or first.fading_model
    snrs = np.array([10.0 ** (p.snr_db / 10.0) for p in links])
    bandwidths = np.array([p.bandwidth_hz for p in links])
    target_bps = float(np.min([p.backoff for p in links] * bandwidths * np.log1p(snrs) / _LN2))
    if not target_bps > 0:
        raise ValueError("a receiver's SNR is too low for a positive broadcast rate")
    num_packets = math.ceil(bits / first.packet_bits)
    if num_packets == 0:
        return 0.0, [TransmissionOutcome(0.0, 0, True)] * len(links)
    rounds = first.max_retries + 1
    sizes = np.full(num_packets, float(first.packet_bits))
    sizes[-1] = bits - (num_packets - 1) * first.packet_bits
    # first[i, p]: the attempt at which receiver i decodes packet p (rounds: never)
    firsts = np.empty((len(links), num_packets), dtype=np.int64)
    for i, (snr, bandwidth, rng) in enumerate(zip(snrs, bandwidths, rngs)):
        if model is not None and model.random:
            gain = model.power_gain(num_packets * rounds, rng).reshape(num_packets, rounds)
        else:
            gain = np.ones((num_packets, rounds))
        decoded = bandwidth * np.log1p(gain * snr) / _LN2 >= target_bps
        firsts[i] = np.where(decoded.any(axis=1), decoded.argmax(axis=1), rounds)
    attempts = np.minimum(firsts.max(axis=0) + 1, rounds)  # per packet: until all have it, or the last try
    airtime = float(np.sum(attempts * sizes)) / target_bps
    total = int(attempts.sum())
    return airtime, [TransmissionOutcome(airtime, total, bool(np.all(row < rounds))) for row in firsts]
