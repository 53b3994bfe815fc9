"""A run as a method sees it: the role-sized views of :mod:`semnet.fl.loop.views`, assembled
once per branch, plus what only the loop and the runner use — the run's state for
resuming it and its branches for the controls.

No scenario, no simulator, no network object reaches a method: it describes messages
(src, dst, kind, bits) and local work, and the simulator decides when things arrive and
which tasks miss the deadline. Settings a method does not choose itself (deadline,
aggregation time, evaluation cadence, augmentation, checkpointing) arrive as one
``RunSettings``. A round strategy sees only the views it names (``RoundStrategy.uses``):
:class:`StrategyView`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from semnet.fl.loop.evaluation import LinkEvaluator
from semnet.fl.execution.trainer import Trainer
from semnet.fl.loop.versions import Holdings
from semnet.fl.loop.views import (FACETS, ClientPlan, Deployment, LocalData, PhaseRecord, Phases, Position,
                             RandomStreams, Rounds, TopologyView)
from semnet.fl.loop.views.records import cpu_state
from semnet.net.network import Network
from semnet.sim import Simulator

__all__ = ["ClientPlan", "PhaseRecord", "RunContext", "RunSettings", "StrategyView", "cpu_state"]


@dataclass(frozen=True)
class RunSettings:
    """The parts of a scenario that shape every round and phase of a run, whatever the
    method: ``RunSettings.of(scenario)`` reads them once."""

    seed: int = 0
    round_deadline_s: float | None = None  # aggregators stop waiting after this
    aggregation_s: float = 0.0  # simulated aggregator time per aggregation
    eval_every_rounds: int = 0  # test evaluation every N rounds of a federated start (0: phase ends only)
    augment: bool = False  # random flips in every batch stream
    save_checkpoints: bool = True  # interim checkpoints of long phases
    symbols_per_image: int = 0  # k: complex channel uses of one image (0 before a model exists)
    # a phase whose validation PSNR falls this far below its start has collapsed (None: no check)
    collapse_drop_db: float | None = None
    codec: Any = "float32"  # method.codec: model-message codec(s), semnet.codecs
    faults: Any = None  # the scenario's faults: section (users that send corrupted updates)

    @classmethod
    def of(cls, scenario) -> "RunSettings":
        return cls(
            seed=scenario.seed,
            round_deadline_s=scenario.simulation.round_deadline_s,
            aggregation_s=scenario.simulation.compute.aggregation_s,
            eval_every_rounds=scenario.output.eval_every_rounds,
            augment=scenario.data.augment,
            save_checkpoints=scenario.output.checkpoints,
            collapse_drop_db=scenario.simulation.collapse_drop_db,
            codec=scenario.method.codec,
            faults=scenario.faults,
        )


class RunContext:
    """One run (or one branch of it, see :meth:`branch`): its views ``topology``,
    ``data``, ``random``, ``rounds``, ``deployment`` and ``phases``, its ``settings``
    and ``position``."""

    def __init__(
        self,
        *,
        settings: RunSettings,
        network: Network,
        sim: Simulator,
        trainer: Trainer,
        evaluator: LinkEvaluator,
        validator: LinkEvaluator,
        train_images: dict[int, torch.Tensor],
        new_model: Callable[[], nn.Module] | None,
        device: torch.device,
        record_metric: Callable[[dict], None],
        progress: Callable[[dict], None],
        branch_name: str = "main",
        sim_factory: Callable[[str, float], Simulator] | None = None,
        save_checkpoint: Callable[[str, dict], object] | None = None,
        delivery=None,
        resume_log=None,
        traffic=None,
    ):
        self.settings = settings
        self.topology = TopologyView(network)
        self.data = LocalData(self.topology, train_images, new_model, device, seed=settings.seed, branch=branch_name,
                              augment=settings.augment)
        # checkpoints to resume from (shared with branches); None: this run writes none
        self.resume_log = resume_log
        self._sim_factory = sim_factory
        self._parts = dict(trainer=trainer, evaluator=evaluator, validator=validator, record_metric=record_metric,
                           progress=progress, save_checkpoint=save_checkpoint, delivery=delivery)
        self._assemble(branch_name, sim, traffic, Position(branch_name), interim_checkpoints=set())

    def _assemble(self, branch: str, sim: Simulator, traffic, position: Position, interim_checkpoints: set[str]) -> None:
        """The views of one branch, on its own simulator and live-image recorder."""
        settings, parts = self.settings, self._parts
        self._sim, self._traffic, self.position = sim, traffic, position
        self.random = RandomStreams(settings.seed, branch, self.data.device)
        self.rounds = Rounds(sim, parts["trainer"], position, seed=settings.seed, codec=settings.codec,
                             round_deadline_s=settings.round_deadline_s, aggregation_s=settings.aggregation_s,
                             delivery=parts["delivery"], faults=settings.faults)
        self.deployment = Deployment(traffic, position, self.topology, sim)
        self.phases = Phases(sim, position, self.rounds, self.topology, evaluator=parts["evaluator"],
                             validator=parts["validator"], record_metric=parts["record_metric"],
                             progress=parts["progress"], collapse_drop_db=settings.collapse_drop_db,
                             save_checkpoints=settings.save_checkpoints, save_checkpoint=parts["save_checkpoint"],
                             interim_checkpoints=interim_checkpoints, learns=self.data.learns)

    @property
    def branch_name(self) -> str:
        return self.position.branch

    def view(self, uses: tuple[str, ...], owner: str = "strategy") -> "StrategyView":
        """The views named in ``uses`` (and the settings), nothing else."""
        return StrategyView(self, uses, owner)

    # ------------------------------------------------------------------ checkpoints

    def state(self) -> dict:
        """This branch's state between rounds: counters, phase and round, its batch
        streams' positions, its codecs' residuals and its simulator (see
        :mod:`semnet.fl.loop.resume`)."""
        traffic = self.deployment.state()
        return {
            "branch": self.branch_name,
            "phase_name": self.position.phase,
            "round": self.position.round,
            **self.rounds.state(),
            **self.phases.state(),
            "streams": self.data.state(),
            **({} if traffic is None else {"traffic": traffic}),
        }

    def load_state(self, state: dict) -> None:
        """Continue from :meth:`state` of this branch (streams and codecs in place, since
        strategies may hold them)."""
        if state["branch"] != self.branch_name:
            raise ValueError(f"checkpoint of branch {state['branch']!r} loaded into {self.branch_name!r}")
        self.position.phase, self.position.round = state["phase_name"], state["round"]
        self.rounds.load_state(state)
        self.phases.load_state(state)
        self.data.load_state(state["streams"])
        self.deployment.load_state(state.get("traffic"))

    def shared_state(self) -> dict:
        """What every branch of the run shares: where it is, the delivery counts and the
        interim checkpoints written so far."""
        delivery = self._parts["delivery"]
        return {
            "where": dict(self.position.where),
            "delivery": None if delivery is None else delivery.state(),
            "interim_checkpoints": sorted(self.phases.interim_checkpoints),
            "ledger": None if self._sim.ledger is None else copy.deepcopy(self._sim.ledger.rows),
            **({} if self._traffic is None else {"traffic": self._traffic.tally.state()}),
        }

    def load_shared_state(self, state: dict) -> None:
        self.position.where.clear()
        self.position.where.update(state["where"])
        delivery = self._parts["delivery"]
        if delivery is not None:
            delivery.load_state(state["delivery"])
        self.phases.interim_checkpoints.clear()
        self.phases.interim_checkpoints.update(state["interim_checkpoints"])
        if self._sim.ledger is not None:  # one ledger for every branch's simulator
            self._sim.ledger.rows = copy.deepcopy(state["ledger"])
        if self._traffic is not None:  # one tally for every branch
            self._traffic.tally.load_state(state["traffic"])

    # ------------------------------------------------------------------ branches

    def branch(self, name: str, holdings: Holdings | None = None) -> "RunContext":
        """A fresh context for a control experiment from the current state: its own
        simulator whose clock starts now, its own batch streams, shared data and models.
        Its nodes hold ``holdings`` (what they held at the start the control continues;
        default: what they hold now)."""
        if self._sim_factory is None:
            raise RuntimeError("this context cannot branch")
        other = copy.copy(self)
        sim = self._sim_factory(name, self._sim.now_s)
        traffic = None if self._traffic is None else self._traffic.for_branch(name, sim)
        other.data = self.data.for_branch(name)
        # where any branch is, and the interim checkpoints, stay shared with the run
        other._assemble(name, sim, traffic, Position(name, where=self.position.where),
                        interim_checkpoints=self.phases.interim_checkpoints)
        other.rounds.holdings = (self.rounds.holdings if holdings is None else holdings).clone()
        return other


class StrategyView:
    """What a round strategy sees of its run: the views it names in ``uses``, the run's
    ``settings`` and its ``position``. Reaching for another view is an ``AttributeError`` that says
    which name to add to ``uses``."""

    def __init__(self, ctx: RunContext, uses: tuple[str, ...], owner: str):
        unknown = [u for u in uses if u not in FACETS]
        if unknown:
            raise ValueError(f"{owner}.uses names {', '.join(unknown)}; allowed: {', '.join(FACETS)}")
        self._uses, self._owner, self._run = tuple(uses), owner, ctx
        self.settings, self.position = ctx.settings, ctx.position
        for name in uses:
            setattr(self, name, getattr(ctx, name))

    def view(self, uses: tuple[str, ...], owner: str = "strategy") -> "StrategyView":
        """The views a strategy built by this one names (from the same run)."""
        return StrategyView(self._run, uses, owner)

    def __getattr__(self, name: str):
        if name.startswith("_"):  # not set yet (copying, unpickling)
            raise AttributeError(name)
        if name in FACETS:
            raise AttributeError(f"{self._owner} uses only {', '.join(self._uses) or 'no views'}: add '{name}' to "
                                 f"its `uses` to reach ctx.{name}")
        raise AttributeError(f"a strategy's ctx has no {name!r}; its views: {', '.join(FACETS)}")
