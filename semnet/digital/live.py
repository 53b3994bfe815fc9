"""Digital images as live traffic (``traffic.digital``): what the transmitter of an image
link sends for each image, and what its receiver shows.

Sender (:meth:`DigitalImages.packet`, called by the simulator as it books image ``n`` of
link ``src -> dst``): the image is ``src``'s test image the JSCC traffic would send
(the decoder side's ``image_index``); its budget is the bits ``k`` channel uses carry at
the rate chosen,

- ``capacity``: ``floor(k log2(1 + SNR))`` with the link's large-scale SNR when the
  image is generated (what the transmitter knows; no decoding threshold: the message
  path's own outages decide);
- ``mcs``: ``floor(k eta)`` of the CQI entry (:mod:`semnet.net.cqi_table`) of the
  SNR last learnt on the link (the realised SNR of its previous image; for the first,
  the large-scale SNR) less ``margin_db``, decoded only when the SNR the image meets is
  at least the entry's threshold; no entry: 0 bits;

and the packet is the codec's highest rung whose file fits the budget (0 bits: none
fits, nothing is sent).

Receiver (:meth:`DigitalImages.shown`): a delivered image is the decoded file; a lost,
late or unfit one is replaced by the fallback: ``previous`` -- the image the receiver
showed last on the link (by arrival time; the dataset mean before any), or ``mean`` --
the dataset mean image (per pixel, over every sender's test images).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from semnet.digital.ladder import QualityLadder
from semnet.digital.link_budget import capacity_bits
from semnet.net.cqi_table import select_cqi
from semnet.registry import image_codecs

__all__ = ["MEAN", "DigitalImages"]

MEAN = "mean"  # what a receiver shows before anything arrived, or for every loss with fallback: mean


class DigitalImages:
    """The codec ladders of the images a run sends, the sender's rate choice and the
    receiver's fallback.

    Parameters
    ----------
    test_images : dict
        user -> ``uint8`` ``(N, 3, H, W)``: what each user sends.
    image_index : callable
        ``(src, dst, n) -> index`` of the test image that is image ``n`` on ``src -> dst``.
    codec, rate, fallback : str
        A registered image codec; ``capacity`` | ``mcs``; ``previous`` | ``mean``.
    symbols : int
        ``k``: the channel uses of a JSCC image.
    margin_db : float
        ``mcs``: back-off from the last known SNR.
    """

    def __init__(self, test_images: dict, image_index: Callable[[object, object, int], int], *, codec: str,
                 rate: str, fallback: str, symbols: int, margin_db: float = 0.0):
        if rate not in ("capacity", "mcs"):
            raise ValueError(f"unknown digital rate {rate!r}; allowed: capacity, mcs")
        if fallback not in ("previous", MEAN):
            raise ValueError(f"unknown fallback {fallback!r}; allowed: previous, mean")
        self.test_images = test_images
        self.image_index = image_index
        self.codec_name, self.rate, self.fallback = codec, rate, fallback
        self.codec = image_codecs.get(codec)()
        self.symbols, self.margin_db = int(symbols), float(margin_db)
        self._ladders: dict[tuple, QualityLadder] = {}
        self._mean: torch.Tensor | None = None

    def ladder(self, src, index: int) -> QualityLadder:
        key = (src, index)
        ladder = self._ladders.get(key)
        if ladder is None:
            image = self.test_images[src][index].permute(1, 2, 0).numpy()
            ladder = self._ladders[key] = QualityLadder(self.codec, image)
        return ladder

    def budget(self, known_snr_db: float, learnt_snr_db: float | None) -> tuple[int, float | None]:
        """(bits, decoding threshold in dB or None) of one image at the rate chosen."""
        k = self.symbols
        if self.rate == "capacity":
            return int(capacity_bits(k, known_snr_db)), None
        entry = select_cqi(known_snr_db if learnt_snr_db is None else learnt_snr_db, self.margin_db)
        if entry is None:
            return 0, None
        return math.floor(k * entry.efficiency_bits + 1e-9), entry.threshold_snr_db

    def packet(self, src, dst, n: int, known_snr_db: float, learnt_snr_db: float | None) -> tuple:
        """The simulator's :class:`~semnet.sim.traffic.PacketPlan` of image ``n`` on
        ``src -> dst``: (bits sent, budget bits, rung, threshold dB)."""
        budget, threshold = self.budget(known_snr_db, learnt_snr_db)
        ladder = self.ladder(src, self.image_index(src, dst, n))
        rung = ladder.best(budget // 8)
        bits = 0 if rung is None else 8 * int(ladder.sizes_bytes[rung])
        return bits, budget, rung, threshold

    def setting(self, rung: int | None):
        """The codec setting (quality) of ``rung``."""
        return None if rung is None else self.codec.settings[rung]

    def mean_image(self) -> torch.Tensor:
        """The dataset mean, float ``(3, H, W)`` in [0, 1]: per pixel, over every sender's test images."""
        if self._mean is None:
            stacked = torch.cat([self.test_images[src] for src in sorted(self.test_images)])
            self._mean = stacked.float().div(255).mean(dim=0)
        return self._mean

    def pixels(self, shown) -> torch.Tensor:
        """What a receiver shows, float ``(3, H, W)`` in [0, 1]: :data:`MEAN`, or
        ``(src, index, rung)``, the decoded file of that image at that rung."""
        if shown == MEAN:
            return self.mean_image()
        src, index, rung = shown
        return torch.from_numpy(self.ladder(src, index).decoded(rung)).permute(2, 0, 1).float().div_(255)

    def shown(self, src, index: int, rung: int | None, arrived: bool, last):
        """What the receiver shows for one image (``arrived``: decoded in time), given what it
        showed ``last`` on the link: ``(src, index, rung)`` or :data:`MEAN`."""
        if arrived and rung is not None:
            return (src, index, rung)
        return last if self.fallback == "previous" else MEAN
