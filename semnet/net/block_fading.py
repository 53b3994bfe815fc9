"""Shannon-rate messages over static block fading, through the compiled packet loop.

A link whose channel does not vary in time sends its messages with
:func:`semnet.net.rate.plan_transmission` (the reference: numpy, a few calls per
round of retransmissions). :class:`BlockFadingLink` gives the same outcomes, and
leaves the link's random generator in the same state, with one compiled call per
message (:mod:`semnet.net.block_fading_compiled`):

1. ``bits_generator.random_raw(n)`` takes enough raw draws for the message (more when
   the estimate falls short), the compiled loop turns them into normals exactly as
   numpy's ziggurat would and says how many it used, and ``advance(-unused)`` hands
   the rest back (PCG64 steps backwards as cheaply as forwards);
2. the outage test ``B log1p(|h|^2 snr) / ln 2 < R`` becomes ``|h|^2 snr < x_star``:
   numpy's ``log1p`` rounds as it does, so ``x_star`` is found by numpy itself, as
   the smallest ``x`` where the test fails, among the 4,097 floats around its closed
   form ``expm1(R ln 2 / B)``; beyond them the capacity differs from ``R`` by
   hundreds of ulps, far more than any ``log1p`` error, so the two tests agree for
   every ``x``.

A link takes this path when numba is present, its law draws ``h = c0 + c1 g`` with
``g = complex_normal_numpy`` (the built-in ``rayleigh`` and ``rician``, not a
subclass that draws otherwise), its generator is a PCG64 that draws only standard
normals (a link queue's own: ``advance`` clears the 32-bit buffer, which those never
fill) and the message's bits are a whole number; otherwise the reference runs.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from semnet.channels.laws.base import FadingModel
from semnet.channels.laws.rayleigh import Rayleigh
from semnet.channels.laws.rician import Rician
from semnet.net import block_fading_compiled
from semnet.net.rate import TransmissionOutcome

__all__ = ["BlockFadingLink", "draws_affine_normals", "outage_threshold"]

_LN2 = math.log(2.0)
_WINDOW = 2048  # floats each side of the closed form searched for x_star
_EXACT_BITS = 2.0**53  # whole numbers of bits below this add up exactly in any order


@functools.lru_cache(maxsize=1 << 16)  # once per link kind, not once per link and simulator (~0.1 ms)
def outage_threshold(bandwidth_hz: float, snr: float, target_bps: float) -> float | None:
    """The smallest ``x >= 0`` for which numpy's ``bandwidth_hz * log1p(x) / ln 2 <
    target_bps`` is False (an attempt at power gain times SNR ``x`` gets through), or
    None when the test is not a clean step among the floats searched."""
    guess = math.expm1(target_bps * _LN2 / bandwidth_hz)
    if not (math.isfinite(guess) and guess > 0.0):
        return None
    ulps = np.float64(guess).view(np.int64) + np.arange(-_WINDOW, _WINDOW + 1, dtype=np.int64)
    x = ulps.view(np.float64)
    # the reference's expression (semnet.net.rate._plan_shannon), with the gain * snr product as x
    fails = bandwidth_hz * np.log1p(x) / _LN2 < target_bps
    first_ok = int(np.argmin(fails))  # fails is True, then False, if it is a step
    if first_ok == 0 or fails[first_ok:].any() or not fails[:first_ok].all():
        return None
    return float(x[first_ok])


class BlockFadingLink:
    """The compiled packet loop of one static link (:meth:`of` says whether it applies)."""

    __slots__ = ("c0", "c1", "snr", "x_star", "bandwidth_hz", "target_bps", "packet_bits", "rounds", "raw_per_packet")

    def __init__(self, c0, c1, snr, x_star, bandwidth_hz, target_bps, packet_bits, rounds):
        self.c0, self.c1, self.snr, self.x_star = c0, c1, snr, x_star
        self.bandwidth_hz, self.target_bps = bandwidth_hz, target_bps
        self.packet_bits, self.rounds = packet_bits, rounds
        # raw draws taken per packet: two normals an attempt, a few retries; raised where
        # outages are frequent (it only sets how much is drawn and handed back, not what is used)
        self.raw_per_packet = 3.0

    @classmethod
    def of(cls, params, rng) -> "BlockFadingLink | None":
        """The compiled loop for a Shannon-rate link with ``params`` (a validated
        :class:`~semnet.net.link_params.LinkParams`) drawing from ``rng``; None when the
        reference must run (see the module docstring)."""
        model = params.fading_model
        if (block_fading_compiled.block_message is None or rng is None or params.rate_mode != "shannon"
                or not draws_affine_normals(model) or type(rng.bit_generator) is not np.random.PCG64):
            return None
        snr = 10.0 ** (params.snr_db / 10.0)
        target_bps = params.backoff * params.bandwidth_hz * math.log1p(snr) / _LN2
        if not (target_bps > 0 and math.isfinite(target_bps)):
            return None  # the reference says what is wrong
        x_star = outage_threshold(params.bandwidth_hz, snr, target_bps)
        if x_star is None:
            return None
        c0, c1 = model.affine_gain()
        return cls(float(c0), float(c1), snr, x_star, params.bandwidth_hz, target_bps, int(params.packet_bits),
                   int(params.max_retries) + 1)

    def send(self, bits, rng: np.random.Generator) -> TransmissionOutcome | None:
        """Outcome of a ``bits``-long message, as the reference gives it; None (nothing
        drawn) when ``bits`` is not a whole number the loop can add exactly."""
        if not (0 <= bits < _EXACT_BITS and float(bits).is_integer()):
            return None
        num_packets = -(-int(bits) // self.packet_bits)
        if num_packets == 0:
            return TransmissionOutcome(0.0, 0, True)
        full = num_packets - 1
        last_bits = float(int(bits) - full * self.packet_bits)
        generator = rng.bit_generator
        raw = generator.random_raw(int(num_packets * self.raw_per_packet) + 16)
        while True:
            used, airtime_s, attempts, delivered = block_fading_compiled.block_message(
                raw, self.c0, self.c1, self.snr, self.x_star, full, float(self.packet_bits), last_bits,
                self.target_bps, self.rounds)
            if used >= 0:
                break
            raw = np.concatenate((raw, generator.random_raw(raw.size)))  # the estimate fell short: more
            self.raw_per_packet = min(self.raw_per_packet * 1.25, 2.0 * self.rounds + 1.0)
        if used < raw.size:
            generator.advance(used - raw.size)  # hand back what was not used
        return TransmissionOutcome(airtime_s, attempts, delivered)


def draws_affine_normals(model: FadingModel | None) -> bool:
    """Whether ``model`` draws ``c0 + c1 * complex_normal_numpy`` and takes ``|h|^2``
    as the base class does (the built-in laws, not a subclass that draws otherwise)."""
    kind = type(model)
    return (model is not None and model.random and kind.sample_numpy in (Rayleigh.sample_numpy, Rician.sample_numpy)
            and kind.power_gain is FadingModel.power_gain and model.affine_gain() is not None)
