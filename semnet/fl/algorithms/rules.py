"""Aggregation rules: how a server turns its clients' updates into one update.

A rule is separate from the server optimiser. The rule combines the updates it
received (``combine``); the algorithm's server step (:meth:`FederatedStrategy.apply_average`,
or a FineFed decoder's server, :mod:`semnet.fl.algorithms.servers`) then applies the
result. FedAvg is the ``mean`` rule with the plain step. Rules are registered in
:data:`semnet.registry.aggregators` (``semnet list aggregators``) and chosen with
``method.federated.aggregation`` (the global model) and
``method.finetune.decoder_aggregation`` (FineFed's per-receiver decoders).
"""

from __future__ import annotations

from typing import ClassVar, Sequence

from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from semnet.fl.algorithms.aggregation import weighted_average
from semnet.fl.algorithms.robust import coordinate_median, krum_selection, trimmed_count, trimmed_mean
from semnet.registry import aggregators, validated_options


class RuleOptions(BaseModel):
    """Base of a rule's ``Options``: unknown keys are refused, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AggregationRule:
    """Turns client updates (lists of tensors) and their data-size weights into one update."""

    Options: ClassVar[type[BaseModel] | None] = None
    plain: ClassVar[bool] = False  # the weighted mean: FedAvg's arithmetic, kept bit for bit

    def __init__(self, options: dict | None = None):
        self.options = self.validate_options(options or {})

    @classmethod
    def validate_options(cls, options: dict) -> BaseModel | None:
        return validated_options(cls, options)

    def check_clients(self, n: int) -> str | None:
        """Why this rule cannot aggregate ``n`` updates (one phrase), or None if it can."""
        return None

    def combine(self, updates: Sequence[Sequence[Tensor]], weights: Sequence[float]) -> list[Tensor]:
        raise NotImplementedError


@aggregators.register("mean", "weighted mean of the updates, by data size (FedAvg's rule; the default)")
class WeightedMean(AggregationRule):
    plain = True

    def combine(self, updates, weights):
        return weighted_average(updates, weights)


@aggregators.register("median", "coordinate-wise median (Yin et al., 2018); even counts: mean of the two middle values")
class CoordinateMedian(AggregationRule):
    def combine(self, updates, weights):
        return coordinate_median(updates)


@aggregators.register("trimmed_mean", "coordinate-wise trimmed mean (Yin et al., 2018): drops the floor(trim_fraction n) "
                      "largest and smallest values per coordinate (options: trim_fraction)")
class TrimmedMean(AggregationRule):
    class Options(RuleOptions):
        trim_fraction: float = Field(0.2, gt=0, lt=0.5, description="share of the updates dropped at each end")

    def check_clients(self, n):
        beta = self.options.trim_fraction
        if trimmed_count(n, beta) == 0:
            return (f"trim_fraction {beta} of {n} updates trims none (floor({beta} x {n}) = 0); "
                    f"allowed: {1 / n:.4g} <= trim_fraction < 0.5")
        return None

    def combine(self, updates, weights):
        return trimmed_mean(updates, self.options.trim_fraction)


@aggregators.register("krum", "Krum (Blanchard et al., 2017): the update closest to its n - faulty - 2 nearest "
                      "neighbours; Multi-Krum averages the `selected` best (options: faulty, selected)")
class Krum(AggregationRule):
    class Options(RuleOptions):
        faulty: int = Field(1, ge=0, le=10_000, description="f: faulty clients tolerated; needs n > 2f + 2 clients")
        selected: int = Field(1, ge=1, le=10_000, description="m: updates averaged (1: Krum, more: Multi-Krum)")

    def check_clients(self, n):
        f, m = self.options.faulty, self.options.selected
        if n <= 2 * f + 2:
            allowed = f"faulty <= {(n - 3) // 2}" if n >= 3 else "at least 3 updates (krum needs n > 2 faulty + 2)"
            return f"faulty {f} needs more than 2 x {f} + 2 = {2 * f + 2} updates, and there are {n}; allowed: {allowed}"
        if m > n - f:
            return f"selected {m} exceeds the {n} - {f} honest updates; allowed: selected <= {n - f}"
        return None

    def combine(self, updates, weights):
        chosen = krum_selection(updates, self.options.faulty, self.options.selected)
        return weighted_average([updates[i] for i in chosen], [weights[i] for i in chosen])


def make_rule(name: str, options: dict | None = None) -> AggregationRule:
    """The registered aggregation rule ``name`` with its ``options``."""
    return aggregators.get(name)(options)
