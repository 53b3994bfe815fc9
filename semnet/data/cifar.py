"""Read CIFAR-10 from torchvision's python-pickle format already on disk (never downloads)."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from semnet.data.imageset import ImageSet
from semnet.errors import DataError

__all__ = ["load_cifar10_pickle"]

_BASE_FOLDER = "cifar-10-batches-py"
_SPLITS = ("train", "test")


def load_cifar10_pickle(root: str | os.PathLike, *, split: str = "train") -> ImageSet:
    """Load CIFAR-10 from ``root/cifar-10-batches-py`` (torchvision's layout).

    Parameters
    ----------
    root : str or path
        Folder holding ``cifar-10-batches-py/`` (that folder itself is accepted too).
    split : {"train", "test"}
        50,000 training or 10,000 test images.

    Returns
    -------
    ImageSet
        ``uint8 (N, 3, 32, 32)`` images, ``int64 (N,)`` labels, the 10 class names.

    Raises
    ------
    DataError
        If ``split`` is unknown, or the files are missing or fail their checksums.
    """
    from torchvision.datasets import CIFAR10

    if split not in _SPLITS:
        raise DataError(f"CIFAR-10 split {split!r} is not allowed; allowed: {', '.join(_SPLITS)}")
    root = Path(root)
    if root.name == _BASE_FOLDER:
        root = root.parent
    if not root.is_dir():
        raise DataError(f"data path '{root}' does not exist")
    try:
        data = CIFAR10(str(root), train=split == "train", download=False)
    except RuntimeError:
        raise DataError(f"data path '{root}' holds no intact CIFAR-10 python data; "
                        f"allowed: a folder containing '{_BASE_FOLDER}/' from cifar-10-python.tar.gz") from None
    images = torch.from_numpy(data.data).permute(0, 3, 1, 2).contiguous()
    labels = torch.as_tensor(data.targets, dtype=torch.int64)
    return ImageSet(images, labels, tuple(data.classes))
