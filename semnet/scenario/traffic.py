"""``traffic:`` — live semantic traffic: images crossing every image link while the run
learns (see ``docs/scenario-reference.md``, section ``traffic``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from semnet.scenario.base import _Spec

ARRIVALS = ("periodic", "poisson")
QUEUE_POLICIES = ("fifo", "images_first")


class TrafficSpec(_Spec):
    """Images at ``images_per_s`` on every image link, each ``k`` channel uses of the
    model (``model``'s channel uses per image), queued with the model messages on the
    link's medium, and decoded with the models deployed when it is sent and received."""

    images_per_s: float = Field(gt=0, le=1e6, description="images per second on every image link")
    arrivals: Literal["periodic", "poisson"] = Field(
        "poisson", description="periodic (evenly spaced, each link at a random phase) | poisson (exponential gaps)"
    )
    queue: Literal["fifo", "images_first"] = Field(
        "fifo", description="fifo: images and model messages in arrival order | images_first: an image goes ahead "
        "of model messages that have not started"
    )
    deadline_s: float | None = Field(
        None, gt=0, le=1e6, description="an image received later than this after it was generated counts as lost"
    )
    window_s: float = Field(1.0, gt=0, le=1e6, description="span of the windowed statistics in metrics.jsonl")
    image_records: bool = Field(True, description="write images.jsonl: one record per image")
