"""Real image codecs for the digital baseline, through Pillow: JPEG, WebP and (where
Pillow was built with OpenJPEG) JPEG 2000.

Each codec offers a *ladder* of settings from the lowest quality to the highest; the
baseline sends an image at the highest rung whose encoded size fits the link's bit
budget (:mod:`semnet.digital.ladder`). Sizes are those of the complete files a
decoder needs (headers and tables included): for a 32x32 image a JPEG file is at
least about 300 bytes whatever its quality (its quantisation and Huffman tables),
a WebP file about 100 bytes and a JPEG 2000 codestream about 190 bytes, so at low
budgets some codecs fit no rung at all (reported as *unfit*).
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, features

from semnet.registry import image_codecs

__all__ = ["ImageCodec", "Jpeg", "Jpeg2000", "WebP", "codec_available"]


class ImageCodec:
    """An image codec: ``settings`` from the lowest quality to the highest, ``encode``
    one RGB ``uint8`` image ``(H, W, 3)`` at one of them to a file's bytes, ``decode``
    those bytes back to ``(H, W, 3)`` ``uint8``."""

    name = ""
    settings: tuple = ()

    @classmethod
    def available(cls) -> bool:
        return True

    def encode(self, image: np.ndarray, setting) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as img:
            return np.array(img.convert("RGB"), dtype=np.uint8)  # a writable copy

    def _save(self, image: np.ndarray, **options) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8), "RGB").save(buffer, **options)
        return buffer.getvalue()


@image_codecs.register("jpeg", "baseline JPEG (Pillow/libjpeg), quality 1..100, optimised Huffman tables")
class Jpeg(ImageCodec):
    name = "jpeg"
    settings = tuple(range(1, 101))

    def encode(self, image: np.ndarray, setting) -> bytes:
        # optimize: Huffman tables fitted to the image (smaller file, same pixels)
        return self._save(image, format="JPEG", quality=int(setting), optimize=True)


@image_codecs.register("webp", "lossy WebP (Pillow/libwebp), quality 0..100")
class WebP(ImageCodec):
    name = "webp"
    settings = tuple(range(0, 101))

    def encode(self, image: np.ndarray, setting) -> bytes:
        return self._save(image, format="WEBP", quality=int(setting), method=4)


# compression ratios (raw 24-bit size / coded size) asked of OpenJPEG, from 200:1 down
# to 1.5:1 on a geometric grid; the size it reaches is measured, not assumed
_J2K_RATIOS = tuple(round(200.0 * (1.5 / 200.0) ** (i / 47), 4) for i in range(48))


@image_codecs.register("jpeg2000", "JPEG 2000 codestream (Pillow/OpenJPEG, 9/7 wavelet), 48 rates 200:1..1.5:1")
class Jpeg2000(ImageCodec):
    name = "jpeg2000"
    settings = _J2K_RATIOS

    @classmethod
    def available(cls) -> bool:
        return bool(features.check("jpg_2000"))

    def encode(self, image: np.ndarray, setting) -> bytes:
        # at most log2(min side) + 1 resolution levels: OpenJPEG refuses more on small images
        levels = max(1, min(6, int(math.log2(min(image.shape[:2]))) + 1))
        return self._save(image, format="JPEG2000", irreversible=True, no_jp2=True, quality_mode="rates",
                          quality_layers=[float(setting)], num_resolutions=levels)


def codec_available(name: str) -> bool:
    """Whether the codec ``name`` runs with this Pillow (JPEG 2000 needs OpenJPEG)."""
    return image_codecs.get(name).available()
