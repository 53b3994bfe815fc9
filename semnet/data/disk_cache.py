"""Store decoded image sets as single ``.pt`` files, written atomically.

A cache file is named by a hash of everything that determines its content, so a
stale file is never read: it simply stops being looked up.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import torch

from semnet.data.imageset import ImageSet
from semnet.errors import SemnetError
from semnet.safe_load import load_torch_file

__all__ = ["cache_key", "cache_path", "load_cached", "save_cached"]

log = logging.getLogger(__name__)

_FORMAT = 1


def cache_key(**parts: object) -> str:
    """Return a 20-hex-digit hash of JSON-serialisable ``parts`` (order-independent)."""
    text = json.dumps({"format": _FORMAT, **parts}, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def cache_path(cache_dir: str | os.PathLike, prefix: str, key: str) -> Path:
    """Path of the cache file ``<cache_dir>/<prefix>-<key>.pt``."""
    return Path(cache_dir) / f"{prefix}-{key}.pt"


def load_cached(path: Path, key: str) -> ImageSet | None:
    """Return the ``ImageSet`` stored at ``path``, or None if absent or unreadable."""
    if not path.is_file():
        return None
    try:
        blob = load_torch_file(path)  # tensors and plain data only: no code runs from a cache
        if blob.get("key") != key:
            return None
        return ImageSet(blob["images"], blob["labels"], tuple(blob["class_names"]))
    except SemnetError as exc:  # a corrupt or unsafe cache is rebuilt, never fatal
        log.warning("ignoring data cache: %s", exc)
        return None
    except Exception as exc:  # noqa: BLE001 - a cache of another layout: rebuilt too
        log.warning("ignoring unreadable data cache %s (%s)", path, type(exc).__name__)
        return None


def save_cached(path: Path, key: str, images: ImageSet) -> None:
    """Write ``images`` to ``path`` via a temporary file and ``os.replace`` (atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {"key": key, "images": images.images.cpu(), "labels": images.labels.cpu(),
            "class_names": list(images.class_names)}
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(blob, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("wrote data cache %s (%.1f MB)", path, images.nbytes / 1e6)
