"""Top-k sparsification of updates, with error feedback.

Of each tensor of a difference (an update), only the ``k = ceil(ratio * n)`` entries of
largest magnitude travel, as float32 values with their positions (``ceil(log2 n)`` bits
each, in increasing order); the rest arrive as zeros. Sparsifying a whole model would
zero most of its weights, so top-k applies to differences only (see
:attr:`Codec.differences_only`). The sender keeps what it dropped and adds it to its
next update on the same stream (error feedback: Seide et al., 2014; Stich, Cordonnier
& Jaggi, 2018), so no part of an update is lost for good, only delayed.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from semnet.codecs.base import FLOAT32_BITS, BitReader, BitWriter, Codec, index_bits, numel
from semnet.registry import codecs


class TopK(Codec):
    differences_only = True
    error_feedback = True
    ratio = 0.1

    def k(self, n: int) -> int:
        """Entries kept of a tensor of ``n`` values (at least one)."""
        return min(n, max(1, math.ceil(self.ratio * n - 1e-9)))

    def tensor_bits(self, shape):
        n = numel(shape)
        return self.k(n) * (FLOAT32_BITS + index_bits(n))

    def keep(self, x: Tensor) -> Tensor:
        """Positions of the ``k`` largest magnitudes, ties to the lower position, ascending."""
        flat = x.reshape(-1)
        order = torch.sort(flat.abs(), descending=True, stable=True).indices
        return torch.sort(order[: self.k(flat.numel())]).values

    def write(self, out: BitWriter, x: Tensor, generator) -> None:
        flat = x.reshape(-1)
        idx = self.keep(flat)
        out.float32(flat[idx])
        out.uints(idx.numpy(), index_bits(flat.numel()))

    def read(self, src: BitReader, shape) -> Tensor:
        n = numel(shape)
        k = self.k(n)
        values = src.float32(k)
        idx = torch.from_numpy(src.uints(k, index_bits(n)).astype("int64"))
        out = torch.zeros(n, dtype=torch.float32)
        out[idx] = values
        return out.reshape(shape)


@codecs.register("topk10", "updates only: the 10% largest entries of each tensor (float32 value + index), "
                 "error feedback")
class TopK10(TopK):
    name = "topk10"
    ratio = 0.10


@codecs.register("topk1", "updates only: the 1% largest entries of each tensor (float32 value + index), "
                 "error feedback")
class TopK1(TopK):
    name = "topk1"
    ratio = 0.01
