"""Per-link evaluation: quality of ``D_j(ch_ij(E_i(x)))`` on i's held-out images.

Two views of a link's quality (see ``docs/network-over-time.md``):

- the **comparison** score (:class:`LinkEvaluator`, what ``metrics.jsonl`` and
  ``summary.json`` report): each test image is sent with fresh channel noise (and
  ``realisations`` fading/noise draws); the noise of link i->j comes from a generator
  seeded by (seed, i, j), so every method, branch and phase is scored on the same
  channel draws. On a channel that varies in time the evaluator is given ``states``:
  a fixed set of (SNR, gain) pairs drawn once from the link's process (on a fixed time
  grid, :meth:`semnet.channels.processes.timevarying.ChannelProcess.comparison`); image ``n`` of
  realisation ``r`` meets state ``(r * N + n) mod S``, whenever the method is scored;
- the **experienced** quality (:func:`experienced_quality`): images sent at times
  ``t`` meet the channel at ``t`` (the gains the simulator recorded for them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from semnet.metrics.image import ms_ssim, ms_ssim_min_side, psnr, ssim
from semnet.models import Channel, transmit
from semnet.channels.layer.link_channels import LinkChannels, as_link_channels
from semnet.seeding import derive_seed


@dataclass(frozen=True)
class LinkQuality:
    src: int
    dst: int
    snr_db: float
    psnr_db: float
    ssim: float
    images: int
    accuracy: float | None = None  # the task classifier's on the decoded images (evaluation.task: classify)
    ms_ssim: float | None = None  # where the images are large enough for its five scales (161 px and up)

    def as_dict(self) -> dict:
        out = {
            "src": self.src,
            "dst": self.dst,
            "snr_db": self.snr_db,
            "psnr_db": round(self.psnr_db, 4),
            "ssim": round(self.ssim, 5),
            "images": self.images,
        }
        if self.accuracy is not None:  # runs without a task keep the keys they always had
            out["accuracy"] = round(self.accuracy, 5)
        if self.ms_ssim is not None:  # small images (32x32) keep the keys they always had
            out["ms_ssim"] = round(self.ms_ssim, 5)
        return out


@dataclass(frozen=True)
class TaskScorer:
    """``evaluation.task: classify``: a frozen classifier and each sender's test labels."""

    classifier: nn.Module
    labels: dict[int, torch.Tensor]  # user -> int64 (N,), aligned with its test images

    @torch.no_grad()
    def correct(self, x_hat: torch.Tensor, user: int, start: int) -> int:
        labels = self.labels[user][start:start + x_hat.shape[0]].to(x_hat.device)
        return int((self.classifier(x_hat).argmax(1) == labels).sum())


def summarize(links: list[LinkQuality]) -> dict:
    """Mean over links, worst link and spread of PSNR; mean SSIM."""
    if not links:
        return {"psnr_db": float("nan"), "ssim": float("nan"), "worst_link_psnr_db": float("nan")}
    values = np.array([q.psnr_db for q in links])
    out = {
        "psnr_db": round(float(values.mean()), 4),
        "ssim": round(float(np.mean([q.ssim for q in links])), 5),
        "worst_link_psnr_db": round(float(values.min()), 4),
        "psnr_db_std_over_links": round(float(values.std()), 4),
    }
    if all(q.accuracy is not None for q in links):
        out["accuracy"] = round(float(np.mean([q.accuracy for q in links])), 5)
    if all(q.ms_ssim is not None for q in links):
        out["ms_ssim"] = round(float(np.mean([q.ms_ssim for q in links])), 5)
    return out


class LinkModules(dict):
    """One module per image link, keyed ``(src, dst)``: a pairing whose encoders and
    decoders are both ``LinkModules`` gives every link its own pair (the headroom
    oracle); the evaluator looks each link's modules up by both of its ends."""


class LinkEvaluator:
    """Scores every image link with the encoder of its transmitter and decoder of its
    receiver, through the link's channel (``channel``: one for every link, or the run's
    :class:`~semnet.channels.layer.link_channels.LinkChannels`)."""

    def __init__(
        self,
        links: list[tuple[int, int]],
        snr_db: dict[tuple[int, int], float],
        test_images: dict[int, torch.Tensor],
        channel: Channel | LinkChannels,
        device: torch.device,
        *,
        seed: int,
        realisations: int = 1,
        batch_size: int = 256,
        with_ssim: bool = True,
        states: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] | None = None,
        task: TaskScorer | None = None,
    ):
        self.links = links
        self.snr_db = snr_db
        self.test_images = test_images  # user -> uint8 (N,3,H,W)
        self.channels = as_link_channels(channel)
        self.channel = self.channels.default
        self.device = device
        self.seed = seed
        self.realisations = realisations
        self.batch_size = batch_size
        self.with_ssim = with_ssim
        self.states = states  # link -> (SNR in dB, complex gain) per comparison state; None: drawn by the channel
        self.task = task

    def at_snr(self, snr_db: float) -> "LinkEvaluator":
        """The same links and images, every link at ``snr_db`` (for SNR sweeps)."""
        return LinkEvaluator(
            self.links,
            {link: float(snr_db) for link in self.links},
            self.test_images,
            self.channels,
            self.device,
            seed=self.seed,
            realisations=self.realisations,
            batch_size=self.batch_size,
            with_ssim=self.with_ssim,
            states=None if self.states is None else {
                link: (np.full(len(snr), float(snr_db)), h) for link, (snr, h) in self.states.items()
            },
            task=self.task,
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
            if isinstance(encoder_of, LinkModules):
                encoder, decoder = encoder_of[(src, dst)], decoder_of[(src, dst)]
            else:
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
        psnr_sum = ssim_sum = ms_ssim_sum = 0.0
        multi_scale = self.with_ssim and min(images.shape[-2:]) >= ms_ssim_min_side()
        count = correct = 0
        states = None if self.states is None else self.states[(src, dst)]
        channel = self.channels.of(src, dst)
        for r in range(self.realisations):
            for start in range(0, images.shape[0], self.batch_size):
                x = images[start : start + self.batch_size].to(self.device).float().div_(255)
                if states is None:
                    snr_t = torch.full((x.shape[0],), snr, device=self.device)
                    x_hat = transmit(encoder, decoder, x, snr_t, channel, gen).clamp_(0, 1)
                else:  # the link's fixed comparison states, in order, image after image
                    idx = (r * images.shape[0] + start + np.arange(x.shape[0])) % len(states[0])
                    snr_t = torch.as_tensor(states[0][idx], dtype=torch.float32, device=self.device)
                    gain = torch.as_tensor(states[1][idx], dtype=torch.complex64, device=self.device)
                    x_hat = transmit(encoder, decoder, x, snr_t, channel, gen, gain=gain).clamp_(0, 1)
                psnr_sum += float(psnr(x_hat, x).sum())
                if self.with_ssim:
                    ssim_sum += float(ssim(x_hat, x).sum())
                if multi_scale:
                    ms_ssim_sum += float(ms_ssim(x_hat, x).sum())
                if self.task is not None:
                    correct += self.task.correct(x_hat, src, start)
                count += x.shape[0]
        ssim_mean = ssim_sum / count if self.with_ssim else float("nan")
        accuracy = correct / count if self.task is not None else None
        return LinkQuality(src, dst, snr, psnr_sum / count, ssim_mean, images.shape[0], accuracy,
                           ms_ssim_sum / count if multi_scale else None)


@torch.no_grad()
def experienced_quality(
    encoder: nn.Module,
    decoder: nn.Module,
    images: torch.Tensor,
    snr_db: np.ndarray,
    gains: np.ndarray,
    channel: Channel,
    generator: torch.Generator | None = None,
) -> np.ndarray:
    """PSNR (dB) of each image sent at its own time: image ``n`` meets the large-scale
    SNR ``snr_db[n]`` and the gain ``gains[n]`` that the network read for it at its send
    time (:meth:`semnet.sim.Simulator.channel_state`, or an event record's ``h``)."""
    device = images.device
    x = images.float().div(255) if images.dtype == torch.uint8 else images
    snr_t = torch.as_tensor(np.asarray(snr_db, dtype=np.float32), device=device)
    gain = torch.as_tensor(np.asarray(gains, dtype=np.complex64), device=device)
    x_hat = transmit(encoder, decoder, x, snr_t, channel, generator, gain=gain).clamp_(0, 1)
    return psnr(x_hat, x).cpu().numpy()
