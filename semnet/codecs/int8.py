"""Uniform 8-bit quantisation with a float32 scale per tensor or per channel.

Each value becomes ``q = round(x / s)`` in -127..127 (symmetric, so zero stays exactly
zero) with ``s = max|x| / 127`` over the tensor (``int8``) or over each slice along
the first dimension (``int8_channel``: an output channel of a convolution's weight;
one-dimensional tensors keep one scale). The receiver reads ``q * s``, within ``s / 2``
of ``x``. Wire: the scales (32 bits each), then 8 bits per value.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from semnet.codecs.base import FLOAT32_BITS, BitReader, BitWriter, Codec, numel
from semnet.registry import codecs

LEVELS = 127


class Int8(Codec):
    per_channel = False

    def _groups(self, shape) -> int:
        """How many scales a tensor of ``shape`` has."""
        return shape[0] if self.per_channel and len(shape) > 1 else 1

    def tensor_bits(self, shape):
        return FLOAT32_BITS * self._groups(shape) + 8 * numel(shape)

    def scales(self, x: Tensor) -> Tensor:
        """float32 scale of each group (rows of ``x.reshape(groups, -1)``)."""
        rows = x.reshape(self._groups(tuple(x.shape)), -1)
        return (rows.abs().amax(dim=1) / LEVELS).to(torch.float32)

    def write(self, out: BitWriter, x: Tensor, generator) -> None:
        groups = self._groups(tuple(x.shape))
        scale = self.scales(x)
        rows = x.reshape(groups, -1)
        safe = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero group codes as zeros
        q = torch.round(rows / safe[:, None]).clamp(-LEVELS, LEVELS).to(torch.int8)
        out.float32(scale)
        out.raw(q.reshape(-1).numpy())

    def read(self, src: BitReader, shape) -> Tensor:
        groups = self._groups(shape)
        scale = src.float32(groups)
        q = torch.from_numpy(src.raw(numel(shape), "i1").astype(np.float32))
        return (q.reshape(groups, -1) * scale[:, None]).reshape(shape)


@codecs.register("int8", "uniform 8-bit quantisation, one float32 scale per tensor (error <= scale/2)")
class Int8PerTensor(Int8):
    name = "int8"


@codecs.register("int8_channel", "uniform 8-bit quantisation, one float32 scale per output channel (first dimension)")
class Int8PerChannel(Int8):
    name = "int8_channel"
    per_channel = True
