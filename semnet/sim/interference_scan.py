"""The interference book's arithmetic over many interferers at once.

:func:`hit_fades` draws the small-scale power gains ``|g|^2`` of a booking's hits, in the
order the book hears them, from the book's stream: in one call of normals when every
law draws ``h = c0 + c1 (x + i y) / sqrt(2)`` (Rayleigh, Rician), which gives the draws
one call per hit would give (numpy's normals are drawn one by one either way, and each
gain is the law's own arithmetic on them); hit by hit otherwise.

:func:`attempt_nats` is the mean capacity of each packet attempt among the interferers
(:meth:`InterferenceBook.plan_packets <semnet.sim.interference.InterferenceBook.plan_packets>`).
The attempts that an interferer starts or ends inside are cut into pieces; that walk is
compiled with numba (:func:`_split_attempts`), repeating the Python walk's arithmetic
operation for operation (sums left to right, libm's ``log1p``, no fused multiply-add),
so both give the same bits; without numba the Python walk runs.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from semnet.channels.laws.rayleigh import Rayleigh
from semnet.net.block_fading import draws_affine_normals

__all__ = ["attempt_nats", "hit_fades", "piecewise", "power_gains"]

_SCALE = 1.0 / math.sqrt(2.0)  # numpy divides a complex by sqrt(2) as times this reciprocal


def _plain_rayleigh(law) -> bool:
    """Whether ``law`` draws ``h = (x + i y) / sqrt(2)`` and ``|h|^2`` as Rayleigh does."""
    return draws_affine_normals(law) and type(law).sample_numpy is Rayleigh.sample_numpy


def power_gains(law, size: int, rng: np.random.Generator) -> np.ndarray:
    """``law.power_gain(size, rng)``, the same bits: on Rayleigh ``(x s)^2 + (y s)^2``
    straight from the normals (no complex arrays), ``s = 1 / sqrt(2)``."""
    if not _plain_rayleigh(law):
        return law.power_gain(size, rng)
    z = rng.standard_normal(2 * size)  # all real parts, then all imaginary parts
    z *= _SCALE
    z *= z
    return z[:size] + z[size:]


def hit_fades(law_numbers: np.ndarray, laws: list, rng: np.random.Generator) -> np.ndarray:
    """``|g|^2`` of hits whose laws are ``laws[law_numbers]``, drawn in that order (module docstring)."""
    out = np.ones(law_numbers.size)
    used = [laws[i] for i in np.unique(law_numbers).tolist()]
    if not any(law.random for law in used):
        return out
    if not all(draws_affine_normals(law) or not law.random for law in used):
        for j, number in enumerate(law_numbers.tolist()):
            law = laws[number]
            if law.random:
                out[j] = float(law.power_gain(1, rng)[0])
        return out
    random = np.array([laws[i].random for i in range(len(laws))])[law_numbers]
    slots = np.flatnonzero(random)
    z = rng.standard_normal(2 * slots.size)  # per hit: its real part, then its imaginary part
    numbers = law_numbers[slots]
    for number in np.unique(numbers).tolist():
        mine = numbers == number
        if _plain_rayleigh(laws[number]):
            x, y = z[0::2][mine] * _SCALE, z[1::2][mine] * _SCALE
            out[slots[mine]] = x * x + y * y
            continue
        scatter = (z[0::2][mine] + 1j * z[1::2][mine]) / math.sqrt(2.0)  # complex_normal_numpy's arithmetic
        h = laws[number].from_gaussian(scatter)
        out[slots[mine]] = h.real**2 + h.imag**2  # FadingModel.power_gain's
    return out


def attempt_nats(times, tau: float, signal, starts, ends, powers, law_numbers, laws, rng) -> np.ndarray:
    """Mean capacity (nats per channel use) of attempts ``[t, t + tau)`` at ``times``
    with received signal ``signal`` (``S |h|^2``) among interferers ``starts``, ``ends``,
    ``powers`` with laws ``laws[law_numbers]`` (each faded afresh per attempt: one draw
    per attempt and interferer, law by law in the order they first appear)."""
    n, m = times.size, powers.size
    if m == 0:
        return np.log1p(signal)
    faded = np.empty((n, m))
    if law_numbers.min() == law_numbers.max():  # one law (the usual case)
        order = [int(law_numbers[0])]
    else:
        _, first = np.unique(law_numbers, return_index=True)
        order = law_numbers[np.sort(first)].tolist()
    for number in order:
        law = laws[number]
        cols = np.flatnonzero(law_numbers == number) if len(order) > 1 else slice(None)
        size = m if len(order) == 1 else cols.size
        faded[:, cols] = power_gains(law, n * size, rng).reshape(n, size) if law.random else 1.0
    faded *= powers
    t0, t1 = times[:, None], times[:, None] + tau
    covers = (starts <= t0) & (ends >= t1)
    touches = (starts < t1) & (ends > t0)
    nats = np.log1p(signal / (1.0 + (faded * covers).sum(axis=1)))
    split = np.flatnonzero((touches & ~covers).any(axis=1))  # an interferer starts or ends inside
    if split.size:
        kernel = _split_compiled()
        if kernel is not None:
            kernel(split, times, tau, signal, starts, ends, faded, touches, nats)
        else:
            _split_attempts(split, times, tau, signal, starts, ends, faded, touches, nats)
    return nats


def _split_attempts(split, times, tau, signal, starts, ends, faded, touches, nats) -> None:
    """``nats[j]`` of the attempts ``split``: the capacity of each piece between the
    interferers' starts and ends, weighted by its length (the book's Python walk)."""
    for j in split:
        a, b = times[j], times[j] + tau
        terms = [(max(starts[i], a), min(ends[i], b), faded[j, i]) for i in np.flatnonzero(touches[j])]
        nats[j] = sum((hi - lo) * math.log1p(signal[j] / (1.0 + i)) for lo, hi, i in piecewise(a, b, terms)) / tau


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
    for a, b in itertools.pairwise(edges):
        if b <= a:
            continue
        total = sum(v for t0, t1, v in terms if t0 <= a and t1 >= b)
        out.append((a, b, total))
    return out


def _split_kernel(split, times, tau, signal, starts, ends, faded, touches, nats):  # pragma: no cover - compiled
    """:func:`_split_attempts` for numba: the same cuts, sums and ``log1p``."""
    m = starts.size
    lo = np.empty(m)
    hi = np.empty(m)
    val = np.empty(m)
    cuts = np.empty(2 * m + 2)
    for j in split:
        a = times[j]
        b = times[j] + tau
        k = 0
        for i in range(m):
            if touches[j, i]:
                lo[k] = max(starts[i], a)
                hi[k] = min(ends[i], b)
                val[k] = faded[j, i]
                k += 1
        c = 0
        cuts[c] = a
        cuts[c + 1] = b
        c = 2
        for q in range(k):
            if a < lo[q] < b:
                cuts[c] = lo[q]
                c += 1
            if a < hi[q] < b:
                cuts[c] = hi[q]
                c += 1
        for p in range(1, c):  # sort the cuts (a few): insertion sort
            v = cuts[p]
            q = p - 1
            while q >= 0 and cuts[q] > v:
                cuts[q + 1] = cuts[q]
                q -= 1
            cuts[q + 1] = v
        acc = 0.0
        for e in range(c - 1):
            x, y = cuts[e], cuts[e + 1]
            if y <= x:  # a cut met twice
                continue
            total = 0.0
            for q in range(k):
                if lo[q] <= x and hi[q] >= y:
                    total += val[q]
            acc += (y - x) * math.log1p(signal[j] / (1.0 + total))
        nats[j] = acc / tau


@functools.cache
def _split_compiled():
    """The compiled kernel (None without numba), made on first use: importing numba costs
    about 0.3 s of CPU that a run without interference would pay."""
    try:
        from numba import njit
    except ImportError:  # pragma: no cover - the Python walk serves
        return None
    return njit(cache=True)(_split_kernel)
