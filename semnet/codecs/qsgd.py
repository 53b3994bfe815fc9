"""Stochastic quantisation with an unbiasedness guarantee, after QSGD (Alistarh et al., 2017).

Each value ``x`` of a tensor with scale ``m = max|x|`` is sent as its sign and a level
``l`` in 0..s, where ``a = s |x| / m`` is rounded up with probability ``a - floor(a)``
and down otherwise, so ``E[l] = a`` and the receiver's ``sign * l * m / s`` has mean
``x``: the quantiser is unbiased, and each value is within ``m / s`` of ``x``
(variance at most ``(m / s)**2 / 4``). QSGD scales by the 2-norm; the max-norm used
here keeps every level in use on tensors of many small values and has the smaller
variance (the guarantee is the same for any scale >= max|x|). Wire: ``m`` in 32 bits,
then ``1 + ceil(log2(s + 1))`` bits per value.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from semnet.codecs.base import FLOAT32_BITS, BitReader, BitWriter, Codec, numel
from semnet.registry import codecs


class QSGD(Codec):
    stochastic = True

    def __init__(self, levels: int = 127):
        if levels < 1:
            raise ValueError(f"levels must be >= 1, got {levels}")
        self.levels = levels
        self.level_bits = math.ceil(math.log2(levels + 1))

    def tensor_bits(self, shape):
        return FLOAT32_BITS + (1 + self.level_bits) * numel(shape)

    def write(self, out: BitWriter, x: Tensor, generator) -> None:
        flat = x.reshape(-1)
        scale = flat.abs().max() if flat.numel() else torch.zeros(())
        scale = scale.to(torch.float32)
        if scale > 0:
            a = flat.abs() / scale * self.levels
            low = torch.floor(a)
            up = torch.rand(a.shape, generator=generator, dtype=torch.float32) < (a - low)
            level = (low + up.to(low.dtype)).clamp(0, self.levels)
        else:
            level = torch.zeros_like(flat)
        out.float32(scale.reshape(1))
        out.uints((flat < 0).numpy().astype(np.uint64), 1)
        out.uints(level.numpy().astype(np.uint64), self.level_bits)

    def read(self, src: BitReader, shape) -> Tensor:
        n = numel(shape)
        scale = src.float32(1)[0]
        negative = torch.from_numpy(src.uints(n, 1).astype(np.bool_))
        level = torch.from_numpy(src.uints(n, self.level_bits).astype(np.float32))
        values = level * (scale / self.levels)
        return torch.where(negative, -values, values).reshape(shape)


@codecs.register("qsgd8", "unbiased stochastic quantisation (QSGD, max-norm scale): sign + 7-bit level, s=127")
class QSGD8(QSGD):
    name = "qsgd8"

    def __init__(self):
        super().__init__(levels=127)


@codecs.register("qsgd4", "unbiased stochastic quantisation (QSGD, max-norm scale): sign + 3-bit level, s=7")
class QSGD4(QSGD):
    name = "qsgd4"

    def __init__(self):
        super().__init__(levels=7)
