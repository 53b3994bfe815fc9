"""The embedded default data set: RGB patches cut from photographs shipped with
scikit-image and scikit-learn, so semnet runs with no download and no data folder.

Each photograph is one class (``class_names`` are the photo names), which makes
non-IID partitions natural: a user holding the ``coffee`` patches sees other image
statistics than one holding ``hubble_deep_field``.

Train/test split without leakage: one vertical fifth of every photograph (the
*test strip*, chosen by ``seed``) is held out. Test patches tile the strip without
overlap; training patches are cut from the rest with a stride of half a patch and
never cross into the strip, so no test pixel is ever seen in training.

Photographs larger than 512 px on the shorter side (``retina``, ``hubble_deep_field``)
are first downscaled to 512 px (Lanczos) so that patches from all sources have a
similar scale. Near-constant patches (pixel standard deviation < 2 of 255, e.g. the
black border of ``retina``) are dropped: they teach a codec nothing and would be
identical across train and test.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image

from semnet.data.imageset import ImageSet
from semnet.errors import DataError
from semnet.seeding import derive_seed

__all__ = ["EMBEDDED_SOURCES", "load_embedded"]

log = logging.getLogger(__name__)

_MAX_SHORT_SIDE = 512
_TEST_FOLDS = 5
_MIN_PATCH_STD = 2.0
_MIN_PATCH_SIZE = 4


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        return getattr(skimage.data, name)()

    return load


def _motorcycle() -> np.ndarray:
    import skimage.data

    return skimage.data.stereo_motorcycle()[0]  # left view; the right one is nearly identical


def _sklearn(index: int) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_images

        return load_sample_images().images[index]

    return load


# Colour photographs that ship inside the packages (no network, no pooch download).
# Left out: grayscale images, ``cat`` (same photo as ``chelsea``), ``colorwheel`` and
# ``logo`` (synthetic graphics, not photographs).
_LOADERS: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": _skimage("astronaut"),
    "chelsea": _skimage("chelsea"),
    "coffee": _skimage("coffee"),
    "hubble_deep_field": _skimage("hubble_deep_field"),
    "immunohistochemistry": _skimage("immunohistochemistry"),
    "motorcycle": _motorcycle,
    "retina": _skimage("retina"),
    "rocket": _skimage("rocket"),
    "china": _sklearn(0),
    "flower": _sklearn(1),
}

#: Names of the photographs used as sources (classes), in label order.
EMBEDDED_SOURCES: tuple[str, ...] = tuple(_LOADERS)


def load_embedded(*, patch_size: int = 32, seed: int = 0) -> tuple[ImageSet, ImageSet]:
    """Return the embedded (train, test) patch sets.

    The result is cached in-process, so repeated calls are free and return the
    same objects: do not modify their tensors in place.

    Parameters
    ----------
    patch_size : int, default 32
        Side of the square patches in pixels. Training patches are cut with stride
        ``patch_size // 2``, test patches with stride ``patch_size``.
    seed : int, default 0
        Chooses which vertical fifth of each photograph is the test strip. The same
        seed always gives the same output; different seeds give different folds.

    Returns
    -------
    train, test : ImageSet
        ``uint8`` images of shape ``(N, 3, patch_size, patch_size)``; labels index
        :data:`EMBEDDED_SOURCES`. With the defaults: 7,187 training and 448 test
        patches from 10 photographs.

    Raises
    ------
    DataError
        If ``patch_size`` does not fit the smallest test strip.

    Examples
    --------
    >>> train, test = load_embedded()
    >>> train.images.shape[1:], train.class_names[0]
    (torch.Size([3, 32, 32]), 'astronaut')
    """
    return _build(int(patch_size), int(seed))


@functools.lru_cache(maxsize=8)
def _build(patch_size: int, seed: int) -> tuple[ImageSet, ImageSet]:
    photos = _load_photos()
    largest = min(min(p.shape[0], p.shape[1] // _TEST_FOLDS) for p in photos.values())
    if not _MIN_PATCH_SIZE <= patch_size <= largest:
        raise DataError(f"embedded data patch_size {patch_size} is not allowed; "
                        f"allowed: {_MIN_PATCH_SIZE}..{largest} pixels")
    names = tuple(photos)
    parts: dict[str, list[np.ndarray]] = {"train": [], "test": []}
    labels: dict[str, list[np.ndarray]] = {"train": [], "test": []}
    for label, name in enumerate(names):
        photo = photos[name]
        fold = derive_seed(seed, "embedded-test-strip", name) % _TEST_FOLDS
        for split, patches in _split_photo(photo, fold, patch_size).items():
            parts[split].append(patches)
            labels[split].append(np.full(len(patches), label, dtype=np.int64))
    train, test = (
        ImageSet(
            torch.from_numpy(np.ascontiguousarray(np.concatenate(parts[s]).transpose(0, 3, 1, 2))),
            torch.from_numpy(np.concatenate(labels[s])),
            names,
        )
        for s in ("train", "test")
    )
    log.debug("embedded data: %d train and %d test patches of %d px from %d photos",
              len(train), len(test), patch_size, len(names))
    return train, test


@functools.lru_cache(maxsize=1)
def _load_photos() -> dict[str, np.ndarray]:
    """Load every source photo as ``uint8 (H, W, 3)``, downscaled to <= 512 px short side (cached; read-only)."""
    photos = {}
    for name, load in _LOADERS.items():
        try:
            photo = np.asarray(load())
        except Exception as exc:  # a missing optional file must not break the default data
            log.warning("embedded data: skipping photo %r (%s)", name, exc)
            continue
        if photo.ndim != 3 or photo.shape[2] not in (3, 4) or photo.dtype != np.uint8:
            log.warning("embedded data: skipping photo %r with shape %s dtype %s", name, photo.shape, photo.dtype)
            continue
        photos[name] = _shrink(photo[:, :, :3])
    if not photos:
        raise DataError("embedded data: none of the bundled photographs could be loaded; "
                        "reinstall scikit-image and scikit-learn")
    return photos


def _shrink(photo: np.ndarray) -> np.ndarray:
    h, w = photo.shape[:2]
    scale = _MAX_SHORT_SIDE / min(h, w)
    if scale >= 1.0:
        return np.ascontiguousarray(photo)
    size = (round(w * scale), round(h * scale))
    return np.asarray(Image.fromarray(photo).resize(size, Image.Resampling.LANCZOS))


def _split_photo(photo: np.ndarray, fold: int, patch_size: int) -> dict[str, np.ndarray]:
    """Cut ``photo (H, W, 3)`` into train and test patches ``(n, P, P, 3)`` around test strip ``fold``."""
    width = photo.shape[1]
    x0, x1 = fold * width // _TEST_FOLDS, (fold + 1) * width // _TEST_FOLDS
    train = [_patches(photo[:, :x0], patch_size, patch_size // 2),
             _patches(photo[:, x1:], patch_size, patch_size // 2)]
    return {"train": _keep_textured(np.concatenate(train)),
            "test": _keep_textured(_patches(photo[:, x0:x1], patch_size, patch_size))}


def _patches(region: np.ndarray, size: int, stride: int) -> np.ndarray:
    """All ``size`` x ``size`` patches of ``region (H, W, 3)`` at ``stride``, row-major, ``(n, size, size, 3)``."""
    h, w = region.shape[:2]
    if h < size or w < size:
        return np.empty((0, size, size, 3), dtype=np.uint8)
    windows = np.lib.stride_tricks.sliding_window_view(region, (size, size), axis=(0, 1))
    # windows: (h - size + 1, w - size + 1, 3, size, size)
    picked = windows[::stride, ::stride]
    return np.ascontiguousarray(picked.reshape(-1, 3, size, size).transpose(0, 2, 3, 1))


def _keep_textured(patches: np.ndarray) -> np.ndarray:
    std = patches.reshape(len(patches), -1).std(axis=1)
    return patches[std >= _MIN_PATCH_STD]
