"""``data:`` — which images, how many per user, and how they are split among users."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from semnet.scenario.base import SpecValueError, _Spec


class PartitionSpec(_Spec):
    kind: Literal["iid", "dirichlet", "classes", "source"] = "source"
    alpha: float = Field(0.5, gt=0, description="dirichlet: concentration (small = skewed)")
    classes_per_user: int = Field(2, ge=1, description="classes: labels per user")


class DataSpec(_Spec):
    source: Literal["embedded", "folder", "cifar10"] = "embedded"
    path: str | None = Field(None, description="folder/cifar10: data root (relative to the working directory)")
    image_size: int | None = Field(None, ge=8, description="folder: resize+crop to this side; None keeps size")
    max_per_class: int | None = Field(None, ge=1, description="use only the first N images of each class")
    train_per_user: int | None = Field(None, ge=1, description="cap on each user's training images")
    test_per_user: int | None = Field(64, ge=1, description="cap on each user's held-out images")
    validation_per_user: int = Field(
        32, ge=0, description="training images held out per user (at most 10%) for convergence checks"
    )
    partition: PartitionSpec = PartitionSpec()
    augment: bool = Field(False, description="random horizontal flips while training")
    cache_dir: str | None = Field(None, description="on-disk cache of decoded images")

    @model_validator(mode="after")
    def _check(self) -> "DataSpec":
        if self.source in ("folder", "cifar10") and not self.path:
            raise SpecValueError("path", self.path, f"data source '{self.source}' needs 'path' (a folder)")
        return self
