"""The digital separation baselines of a run (``evaluation.digital``), scored beside
the method on the same links, test images and comparison channel states as the
JSCC evaluator, and reported as ``summary.json``'s ``digital`` section.

A baseline is one (codec, rate) pair: e.g. ``webp_capacity`` is WebP at the highest
quality that fits ``floor(k log2(1 + SNR))`` bits of the state each image meets. The
baselines do not depend on the method's models, so a run scores them once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from semnet.digital.baseline import LinkOutcome, score_link
from semnet.digital.ladder import QualityLadder
from semnet.digital.states import comparison_snr_db, realised_snr_db, replayed_gains
from semnet.net.cqi_table import TABLE_NAME
from semnet.registry import image_codecs

__all__ = ["DigitalEvaluator", "DigitalOptions"]


@dataclass(frozen=True)
class DigitalOptions:
    codecs: tuple[str, ...] = ("jpeg", "webp")
    rates: tuple[str, ...] = ("capacity", "mcs")
    fallback: str = "previous"
    mcs_margin_db: float = 0.0


class DigitalEvaluator:
    """Every (codec, rate) baseline on every image link.

    ``channels.of(src, dst).fading`` is the link's fading law; ``states`` (a channel
    over time) the links' fixed comparison states; ``symbols`` the channel uses ``k``
    the JSCC images take."""

    def __init__(self, links, snr_db, test_images, channels, *, seed: int, symbols: int, options: DigitalOptions,
                 realisations: int = 1, batch_size: int = 256, states=None, with_ssim: bool = True, task=None):
        self.links = list(links)
        self.snr_db = snr_db
        self.test_images = test_images  # user -> uint8 (N, 3, H, W)
        self.channels = channels
        self.seed, self.symbols, self.options = seed, int(symbols), options
        self.realisations, self.batch_size = realisations, batch_size
        self.states, self.with_ssim = states, with_ssim
        self.task = task  # a TaskScorer (evaluation.task: classify) or None
        self._ladders: dict[tuple[int, str], list[QualityLadder]] = {}

    @classmethod
    def beside(cls, evaluator, symbols: int, options: DigitalOptions) -> "DigitalEvaluator":
        """The baselines on the links, images and states of a JSCC ``LinkEvaluator``."""
        return cls(evaluator.links, evaluator.snr_db, evaluator.test_images, evaluator.channels,
                   seed=evaluator.seed, symbols=symbols, options=options, realisations=evaluator.realisations,
                   batch_size=evaluator.batch_size, states=evaluator.states, with_ssim=evaluator.with_ssim,
                   task=getattr(evaluator, "task", None))

    def mean_image(self) -> torch.Tensor:
        """The dataset mean the fallback shows: per pixel, over every sender's test images."""
        stacked = torch.cat([self.test_images[src] for src in sorted({s for s, _ in self.links})])
        return stacked.float().div(255).mean(dim=0)

    def realised_snr_db(self, link: tuple[int, int]) -> np.ndarray:
        """The SNR (dB) each comparison send on ``link`` meets."""
        sends = self.realisations * self.test_images[link[0]].shape[0]
        if self.states is not None:
            return comparison_snr_db(self.states[link], sends)
        gains = replayed_gains(self.channels.of(*link).fading, self.seed, link,
                               self.test_images[link[0]].shape[0], self.realisations, self.batch_size, self.symbols)
        return realised_snr_db(self.snr_db[link], gains)

    def ladders(self, src: int, codec: str) -> list[QualityLadder]:
        key = (src, codec)
        if key not in self._ladders:
            self._ladders[key] = ladders_of(codec, self.test_images[src])
        return self._ladders[key]

    def evaluate(self) -> dict:
        """``summary.json``'s ``digital`` section."""
        opts = self.options
        mean = self.mean_image()
        realised = {link: self.realised_snr_db(link) for link in self.links}
        baselines = []
        for codec in opts.codecs:
            for rate in opts.rates:
                rows = []
                for link in self.links:
                    if self.test_images[link[0]].shape[0] == 0:
                        continue
                    task = self.task
                    outcome = score_link(self.ladders(link[0], codec), self.test_images[link[0]], realised[link],
                                         self.snr_db[link], self.symbols, rate, opts.fallback, mean,
                                         margin_db=opts.mcs_margin_db, with_ssim=self.with_ssim,
                                         classifier=None if task is None else task.classifier,
                                         labels=None if task is None else task.labels[link[0]])
                    rows.append(_link_row(link, self.snr_db[link], self.test_images[link[0]].shape[0], outcome))
                baselines.append(_baseline(codec, rate, rows))
        return {
            "channel_uses_per_image": self.symbols,
            "fallback": opts.fallback,
            "mcs_table": TABLE_NAME,
            "mcs_margin_db": opts.mcs_margin_db,
            "baselines": baselines,
        }


def ladders_of(codec: str, images: torch.Tensor) -> list[QualityLadder]:
    """Every image of ``images`` (``uint8`` ``(N, 3, H, W)``) on ``codec``'s ladder."""
    coder = image_codecs.get(codec)()
    return [QualityLadder(coder, image) for image in images.permute(0, 2, 3, 1).numpy()]


def _link_row(link, snr_db: float, images: int, out: LinkOutcome) -> dict:
    sent = out.sent_bytes[out.sent_bytes > 0]
    return {
        "src": link[0],
        "dst": link[1],
        "snr_db": snr_db,
        "psnr_db": round(float(out.psnr_db.mean()), 4),
        "ssim": round(float(out.ssim.mean()), 5) if np.isfinite(out.ssim).all() else None,
        "images": images,
        "sends": int(out.psnr_db.size),
        "lost": int(out.lost.sum()),
        "unfit": int(out.unfit.sum()),
        "budget_bits_mean": round(float(out.budget_bits.mean()), 2),
        "sent_bytes_mean": round(float(sent.mean()), 2) if sent.size else None,
        **({} if out.correct is None else {"accuracy": round(float(out.correct.mean()), 5)}),
    }


def _baseline(codec: str, rate: str, rows: list[dict]) -> dict:
    psnrs = np.array([r["psnr_db"] for r in rows], dtype=float)
    ssims = [r["ssim"] for r in rows if r["ssim"] is not None]
    sends = sum(r["sends"] for r in rows)
    return {
        "name": f"{codec}_{rate}",
        "codec": codec,
        "rate": rate,
        "psnr_db": round(float(psnrs.mean()), 4) if rows else None,
        "ssim": round(float(np.mean(ssims)), 5) if ssims and len(ssims) == len(rows) else None,
        "worst_link_psnr_db": round(float(psnrs.min()), 4) if rows else None,
        "psnr_db_std_over_links": round(float(psnrs.std()), 4) if rows else None,
        **({"accuracy": round(float(np.mean([r["accuracy"] for r in rows])), 5)}
           if rows and all("accuracy" in r for r in rows) else {}),
        "lost_share": round(sum(r["lost"] for r in rows) / sends, 6) if sends else None,
        "unfit_share": round(sum(r["unfit"] for r in rows) / sends, 6) if sends else None,
        "links": rows,
    }
