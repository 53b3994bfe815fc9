"""The seams every federated or personalised method plugs into.

* A :class:`RoundStrategy` configures one round (which users, which messages, which
  local jobs: a list of :class:`~semnet.fl.loop.context.ClientPlan`) and aggregates the
  replies; tasks whose messages were lost or late arrive as ``failures`` (data, not
  exceptions) and are left out. It also says which encoder and decoder each link
  uses when it is scored (its pairing rule).
* :func:`run_rounds` is the one round loop: configure -> the simulator plays the
  round and the trainer runs the surviving jobs -> aggregate -> aggregation delay ->
  progress -> optional evaluation and convergence check -> phase record.
* A :class:`Method` (registered in :data:`semnet.registry.methods`) is what a
  scenario's ``method.name`` runs: a pipeline of phases, each usually one
  ``run_rounds`` call, returning a :class:`MethodOutcome`.

The strategies see only a :class:`~semnet.fl.loop.context.RunContext`: users, data streams,
the trainer, a way to play a round and to evaluate; never the scenario or the network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel
from torch import nn

from semnet.registry import validated_options
from semnet.fl.loop.context import ClientPlan, PhaseRecord, RunContext, StrategyView, cpu_state
from semnet.fl.loop.convergence import ConvergenceCheck
from semnet.fl.loop.resume import call_snapshot, restore_call
from semnet.fl.loop.schedule import RateSchedule
from semnet.fl.execution.trainer import JobResult, TrainJob
from semnet.sim import TaskOutcome

Pairing = tuple[Callable[[int], nn.Module], Callable[[int], nn.Module]]
"""(encoder_of(transmitter), decoder_of(receiver)): which modules link i->j uses."""


@dataclass
class ClientReply:
    """One task that got through: its plan, the jobs it ran and their results."""

    plan: ClientPlan
    jobs: list[TrainJob]
    results: list[JobResult]

    @property
    def key(self):
        return self.plan.task.key


class RoundStrategy:
    """One phase's rounds. Subclasses override :meth:`configure`, usually
    :meth:`aggregate` and :meth:`pairing`.

    Class attributes say what the strategy sees and how the loop treats it:

    ``uses``
        the views of the run it reaches through ``self.ctx`` (of ``topology``, ``data``,
        ``random``, ``rounds``, ``deployment``, ``phases``: :mod:`semnet.fl.loop.views`);
        ``self.ctx`` also has the run's ``settings`` and ``position`` (branch, phase,
        round);
    ``aggregates``
        an aggregator waits ``aggregation_s`` after each round (the scenario's
        ``simulation.compute.aggregation_s``);
    ``evaluates_between_rounds``
        the test links are scored every ``output.eval_every_rounds`` rounds (federated
        starts; fine-tuning phases are scored at their end only);
    ``reports``
        each round sends a progress record.
    """

    uses: ClassVar[tuple[str, ...]] = ()
    aggregates: ClassVar[bool] = True
    evaluates_between_rounds: ClassVar[bool] = False
    reports: ClassVar[bool] = True
    # attributes that hold one round's working data only (rebuilt by configure):
    # checkpoints leave them out (see semnet.fl.loop.resume)
    round_scoped: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ctx: RunContext | StrategyView):
        self.ctx = ctx.view(self.uses, type(self).__name__)
        self.failures = 0  # tasks lost (outage) or late (deadline) over the phase
        # the local learning rate per round, where the strategy has one schedule for all
        # its clients (the convergence check's rate floor reads it); None: no such rate
        self.schedule: RateSchedule | None = None

    def lr(self, rnd: int) -> float | None:
        """Local learning rate of round ``rnd`` (1-based); None if the strategy has no
        single schedule."""
        return None if self.schedule is None else self.schedule.lr(rnd)

    @property
    def base_lr(self) -> float | None:
        """The rate the schedule starts from (the convergence floor is a share of it)."""
        return None if self.schedule is None else self.schedule.base

    def evaluation_every(self) -> int:
        """Score the test links every this many rounds (not after the last: the phase's
        end does); 0: never between rounds."""
        return self.ctx.settings.eval_every_rounds if self.evaluates_between_rounds else 0

    def configure(self, rnd: int) -> list[ClientPlan]:
        """The plans of round ``rnd`` (1-based)."""
        raise NotImplementedError

    def aggregate(self, rnd: int, replies: list[ClientReply], failures: list[TaskOutcome]) -> None:
        """Fold the replies of round ``rnd`` into the strategy's models (default: nothing
        to fold, e.g. local training that is kept where it ran)."""

    def pairing(self) -> Pairing | None:
        """The encoder and decoder each link uses when scored (None: the strategy trains
        no model, e.g. an upload of data or an exchange of messages)."""
        raise NotImplementedError

    def closing_plans(self) -> list[ClientPlan]:
        """The plans of the closing round, played once the rounds are over and before the
        phase is scored: the downloads that put the models the links use where they are
        used (a federated strategy broadcasts its final global model to every user that
        lacks it). Default: none. They must not change the models."""
        return []


def play_round(ctx: RunContext, strategy: RoundStrategy, rnd: int) -> tuple[list[ClientReply], list[TaskOutcome]]:
    """One round of ``strategy``: configure, play, aggregate, wait, report."""
    finished, failures = ctx.rounds.play(strategy.configure(rnd))
    replies = [ClientReply(plan, jobs, results) for plan, jobs, results in finished]
    strategy.failures += len(failures)
    strategy.aggregate(rnd, replies, failures)
    if strategy.aggregates:
        ctx.rounds.aggregation_delay()
    if strategy.reports:
        ctx.phases.report(clients=len(replies), failures=len(failures))
    ctx.deployment.settle()
    return replies, failures


def run_rounds(
    ctx: RunContext,
    strategy: RoundStrategy,
    rounds: int,
    *,
    phase: str | None = None,
    converge: Any = None,
    until: Callable[[], bool] | None = None,
) -> PhaseRecord | None:
    """Play up to ``rounds`` rounds of ``strategy``: the one round loop.

    Parameters
    ----------
    phase : str, optional
        Opens a phase of that name first and closes it at the end, scored with the
        strategy's pairing. Without it, the caller owns the phase (several strategies
        may share one) and ``None`` is returned.
    converge : ConvergeSpec, optional
        Stop once validation PSNR stops improving (:mod:`semnet.fl.loop.convergence`); the
        record's ``converged`` says whether it did before ``rounds`` ran out while the
        learning rate was still at least ``converge.min_lr_frac`` of its base rate, and
        ``convergence`` holds the rule, the rate and the window gain at the decision.
        A strategy whose schedule decays after the plateau (``plateau_then_cosine``)
        then plays its decay rounds; their validation gain is ``convergence.decay``.
    until : callable, optional
        Asked after each round: True stops the rounds there (a control stops once it has
        spent its budget, read from its own counters).

    Once the rounds are over, the strategy's :meth:`~RoundStrategy.closing_plans` are
    played as one more round (no training, not counted in the record's ``rounds``).

    Each call is one entry of the run's resume log (:mod:`semnet.fl.loop.resume`): a resumed
    run skips the calls that had ended and continues the one in progress.
    """
    log = ctx.resume_log
    plan = log.enter() if log is not None else None
    if plan is not None and plan.done is not None:  # ended before the checkpoint: its end state
        restore_call(ctx, strategy, plan.done)
        log.restored(plan)
        record = plan.done["record"]
        return None if record is None else PhaseRecord(**record)
    loop = _RoundLoop(ctx, strategy, rounds, converge, until)
    if plan is not None and plan.partial is not None:
        restore_call(ctx, strategy, plan.partial)
        loop.load_state(plan.partial["loop"])
        log.restored(plan)
    else:
        if phase is not None:
            ctx.phases.begin(phase)
            pairing = strategy.pairing()
            if pairing is not None:  # users that have no model yet get the phase's
                ctx.deployment.deploy_pairing(*pairing, via="phase_start", missing_only=True)
        loop.start(with_phase=phase is not None)

    def checkpoint() -> None:
        if log is not None and loop.stage != "done" and log.due(loop.rnd):
            log.save(call_snapshot(ctx, strategy, loop=loop.state(), index=plan.index))

    loop.play(checkpoint)
    record = loop.finish() if phase is not None else None
    if log is not None:
        log.complete(call_snapshot(ctx, strategy, record=record))
    return record


class _RoundLoop:
    """The rounds of one :func:`run_rounds` call as a small state machine (main
    rounds, then the schedule's decay rounds, then the closing round), so that it can
    stop after any round and continue from a checkpoint."""

    def __init__(self, ctx: RunContext, strategy: RoundStrategy, rounds: int, converge: Any,
                 until: Callable[[], bool] | None = None):
        self.ctx, self.strategy, self.rounds, self.until = ctx, strategy, rounds, until
        self.check = ConvergenceCheck(converge) if converge is not None else None
        schedule = strategy.schedule
        self.decays = schedule is not None and schedule.decays_after_plateau and rounds > 0
        self.every = strategy.evaluation_every()
        self.last = rounds + (schedule.decay_rounds if self.decays else 0)  # the last round that may be played
        self.rnd = 0  # the last round played
        # then "decay" (if the schedule decays after its plateau), then "closing", then "done"
        self.stage = "main"
        self.decay_from = 0

    def state(self) -> dict:
        check = self.check
        return {"rnd": self.rnd, "stage": self.stage, "last": self.last, "decay_from": self.decay_from,
                "check": None if check is None else {"history": dict(check.history), "converged": check.converged,
                                                     "decision": check.decision}}

    def load_state(self, state: dict) -> None:
        self.rnd, self.stage, self.last, self.decay_from = state["rnd"], state["stage"], state["last"], \
            state["decay_from"]
        if self.check is not None:
            saved = state["check"]
            self.check.history = dict(saved["history"])
            self.check.converged, self.check.decision = saved["converged"], saved["decision"]

    def start(self, *, with_phase: bool) -> None:
        ctx, strategy = self.ctx, self.strategy
        if self.check is not None:
            self.check.record(0, _validation_psnr(ctx, strategy))  # also the collapse check's reference
        elif with_phase and self.rounds > 0 and strategy.pairing() is not None:
            ctx.phases.watch_collapse(*strategy.pairing())

    def play(self, after_round: Callable[[], None]) -> None:
        ctx, strategy, check = self.ctx, self.strategy, self.check
        if self.stage == "main" and self.rnd >= self.rounds:
            self._end_main()
        while self.stage != "done":
            if self.stage == "closing":
                self._close()
                continue
            self.rnd += 1
            rnd = self.rnd
            play_round(ctx, strategy, rnd)
            if self.every and rnd % self.every == 0 and rnd < self.last:
                ctx.phases.evaluate(*strategy.pairing())
            if self.stage == "main":
                stop = False
                if check is not None and check.due(rnd):
                    check.record(rnd, _validation_psnr(ctx, strategy))
                    stop = check.decide(rnd, strategy.lr(rnd), strategy.base_lr)
                if self.until is not None and self.until():
                    stop = True
                if stop or rnd >= self.rounds:
                    self._end_main()
            elif rnd >= self.last:
                self.stage = "closing"
            after_round()

    def _close(self) -> None:
        """The closing round (see :meth:`RoundStrategy.closing_plans`), if it has plans."""
        strategy = self.strategy
        plans = strategy.closing_plans()
        if plans:
            strategy.failures += len(self.ctx.rounds.play(plans)[1])
        self.stage = "done"

    def _end_main(self) -> None:
        """The main rounds are over (a plateau, or all played): the decay, if any, starts."""
        strategy, rnd = self.strategy, self.rnd
        if self.check is not None and self.rounds > 0:
            self.check.finish(rnd, strategy.lr(rnd), strategy.base_lr)
        self.decay_from = rnd
        if self.decays:  # after the plateau, or after the rounds ran out at the full rate
            strategy.schedule.start_decay(rnd)
            self.last = rnd + strategy.schedule.decay_rounds
            self.stage = "decay" if self.last > rnd else "closing"
        else:
            self.stage = "closing"

    def finish(self) -> PhaseRecord:
        """Score the phase and close it."""
        ctx, strategy, check, rnd = self.ctx, self.strategy, self.check, self.rnd
        pairing = strategy.pairing() or (None, None)
        if pairing[0] is not None:  # every user has the phase's final models, as its scores assume
            ctx.deployment.deploy_pairing(*pairing, via="phase_end")
        # the last convergence check already validated the final model: no second pass
        record = ctx.phases.end(*pairing, validation_psnr_db=check.value_at(rnd) if check else None)
        record.rounds = rnd  # the closing round trains nothing
        if pairing[0] is not None:
            ctx.phases.checkpoint_end(*pairing)  # scored finite: the last good models so far
        if check is not None:  # None: no check applies (no rounds to stop early)
            record.converged = check.converged if self.rounds > 0 else None
            record.convergence = check.decision
            if self.decays and check.decision is not None:
                before, after = check.value_at(self.decay_from), record.validation_psnr_db
                check.decision["decay"] = {
                    "schedule": strategy.schedule.kind, "from_round": self.decay_from + 1,
                    "rounds": rnd - self.decay_from,
                    "validation_gain_db": None if before is None or after is None else after - before,
                }
        return record


def _validation_psnr(ctx: RunContext, strategy: RoundStrategy) -> float:
    return ctx.phases.evaluate(*strategy.pairing(), validation=True)[1]["psnr_db"]


# --------------------------------------------------------------------------- methods


@dataclass
class MethodOutcome:
    """What a method hands back to the runner."""

    phases: list[PhaseRecord]
    controls: list[dict] = field(default_factory=list)
    extras: dict = field(default_factory=dict)
    checkpoints: dict[str, dict] = field(default_factory=dict)


class Method:
    """A method a scenario can name (``method.name``).

    Register a subclass with ``@semnet.registry.methods.register(name, description)``.
    It is built from the scenario's whole ``method:`` section (``spec``) and runs on a
    :class:`RunContext`. Built-in methods read their own sections of it (``federated``,
    ``finetune``, ``personal`` ...); a plugin method declares ``Options``, a pydantic
    model of its section ``method.options``, validated when the scenario is loaded and
    available as ``self.options``.
    """

    Options: ClassVar[type[BaseModel] | None] = None
    learns: ClassVar[bool] = True  # builds models and needs data (the exchange-only method does not)
    runs_controls: ClassVar[bool] = False  # runs `method.controls` from its start (else naming them is an error)
    fixed_algorithm: ClassVar[str | None] = None  # the only federated.algorithm it accepts, if any

    def __init__(self, spec, *, model_from_checkpoint: bool = False):
        self.spec = spec
        self.model_from_checkpoint = model_from_checkpoint
        self.options = self.validate_options(spec.options)

    @classmethod
    def validate_options(cls, options: dict) -> BaseModel | None:
        """``method.options`` as this method's ``Options`` (pydantic raises on bad keys)."""
        return validated_options(cls, options)

    def run(self, ctx: RunContext) -> MethodOutcome:
        raise NotImplementedError


def personal_checkpoint(encoders: dict[int, nn.Module], decoders: dict[int, nn.Module]) -> dict:
    """The ``personal.pt`` checkpoint: every user's encoder and decoder."""
    return {
        "encoders": {u: cpu_state(m) for u, m in encoders.items()},
        "decoders": {u: cpu_state(m) for u, m in decoders.items()},
    }
