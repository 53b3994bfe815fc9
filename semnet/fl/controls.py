"""Fair-comparison controls: what a method's gain is measured against.

A control runs from the same start as the method, on its own branch (own simulator
clock from the start's end, own batch streams), and spends at least the method's
budget of local passes (compute-matched, FedPer, Ditto, local fine-tuning) or bytes
(bytes-matched). Controls are registered in :data:`semnet.registry.controls` and a
scenario names them in ``method.controls``; :func:`run_controls` is the one mechanism
that runs them.

Compute budgets are matched in encoder->channel->decoder passes (optimiser steps x
tasks: one FineFed encoder step over 3 receivers costs 3 passes), bytes in bytes.
Federated controls continue at the fine-tuning learning rate (or at
``controls_lr``, chosen for the controls on validation images), so a method's gain
cannot come from a smaller step size alone.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass

from torch import nn

from semnet.fl.baselines import Ditto, FedPer, LocalFinetune
from semnet.fl.context import PhaseRecord, RunContext
from semnet.fl.federated import continued, make_strategy
from semnet.fl.strategy import RoundStrategy, run_rounds
from semnet.registry import controls


@dataclass(frozen=True)
class Budget:
    """What a method spent after its start: the amounts controls must match."""

    local_steps: int
    local_passes: int
    bytes: int

    def as_dict(self) -> dict:
        return asdict(self)


def rounds_for(budget: float, per_round: float) -> int:
    """Rounds that spend at least ``budget`` (never less: a control is not starved)."""
    return max(1, math.ceil(budget / per_round - 1e-9))


class Control:
    """A control experiment. Subclasses build the round strategy (:meth:`strategy`)
    and say how many of its rounds spend the budget (:meth:`rounds`); ``spec`` is the
    scenario's ``method:`` section and ``algorithm`` the start's federated algorithm."""

    def __init__(self, spec, algorithm: str):
        self.spec = spec
        self.algorithm = algorithm

    def strategy(self, ctx: RunContext, start: nn.Module, budget: Budget) -> RoundStrategy:
        raise NotImplementedError

    def rounds(self, ctx: RunContext, strategy: RoundStrategy, budget: Budget) -> int:
        raise NotImplementedError

    def run(self, ctx: RunContext, start: nn.Module, budget: Budget, phase: str) -> tuple[PhaseRecord, int]:
        strategy = self.strategy(ctx, start, budget)
        rounds = self.rounds(ctx, strategy, budget)
        return run_rounds(ctx, strategy, rounds, phase=phase), rounds

    @property
    def lr(self) -> float:
        """Learning rate of the federated controls."""
        spec = self.spec
        return spec.controls_lr if spec.controls_lr is not None else spec.finetune.encoder.lr


class _FederatedContinuation(Control):
    def strategy(self, ctx, start, budget):
        return make_strategy(ctx, start, continued(self.spec.federated, self.lr), self.algorithm)


@controls.register("compute_matched", "the start's federated algorithm continued for at least the method's local passes")
class ComputeMatched(_FederatedContinuation):
    def rounds(self, ctx, strategy, budget):
        per_round = sum(strategy.steps(u) for u in ctx.users) * strategy.participants() / len(ctx.users)
        return rounds_for(budget.local_passes, per_round)


@controls.register("bytes_matched", "the start's federated algorithm continued for at least the method's bytes")
class BytesMatched(_FederatedContinuation):
    def rounds(self, ctx, strategy, budget):
        return rounds_for(budget.bytes, strategy.bytes_per_round(strategy.participants()))


@controls.register("fedper", "FedPer from the start for at least the method's local passes")
class FedPerControl(Control):
    def strategy(self, ctx, start, budget):
        return FedPer(ctx, start, self.spec.personal.local)

    def rounds(self, ctx, strategy, budget):
        return rounds_for(budget.local_passes, strategy.steps_per_round())


@controls.register("ditto", "Ditto from the start for at least the method's local passes (global + personal)")
class DittoControl(FedPerControl):
    def strategy(self, ctx, start, budget):
        return Ditto(ctx, start, self.spec.personal.local, self.spec.personal.ditto_lambda)


@controls.register("local_finetune", "one multi-task encoder fine-tuning job per transmitter, the method's passes in all")
class LocalFinetuneControl(Control):
    def strategy(self, ctx, start, budget):
        # one job per transmitter, its steps spread so that all tasks together spend the passes
        tasks = sum(len(ctx.receivers(u)) for u in ctx.users)
        steps = rounds_for(budget.local_passes, tasks)
        return LocalFinetune(ctx, start, self.spec.finetune.encoder, steps=steps, purpose="local_finetune")

    def rounds(self, ctx, strategy, budget):
        return 1


def run_controls(ctx: RunContext, names, spec, algorithm: str, start: nn.Module, budget: Budget) -> list[dict]:
    """Run each named control from ``start`` on its own branch; one summary dict each
    (the phase record plus ``name``, ``rounds`` and the ``local_passes`` it spent)."""
    out = []
    for name in names:
        branch = ctx.branch(f"control_{name}")
        control = controls.get(name)(spec, algorithm)
        record, rounds = control.run(branch, copy.deepcopy(start), budget, phase=name)
        summary = record.as_dict()
        summary["name"] = name
        summary["rounds"] = rounds
        summary["local_passes"] = branch.local_passes
        out.append(summary)
    return out
