"""Decode image files into one ``uint8 (N, 3, H, W)`` tensor, fast.

A thread pool reads the files ahead (file I/O releases the GIL) and decodes them, as
many chunks at once as torch has threads, with torchvision's libjpeg-turbo/libpng
bindings: for small images (CIFAR-10) they are ~8x faster per image than Pillow,
whose per-image Python overhead keeps it slow even in parallel threads. Formats torchvision cannot decode,
and every file once torchvision drops its (deprecated) decoders, fall back to Pillow.
"""

from __future__ import annotations

import functools
import io
import itertools
import logging
import os
import threading
import warnings
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from PIL import Image

from semnet.errors import DataError
from semnet.seeding import derive_seed

__all__ = ["CROP_MODES", "decode_files", "fit_to_square"]

log = logging.getLogger(__name__)

#: Allowed ``crop`` arguments: a centred crop, or a seeded random crop per file.
CROP_MODES = ("center", "random")

_CHUNK = 512


@functools.cache
def _torchvision_decoder():
    """torchvision's ``(decode_image, ImageReadMode)``, or None once it has dropped its
    decoders (deprecated in 0.29 in favour of TorchCodec: Pillow takes over). Imported
    when images are first decoded, not with :mod:`semnet.data`: torchvision costs a
    worker process that only trains a second of start-up."""
    try:
        from torchvision.io import ImageReadMode, decode_image
    except ImportError:  # pragma: no cover - depends on the installed torchvision
        return None
    return decode_image, ImageReadMode


def decode_files(
    paths: Sequence[str],
    *,
    image_size: int | None = None,
    crop: str = "center",
    seed: int = 0,
    workers: int | None = None,
) -> torch.Tensor:
    """Decode ``paths`` in order into ``uint8 (N, 3, H, W)``.

    Parameters
    ----------
    paths : sequence of str
        Image files (JPEG, PNG, GIF, WebP, BMP, ...); grayscale and RGBA become RGB.
    image_size : int or None
        If given, every image is resized so its shorter side is ``image_size``
        (antialiased bilinear) and cropped to ``image_size`` x ``image_size``.
        Images already of that size pass through untouched. If None, all images
        must share one size.
    crop : {"center", "random"}
        Where the square is cut. ``"random"`` draws the offset from
        ``(seed, <class>/<file>)``, so it is reproducible and independent of thread timing.
    seed : int
        Seed for ``crop="random"``.
    workers : int or None
        File-reading threads; default ``min(8, os.cpu_count() + 2)``. At most
        ``torch.get_num_threads()`` of them decode at once.

    Returns
    -------
    torch.Tensor
        ``uint8`` of shape ``(len(paths), 3, H, W)``.

    Raises
    ------
    DataError
        If a file cannot be decoded, or sizes differ while ``image_size`` is None.
    """
    if not paths:
        raise ValueError("decode_files needs at least one path")
    workers = workers or min(8, (os.cpu_count() or 1) + 2)
    chunks = [paths[i:i + _CHUNK] for i in range(0, len(paths), _CHUNK)]
    # chunks decode side by side on torch's threads (the cores the run may use: one on a
    # busy machine); the decoders release the GIL, reads wait on the disk
    _torchvision_decoder()  # imported here, not by the reading threads at once
    decoding = threading.BoundedSemaphore(max(1, torch.get_num_threads()))

    def read_and_decode(chunk: Sequence[str]) -> list[torch.Tensor]:
        data = _read_all(chunk)
        with decoding:
            return [_decode_one(path, raw, image_size, crop, seed) for path, raw in zip(chunk, data)]

    decoded: list[torch.Tensor] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="semnet-read") as pool, \
            warnings.catch_warnings():
        # torchvision >= 0.29 warns on every decode that TorchCodec supersedes it; we fall back to Pillow.
        warnings.filterwarnings("ignore", message=".*image decoding.*deprecated", category=DeprecationWarning)
        # Read ahead a bounded number of chunks so memory stays small for big photos; the
        # images come back in the order of ``paths`` whichever thread decoded them
        pending: deque = deque()
        upcoming = iter(chunks)
        for chunk in itertools.islice(upcoming, 2 * workers):
            pending.append(pool.submit(read_and_decode, chunk))
        while pending:
            decoded.extend(pending.popleft().result())
            for chunk in itertools.islice(upcoming, 1):
                pending.append(pool.submit(read_and_decode, chunk))
    sizes = {tuple(img.shape[1:]) for img in decoded}
    if len(sizes) > 1:
        shown = ", ".join(f"{h}x{w}" for h, w in sorted(sizes)[:4])
        raise DataError(f"images under '{os.path.dirname(os.path.dirname(paths[0]))}' have different sizes "
                        f"({shown}, ...); allowed: one size, or set image_size to resize them")
    return torch.stack(decoded)


def _read_all(paths: Sequence[str]) -> list[bytes]:
    out = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                out.append(f.read())
        except OSError as exc:
            raise DataError(f"image file '{path}' cannot be read ({exc.strerror}); allowed: a readable file") from None
    return out


def _decode_one(path: str, data: bytes, image_size: int | None, crop: str, seed: int) -> torch.Tensor:
    image = None
    decoder = _torchvision_decoder()
    if decoder is not None:
        decode_image, read_mode = decoder
        try:
            image = decode_image(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=read_mode.RGB)
        except (RuntimeError, ValueError):
            pass  # not a format torchvision decodes: Pillow below reports a real error
        if image is not None and image.ndim == 4:  # animated GIF: keep the first frame
            image = image[0]
    if image is None or image.dtype != torch.uint8:  # e.g. 16-bit PNG: let Pillow reduce it to 8 bits
        image = _decode_pillow(path, data)
    if image_size is not None:
        # Seed by <class>/<file>, not the absolute path, so moving the folder keeps the crops.
        name = "/".join(path.replace(os.sep, "/").split("/")[-2:])
        rng = np.random.default_rng(derive_seed(seed, "crop", name)) if crop == "random" else None
        image = fit_to_square(image, image_size, rng)
    return image


def _decode_pillow(path: str, data: bytes) -> torch.Tensor:
    try:
        with Image.open(io.BytesIO(data)) as im:
            array = np.asarray(im.convert("RGB"))
    except (OSError, ValueError) as exc:
        raise DataError(f"image file '{path}' cannot be decoded ({exc}); allowed: JPEG, PNG, GIF, WebP, BMP") from None
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


def fit_to_square(image: torch.Tensor, size: int, rng: np.random.Generator | None = None) -> torch.Tensor:
    """Resize ``image (3, H, W) uint8`` so its shorter side is ``size``, then crop to ``(3, size, size)``.

    Parameters
    ----------
    image : torch.Tensor
        ``uint8`` of shape ``(3, H, W)``.
    size : int
        Output side in pixels.
    rng : numpy.random.Generator or None
        None for a centre crop, else the generator that draws the crop offset.

    Returns
    -------
    torch.Tensor
        ``uint8`` of shape ``(3, size, size)``; ``image`` itself if already that shape.
    """
    _, h, w = image.shape
    if (h, w) == (size, size):
        return image
    if min(h, w) != size:
        scale = size / min(h, w)
        new_h, new_w = max(size, round(h * scale)), max(size, round(w * scale))
        from torchvision.transforms.v2 import functional as tvf

        image = tvf.resize(image, [new_h, new_w], antialias=True)
        h, w = new_h, new_w
    if rng is None:
        top, left = (h - size) // 2, (w - size) // 2
    else:
        top, left = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    return image[:, top:top + size, left:left + size].contiguous()
