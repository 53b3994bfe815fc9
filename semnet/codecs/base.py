"""What a model-message codec is, and the bit-exact serialisation every codec shares.

A codec turns a list of float tensors (a model's state, or a difference of two
states) into bytes and back. Both ends know the model's architecture (the tensor
shapes) and the agreed codec, so a message carries only what varies: the values,
plus whatever the codec needs to read them back (per-tensor scales, top-k indices).
Its size therefore follows from the shapes alone, before anything is trained: the
simulator settles a round's timing from message sizes first (see
:meth:`semnet.fl.loop.context.RunContext.play`), so a codec whose size depended on the
values could not be timed.

Every codec writes its fields into one big-endian bitstream (:class:`BitWriter`),
padded with zero bits to a whole byte at the end of the message; :meth:`Codec.bits`
is that byte count times eight, and a test serialises real tensors and checks it.
"""

from __future__ import annotations

import math
from typing import ClassVar, Sequence

import numpy as np
import torch
from torch import Tensor

FLOAT32_BITS = 32


class BitWriter:
    """Fields of fixed-width unsigned integers appended to one bitstream."""

    def __init__(self):
        self._chunks: list[np.ndarray] = []  # arrays of 0/1 bits, most significant first
        self.length = 0

    def uints(self, values: np.ndarray, width: int) -> None:
        """Append each of ``values`` (unsigned, < 2**width) in ``width`` bits."""
        values = np.asarray(values, dtype=np.uint64).reshape(-1)
        if width == 0 or values.size == 0:
            return
        if width < 64 and np.any(values >> np.uint64(width)):
            raise ValueError(f"a value does not fit in {width} bits")
        shifts = np.arange(width - 1, -1, -1, dtype=np.uint64)
        bits = ((values[:, None] >> shifts) & np.uint64(1)).astype(np.uint8).reshape(-1)
        self._chunks.append(bits)
        self.length += bits.size

    def raw(self, array: np.ndarray) -> None:
        """Append an array's bytes (little-endian dtypes as stored), 8 bits per byte."""
        data = np.ascontiguousarray(array).view(np.uint8).reshape(-1)
        bits = np.unpackbits(data)
        self._chunks.append(bits)
        self.length += bits.size

    def float32(self, values: Tensor) -> None:
        self.raw(values.detach().to(torch.float32).cpu().numpy().astype("<f4"))

    def to_bytes(self) -> bytes:
        """The stream, zero-padded to a whole byte."""
        if not self._chunks:
            return b""
        return np.packbits(np.concatenate(self._chunks)).tobytes()


class BitReader:
    """Reads back what a :class:`BitWriter` wrote, field by field."""

    def __init__(self, data: bytes):
        self._bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
        self._pos = 0

    def _take(self, count: int) -> np.ndarray:
        if self._pos + count > self._bits.size:
            raise ValueError("message shorter than its layout")
        out = self._bits[self._pos : self._pos + count]
        self._pos += count
        return out

    def uints(self, count: int, width: int) -> np.ndarray:
        if width == 0:
            return np.zeros(count, dtype=np.uint64)
        bits = self._take(count * width).reshape(count, width).astype(np.uint64)
        shifts = np.arange(width - 1, -1, -1, dtype=np.uint64)
        return (bits << shifts).sum(axis=1, dtype=np.uint64)

    def raw(self, count: int, dtype: str) -> np.ndarray:
        size = np.dtype(dtype).itemsize
        return np.packbits(self._take(8 * size * count)).view(dtype).copy()

    def float32(self, count: int) -> Tensor:
        return torch.from_numpy(self.raw(count, "<f4").astype(np.float32))

    def remaining(self) -> int:
        return self._bits.size - self._pos


def index_bits(numel: int) -> int:
    """Bits of one position in a tensor of ``numel`` values: ceil(log2 numel) (0 for one value)."""
    return max(0, math.ceil(math.log2(numel))) if numel > 1 else 0


class Codec:
    """A way to put float tensors on the wire. Subclasses implement the per-tensor
    layout: :meth:`tensor_bits`, :meth:`write` and :meth:`read`.

    Class attributes
    ----------------
    lossless
        decoding gives the input back exactly (the receiver then uses the sender's
        tensors as they are, with no arithmetic that could change a bit);
    differences_only
        meant for differences between two versions of a model (top-k keeps the
        largest entries of an update; a model's own largest weights are no model);
        a message that carries a whole state falls back to ``float32``;
    error_feedback
        the sender keeps what the codec dropped and adds it to its next difference
        on the same stream (Seide et al., 2014; Stich et al., 2018);
    stochastic
        encoding draws random numbers (from the generator it is given).
    """

    lossless: ClassVar[bool] = False
    differences_only: ClassVar[bool] = False
    error_feedback: ClassVar[bool] = False
    stochastic: ClassVar[bool] = False

    name: str = ""

    # ------------------------------------------------------------------ per tensor (subclasses)

    def tensor_bits(self, shape: tuple[int, ...]) -> int:
        """Bits the fields of one tensor of ``shape`` take (before the message's padding)."""
        raise NotImplementedError

    def write(self, out: BitWriter, x: Tensor, generator: torch.Generator | None) -> None:
        """Append tensor ``x`` (float32, on the CPU) to ``out``."""
        raise NotImplementedError

    def read(self, src: BitReader, shape: tuple[int, ...]) -> Tensor:
        """Read one tensor of ``shape`` back (float32)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ whole messages

    def bits(self, shapes: Sequence[Sequence[int]]) -> int:
        """Size on the wire of a message carrying tensors of ``shapes``: its whole bytes, in bits."""
        total = sum(self.tensor_bits(tuple(s)) for s in shapes)
        return 8 * math.ceil(total / 8)

    def encode(self, tensors: Sequence[Tensor], generator: torch.Generator | None = None) -> bytes:
        """The message's bytes."""
        if self.stochastic and generator is None:
            raise ValueError(f"codec {self.name!r} draws random numbers: give it a generator")
        out = BitWriter()
        for t in tensors:
            self.write(out, t.detach().to(torch.float32).cpu(), generator)
        return out.to_bytes()

    def decode(self, data: bytes, shapes: Sequence[Sequence[int]]) -> list[Tensor]:
        """The tensors a receiver reads from ``data``."""
        src = BitReader(data)
        tensors = [self.read(src, tuple(s)) for s in shapes]
        if src.remaining() >= 8:
            raise ValueError(f"{src.remaining()} bits left after the message's tensors")
        return tensors

    def roundtrip(self, tensors: Sequence[Tensor], generator: torch.Generator | None = None) -> list[Tensor]:
        """What arrives: ``tensors`` encoded to bytes and decoded, on their devices."""
        if self.lossless:
            return list(tensors)
        shapes = [tuple(t.shape) for t in tensors]
        decoded = self.decode(self.encode(tensors, generator), shapes)
        return [d.to(t.device) for d, t in zip(decoded, tensors)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def numel(shape: Sequence[int]) -> int:
    return int(math.prod(shape))
