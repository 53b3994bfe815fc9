"""Bit rates and the airtime of one message on a link.

Two ways a link turns bits into seconds (:func:`plan_transmission`):

``"fixed"``
    A configured bit rate: airtime ``bits / rate_bps``, always delivered.
``"shannon"``
    The transmitter knows only the link's average SNR and picks the target rate
    ``R = backoff * B * log2(1 + snr)``. The message is cut into packets; each
    packet attempt sees its own block-fading draw and fails (outage) when the
    instantaneous capacity ``B * log2(1 + |h|^2 snr)`` is below ``R``. Failed
    packets are resent up to ``max_retries`` times (no feedback delay modelled).
``"mcs"``
    Link adaptation with the CQI table (:mod:`semnet.net.mcs`): the entry is picked
    from the SNR the transmitter last learnt (``known_snr_db``), the rate is its
    efficiency times ``B``, and an attempt fails when ``|h|^2 snr`` is below the
    entry's threshold; retransmissions as in ``"shannon"``.

Semantic (JSCC) images are not bits: ``k`` complex channel uses take
``k / B`` seconds (:func:`symbol_airtime_s`), since a band of ``B`` Hz carries
``B`` complex symbols per second.

Arguments here come from validated link objects, so bad values are
programmer errors and raise ``ValueError``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from semnet.channels import FadingModel, make_fading
from semnet.net.mcs import McsChoice, choose_mcs
from semnet.registry import channels

__all__ = ["TransmissionOutcome", "plan_transmission", "shannon_rate_bps", "symbol_airtime_s"]

_LN2 = math.log(2.0)
_MODES = ("fixed", "shannon", "mcs")


def shannon_rate_bps(bandwidth_hz, snr_linear):
    """Shannon capacity ``B log2(1 + snr)`` in bit/s, element-wise.

    Parameters
    ----------
    bandwidth_hz : float or array_like
        Bandwidth in Hz, ``> 0``.
    snr_linear : float or array_like
        Linear SNR, ``>= 0``.

    Returns
    -------
    float or numpy.ndarray
        Rate in bit/s.
    """
    bandwidth = np.asarray(bandwidth_hz, dtype=float)
    snr = np.asarray(snr_linear, dtype=float)
    if np.any(~(bandwidth > 0)):
        raise ValueError(f"bandwidth_hz must be > 0, got {bandwidth_hz!r}")
    if np.any(~(snr >= 0)):
        raise ValueError(f"snr_linear must be >= 0, got {snr_linear!r}")
    return (bandwidth * np.log1p(snr) / _LN2)[()]


@dataclass(frozen=True, slots=True)
class TransmissionOutcome:
    """What sending one message cost.

    Attributes
    ----------
    airtime_s : float
        Seconds the channel was occupied, summed over all packet attempts.
    attempts : int
        Packet transmissions made (first tries plus retries).
    delivered : bool
        False if some packet failed on every allowed attempt.
    """

    airtime_s: float
    attempts: int
    delivered: bool


def plan_transmission(
    bits,
    *,
    mode: str,
    rng: np.random.Generator | None,
    rate_bps: float | None = None,
    bandwidth_hz: float | None = None,
    snr_db: float | None = None,
    fading: str | FadingModel = "none",
    backoff: float = 0.5,
    packet_bits: int = 12000,
    max_retries: int = 4,
    known_snr_db: float | None = None,
    mcs_margin_db: float = 0.0,
) -> TransmissionOutcome:
    """Airtime, attempts and delivery of one ``bits``-long message on one link.

    Parameters
    ----------
    bits : int or float
        Message size in bits, ``>= 0``.
    mode : {"fixed", "shannon", "mcs"}
        Rate model (see the module docstring).
    rng : numpy.random.Generator or None
        Source of the fading draws; may be None when nothing is random
        (``mode="fixed"`` or a model that draws nothing, such as ``fading="none"``).
    rate_bps : float, optional
        Bit rate for ``mode="fixed"``, ``> 0``.
    bandwidth_hz : float, optional
        Bandwidth in Hz for ``mode="shannon"``, ``> 0``.
    snr_db : float, optional
        Average link SNR in dB for ``mode="shannon"`` and ``"mcs"`` (finite).
    fading : FadingModel or str, optional
        A built model (:func:`semnet.channels.make_fading`, e.g.
        ``make_fading("rician", k_factor=3.0)``), or the name of one registered in
        :data:`semnet.registry.channels`, built with its default options.
    backoff : float, optional
        Target rate as a fraction of the average-SNR capacity, ``> 0``. Up to 1 an
        unfaded link never fails; above 1 even an unfaded link always fails.
    packet_bits : int, optional
        Packet size in bits, ``> 0``; the last packet carries the remainder.
    max_retries : int, optional
        Retransmissions allowed per packet, ``>= 0``.
    known_snr_db : float, optional
        ``mode="mcs"``: the SNR (dB) the entry is picked from; None: ``snr_db``.
    mcs_margin_db : float, optional
        ``mode="mcs"``: how far below ``known_snr_db`` the entry's threshold must lie.

    Returns
    -------
    TransmissionOutcome
        In ``"shannon"`` mode every attempt of a packet of ``b`` bits costs
        ``b / R`` seconds; packets proceed independently, so the airtime counts
        all attempts of all packets even when one of them is finally lost.

    Raises
    ------
    ValueError
        Unknown mode, missing or out-of-range arguments.

    Examples
    --------
    >>> plan_transmission(8_000_000, mode="fixed", rng=None, rate_bps=10e6).airtime_s
    0.8
    """
    # The fixed path is called per message in large simulations: keep it free of numpy.
    if mode == "fixed":
        if rate_bps is None or not rate_bps > 0:
            raise ValueError(f"mode 'fixed' needs rate_bps > 0, got {rate_bps!r}")
        if not bits >= 0:
            raise ValueError(f"bits must be >= 0, got {bits!r}")
        return TransmissionOutcome(bits / rate_bps, 1, True)
    if mode not in _MODES:
        raise ValueError(f"unknown mode {mode!r}; valid modes: {', '.join(_MODES)}")
    model = _check_packets(mode, bits, bandwidth_hz, snr_db, fading, backoff, packet_bits, max_retries)
    snr = 10.0 ** (snr_db / 10.0)
    if mode == "mcs":
        known = snr_db if known_snr_db is None else known_snr_db
        choice = choose_mcs(known, mcs_margin_db, bandwidth_hz)
        return _send_packets(bits, rng, choice.target_bps, _mcs_outage(snr, choice), snr < choice.threshold_linear,
                             model, packet_bits, max_retries)
    target_bps = backoff * bandwidth_hz * math.log1p(snr) / _LN2
    if not target_bps > 0:
        raise ValueError(f"snr_db = {snr_db!r} is too low for a positive target rate")
    unfaded_outage = bandwidth_hz * math.log1p(snr) / _LN2 < target_bps
    return _send_packets(bits, rng, target_bps, _shannon_outage(snr, bandwidth_hz, target_bps), unfaded_outage,
                         model, packet_bits, max_retries)


def _check_packets(mode, bits, bandwidth_hz, snr_db, fading, backoff, packet_bits, max_retries) -> FadingModel:
    """The fading law of a packet mode's link, once its arguments are checked."""
    if not bits >= 0:
        raise ValueError(f"bits must be >= 0, got {bits!r}")
    if bandwidth_hz is None or not bandwidth_hz > 0:
        raise ValueError(f"mode {mode!r} needs bandwidth_hz > 0, got {bandwidth_hz!r}")
    if snr_db is None or not math.isfinite(snr_db):
        raise ValueError(f"mode {mode!r} needs a finite snr_db, got {snr_db!r}")
    if not isinstance(fading, FadingModel) and fading not in channels:
        raise ValueError(f"unknown fading {fading!r}; valid kinds: {', '.join(channels.names())}")
    model = fading if isinstance(fading, FadingModel) else make_fading(fading)
    if not (backoff > 0 and math.isfinite(backoff)):
        raise ValueError(f"backoff must be finite and > 0, got {backoff!r}")
    if isinstance(packet_bits, bool) or not isinstance(packet_bits, (int, np.integer)) or packet_bits <= 0:
        raise ValueError(f"packet_bits must be a positive integer, got {packet_bits!r}")
    if isinstance(max_retries, bool) or not isinstance(max_retries, (int, np.integer)) or max_retries < 0:
        raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}")
    return model


def _shannon_outage(snr: float, bandwidth_hz: float, target_bps: float):
    """Whether attempts of power gains ``gain`` fail at the Shannon target rate."""
    return lambda gain: bandwidth_hz * np.log1p(gain * snr) / _LN2 < target_bps


def _mcs_outage(snr: float, choice: McsChoice):
    """Whether attempts of power gains ``gain`` fall below the entry's threshold."""
    return lambda gain: gain * snr < choice.threshold_linear


def _send_packets(bits, rng, target_bps: float, outage, unfaded_outage: bool, model: FadingModel, packet_bits: int,
                  max_retries: int) -> TransmissionOutcome:
    """``bits`` in packets at ``target_bps``; ``outage(gain)`` says which attempts of
    power gains ``gain`` fail, ``unfaded_outage`` whether an attempt at ``|h|^2 = 1`` does."""
    num_packets = math.ceil(bits / packet_bits)
    if num_packets == 0:
        return TransmissionOutcome(0.0, 0, True)
    rounds = max_retries + 1

    if not model.random:
        # Deterministic (h = 1): every attempt sees |h|^2 = 1, so all succeed or all fail.
        if unfaded_outage:
            return TransmissionOutcome(rounds * bits / target_bps, rounds * num_packets, False)
        return TransmissionOutcome(bits / target_bps, num_packets, True)

    if rng is None:
        raise ValueError(f"fading {model.name!r} needs an rng")
    sizes = np.full(num_packets, float(packet_bits))
    sizes[-1] = bits - (num_packets - 1) * packet_bits
    pending = sizes
    airtime_s = 0.0
    attempts = 0
    for _ in range(rounds):
        attempts += pending.size
        airtime_s += float(pending.sum()) / target_bps
        gain = model.power_gain(pending.size, rng)
        pending = pending[outage(gain)]
        if pending.size == 0:
            break
    return TransmissionOutcome(airtime_s, attempts, pending.size == 0)


def symbol_airtime_s(num_complex_symbols, bandwidth_hz):
    """Seconds to send ``num_complex_symbols`` complex channel uses over ``bandwidth_hz``.

    A band of ``B`` Hz carries ``B`` complex symbols per second, so the airtime of
    a semantic transmission of ``k`` channel uses is ``k / B``.

    Parameters
    ----------
    num_complex_symbols : int, float or array_like
        Complex channel uses, ``>= 0``.
    bandwidth_hz : float or array_like
        Bandwidth in Hz, ``> 0``.

    Returns
    -------
    float or numpy.ndarray
        Airtime in seconds.
    """
    symbols = np.asarray(num_complex_symbols, dtype=float)
    bandwidth = np.asarray(bandwidth_hz, dtype=float)
    if np.any(~(symbols >= 0)):
        raise ValueError(f"num_complex_symbols must be >= 0, got {num_complex_symbols!r}")
    if np.any(~(bandwidth > 0)):
        raise ValueError(f"bandwidth_hz must be > 0, got {bandwidth_hz!r}")
    return (symbols / bandwidth)[()]
