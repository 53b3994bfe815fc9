"""``ImageSet``: a labelled stack of uint8 RGB images held in one tensor.

Every loader in :mod:`semnet.data` returns this type, so partitioning, batching and
the simulator never care where the pixels came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["ImageSet"]


@dataclass(frozen=True, eq=False)
class ImageSet:
    """Images, their integer labels and the names of the labels.

    The tensors are shared, not copied, by loaders that cache their results: treat
    them as read-only (use :meth:`subset` or ``.clone()`` to get a private copy).

    Parameters
    ----------
    images : torch.Tensor
        ``uint8`` tensor of shape ``(N, 3, H, W)``, pixel values in ``[0, 255]``.
    labels : torch.Tensor
        ``int64`` tensor of shape ``(N,)``; ``labels[i]`` indexes ``class_names``.
    class_names : tuple of str
        Name of each label, length ``C``; labels lie in ``[0, C)``.

    Examples
    --------
    >>> import torch
    >>> s = ImageSet(torch.zeros(4, 3, 8, 8, dtype=torch.uint8),
    ...              torch.tensor([0, 1, 1, 0]), ("a", "b"))
    >>> len(s), s.subset([1, 2]).labels.tolist(), s.nbytes
    (4, [1, 1], 800)
    """

    images: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        # Bad shapes here are programming errors inside semnet, not user input.
        if not isinstance(self.images, torch.Tensor) or self.images.dtype != torch.uint8:
            raise TypeError(f"ImageSet.images must be a uint8 tensor, got {_describe(self.images)}")
        if self.images.ndim != 4 or self.images.shape[1] != 3:
            raise ValueError(f"ImageSet.images must have shape (N, 3, H, W), got {tuple(self.images.shape)}")
        if not isinstance(self.labels, torch.Tensor) or self.labels.dtype != torch.int64:
            raise TypeError(f"ImageSet.labels must be an int64 tensor, got {_describe(self.labels)}")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(
                f"ImageSet.labels must have shape ({self.images.shape[0]},), got {tuple(self.labels.shape)}"
            )
        names = tuple(self.class_names)
        if not all(isinstance(n, str) for n in names):
            raise TypeError(f"ImageSet.class_names must be strings, got {names!r}")
        object.__setattr__(self, "class_names", names)
        if self.labels.numel() and (int(self.labels.min()) < 0 or int(self.labels.max()) >= len(names)):
            raise ValueError(f"ImageSet.labels must lie in [0, {len(names)}), got range "
                             f"[{int(self.labels.min())}, {int(self.labels.max())}]")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __repr__(self) -> str:
        n, c, h, w = self.images.shape
        return f"ImageSet(n={n}, shape=({c}, {h}, {w}), classes={len(self.class_names)}, device={self.images.device})"

    @property
    def num_classes(self) -> int:
        """Number of label names ``C`` (some may have no images)."""
        return len(self.class_names)

    @property
    def nbytes(self) -> int:
        """Memory held by ``images`` and ``labels``, in bytes."""
        return int(self.images.numel() * self.images.element_size()
                   + self.labels.numel() * self.labels.element_size())

    def take(self, positions: Sequence[int]) -> torch.Tensor:
        """The images at ``positions``, in that order, as a new tensor (the loaders' common
        way to fetch pixels: :class:`semnet.data.folder.FolderImages` decodes them then)."""
        return self.images[list(positions)].contiguous()

    def subset(self, indices: Sequence[int] | np.ndarray | torch.Tensor) -> ImageSet:
        """Return the images at ``indices``, in that order, as a new ``ImageSet``.

        Parameters
        ----------
        indices : sequence of int, numpy array or tensor, shape ``(M,)``
            Positions in ``[0, N)``; repeats are allowed.

        Returns
        -------
        ImageSet
            ``M`` images with the same ``class_names``, on the same device.
        """
        index = torch.as_tensor(np.asarray(indices, dtype=np.int64)
                                if not isinstance(indices, torch.Tensor) else indices.to(torch.int64))
        index = index.reshape(-1)
        return ImageSet(self.images[index.to(self.images.device)],
                        self.labels[index.to(self.labels.device)], self.class_names)


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor of dtype {value.dtype}"
    return type(value).__name__
