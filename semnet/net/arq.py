"""Shannon-rate packets with retransmission over a time-varying link.

The time-varying counterpart of :func:`semnet.net.rate.plan_transmission`'s
``"shannon"`` mode. At the message's start ``t0`` the transmitter knows the link's
large-scale SNR ``snr(t0)`` (not the fading) and picks the rate
``R = backoff * B * log2(1 + snr(t0))``. It then sends back to back: attempt ``j``
starts at ``t0 + j * b / R`` (packets of ``b`` bits; the shorter last packet after the
others) and fails when ``log2(1 + |h(t_j)|^2 snr(t_j)) < R / B``, with ``h`` read from
the link's process at that time. A failed packet is sent again at once, up to
``max_retries`` times; a packet that fails every attempt is lost (the message fails)
and the next packet follows, so, as in the independent mode, the airtime counts all
attempts of all packets. Slow fading thus makes retries fail together, as it should.

Since attempts follow each other without gaps whatever their outcome, their times
are known in advance: the gains of a stretch of attempts are drawn in one vectorised
call and scanned for the packets' ends (a success, or ``max_retries + 1`` failures in
a row). The process goes on from the last attempt made.
"""

from __future__ import annotations

import math

import numpy as np

from semnet.channels.processes.gauss_markov import GaussMarkovScatter
from semnet.net import arq_compiled
from semnet.net.mcs import McsChoice
from semnet.net.rate import TransmissionOutcome

__all__ = ["plan_over_time", "scan_attempts"]

_LN2 = math.log(2.0)


def plan_over_time(bits, start_s: float, link, *, bandwidth_hz: float, backoff: float, packet_bits: int,
                   max_retries: int, mcs: McsChoice | None = None) -> tuple[TransmissionOutcome, float]:
    """(outcome, realised SNR in dB at ``start_s``) of one message on ``link`` (a
    :class:`~semnet.channels.processes.timevarying.LinkFading`); see the module docstring.
    With ``mcs`` (:mod:`semnet.net.mcs`) the rate and the SNR an attempt needs are the
    entry's instead of the Shannon target's."""
    snr0_db = link.snr_db(start_s)
    num_packets = math.ceil(bits / packet_bits)
    if num_packets == 0:
        h, _ = link.state(start_s)
        return TransmissionOutcome(0.0, 0, True), _realised_db(snr0_db, h)
    snr0 = 10.0 ** (snr0_db / 10.0)
    if mcs is not None:
        target_bps, threshold = mcs.target_bps, mcs.threshold_linear
    else:
        spectral = backoff * math.log1p(snr0) / _LN2  # bit/s/Hz
        target_bps = spectral * bandwidth_hz
        if not target_bps > 0:
            raise ValueError(f"snr_db = {snr0_db!r} is too low for a positive target rate")
        threshold = math.expm1(spectral * _LN2)  # instantaneous SNR needed
    last_bits = bits - (num_packets - 1) * packet_bits
    rounds = max_retries + 1
    static = link.process.large.static
    state = [start_s, 0, True, None]  # time, attempts, delivered, realised SNR of the first attempt
    gain = compiled_gain(link)
    if gain is not None:  # the same arithmetic, compiled (semnet.net.arq_compiled)
        groups = ((num_packets - 1, packet_bits / target_bps), (1, last_bits / target_bps))
        _send_compiled(link, gain, state, groups, snr0, threshold, rounds, static)
        return TransmissionOutcome(state[0] - start_s, state[1], state[2]), state[3]

    def send(count: int, size_bits: float) -> None:
        spacing = size_bits / target_bps
        remaining, fails = count, 0
        while remaining > 0:
            # enough attempts for the expected outages, at most what the packets may need
            n = min(remaining * rounds - fails, remaining + 8 + remaining // 3)
            n = link.grid_count(state[0], spacing, n)  # at most one change of Doppler in a stretch
            g, h = link.peek_grid(state[0], spacing, n)
            power = h.real * h.real + h.imag * h.imag
            if static:
                snr = snr0
            else:
                times = state[0] + spacing * np.arange(n)
                snr = link.process.large.snr_linear(link.key, times)
            if state[3] is None:
                if g is not None:
                    link.remember(state[0], g[0])
                first_snr = snr if static else snr[0]
                state[3] = 10.0 * math.log10(max(first_snr * power[0], 1e-300))
            ok = power * snr >= threshold
            used, remaining, fails, lost = _scan(ok, remaining, fails, rounds)
            # the process goes on from the last attempt made
            link.settle((state[0], state[0] + (used - 1) * spacing), None if g is None else (g[0], g[used - 1]), -1)
            state[0] += used * spacing
            state[1] += used
            if lost:
                state[2] = False

    if num_packets > 1:
        send(num_packets - 1, packet_bits)
    send(1, last_bits)
    airtime = state[0] - start_s
    return TransmissionOutcome(airtime, state[1], state[2]), state[3]


def compiled_gain(link) -> tuple[float, float] | None:
    """``(c0, c1)`` with ``h = c0 + c1 g`` when ``link`` can take the compiled path (numba
    present, a Gauss–Markov scatter, a fading law of that form); else None."""
    if arq_compiled.attempts is None or not link.random or not isinstance(link.scatter, GaussMarkovScatter):
        return None
    return link.fading.affine_gain()


def _send_compiled(link, gain, state: list, groups, snr0: float, threshold: float, rounds: int,
                   static: bool) -> None:
    """The packets of ``groups`` (``(count, spacing_s)`` each), as ``send`` in
    :func:`plan_over_time` does with numpy: the same draws in the same chunks, the same
    arithmetic (this is the simulator's hottest loop: locals, no helpers)."""
    scatter, large = link.scatter, link.process.large
    rng, stretch, track = scatter.rng, scatter.grid_stretch, scatter.track
    grid_s, li = large.step_s, link.li
    c0, c1 = gain
    column = _NO_COLUMN
    rho_steps = full_steps = _NO_COLUMN
    lag_s = scatter.step_s
    for count, spacing in groups:
        remaining, fails = count, 0
        while remaining > 0:
            n = min(remaining * rounds - fails, remaining + 8 + remaining // 3)
            t0 = state[0]
            if t0 < scatter.t_s - 1e-12:
                raise ValueError(f"times must be non-decreasing from {scatter.t_s!r} s, got {t0!r}")
            if track is None:  # one rho for all time
                n, _, a0, a, _, _ = stretch(t0, spacing, n)
            else:  # a trajectory's Doppler: the compiled loop reads the link's rho per step
                a0 = a = 0.0
                first_k = int(t0 / grid_s + 1e-9)
                last_k = int((t0 + spacing * (n - 1)) / grid_s + 1e-9)
                if last_k - first_k > 1:  # three steps or more: up to the end of the second
                    n = stretch(t0, spacing, n)[0]
                    last_k = int((t0 + spacing * (n - 1)) / grid_s + 1e-9)
                track.ensure(last_k)
                rho_steps, full_steps = track.rho_steps, track.full_steps
            w = rng.standard_normal(2 * n)
            if not static:
                last_row = max(int(math.floor((t0 + spacing * (n - 1)) / grid_s + 1e-9)), 0)
                if last_row >= column.size:
                    column = large.linear_column(li, t0 + spacing * (n - 1))
            g = np.empty(n, dtype=complex)
            used, remaining, fails, lost, first = arq_compiled.attempts(
                w, scatter.g.real, scatter.g.imag, a0, a, c0, c1, True, snr0, column, grid_s, t0, spacing,
                threshold, remaining, fails, rounds, g, rho_steps, full_steps, lag_s, scatter.t_s)
            if state[3] is None:
                link.remember(t0, g[0])
                state[3] = 10.0 * math.log10(max(first, 1e-300))
            last = used - 1
            scatter.t_s, scatter.g = t0 + last * spacing, complex(g[last])  # goes on from the last attempt
            state[0] = t0 + used * spacing
            state[1] += used
            if lost:
                state[2] = False


_NO_COLUMN = np.empty(0)


def _scan(ok: np.ndarray, remaining: int, fails: int, rounds: int) -> tuple[int, int, int, bool]:
    """Walk attempts ``ok`` (True: success) for ``remaining`` packets, the current one
    having failed ``fails`` times already. Returns (attempts used, packets still to
    send, failures of the current packet, whether a packet was lost)."""
    n = ok.size
    pos = 0
    lost = False
    while remaining > 0 and pos < n:
        rest = ok[pos:]
        trues = np.flatnonzero(rest)
        # failures before each success: the first run continues the current packet's
        gaps = np.diff(trues, prepend=-1) - 1
        if gaps.size:
            gaps[0] += fails
        bad = np.flatnonzero(gaps[:remaining] >= rounds)
        if bad.size:  # a packet fails every attempt before success number bad[0]
            i = int(bad[0])
            run_start = (int(trues[i - 1]) + 1) if i else 0
            carried = fails if i == 0 else 0
            pos += run_start + (rounds - carried)
            remaining -= i + 1
            fails = 0
            lost = True
            continue
        if trues.size >= remaining:
            pos += int(trues[remaining - 1]) + 1
            return pos, 0, 0, lost
        # every success here ends a packet; the tail run continues the next one
        tail = rest.size - (int(trues[-1]) + 1 if trues.size else 0)
        tail_fails = tail + (fails if not trues.size else 0)
        remaining -= trues.size
        if tail_fails >= rounds:  # the tail run is a whole loss (only if it is long enough)
            cut = rounds - (fails if not trues.size else 0)
            pos += (int(trues[-1]) + 1 if trues.size else 0) + cut
            remaining -= 1
            fails = 0
            lost = True
            continue
        return n, remaining, tail_fails, lost
    return pos, remaining, fails, lost


def _realised_db(snr_db: float, h: complex) -> float:
    power = h.real * h.real + h.imag * h.imag
    return snr_db + 10.0 * math.log10(max(power, 1e-300))


scan_attempts = _scan  # the packets' ends in a stretch of attempts (the interference book scans its own)
