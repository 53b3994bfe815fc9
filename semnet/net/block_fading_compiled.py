"""The packet loop of static block-fading links, compiled with numba.

:func:`semnet.net.rate.plan_transmission` sends a Shannon-rate message over block
fading in rounds: every pending packet is tried once, with a fresh gain
``h = c0 + c1 (x + i y) / sqrt(2)`` per attempt (``x``, ``y`` standard normals: the
real parts of the round first, then the imaginary ones, as ``complex_normal_numpy``
draws them), and the packets whose capacity falls short are tried again in the next
round, up to ``max_retries + 1`` rounds. :func:`block_message` does the same walk in
one call.

Same bits as numpy, by construction:

- the normals: :func:`standard_normal` is numpy's ziggurat (``random_standard_normal``
  of ``numpy/random/src/distributions``, the port numba ships) reading the link
  generator's raw 64-bit outputs from an array (``BitGenerator.random_raw``), so the
  caller can hand back what was not used (:mod:`semnet.net.block_fading`);
- the gain: ``(x * s)^2 + (y * s)^2`` with ``s = 1 / sqrt(2)`` is numpy's complex
  division by ``sqrt(2)`` followed by ``h.real**2 + h.imag**2``; numba compiles
  without fast-math, so nothing is fused or reordered;
- the outage test: numpy's ``B log1p(g snr) / ln 2 < R`` uses numpy's own ``log1p``
  (vectorised, not libm's: they differ in the last bit), so the caller turns it into
  ``g snr < x_star`` with ``x_star`` found by numpy itself (:mod:`semnet.net.block_fading`);
- the airtime: the pending packets' bits are whole numbers below ``2^53``, so their
  sum is exact in any order, as numpy's pairwise sum is.

Without numba (``import numba`` fails) :data:`block_message` is None and the numpy
loop runs; ``tests/net/test_block_fading_compiled.py`` checks both give the same bits.
"""

from __future__ import annotations

# ruff: noqa: F821 - the compiled bodies read numba's ziggurat tables and each other's compiled
# versions as globals: __getattr__ binds them when numba is first imported
import numpy as np

_TO_DOUBLE = 1.0 / 9007199254740992.0  # numpy's next_double: (raw >> 11) * 2^-53


def _standard_normal(raw, pos):
    """(normal, next position) from the raw draws ``raw[pos:]``; position -1 when
    they run out. numpy's ziggurat for doubles, step for step."""
    while True:
        if pos >= raw.size:
            return 0.0, -1
        r = raw[pos]
        pos += 1
        idx = r & 0xff
        r >>= 8
        sign = r & 0x1
        rabs = (r >> 1) & 0x000fffffffffffff
        x = rabs * wi_double[idx]
        if sign & 0x1:
            x = -x
        if rabs < ki_double[idx]:
            return x, pos
        if idx == 0:  # the tail beyond ziggurat_nor_r
            while True:
                if pos + 1 >= raw.size:
                    return 0.0, -1
                xx = -ziggurat_nor_inv_r * np.log1p(-((raw[pos] >> 11) * _TO_DOUBLE))
                yy = -np.log1p(-((raw[pos + 1] >> 11) * _TO_DOUBLE))
                pos += 2
                if yy + yy > xx * xx:
                    if (rabs >> 8) & 0x1:
                        return -(ziggurat_nor_r + xx), pos
                    return ziggurat_nor_r + xx, pos
        else:  # the wedge: accept under the density
            if pos >= raw.size:
                return 0.0, -1
            u = (raw[pos] >> 11) * _TO_DOUBLE
            pos += 1
            if (fi_double[idx - 1] - fi_double[idx]) * u + fi_double[idx] < np.exp(-0.5 * x * x):
                return x, pos


def _standard_normals(raw, out):
    """Fill ``out`` with normals from ``raw``; returns the raw draws used (-1: too few)."""
    pos = 0
    for j in range(out.size):
        out[j], pos = standard_normal(raw, pos)
        if pos < 0:
            return -1
    return pos


def _power_gain(c0, c1, x, y):
    """``|h|^2`` of ``h = c0 + c1 (x + i y) / sqrt(2)`` as numpy computes it: the complex
    division by ``sqrt(2)`` is a product with ``1 / sqrt(2)``, the affine map adds
    nothing to the imaginary part, ``**2`` squares."""
    scale = 1.0 / np.sqrt(2.0)
    h_re = c0 + c1 * (x * scale)
    h_im = c1 * (y * scale)
    return h_re * h_re + h_im * h_im


def _block_message(raw, c0, c1, snr, x_star, full_packets, packet_bits, last_bits, target_bps, rounds):
    """One message: ``full_packets`` packets of ``packet_bits`` and one of ``last_bits``
    (its last). Returns (raw draws used, or -1 when ``raw`` ran out; airtime s; attempts;
    delivered). An attempt fails when ``|h|^2 snr < x_star``."""
    full, last = full_packets, True  # pending packets keep their order: the last one stays last
    airtime_s = 0.0
    attempts = 0
    pos = 0
    for _ in range(rounds):
        n = full + (1 if last else 0)
        attempts += n
        airtime_s += (full * packet_bits + (last_bits if last else 0.0)) / target_bps
        re = np.empty(n)
        for j in range(n):  # complex_normal_numpy: n real parts, then n imaginary parts
            re[j], pos = standard_normal(raw, pos)
            if pos < 0:
                return -1, 0.0, 0, False
        still_full = 0
        still_last = False
        for j in range(n):
            im, pos = standard_normal(raw, pos)
            if pos < 0:
                return -1, 0.0, 0, False
            if power_gain(c0, c1, re[j], im) * snr < x_star:  # outage: tried again next round
                if last and j == n - 1:
                    still_last = True
                else:
                    still_full += 1
        full, last = still_full, still_last
        if full == 0 and not last:
            break
    return pos, airtime_s, attempts, full == 0 and not last


_COMPILED = {"standard_normal": _standard_normal, "standard_normals": _standard_normals,
             "power_gain": _power_gain, "block_message": _block_message}


def __getattr__(name: str):
    """The compiled functions (None without numba), made on first use: importing numba
    costs about 0.3 s of CPU that a run whose links never take this loop would pay."""
    if name not in _COMPILED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    space = globals()
    try:
        from numba import njit
        from numba.np.random._constants import (
            fi_double,
            ki_double,
            wi_double,
            ziggurat_nor_inv_r,
            ziggurat_nor_r,
        )
    except ImportError:  # pragma: no cover - the numpy loop serves
        space.update(dict.fromkeys(_COMPILED))
        return None
    # the compiled bodies read these as globals when they compile (their first call)
    space.update(fi_double=fi_double, ki_double=ki_double, wi_double=wi_double,
                 ziggurat_nor_inv_r=ziggurat_nor_inv_r, ziggurat_nor_r=ziggurat_nor_r)
    space.update({key: njit(cache=True, nogil=True)(body) for key, body in _COMPILED.items()})
    return space[name]
