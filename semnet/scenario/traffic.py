"""``traffic:`` — live semantic traffic: images crossing every image link while the run
learns (see ``docs/scenario-reference.md``, section ``traffic``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from semnet.scenario.base import _Spec

ARRIVALS = ("periodic", "poisson")
QUEUE_POLICIES = ("fifo", "images_first")
DIGITAL_TRAFFIC_RATES = ("capacity", "mcs")


class DigitalTrafficSpec(_Spec):
    """Images as packets (``traffic.digital``): each compressed by a real codec to the bits
    its ``k`` channel uses carry at the chosen rate, sent over the link's message path
    (rate, outage, retransmissions), decoded, or replaced by a fallback."""

    codec: str = Field("webp", description="image codec (semnet list image_codecs)")
    rate: Literal["capacity", "mcs"] = Field(
        "capacity", description="capacity: k log2(1 + SNR) bits of the link's large-scale SNR | mcs: k x the "
        "efficiency of the 5G NR CQI entry of the last SNR learnt on the link, lost below its threshold")
    fallback: Literal["previous", "mean"] = Field(
        "previous", description="what the receiver shows for a lost, late or unfit image: the last image it showed "
        "on the link (the dataset mean before any) | the dataset mean")
    mcs_margin_db: float = Field(0.0, ge=-30, le=30, description="mcs: back-off (dB) from the last known SNR when "
                                 "choosing the CQI entry (negative: a rate above what the SNR supports)")


class TrafficSpec(_Spec):
    """Images at ``images_per_s`` on every image link, each ``k`` channel uses of the
    model (``model``'s channel uses per image), queued with the model messages on the
    link's medium, and decoded with the models deployed when it is sent and received
    (or, with ``digital``, sent as codec packets of the same ``k`` channel uses' bits)."""

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
    digital: DigitalTrafficSpec | None = Field(
        None, description="null: images travel as JSCC channel symbols | {codec, rate, fallback, mcs_margin_db}: "
        "as digital packets over the link's message path")
