"""One image's quality ladder under one codec: the encoded size of every setting
(measured once), the highest setting that fits a byte budget, and its decoded pixels
(decoded once per setting used).

"Highest quality that fits" is taken literally: the highest rung whose size is at
most the budget, even where a codec's size is not monotone in its quality (a lower
rung that is larger never matters: a higher one fits).
"""

from __future__ import annotations

import numpy as np

from semnet.digital.image_codecs import ImageCodec

__all__ = ["QualityLadder", "highest_fitting"]


def highest_fitting(sizes_bytes: np.ndarray, budget_bytes: int) -> int | None:
    """Index of the highest rung with ``sizes_bytes[i] <= budget_bytes``; None if none fits."""
    fits = np.flatnonzero(np.asarray(sizes_bytes) <= budget_bytes)
    return int(fits[-1]) if fits.size else None


class QualityLadder:
    """``image`` (``(H, W, 3)`` ``uint8``) encoded at every setting of ``codec``."""

    def __init__(self, codec: ImageCodec, image: np.ndarray):
        self.codec = codec
        self.image = image
        self._files = [codec.encode(image, setting) for setting in codec.settings]
        self.sizes_bytes = np.array([len(f) for f in self._files], dtype=np.int64)
        self._decoded: dict[int, np.ndarray] = {}

    @property
    def smallest_bytes(self) -> int:
        return int(self.sizes_bytes.min())

    def best(self, budget_bytes: int) -> int | None:
        """The rung sent under ``budget_bytes`` (None: no encoding fits)."""
        return highest_fitting(self.sizes_bytes, budget_bytes)

    def decoded(self, rung: int) -> np.ndarray:
        """The receiver's image when rung ``rung`` arrives intact, ``(H, W, 3)`` ``uint8``."""
        if rung not in self._decoded:
            self._decoded[rung] = self.codec.decode(self._files[rung])
        return self._decoded[rung]
