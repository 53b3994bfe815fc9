"""How many bits an image may take over ``k`` channel uses, and whether they arrive.

Two rates (``evaluation.digital.rates``):

- ``capacity``: an ideal channel code adapted to the state the image meets, at
  ``eta = log2(1 + SNR)`` bits per channel use: ``floor(k * eta)`` bits, never lost.
  The upper bound of separate source and channel coding at this block length.
- ``mcs``: the transmitter picks the fastest CQI entry (:mod:`semnet.net.cqi_table`)
  whose threshold is at most the SNR it *last learnt* (the realised SNR of the
  previous image on the link; for the first image, the link's SNR that methods are
  told) less ``margin_db``: ``floor(k * eta_cqi)`` bits, lost when the SNR the image
  meets is below the entry's threshold. Below the lowest entry nothing is sent.

:func:`fixed_mcs_budgets` is the non-adaptive link of the classic "cliff" figure: one
entry chosen for a design SNR, whatever SNR each image meets.
"""

from __future__ import annotations

import math

import numpy as np

from semnet.net.cqi_table import select_cqi

__all__ = ["RATES", "capacity_bits", "fixed_mcs_budgets", "mcs_budgets", "rate_budgets"]

RATES = ("capacity", "mcs")


def capacity_bits(k: int, snr_db: np.ndarray) -> np.ndarray:
    """``floor(k * log2(1 + SNR))`` bits per image (``SNR`` linear, from dB); ``-inf`` dB gives 0."""
    snr = np.power(10.0, np.asarray(snr_db, dtype=float) / 10.0)
    return np.floor(k * np.log2(1.0 + snr) + 1e-9).astype(np.int64)


def mcs_budgets(k: int, realised_snr_db: np.ndarray, told_snr_db: float,
                margin_db: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Bits per image and whether each is lost, for images sent one after another.

    Image ``m`` is sent with the entry chosen from the realised SNR of image ``m - 1``
    (image 0: ``told_snr_db``) and lost when its own realised SNR is below that entry's
    threshold. An image with no usable entry gets 0 bits (nothing is sent; not lost)."""
    realised = np.asarray(realised_snr_db, dtype=float)
    known = np.concatenate([[told_snr_db], realised[:-1]])
    bits = np.zeros(realised.size, dtype=np.int64)
    lost = np.zeros(realised.size, dtype=bool)
    for m, snr in enumerate(known):
        entry = select_cqi(float(snr), margin_db)
        if entry is None:
            continue
        bits[m] = math.floor(k * entry.efficiency_bits + 1e-9)
        lost[m] = bool(realised[m] < entry.threshold_snr_db)
    return bits, lost


def fixed_mcs_budgets(k: int, realised_snr_db: np.ndarray, design_snr_db: float,
                      margin_db: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(bits, lost) per image for one entry chosen for ``design_snr_db`` and never changed."""
    realised = np.asarray(realised_snr_db, dtype=float)
    entry = select_cqi(design_snr_db, margin_db)
    if entry is None:
        return np.zeros(realised.size, dtype=np.int64), np.zeros(realised.size, dtype=bool)
    bits = np.full(realised.size, math.floor(k * entry.efficiency_bits + 1e-9), dtype=np.int64)
    return bits, realised < entry.threshold_snr_db


def rate_budgets(rate: str, k: int, realised_snr_db: np.ndarray, told_snr_db: float,
                 margin_db: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(bits, lost) per image under ``rate`` (one of :data:`RATES`)."""
    if rate == "capacity":
        bits = capacity_bits(k, realised_snr_db)
        return bits, np.zeros(bits.size, dtype=bool)
    if rate == "mcs":
        return mcs_budgets(k, realised_snr_db, told_snr_db, margin_db)
    raise ValueError(f"unknown digital rate {rate!r}; allowed: {', '.join(RATES)}")
