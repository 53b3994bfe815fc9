"""``data:`` — which images, how many per user, and how they are split among users."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from semnet.scenario.base import SpecValueError, _Spec

BUILTIN_PARTITIONS = ("iid", "dirichlet", "classes", "source")
"""The built-in ``data.partition.kind`` values; plugins register more in
``semnet.registry.partitioners`` (checked when the scenario is loaded)."""


class PartitionSpec(_Spec):
    """How images are dealt to users: a built-in kind, or a partitioner a plugin registered."""

    kind: str = Field("source", min_length=1, description="iid, dirichlet, classes, source or a plugin partitioner")
    alpha: float = Field(0.5, gt=0, description="dirichlet: concentration (small = skewed)")
    classes_per_user: int = Field(2, ge=1, description="classes: labels per user")
    options: dict[str, Any] = Field(default_factory=dict, description="a plugin partitioner's own settings")

    @model_validator(mode="after")
    def _check(self) -> "PartitionSpec":
        if self.options and self.kind in BUILTIN_PARTITIONS:
            raise SpecValueError(
                "options", self.options, f"partition kind '{self.kind}' is built in and takes no options "
                "(its settings are alpha and classes_per_user); options are for plugin partitioners"
            )
        return self


# The largest side of square patches the embedded photographs give (a multiple of 4):
# the narrowest held-out strip is 90 px wide (checked against semnet.data.embedded by
# tests/data/test_data_embedded.py).
EMBEDDED_MAX_IMAGE_SIZE = 88


class DataSpec(_Spec):
    source: Literal["embedded", "folder", "cifar10"] = "embedded"
    path: str | None = Field(None, description="folder/cifar10: data root (relative to the working directory)")
    image_size: int | None = Field(
        None, ge=8, le=4096, multiple_of=4,
        description="folder/cifar10 folder: resize+crop to this side; embedded: side of the patches cut from the "
        "photographs (None: 32); None keeps a folder's size",
    )
    max_per_class: int | None = Field(None, ge=1, description="folder/cifar10: use only the first N images of each class")
    train_per_user: int | None = Field(None, ge=1, description="cap on each user's training images")
    test_per_user: int | None = Field(64, ge=1, description="cap on each user's held-out images")
    validation_per_user: int = Field(
        32, ge=0, le=1_000_000, description="training images held out per user (at most 10%) for convergence checks"
    )
    partition: PartitionSpec = PartitionSpec()
    augment: bool = Field(False, description="random horizontal flips while training")
    cache_dir: str | None = Field(None, description="on-disk cache of decoded images")

    @model_validator(mode="after")
    def _check(self) -> "DataSpec":
        if self.source in ("folder", "cifar10") and not self.path:
            raise SpecValueError("path", self.path, f"data source '{self.source}' needs 'path' (a folder)")
        if self.source == "embedded":
            if self.image_size is not None and self.image_size > EMBEDDED_MAX_IMAGE_SIZE:
                raise SpecValueError("image_size", self.image_size, "the embedded photographs give patches of at most "
                                     f"{EMBEDDED_MAX_IMAGE_SIZE} pixels; use a folder of larger images")
            for key in ("path", "max_per_class", "cache_dir"):  # read only from folders: not silently ignored
                if getattr(self, key) is not None:
                    raise SpecValueError(key, getattr(self, key), "is not used by data source 'embedded' (only by "
                                         "folder and cifar10); leave it out or choose another source")
        return self
