"""Cheap seeded batches of float images from a uint8 image tensor.

Images stay ``uint8`` (4x smaller than float) wherever they are stored; a batch is
an index into that tensor, moved to the target device and scaled to ``[0, 1]``.
No DataLoader, no worker processes: for 32x32 images indexing is far cheaper.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from semnet.data.imageset import ImageSet
from semnet.errors import DataError
from semnet.seeding import derive_seed

__all__ = ["BatchStream", "iterate_once"]


class BatchStream:
    """An endless stream of shuffled batches, reshuffled every epoch.

    Every image appears exactly once per epoch. Batches always hold
    ``batch_size`` images: a batch that reaches the end of an epoch is completed
    from the next epoch's order. The order depends only on ``seed`` (a CPU
    ``torch.Generator`` owned by the stream), never on the device or global RNG.

    Parameters
    ----------
    images : ImageSet or torch.Tensor
        ``uint8`` images of shape ``(N, 3, H, W)``, ``N >= 1``.
    batch_size : int
        Images per batch ``B >= 1`` (may exceed ``N``; images then repeat).
    seed : int
        Seed of the shuffling order and of the flips.
    device : str or torch.device, default "cpu"
        Where batches are returned.
    augment : bool, default False
        Flip each image horizontally with probability 1/2.

    Examples
    --------
    >>> import torch
    >>> stream = BatchStream(torch.zeros(10, 3, 4, 4, dtype=torch.uint8), 4, seed=0)
    >>> batch = stream.next()
    >>> batch.shape, batch.dtype
    (torch.Size([4, 3, 4, 4]), torch.float32)
    """

    def __init__(self, images: ImageSet | torch.Tensor, batch_size: int, *, seed: int,
                 device: str | torch.device = "cpu", augment: bool = False) -> None:
        self._images = _as_uint8_images(images)
        if len(self._images) == 0:
            raise DataError("cannot stream batches from an empty image set; allowed: at least one image")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.batch_size = batch_size
        self.augment = augment
        self._device = torch.device(device)
        self._order_gen = torch.Generator().manual_seed(derive_seed(seed, "batch-order"))
        self._flip_gen = torch.Generator().manual_seed(derive_seed(seed, "batch-flip"))
        self._order = torch.randperm(len(self._images), generator=self._order_gen)
        self._pos = 0
        self._epoch = 0
        self._steps = 0

    @property
    def device(self) -> torch.device:
        """Device of the returned batches."""
        return self._device

    @property
    def epoch(self) -> int:
        """0-based epoch of the last image handed out (0 before the first batch)."""
        return self._epoch

    @property
    def steps(self) -> int:
        """Number of batches handed out so far."""
        return self._steps

    @property
    def num_images(self) -> int:
        """Number of images ``N`` in the stream."""
        return len(self._images)

    def to(self, device: str | torch.device) -> BatchStream:
        """Keep the uint8 images on ``device`` and return batches there; returns ``self``.

        On a GPU this removes the host-to-device copy of every step, at the cost
        of ``N * 3 * H * W`` bytes of device memory.
        """
        self._device = torch.device(device)
        self._images = self._images.to(self._device)
        return self

    @property
    def images(self) -> torch.Tensor:
        """The ``uint8 (N, 3, H, W)`` images the stream draws from (never copied)."""
        return self._images

    def state(self) -> dict:
        """The stream's position: everything but the images, as plain values.

        With :meth:`from_state` (or :meth:`load_state`) a stream can move to another
        process, draw batches there and come back: the batches drawn in either place
        are the same as if it had never moved.
        """
        return {
            "batch_size": self.batch_size,
            "augment": self.augment,
            "device": str(self._device),
            "order_gen": self._order_gen.get_state(),
            "flip_gen": self._flip_gen.get_state(),
            "order": self._order.clone(),
            "pos": self._pos,
            "epoch": self._epoch,
            "steps": self._steps,
        }

    def load_state(self, state: dict) -> BatchStream:
        """Continue from ``state`` (from :meth:`state` of a stream over the same images); returns ``self``."""
        self.batch_size = state["batch_size"]
        self.augment = state["augment"]
        self._order_gen.set_state(state["order_gen"])
        self._flip_gen.set_state(state["flip_gen"])
        self._order = state["order"].clone()
        self._pos, self._epoch, self._steps = state["pos"], state["epoch"], state["steps"]
        return self

    @classmethod
    def from_state(cls, images: ImageSet | torch.Tensor, state: dict) -> BatchStream:
        """A stream over ``images`` positioned at ``state`` (see :meth:`state`)."""
        stream = cls(images, state["batch_size"], seed=0, device=state["device"], augment=state["augment"])
        return stream.load_state(state)

    def next(self) -> torch.Tensor:
        """Return the next batch: ``float32 (B, 3, H, W)`` in ``[0, 1]`` on :attr:`device`."""
        index = self._take(self.batch_size)
        batch = self._images[index.to(self._images.device)]
        if self.augment:
            flip = torch.rand(len(index), generator=self._flip_gen) < 0.5
            flip = flip.to(batch.device).view(-1, 1, 1, 1)
            batch = torch.where(flip, batch.flip(-1), batch)
        self._steps += 1
        return batch.to(self._device, non_blocking=True).float().div_(255.0)

    def __iter__(self) -> Iterator[torch.Tensor]:
        return self

    def __next__(self) -> torch.Tensor:
        return self.next()

    def _take(self, count: int) -> torch.Tensor:
        """Next ``count`` positions of the shuffled order, crossing epochs as needed."""
        chunks = []
        n = len(self._images)
        while count:
            if self._pos == n:
                self._order = torch.randperm(n, generator=self._order_gen)
                self._pos = 0
                self._epoch += 1
            take = min(count, n - self._pos)
            chunks.append(self._order[self._pos:self._pos + take])
            self._pos += take
            count -= take
        return chunks[0] if len(chunks) == 1 else torch.cat(chunks)


def iterate_once(images: ImageSet | torch.Tensor, batch_size: int,
                 device: str | torch.device = "cpu") -> Iterator[torch.Tensor]:
    """Yield every image once, in order, as ``float32 (b, 3, H, W)`` batches in ``[0, 1]``.

    Parameters
    ----------
    images : ImageSet or torch.Tensor
        ``uint8`` images of shape ``(N, 3, H, W)``.
    batch_size : int
        Images per batch; the last batch holds the remaining ``N mod B`` if nonzero.
    device : str or torch.device, default "cpu"
        Where batches are returned.

    Yields
    ------
    torch.Tensor
        ``float32`` batches on ``device``, ``ceil(N / B)`` of them.
    """
    data = _as_uint8_images(images)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    for start in range(0, len(data), batch_size):
        yield data[start:start + batch_size].to(device, non_blocking=True).float().div_(255.0)


def _as_uint8_images(images: ImageSet | torch.Tensor) -> torch.Tensor:
    tensor = images.images if isinstance(images, ImageSet) else images
    if not isinstance(tensor, torch.Tensor) or tensor.dtype != torch.uint8 or tensor.ndim != 4:
        raise TypeError(f"expected an ImageSet or a uint8 (N, C, H, W) tensor, got "
                        f"{getattr(tensor, 'dtype', type(tensor).__name__)} "
                        f"{tuple(getattr(tensor, 'shape', ()))}")
    return tensor
