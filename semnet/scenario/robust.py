"""Scenario sections of robust aggregation: which rule combines a step's updates, which
server optimiser steps FineFed's decoders, and which users send corrupted updates."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from semnet.scenario.base import SpecValueError, _Spec

FAULT_KINDS = ("gaussian", "sign_flip", "scaled")
FAULT_STEPS = ("global", "decoders")


class AggregationSpec(_Spec):
    """How a server combines its clients' updates (``semnet list aggregators``); the
    server step (the algorithm) then applies the result."""

    rule: str = Field("mean", description="a registered aggregation rule (semnet list aggregators)")
    options: dict[str, Any] = Field(default_factory=dict, description="the rule's own settings: trimmed_mean "
                                    "trim_fraction, krum faulty and selected")


class DecoderServerSpec(_Spec):
    """FineFed's per-receiver decoder step: the server optimiser each receiver applies to
    the combined update of its transmitters (one state per receiver, kept over iterations)."""

    algorithm: str = Field("fedavg", description="a registered algorithm with a server step only: fedavg, fedavgm, "
                           "fedadagrad, fedadam, fedyogi")
    options: dict[str, Any] = Field(default_factory=dict, description="the algorithm's own settings")


class FaultsSpec(_Spec):
    """Users that send corrupted updates: ``update + N(0, std^2)`` per value (gaussian),
    ``-update`` (sign_flip) or ``factor x update`` (scaled), in the steps listed."""

    users: tuple[int, ...] = Field(..., min_length=1, description="the faulty users (node ids)")
    kind: Literal["gaussian", "sign_flip", "scaled"] = Field(..., description="how their updates are corrupted")
    std: float | None = Field(None, gt=0, le=1e6, description="gaussian: standard deviation of the added noise")
    factor: float | None = Field(None, ge=-1e6, le=1e6, description="scaled: the factor on the update")
    steps: tuple[Literal["global", "decoders"], ...] = Field(
        FAULT_STEPS, min_length=1, description="where they lie: global (the federated start, controls) and/or "
        "decoders (FineFed's decoder steps)")

    @model_validator(mode="after")
    def _check_kind(self) -> "FaultsSpec":
        needs = {"gaussian": "std", "scaled": "factor"}.get(self.kind)
        for key in ("std", "factor"):
            value = getattr(self, key)
            if key == needs and value is None:
                raise SpecValueError(key, None, f"kind {self.kind} needs {key}")
            if key != needs and value is not None:
                raise SpecValueError(key, value, f"kind {self.kind} takes no {key}; allowed: null")
        if len(set(self.users)) != len(self.users):
            raise SpecValueError("users", list(self.users), "a user is listed twice")
        return self
