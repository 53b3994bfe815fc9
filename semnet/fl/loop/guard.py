"""Divergence checks: a training job whose loss or weights stopped being finite, and
a phase whose validation quality collapsed.

They run where the values appear (after each round's jobs, after each evaluation),
so a diverged run stops in the round it diverged instead of running every later
phase on NaN weights; the run directory keeps what was recorded up to there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from semnet.fl.execution.trainer import JobResult, TrainJob


def first_non_finite(jobs: Sequence[TrainJob], results: Sequence[JobResult]) -> tuple[TrainJob, str] | None:
    """The first job of a task whose loss or trained weights are NaN or infinite, and
    what is wrong; ``None`` when all are finite."""
    for job, result in zip(jobs, results, strict=True):
        for loss in (result.loss, *result.task_losses):
            if not math.isfinite(loss):
                return job, f"non-finite training loss ({loss})"
        if not all_finite(job.trainable()):
            return job, "non-finite weights after training"
    return None


def all_finite(tensors) -> bool:
    """Whether every value of every tensor is finite (one check per tensor)."""
    return all(bool(torch.isfinite(t).all()) for t in tensors)


def collapsed(value_db: float, reference_db: float | None, drop_db: float | None) -> bool:
    """Whether ``value_db`` fell more than ``drop_db`` below ``reference_db`` (never
    without both)."""
    return reference_db is not None and drop_db is not None and value_db < reference_db - drop_db
