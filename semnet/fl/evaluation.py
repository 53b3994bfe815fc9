"""Per-link evaluation: quality of ``D_j(ch_ij(E_i(x)))`` on i's held-out images.

Each test image is sent with fresh channel noise (and ``realisations`` fading/noise
draws); the noise of link i->j comes from a generator seeded by (seed, i, j), so
every method is scored on the same channel draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from semnet.metrics.image import psnr, ssim
from semnet.models import Channel, transmit
from semnet.seeding import derive_seed


@dataclass(frozen=True)
class LinkQuality:
    src: int
    dst: int
    snr_db: float
    psnr_db: float
    ssim: float
    images: int

    def as_dict(self) -> dict:
        return {
            "src": self.src,
            "dst": self.dst,
            "snr_db": self.snr_db,
            "psnr_db": round(self.psnr_db, 4),
            "ssim": round(self.ssim, 5),
            "images": self.images,
        }


def summarize(links: list[LinkQuality]) -> dict:
    """Mean over links, worst link and spread of PSNR; mean SSIM."""
    if not links:
        return {"psnr_db": float("nan"), "ssim": float("nan"), "worst_link_psnr_db": float("nan")}
    values = np.array([q.psnr_db for q in links])
    return {
        "psnr_db": round(float(values.mean()), 4),
        "ssim": round(float(np.mean([q.ssim for q in links])), 5),
        "worst_link_psnr_db": round(float(values.min()), 4),
        "psnr_db_std_over_links": round(float(values.std()), 4),
    }


class LinkEvaluator:
    """Scores every image link with the encoder of its transmitter and decoder of its receiver."""

    def __init__(
        self,
        links: list[tuple[int, int]],
        snr_db: dict[tuple[int, int], float],
        test_images: dict[int, torch.Tensor],
        channel: Channel,
        device: torch.device,
        *,
        seed: int,
        realisations: int = 1,
        batch_size: int = 256,
        with_ssim: bool = True,
    ):
        self.links = links
        self.snr_db = snr_db
        self.test_images = test_images  # user -> uint8 (N,3,H,W)
        self.channel = channel
        self.device = device
        self.seed = seed
        self.realisations = realisations
        self.batch_size = batch_size
        self.with_ssim = with_ssim

    def at_snr(self, snr_db: float) -> "LinkEvaluator":
        """The same links and images, every link at ``snr_db`` (for SNR sweeps)."""
        return LinkEvaluator(
            self.links,
            {link: float(snr_db) for link in self.links},
            self.test_images,
            self.channel,
            self.device,
            seed=self.seed,
            realisations=self.realisations,
            batch_size=self.batch_size,
            with_ssim=self.with_ssim,
        )

    @torch.no_grad()
    def evaluate(
        self,
        encoder_of: Callable[[int], nn.Module],
        decoder_of: Callable[[int], nn.Module],
        links: list[tuple[int, int]] | None = None,
    ) -> list[LinkQuality]:
        results = []
        for src, dst in links if links is not None else self.links:
            encoder, decoder = encoder_of(src), decoder_of(dst)
            was_training = [encoder.training, decoder.training]
            encoder.eval()
            decoder.eval()
            results.append(self._one(src, dst, encoder, decoder))
            encoder.train(was_training[0])
            decoder.train(was_training[1])
        return results

    def _one(self, src: int, dst: int, encoder: nn.Module, decoder: nn.Module) -> LinkQuality:
        images = self.test_images[src]
        gen = torch.Generator(device=self.device)
        gen.manual_seed(derive_seed(self.seed, "eval", src, dst))
        snr = self.snr_db[(src, dst)]
        psnr_sum = ssim_sum = 0.0
        count = 0
        for _ in range(self.realisations):
            for start in range(0, images.shape[0], self.batch_size):
                x = images[start : start + self.batch_size].to(self.device).float().div_(255)
                snr_t = torch.full((x.shape[0],), snr, device=self.device)
                x_hat = transmit(encoder, decoder, x, snr_t, self.channel, gen).clamp_(0, 1)
                psnr_sum += float(psnr(x_hat, x).sum())
                if self.with_ssim:
                    ssim_sum += float(ssim(x_hat, x).sum())
                count += x.shape[0]
        ssim_mean = ssim_sum / count if self.with_ssim else float("nan")
        return LinkQuality(src, dst, snr, psnr_sum / count, ssim_mean, images.shape[0])
