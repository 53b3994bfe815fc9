"""Score one link's digital baseline: each image compressed by a real codec to the
bits its channel state allows, decoded, or replaced by the receiver's fallback.

Images are sent in the evaluator's order (image ``n`` of realisation ``r`` is send
``m = r * N + n``). For each send the transmitter knows its budget (the rate,
:mod:`semnet.digital.link_budget`) and sends the highest rung of the codec's ladder
that fits; then

- **delivered**: the receiver shows the decoded image;
- **unfit**: no rung fits the budget (or the rate gave none), nothing is sent;
- **lost**: sent at a rate the SNR it met cannot carry (``mcs`` only).

An unfit or lost image is replaced by the fallback (``evaluation.digital.fallback``):
``previous`` — whatever the receiver showed last on that link (the dataset mean
before anything arrived); ``mean`` — the dataset mean image (per pixel, over the test
images of every sender). Its PSNR and SSIM against the image that was sent count in
the link's mean like any other image's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from semnet.digital.ladder import QualityLadder
from semnet.digital.link_budget import rate_budgets
from semnet.metrics.image import psnr, ssim

__all__ = ["FALLBACKS", "LinkOutcome", "score_link"]

FALLBACKS = ("previous", "mean")


@dataclass(frozen=True)
class LinkOutcome:
    """Per send: PSNR (dB), SSIM (NaN without), budget bits, bytes sent (0: nothing), lost, unfit,
    and whether the task classifier got the shown image right (None without a task)."""

    psnr_db: np.ndarray
    ssim: np.ndarray
    budget_bits: np.ndarray
    sent_bytes: np.ndarray
    lost: np.ndarray
    unfit: np.ndarray
    correct: np.ndarray | None = None


def score_link(ladders: list[QualityLadder], originals: torch.Tensor, realised_snr_db: np.ndarray,
               told_snr_db: float, k: int, rate: str, fallback: str, mean_image: torch.Tensor, *,
               margin_db: float = 0.0, with_ssim: bool = True,
               budgets: tuple[np.ndarray, np.ndarray] | None = None, classifier=None,
               labels: torch.Tensor | None = None) -> LinkOutcome:
    """``ladders[n]`` and ``originals[n]`` (``uint8`` ``(N, 3, H, W)``) are image ``n``;
    ``realised_snr_db[m]`` the SNR send ``m`` meets (``len`` a multiple of ``N``);
    ``mean_image`` float ``(3, H, W)`` in [0, 1]. ``budgets``: (bits, lost) per send
    computed elsewhere (e.g. :func:`~semnet.digital.link_budget.fixed_mcs_budgets`)
    instead of ``rate``'s. ``classifier`` (logits of images) and ``labels[n]`` (image
    ``n``'s class): also whether each shown image is classified right."""
    if fallback not in FALLBACKS:
        raise ValueError(f"unknown fallback {fallback!r}; allowed: {', '.join(FALLBACKS)}")
    n_images = len(ladders)
    if budgets is None:
        bits, lost = rate_budgets(rate, k, realised_snr_db, told_snr_db, margin_db)
    else:
        bits, lost = np.asarray(budgets[0], dtype=np.int64), np.array(budgets[1], dtype=bool)
    sends = bits.size
    shown = torch.empty((sends, *originals.shape[1:]), dtype=torch.float32)
    sent_bytes = np.zeros(sends, dtype=np.int64)
    unfit = np.zeros(sends, dtype=bool)
    last = mean_image
    for m in range(sends):
        ladder = ladders[m % n_images]
        rung = ladder.best(int(bits[m]) // 8)
        if rung is None:
            unfit[m] = True
            lost[m] = False  # nothing was sent, so nothing was lost
        else:
            sent_bytes[m] = ladder.sizes_bytes[rung]
        if rung is None or lost[m]:
            shown[m] = last if fallback == "previous" else mean_image
        else:
            shown[m] = torch.from_numpy(ladder.decoded(rung)).permute(2, 0, 1).float().div_(255)
        last = shown[m]
    reference = originals[np.arange(sends) % n_images].float().div(255)
    values = psnr(shown, reference).numpy().astype(float)
    ssims = ssim(shown, reference).numpy().astype(float) if with_ssim else np.full(sends, np.nan)
    correct = None
    if classifier is not None:
        with torch.no_grad():
            predicted = torch.cat([classifier(shown[s:s + 256]).argmax(1) for s in range(0, sends, 256)])
        correct = (predicted == labels[np.arange(sends) % n_images]).numpy()
    return LinkOutcome(values, ssims, bits, sent_bytes, lost, unfit, correct)
