"""Floating-point codecs: every value in a narrower float format.

``float32`` is what every message was before codecs existed (32 bits per value,
lossless). ``float16`` (IEEE 754 half: 10 mantissa bits, largest 65504) and
``bfloat16`` (float32's exponent with 7 mantissa bits) halve the bytes; each value is
rounded to the nearest representable one, so the relative error is at most 2**-11
and 2**-8. Values beyond float16's range saturate at +-65504 rather than becoming inf.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from semnet.codecs.base import FLOAT32_BITS, BitReader, BitWriter, Codec, numel
from semnet.registry import codecs

FLOAT16_MAX = 65504.0


class _FixedWidth(Codec):
    """Every value in ``value_bits`` bits, nothing else on the wire."""

    value_bits: ClassVar[int] = FLOAT32_BITS

    def tensor_bits(self, shape):
        return self.value_bits * numel(shape)


@codecs.register("float32", "32-bit floats, lossless: every message as before codecs (the default)")
class Float32(_FixedWidth):
    name = "float32"
    lossless = True

    def write(self, out: BitWriter, x: Tensor, generator) -> None:
        out.float32(x.reshape(-1))

    def read(self, src: BitReader, shape) -> Tensor:
        return src.float32(numel(shape)).reshape(shape)


@codecs.register("float16", "IEEE half precision, 16 bits per value (relative error <= 2^-11)")
class Float16(_FixedWidth):
    name = "float16"
    value_bits = 16
    relative_error = 2.0**-11  # half a unit in the last of 10 mantissa bits

    def write(self, out: BitWriter, x: Tensor, generator) -> None:
        half = x.reshape(-1).clamp(-FLOAT16_MAX, FLOAT16_MAX).to(torch.float16)
        out.raw(half.numpy().astype("<f2"))

    def read(self, src: BitReader, shape) -> Tensor:
        return torch.from_numpy(src.raw(numel(shape), "<f2").astype(np.float32)).reshape(shape)


@codecs.register("bfloat16", "bfloat16, 16 bits per value: float32's range, relative error <= 2^-8")
class BFloat16(_FixedWidth):
    name = "bfloat16"
    value_bits = 16
    relative_error = 2.0**-8  # half a unit in the last of 7 mantissa bits

    def write(self, out: BitWriter, x: Tensor, generator) -> None:
        # a bfloat16 is the top half of a float32: its bit pattern as a 16-bit integer
        pattern = x.reshape(-1).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
        out.uints(pattern, 16)

    def read(self, src: BitReader, shape) -> Tensor:
        pattern = src.uints(numel(shape), 16).astype(np.uint16).view(np.int16)
        return torch.from_numpy(pattern.copy()).view(torch.bfloat16).to(torch.float32).reshape(shape)
