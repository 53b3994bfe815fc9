"""Data sets, partitioning among users, and batching.

Loaders return an :class:`ImageSet` of ``uint8 (N, 3, H, W)`` images:

- :func:`load_embedded` — the default: patches of photographs bundled with
  scikit-image / scikit-learn (no download, no data folder).
- :func:`load_image_folder` — ``<root>/<split>/<class>/<image>`` folders such as
  ``../shared/data/cifar10-jpeg``; :func:`index_image_folder` lists one and decodes an
  image when it is first taken.
- :func:`load_cifar10_pickle` — torchvision's CIFAR-10 python files on disk.

:func:`partition` / :func:`partition_pair` split labels among users (IID,
Dirichlet, classes per user, sources, or a partitioner registered in
``semnet.registry.partitioners``: :class:`PartitionRequest`, :func:`class_shares`);
:class:`BatchStream` and :func:`iterate_once` turn uint8 images into float batches
in ``[0, 1]``.
"""

from semnet.data.batches import BatchStream, iterate_once
from semnet.data.cifar import load_cifar10_pickle
from semnet.data.embedded import load_embedded
from semnet.data.folder import FolderImages, index_image_folder, load_image_folder
from semnet.data.imageset import ImageSet
from semnet.data.partition import PARTITION_KINDS, PartitionRequest, class_shares, partition, partition_pair

__all__ = [
    "PARTITION_KINDS",
    "BatchStream",
    "FolderImages",
    "ImageSet",
    "PartitionRequest",
    "class_shares",
    "index_image_folder",
    "iterate_once",
    "load_cifar10_pickle",
    "load_embedded",
    "load_image_folder",
    "partition",
    "partition_pair",
]
