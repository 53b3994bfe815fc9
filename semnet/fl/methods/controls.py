"""Fair-comparison controls: what a method's gain is measured against.

A control runs from the same start as the method, on its own branch (own simulator
clock from the start's end, own batch streams), and spends at least the method's
budget of local passes (compute-matched, FedPer, Ditto, local fine-tuning) or bytes
(bytes-matched). Controls are registered in :data:`semnet.registry.controls` and a
scenario names them in ``method.controls``; :func:`run_controls` is the one mechanism
that runs them.

Compute budgets are matched in encoder->channel->decoder passes (optimiser steps x
tasks: one FineFed encoder step over 3 receivers costs 3 passes), bytes in bytes, both
read from the counters of the branches: the method's budget is what its own messages
and jobs spent after the start, and a control plays rounds until its own messages and
jobs (its final broadcast included) reach that budget. Controls start with the
holdings of the start (every user holds the final global model, :mod:`semnet.fl.loop.versions`).
Federated controls continue at the fine-tuning learning rate (or at
``controls_lr``, chosen for the controls on validation images), so a method's gain
cannot come from a smaller step size alone; with ``controls_lr_grid`` each tuned
control runs once per rate from the same start and keeps the best on validation
images. A control with a start of its own (the SNR-conditioned model,
:mod:`semnet.fl.methods.pfl_controls`) trains it in :meth:`Control.prepare`, once for
every rate.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field
from typing import ClassVar

from torch import nn

from semnet.fl.methods.baselines import Ditto, FedPer, LocalFinetune
from semnet.fl.loop.context import PhaseRecord, RunContext
from semnet.fl.algorithms.federated import continued, make_strategy
from semnet.fl.methods.oracle import LinkOracle, Plateau
from semnet.fl.loop.strategy import RoundStrategy, run_rounds
from semnet.fl.loop.versions import Holdings
from semnet.registry import controls
from semnet.errors import ScenarioError
from semnet.scenario.schema import MAX_ROUNDS


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


def closing_bits(strategy: RoundStrategy) -> int:
    """Bits the strategy's closing round would send now (its final broadcast)."""
    return sum(m.bits for plan in strategy.closing_plans() for m in plan.task.downloads)


class Control:
    """A control experiment. Subclasses build the round strategy (:meth:`strategy`)
    and say when its rounds have spent the budget (:meth:`spent`, read from the
    branch's own counters after each round) or cap them
    (:meth:`rounds`); ``spec`` is the scenario's ``method:`` section and ``algorithm``
    the start's federated algorithm. A budget the start already meets (nothing spent)
    plays no round: the control is then the start itself."""

    # whether method.controls_lr_grid tunes its rate (:attr:`lr`): run once per rate, the
    # best on validation images kept (:func:`run_controls`)
    tuned: ClassVar[bool] = False
    # whether its links use pairs chosen per link (LinkModules), not one encoder per
    # transmitter and one decoder per receiver: live images cannot be sent with them
    pairs_per_link: ClassVar[bool] = False

    def __init__(self, spec, algorithm: str, lr: float | None = None):
        self.spec = spec
        self.algorithm = algorithm
        self._lr = lr  # a rate of the grid; None: controls_lr or the fine-tuning rate

    def prepare(self, ctx: RunContext, start: nn.Module, holdings: Holdings | None) -> Prepared:
        """What every rate of the control starts from: by default the method's start on
        the run's context, the nodes holding ``holdings``; a control with a start of its own
        trains it here, once for the whole grid."""
        return Prepared(ctx, start, holdings)

    def strategy(self, ctx: RunContext, start: nn.Module, budget: Budget) -> RoundStrategy:
        raise NotImplementedError

    def rounds(self, ctx: RunContext, strategy: RoundStrategy, budget: Budget) -> int:
        """The most rounds it may play (a cap where :meth:`spent` decides)."""
        return MAX_ROUNDS

    def spent(self, ctx: RunContext, strategy: RoundStrategy, budget: Budget) -> bool | None:
        """Whether the rounds so far spend the budget; None: play :meth:`rounds` rounds."""
        return None

    def run(self, ctx: RunContext, start: nn.Module, budget: Budget, phase: str) -> tuple[PhaseRecord, dict]:
        """Play the control on ``ctx`` (its branch); its phase record and what its summary
        adds (``rounds`` played and :meth:`report`)."""
        strategy = self.strategy(ctx, start, budget)
        rounds = self.rounds(ctx, strategy, budget)
        until = None
        already = self.spent(ctx, strategy, budget)
        if already is not None:
            def until():
                return self.spent(ctx, strategy, budget)
            if already:  # a budget of nothing (e.g. an encoder step that sent no bytes): the start itself
                rounds = 0
        record = run_rounds(ctx, strategy, rounds, phase=phase, until=until)
        return record, {"rounds": record.rounds, **self.report(strategy)}

    def report(self, strategy: RoundStrategy) -> dict:
        """Fields the control adds to its summary (default: none)."""
        return {}

    @property
    def lr(self) -> float:
        """Learning rate of the federated and personalised-by-rounds controls."""
        spec = self.spec
        if self._lr is not None:
            return self._lr
        return spec.controls_lr if spec.controls_lr is not None else spec.finetune.encoder.lr


@dataclass
class Prepared:
    """Where a control's rates branch from (:meth:`Control.prepare`): a context, the model
    they start from, what the nodes hold then (None: what they hold on that context) and
    what the summary adds about the preparation."""

    ctx: RunContext
    start: nn.Module
    holdings: Holdings | None
    report: dict = field(default_factory=dict)


class _FederatedContinuation(Control):
    tuned = True

    def strategy(self, ctx, start, budget):
        return make_strategy(ctx, start, continued(self.spec.federated, self.lr), self.algorithm)


class _PassesMatched(Control):
    """Rounds until the branch's local passes reach the method's."""

    def spent(self, ctx, strategy, budget):
        return ctx.rounds.local_passes >= budget.local_passes


@controls.register("compute_matched", "the start's federated algorithm continued for at least the method's local passes")
class ComputeMatched(_PassesMatched, _FederatedContinuation):
    pass


@controls.register("bytes_matched", "the start's federated algorithm continued for at least the method's bytes "
                   "(its final broadcast included)")
class BytesMatched(_FederatedContinuation):
    def spent(self, ctx, strategy, budget):
        # what the branch sent, and what deploying its model now would send
        return (ctx.rounds.bits_total + closing_bits(strategy)) // 8 >= budget.bytes


@controls.register("fedper", "FedPer from the start for at least the method's local passes")
class FedPerControl(_PassesMatched):
    def strategy(self, ctx, start, budget):
        return FedPer(ctx, start, self.spec.personal.local)


@controls.register("ditto", "Ditto from the start for at least the method's local passes (global + personal)")
class DittoControl(FedPerControl):
    def strategy(self, ctx, start, budget):
        return Ditto(ctx, start, self.spec.personal.local, self.spec.personal.ditto_lambda)


@controls.register("local_finetune", "one multi-task encoder fine-tuning job per transmitter, the method's passes in all")
class LocalFinetuneControl(Control):
    def strategy(self, ctx, start, budget):
        # one job per transmitter, its steps spread so that all tasks together spend the passes
        tasks = sum(len(ctx.topology.receivers(u)) for u in ctx.topology.users)
        steps = rounds_for(budget.local_passes, tasks)
        return LocalFinetune(ctx, start, self.spec.finetune.encoder, steps=steps, purpose="local_finetune")

    def rounds(self, ctx, strategy, budget):
        return 1


@controls.register("oracle", "headroom oracle, not budget-matched: per link, the start's encoder and decoder "
                   "fine-tuned jointly on the sender's training images at the link's channel (method.oracle)")
class OracleControl(Control):
    pairs_per_link = True

    def strategy(self, ctx, start, budget):
        spec = self.spec.oracle
        return LinkOracle(ctx, start, spec.local, Plateau(spec.patience, spec.min_gain_db))

    def rounds(self, ctx, strategy, budget):
        return self.spec.oracle.rounds

    def spent(self, ctx, strategy, budget):
        # with a patience: done once every link has reached its plateau (rounds: the cap)
        return None if self.spec.oracle.patience is None else strategy.all_plateaued()

    def report(self, strategy):
        # the chunk each link's kept pair comes from (0: the start itself)
        out = {"best_round": [{"src": i, "dst": j, "round": r} for (i, j), r in sorted(strategy.best_round.items())]}
        if self.spec.oracle.patience is not None:  # where each link stopped; null: still improving at the cap
            stopped = strategy.plateau.stopped_at
            out["plateau"] = [{"src": i, "dst": j, "stopped_after_round": stopped.get((i, j))}
                              for i, j in sorted(strategy.encoders)]
            out["capped_links"] = sum(1 for link in strategy.encoders if link not in stopped)
        return out


def run_controls(ctx: RunContext, names, spec, algorithm: str, start: nn.Module, budget: Budget,
                 holdings: Holdings | None = None) -> list[dict]:
    """Run each named control from ``start`` on its own branch, whose nodes hold
    ``holdings`` (what they held at the start); one summary dict each (the phase record
    plus ``name``, ``rounds`` and the ``local_passes`` it spent).

    With ``method.controls_lr_grid`` a tuned control runs once per rate, each on its own
    branch (``control_<name>_lr<rate>``) from what :meth:`Control.prepare` gave, and
    the rate whose phase scored the highest validation PSNR is kept (the first on a
    tie); its summary lists every rate's validation PSNR under ``lr_choice``."""
    out = []
    for name in names:
        cls = controls.get(name)
        grid = spec.controls_lr_grid if getattr(spec, "controls_lr_grid", None) and cls.tuned else None
        prepared = cls(spec, algorithm).prepare(ctx, start, holdings)
        if grid is None:
            summary = _run_one(prepared, f"control_{name}", name, cls(spec, algorithm), budget)
        else:
            tried = [_run_one(prepared, f"control_{name}_lr{rate:g}", name, cls(spec, algorithm, lr=rate), budget)
                     for rate in grid]
            scores = [t["validation_psnr_db"] for t in tried]
            if any(v is None for v in scores):
                raise ScenarioError("method.controls_lr_grid: choosing a rate needs validation images; "
                                    "set data.validation_per_user > 0")
            summary = tried[max(range(len(tried)), key=lambda k: (scores[k], -k))]
            summary["lr"] = grid[tried.index(summary)]
            summary["lr_choice"] = [{"lr": rate, "validation_psnr_db": v} for rate, v in zip(grid, scores)]
        summary.update(prepared.report)
        out.append(summary)
    return out


def _run_one(prepared: Prepared, branch_name: str, name: str, control: Control, budget: Budget) -> dict:
    branch = prepared.ctx.branch(branch_name, prepared.holdings)
    record, extra = control.run(branch, copy.deepcopy(prepared.start), budget, phase=name)
    summary = record.as_dict()
    summary["name"] = name
    summary.update(extra)
    summary["local_passes"] = branch.rounds.local_passes
    return summary
