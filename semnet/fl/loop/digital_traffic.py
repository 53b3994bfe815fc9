"""The receiver's view of digital live images (``traffic.digital``): each image arrives as
a codec file over the link's message path, or does not (lost on the air, past
``traffic.deadline_s``, or never sent because no encoding fits), and the receiver shows
the decoded file or its fallback (:mod:`semnet.digital.live`).

The network decides everything about an image when it books it (its bits, whether the
message path delivered it); here each settled image is shown and scored. What a
receiver shows depends on what it showed last on the link (``fallback: previous``), so a
settle's images are shown in the order they are due (``t_end_s``, stable): every image of
a later settle is due after those of an earlier one, so this is the receivers' order.

An ``images.jsonl`` record adds ``codec``, ``quality`` (the codec setting sent, None:
nothing fitted), ``budget_bits`` and ``bits`` (sent; 0: nothing), ``attempts`` (packet
transmissions, retransmissions included), ``snr_realised_db`` (the SNR the image met at
its start), ``unfit``, ``fallback`` (what was shown instead: ``previous`` or ``mean``;
None: the decoded image) and ``shown_psnr_db`` (PSNR of what was shown); ``psnr_db`` is
the decoded image's, None when it was lost, as for JSCC images, ``encoder`` and
``decoder`` are None (no model codes it), and an unfit image's ``latency_s`` is None
(it never travelled; :class:`~semnet.fl.loop.traffic_tally.TrafficTally`).
"""

from __future__ import annotations

import math

import torch

from semnet.digital.live import MEAN, DigitalImages
from semnet.fl.loop.traffic import ImageDecoder
from semnet.metrics.image import psnr as psnr_of
from semnet.sim.traffic import ImageSent

__all__ = ["DigitalImageDecoder"]


class DigitalImageDecoder(ImageDecoder):
    """Shows and scores digital images (module docstring); ``sender`` is what the
    simulator asks for each image's packet (:attr:`TrafficPlan.digital
    <semnet.sim.traffic.TrafficPlan.digital>`)."""

    def __init__(self, test_images: dict, channel, device: torch.device, *, seed: int, codec: str, rate: str,
                 fallback: str, symbols: int, margin_db: float = 0.0):
        super().__init__(test_images, channel, device, seed=seed, new_model=None)
        self.images = DigitalImages(test_images, self.image_index, codec=codec, rate=rate, fallback=fallback,
                                    symbols=symbols, margin_db=margin_db)
        self.sender = self.images
        self._last: dict = {}  # (branch, src, dst) -> what the receiver showed last on the link

    @property
    def decodes(self) -> bool:
        return bool(self.test_images)

    def score(self, images: list[ImageSent], versions: list[tuple], late: list[bool], states: dict,
              branch: str) -> list[tuple[bool, float | None, dict]]:
        if not images:
            return []
        digital = self.images
        shown, arrived = [None] * len(images), [False] * len(images)
        for i in sorted(range(len(images)), key=lambda i: images[i].t_end_s):
            image = images[i]
            key = (branch, image.src, image.dst)
            arrived[i] = image.packet.delivered and image.packet.plan.rung is not None and not late[i]
            index = self.image_index(image.src, image.dst, image.n)
            shown[i] = self._last[key] = digital.shown(image.src, index, image.packet.plan.rung, arrived[i],
                                                       self._last.get(key, MEAN))
        values = psnr_of(torch.stack([digital.pixels(s) for s in shown]), self._originals(images)).tolist()
        out = []
        for i, image in enumerate(images):
            packet = image.packet
            plan = packet.plan
            extra = {
                "encoder": None, "decoder": None, "codec": digital.codec_name, "quality": digital.setting(plan.rung),
                "budget_bits": int(plan.budget_bits), "bits": int(plan.bits), "attempts": int(packet.attempts),
                "snr_realised_db": None if math.isnan(packet.realised_snr_db) else round(packet.realised_snr_db, 4),
                "unfit": plan.rung is None, "fallback": None if arrived[i] else digital.fallback,
                "shown_psnr_db": round(values[i], 4),
            }
            out.append((not arrived[i], values[i] if arrived[i] else None, extra))
        return out

    def _originals(self, images: list[ImageSent]) -> torch.Tensor:
        rows = [self.test_images[image.src][self.image_index(image.src, image.dst, image.n)] for image in images]
        return torch.stack(rows).float().div_(255)

    def state(self, branch: str) -> list:
        return [(src, dst, shown) for (b, src, dst), shown in self._last.items() if b == branch]

    def load_state(self, branch: str, state: list) -> None:
        for src, dst, shown in state:
            self._last[(branch, src, dst)] = shown if shown == MEAN else tuple(shown)
