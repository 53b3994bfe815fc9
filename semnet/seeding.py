"""Randomness flows from one root seed, split per purpose and per node.

``derive_seed(root, "fading", 3)`` always gives the same 63-bit integer for the same
arguments, and different integers for different purposes, so adding a new random
consumer never shifts the streams of the others.
"""

from __future__ import annotations

import hashlib

import numpy as np


def derive_seed(root_seed: int, *purpose: object) -> int:
    """Return a deterministic 63-bit seed for ``purpose`` under ``root_seed``."""
    text = "/".join([str(int(root_seed)), *map(str, purpose)])
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def numpy_rng(root_seed: int, *purpose: object) -> np.random.Generator:
    """A numpy Generator for one purpose."""
    return np.random.default_rng(derive_seed(root_seed, *purpose))
