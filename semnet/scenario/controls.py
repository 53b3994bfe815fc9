"""Scenario sections of the personalised and SNR-conditioned controls (``method.ifca``,
``method.fedrep``, ``method.snr_control``) and of the controls' learning-rate grid."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from semnet.scenario.base import _Spec

MAX_CONTROL_STEPS = 100_000


class IFCASpec(_Spec):
    """IFCA (Ghosh et al., 2020), control ``ifca``: ``clusters`` (encoder, decoder) pairs;
    each round every user scores each pair on one batch of its own images at its
    outgoing links' SNRs and trains the best; FedAvg within each cluster."""

    clusters: int = Field(2, ge=2, le=64, description="k: cluster models, seeded from k users' first local training")


class FedRepSpec(_Spec):
    """FedRep (Collins et al., 2021), control ``fedrep``: a shared body and personal
    heads; each round a user first trains its head, then the body."""

    head_layers: int = Field(1, ge=1, le=16, description="layers at each image-facing end that are personal: the "
                             "encoder's first and the decoder's last")
    head_steps: int = Field(5, ge=1, le=MAX_CONTROL_STEPS, description="optimiser steps on the head per round (body frozen)")
    body_steps: int = Field(5, ge=1, le=MAX_CONTROL_STEPS, description="optimiser steps on the body per round (head frozen)")


class SnrControlSpec(_Spec):
    """Control ``snr_conditioned``: one SNR-aware model trained by federated learning
    and fed each link's SNR (the alternative to personalising by data)."""

    model: str = Field("adjscc", description="a registered SNR-aware model (semnet list models)")
    start: Literal["own", "backbone"] = Field(
        "own", description="own: its own federated start from scratch (method.federated: the same rounds, schedule "
        "and plateau rule); backbone: the method's start's weights where they fit, the SNR modules fresh")
