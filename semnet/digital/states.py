"""The SNR each comparison send meets: the same states the JSCC evaluator
(:class:`semnet.fl.loop.evaluation.LinkEvaluator`) scores every method on.

- On a channel over time the evaluator is given the link's fixed comparison states
  ``(snr_db[s], h[s])``; send ``m = r * N + n`` meets state ``m mod S``.
- Otherwise the evaluator's channel draws each batch's gains, then its noise, from a
  generator seeded by ``(seed, "eval", src, dst)``. :func:`replayed_gains` makes the
  same draws in the same order (gains of a batch, then its ``(B, k)`` noise), so send
  ``m`` meets the gain the JSCC image ``m`` met, at the link's SNR.

The realised SNR is ``snr_db + 10 log10 |h|^2`` (``-inf`` where ``h = 0``).
"""

from __future__ import annotations

import numpy as np
import torch

from semnet.channels.laws import complex_normal_torch
from semnet.seeding import derive_seed

__all__ = ["comparison_snr_db", "realised_snr_db", "replayed_gains"]


def replayed_gains(fading, seed: int, link: tuple[int, int], images: int, realisations: int, batch_size: int,
                   symbols: int, device: torch.device | str = "cpu") -> np.ndarray:
    """The complex gain of every comparison send on ``link`` (``realisations * images``
    values), as the evaluator's channel (fading law ``fading``) draws them."""
    gen = torch.Generator(device=device)
    gen.manual_seed(derive_seed(seed, "eval", *link))
    gains = []
    for _ in range(realisations):
        for start in range(0, images, batch_size):
            batch = min(batch_size, images - start)
            gains.append(fading.sample_torch(batch, gen, device, torch.float32).cpu().numpy())
            complex_normal_torch((batch, symbols), gen, device, torch.float32)  # the batch's noise
    return np.concatenate(gains) if gains else np.zeros(0, complex)


def realised_snr_db(snr_db: np.ndarray | float, gains: np.ndarray) -> np.ndarray:
    """``snr_db + 10 log10 |h|^2`` per send."""
    power = np.abs(np.asarray(gains)) ** 2
    with np.errstate(divide="ignore"):
        return np.asarray(snr_db, dtype=float) + 10.0 * np.log10(power)


def comparison_snr_db(states: tuple[np.ndarray, np.ndarray], sends: int) -> np.ndarray:
    """The realised SNR of ``sends`` sends over a link's fixed comparison states, in order."""
    snr, h = states
    idx = np.arange(sends) % len(snr)
    return realised_snr_db(np.asarray(snr)[idx], np.asarray(h)[idx])
