"""Load an image folder in ImageFolder layout (``<root>/<split>/<class>/<image>``).

Works for the CIFAR-10 JPEG copy (32x32, passes through untouched) and for
Imagenette-style folders of larger photos (resized and cropped to ``image_size``).
Results are cached in memory, keyed by the arguments, and optionally on disk as
one ``.pt`` file keyed by the arguments *and* the list of files.

:func:`index_image_folder` lists a folder without decoding it: a run that uses a few
thousand of CIFAR-10's 60,000 images decodes only those (the labels alone decide the
partition), image for image the same pixels as the whole load.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import torch

from semnet.data.decode import CROP_MODES, decode_files
from semnet.data.disk_cache import cache_key, cache_path, load_cached, save_cached
from semnet.data.imageset import ImageSet
from semnet.errors import DataError

__all__ = ["IMAGE_EXTENSIONS", "FolderImages", "clear_memory_cache", "index_image_folder", "load_image_folder"]

log = logging.getLogger(__name__)

#: File name endings (lower case) that count as images.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".ppm", ".tif", ".tiff")

_LAYOUT = "(<root>/<split>/<class>/<image>)"
_MEMORY: dict[tuple, ImageSet] = {}
_INDEXES: dict[tuple, FolderImages] = {}
_MEMORY_LOCK = threading.Lock()


def load_image_folder(
    root: str | os.PathLike,
    *,
    split: str = "train",
    image_size: int | None = None,
    crop: str = "center",
    max_per_class: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    seed: int = 0,
    workers: int | None = None,
) -> ImageSet:
    """Load ``root/<split>/<class>/*`` (or ``root/<class>/*`` when ``root/<split>`` is absent).

    Classes are the sub-folder names in sorted order; files are taken in sorted
    order, so the result is deterministic. Repeated calls with the same arguments
    return the same cached object without touching the disk: treat its tensors as
    read-only.

    Parameters
    ----------
    root : str or path
        Data set folder, e.g. ``../shared/data/cifar10-jpeg``.
    split : str, default "train"
        Sub-folder of ``root`` to read.
    image_size : int or None
        None keeps the files' size (all must match). An int resizes the shorter
        side to ``image_size`` and crops a square; images of that size already
        (CIFAR-10 with 32) are untouched.
    crop : {"center", "random"}
        Square crop position when resizing; ``"random"`` is drawn from ``seed``.
    max_per_class : int or None
        Keep only the first ``max_per_class`` files (sorted) of each class.
    cache_dir : str, path or None
        If set, the decoded set is stored there as one ``.pt`` file and read back
        by later processes with the same arguments and the same file list.
    seed : int, default 0
        Seed of the random crops (``crop="random"`` only).
    workers : int or None
        Decoding threads (see :func:`semnet.data.decode.decode_files`).

    Returns
    -------
    ImageSet
        ``uint8 (N, 3, H, W)`` images and ``int64 (N,)`` labels, grouped by class.

    Raises
    ------
    DataError
        If ``root`` is missing, holds no images, or an argument is out of range.

    Examples
    --------
    >>> train = load_image_folder("../shared/data/cifar10-jpeg", max_per_class=5)  # doctest: +SKIP
    >>> train.images.shape, train.class_names[:2]  # doctest: +SKIP
    (torch.Size([50, 3, 32, 32]), ('airplane', 'automobile'))
    """
    root = Path(root)
    memory_key, seed = _memory_key(root, split, image_size, crop, seed, max_per_class)
    with _MEMORY_LOCK:
        hit = _MEMORY.get(memory_key)
    if hit is not None:
        return hit

    data_dir, class_names, files = _listing(root, split, max_per_class)

    images = None
    key = cache_key(root=str(root.resolve()), split=split, image_size=image_size, crop=crop, seed=seed,
                    max_per_class=max_per_class, classes=class_names, files=files)
    disk_path = cache_path(cache_dir, "imagefolder", key) if cache_dir is not None else None
    if disk_path is not None:
        images = load_cached(disk_path, key)
        if images is not None:
            log.info("loaded %d images of '%s' from cache %s", len(images), data_dir, disk_path)
    if images is None:
        images = _decode(data_dir, class_names, files, image_size, crop, seed, workers)
        if disk_path is not None:
            try:
                save_cached(disk_path, key, images)
            except OSError as exc:  # the cache is an optimisation: a read-only cache_dir must not stop a run
                log.warning("could not write data cache %s (%s)", disk_path, exc)
    with _MEMORY_LOCK:
        return _MEMORY.setdefault(memory_key, images)


def clear_memory_cache() -> None:
    """Forget every image set and index cached in memory by :func:`load_image_folder` and
    :func:`index_image_folder`."""
    with _MEMORY_LOCK:
        _MEMORY.clear()
        _INDEXES.clear()


class FolderImages:
    """A folder's labels and files, each image decoded the first time it is taken.

    ``labels`` and ``class_names`` are those :func:`load_image_folder` would return, in the
    same order; :meth:`take` gives the pixels :func:`load_image_folder`'s ``images[positions]``
    would, decoding only the positions not taken before (kept for later takes).
    """

    def __init__(self, data_dir: Path, class_names: list[str], files: list[list[str]], image_size: int | None,
                 crop: str, seed: int, workers: int | None) -> None:
        self.paths = [os.path.join(data_dir, name, f) for name, names in zip(class_names, files) for f in names]
        self.labels = torch.cat([torch.full((len(names),), i, dtype=torch.int64) for i, names in enumerate(files)])
        self.class_names = tuple(class_names)
        self._data_dir = data_dir
        self._decode_args = dict(image_size=image_size, crop=crop, seed=seed, workers=workers)
        self._decoded: dict[int, torch.Tensor] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.paths)

    def take(self, positions) -> torch.Tensor:
        """``uint8 (M, 3, H, W)``: the images at ``positions`` (in ``[0, len)``), in that order."""
        order = [int(p) for p in positions]
        with self._lock:  # one decode per position, even when threads take at once
            missing = sorted(set(order).difference(self._decoded))
            if missing:
                start = time.perf_counter()
                images = decode_files([self.paths[p] for p in missing], **self._decode_args)
                log.info("decoded %d of %d images of '%s' in %.1f s", len(missing), len(self.paths),
                         self._data_dir, time.perf_counter() - start)
                if self._decoded:
                    self._check_size(images)
                self._decoded.update(zip(missing, images))
            return torch.stack([self._decoded[p] for p in order])

    def _check_size(self, images: torch.Tensor) -> None:
        seen = tuple(next(iter(self._decoded.values())).shape[1:])
        if tuple(images.shape[2:]) != seen:
            h, w = images.shape[2:]
            raise DataError(f"images under '{self._data_dir}' have different sizes ({seen[0]}x{seen[1]}, {h}x{w}, "
                            "...); allowed: one size, or set image_size to resize them")


def index_image_folder(
    root: str | os.PathLike,
    *,
    split: str = "train",
    image_size: int | None = None,
    crop: str = "center",
    max_per_class: int | None = None,
    seed: int = 0,
    workers: int | None = None,
) -> FolderImages:
    """List ``root/<split>/<class>/*`` as :func:`load_image_folder` would, decoding nothing yet.

    The arguments are :func:`load_image_folder`'s (without the disk cache, which stores
    whole sets). Repeated calls with the same arguments return the same object, so images
    decoded for one run are reused by the next run in the process.

    Raises
    ------
    DataError
        If ``root`` is missing, holds no images, or an argument is out of range.
    """
    root = Path(root)
    memory_key, seed = _memory_key(root, split, image_size, crop, seed, max_per_class)
    with _MEMORY_LOCK:
        hit = _INDEXES.get(memory_key)
    if hit is not None:
        return hit
    data_dir, class_names, files = _listing(root, split, max_per_class)
    index = FolderImages(data_dir, class_names, files, image_size, crop, seed, workers)
    with _MEMORY_LOCK:
        return _INDEXES.setdefault(memory_key, index)


def _memory_key(root: Path, split: str, image_size: int | None, crop: str, seed: int,
                max_per_class: int | None) -> tuple[tuple, int]:
    """The arguments checked, as a key of the in-memory caches, and the seed that counts
    (only random crops draw from it)."""
    _check_args(image_size, crop, max_per_class)
    seed = int(seed) if crop == "random" else 0
    return (str(root.resolve()), split, image_size, crop, seed, max_per_class), seed


def _listing(root: Path, split: str, max_per_class: int | None) -> tuple[Path, list[str], list[list[str]]]:
    """The folder of ``split``, its class names and their files; DataError if it holds no images."""
    data_dir = _data_dir(root, split)
    class_names, files = _list_files(data_dir, max_per_class)
    if not any(files):
        raise DataError(f"data path '{root}' contains no images in ImageFolder layout {_LAYOUT}")
    return data_dir, class_names, files


def _check_args(image_size: int | None, crop: str, max_per_class: int | None) -> None:
    if image_size is not None and (not isinstance(image_size, int) or image_size < 1):
        raise DataError(f"image_size {image_size!r} is not allowed; allowed: a positive integer or None")
    if crop not in CROP_MODES:
        raise DataError(f"crop {crop!r} is not allowed; allowed: {', '.join(CROP_MODES)}")
    if max_per_class is not None and (not isinstance(max_per_class, int) or max_per_class < 1):
        raise DataError(f"max_per_class {max_per_class!r} is not allowed; allowed: a positive integer or None")


def _data_dir(root: Path, split: str) -> Path:
    if not root.exists():
        raise DataError(f"data path '{root}' does not exist")
    if not root.is_dir():
        raise DataError(f"data path '{root}' is not a folder; allowed: a folder in ImageFolder layout {_LAYOUT}")
    if (root / split).is_dir():
        return root / split
    log.info("'%s' has no '%s' folder; reading classes directly from '%s'", root, split, root)
    return root


def _list_files(data_dir: Path, max_per_class: int | None) -> tuple[list[str], list[list[str]]]:
    """Sorted class names and, per class, sorted file names relative to ``data_dir``."""
    class_names = sorted(e.name for e in os.scandir(data_dir) if e.is_dir() and not e.name.startswith("."))
    files = []
    for name in class_names:
        found = sorted(e.name for e in os.scandir(data_dir / name)
                       if e.name.lower().endswith(IMAGE_EXTENSIONS) and not e.name.startswith(".") and e.is_file())
        if not found:
            log.warning("class folder '%s' has no images", data_dir / name)
        files.append(found[:max_per_class])
    return class_names, files


def _decode(data_dir: Path, class_names: list[str], files: list[list[str]], image_size: int | None,
            crop: str, seed: int, workers: int | None) -> ImageSet:
    # Plain string joins: pathlib costs ~15 us per path, noticeable over 50,000 files.
    paths = [os.path.join(data_dir, name, f) for name, names in zip(class_names, files) for f in names]
    labels = torch.cat([torch.full((len(names),), i, dtype=torch.int64) for i, names in enumerate(files)])
    start = time.perf_counter()
    images = decode_files(paths, image_size=image_size, crop=crop, seed=seed, workers=workers)
    log.info("decoded %d images of '%s' in %.1f s", len(paths), data_dir, time.perf_counter() - start)
    return ImageSet(images, labels, tuple(class_names))
