"""The hot loop of :mod:`semnet.net.arq`, compiled with numba.

One call takes a stretch of back-to-back attempts of a message on a Gauss–Markov link:
it builds the scatter ``g`` from the link's normal draws (made by the caller from the
link's own numpy generator, so the random stream is the one the numpy path uses), the
gain ``h = c0 + c1 g`` (Rayleigh: 0, 1; Rician: its line of sight and scatter
weights), each attempt's SNR (fixed, or read from the large-scale table's linear SNR
at the attempt's time) and walks the attempts for the packets' ends.

A stretch may hold two pieces (the link's Doppler follows a trajectory and changes at a
mobility step inside it): the recursion then runs on each with its own coefficient, as
:meth:`~semnet.channels.processes.gauss_markov.GaussMarkovScatter.peek_grid` does, the
coefficients from the link's ``rho`` per step by
:func:`~semnet.channels.processes.doppler_track.stretch_coefficients`, compiled here and
run as plain Python by the numpy path.

It repeats the numpy path's arithmetic operation for operation — the AR(1) recursion
as ``a^j * cumsum(x / a^j)`` in chunks with ``a^j`` a running product, a complex
divided by a real as numpy does it (times the reciprocal) — so both paths give the
same bits (``tests/net`` checks it); numba compiles without fast-math, so no
multiply-add is fused.

Why compiled: a message of 70 packets made about 20 numpy calls of a few microseconds
each; here it is one call. Without numba (``import numba`` fails) the numpy path runs.
numba is imported when :data:`attempts` is first read, not with this module.
"""

from __future__ import annotations

# ruff: noqa: F821 - _attempts reads the compiled _stretch as a global: __getattr__ binds it
# when numba is first imported
import math

import numpy as np

from semnet.channels.processes.doppler_track import stretch_coefficients

_LOG_RANGE = 8.0 * math.log(10.0)  # as semnet.channels.processes.gauss_markov


def _attempts(w, g_re, g_im, a0, a, c0, c1, random, snr_fixed, snr_column, step_s, t0, spacing, threshold,
              remaining, fails, rounds, out_g, rho_steps, full_steps, lag_s, from_s):
    """Walk ``n = len(w) // 2`` attempts; returns (used, remaining, fails, lost, first
    attempt's power x SNR). ``out_g`` (complex, length n) receives the scatter.

    The scatter's coefficient is ``a`` between all attempts and ``a0`` from the state, or,
    when ``rho_steps`` is not empty (a Doppler that follows the trajectories), those of
    :func:`~semnet.channels.processes.doppler_track.stretch_coefficients` from the state at
    ``from_s``: ``a`` between the first ``count`` attempts, ``a_cross`` from attempt
    ``count - 1`` to ``count`` and ``a2`` between the rest (the caller keeps the stretch
    within two mobility steps)."""
    n = w.size // 2
    count = n
    a_cross = 0.0
    a2 = 0.0
    if rho_steps.size > 0:
        _used, count, a0, a, a_cross, a2 = _stretch(rho_steps, full_steps, step_s, lag_s, from_s, t0, spacing, n)
    half = math.sqrt(0.5)
    # x_j: the innovations (a stretch of peek_grid), x_0 carries the state
    f = math.sqrt(1.0 - a * a)
    f0 = math.sqrt(1.0 - a0 * a0)
    x_re = np.empty(n)
    x_im = np.empty(n)
    for j in range(n):
        wr = w[j] * half
        wi = w[n + j] * half
        x_re[j] = wr * f
        x_im[j] = wi * f
        if j == 0:
            x_re[0] = a0 * g_re + f0 * wr
            x_im[0] = a0 * g_im + f0 * wi
    if count < n:  # the second piece's innovations; its first one is completed below
        f2 = math.sqrt(1.0 - a2 * a2)
        for j in range(count + 1, n):
            x_re[j] = w[j] * half * f2
            x_im[j] = w[n + j] * half * f2
    # the AR(1) recursion y_j = a y_{j-1} + x_j as numpy's _ar1 computes it, piece by piece
    begin = 0
    end = count
    piece_a = a
    while begin < n:
        if begin > 0:  # the crossing: x_c = a_cross y_{c-1} + sqrt(1 - a_cross^2) w_c
            fc = math.sqrt(1.0 - a_cross * a_cross)
            x_re[begin] = a_cross * out_g[begin - 1].real + fc * (w[begin] * half)
            x_im[begin] = a_cross * out_g[begin - 1].imag + fc * (w[n + begin] * half)
        size = end - begin
        if size == 1 or piece_a == 0.0:
            for j in range(begin, end):
                out_g[j] = complex(x_re[j], x_im[j])
        else:
            if piece_a >= 1.0:
                m = size
            else:
                m = max(1, min(size, int(_LOG_RANGE / -math.log(piece_a))))
            powers = np.empty(m)
            running = 1.0
            for k in range(m):  # a^k as numpy's _ar1 forms it: a running product
                powers[k] = running
                running = running * piece_a
            carry_re = 0.0
            carry_im = 0.0
            start = begin
            while start < end:
                stop = min(start + m, end)
                acc_re = 0.0
                acc_im = 0.0
                add_re = piece_a * carry_re
                add_im = piece_a * carry_im
                for j in range(start, stop):
                    p = powers[j - start]
                    scale = 1.0 / p
                    acc_re = acc_re + x_re[j] * scale
                    acc_im = acc_im + x_im[j] * scale
                    y_re = p * (acc_re + add_re)
                    y_im = p * (acc_im + add_im)
                    out_g[j] = complex(y_re, y_im)
                carry_re = out_g[stop - 1].real
                carry_im = out_g[stop - 1].imag
                start = stop
        begin = end
        end = n
        piece_a = a2
    # attempts: success when |h|^2 snr >= threshold; a packet ends at a success, or lost
    # after `rounds` failures in a row
    used = 0
    lost = False
    first = 0.0
    for j in range(n):
        if random:
            h_re = c0 + c1 * out_g[j].real
            h_im = c1 * out_g[j].imag
            power = h_re * h_re + h_im * h_im
        else:
            power = 1.0
        if snr_column.size == 0:
            snr = snr_fixed
        else:  # the large-scale table's linear SNR at the attempt's grid time
            t = t0 + spacing * float(j)
            snr = snr_column[max(int(math.floor(t / step_s + 1e-9)), 0)]
        if j == 0:
            first = snr * power
        used = j + 1
        if power * snr >= threshold:
            remaining -= 1
            fails = 0
        else:
            fails += 1
            if fails >= rounds:
                remaining -= 1
                fails = 0
                lost = True
        if remaining == 0:
            break
    return used, remaining, fails, lost, first


_COMPILED = {"_stretch": stretch_coefficients, "attempts": _attempts}


def __getattr__(name: str):
    """The compiled functions (None without numba), made on first use: importing numba
    costs about 0.3 s of CPU that a run without ARQ over fading links would pay."""
    if name not in _COMPILED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from numba import njit
    except ImportError:  # pragma: no cover - the numpy path serves
        njit = None
    # _attempts reads _stretch as a global when it compiles (its first call)
    globals().update({key: njit(cache=True, nogil=True)(body) if njit is not None else None
                      for key, body in _COMPILED.items()})
    return globals()[name]
