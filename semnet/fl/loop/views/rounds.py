"""The rounds view: play one round of messages and local jobs, and what rounds change —
the model versions each node holds, the message codecs and their senders' state, the
counters of local work, and the branch's simulated clock and bytes.

Simulated timing depends only on message sizes and sample counts, never on the trained
values: the simulator settles a round first, then the trainer runs every surviving job
as one batch ("settle, then train").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from semnet.codecs import MessageCodecs
from semnet.fl.loop.faults import Faults
from semnet.fl.loop.guard import first_non_finite
from semnet.fl.execution.trainer import JobResult, Trainer, TrainJob
from semnet.fl.loop.versions import Holdings
from semnet.fl.loop.views.position import Position
from semnet.seeding import derive_seed
from semnet.sim import Simulator, Task, TaskOutcome


@dataclass
class ClientPlan:
    """A strategy's request for one task: what the network carries (``task``) and the
    local training to run if the task's messages get through (``make_jobs``)."""

    task: Task
    make_jobs: Callable[[], list[TrainJob]] | None = None
    # model versions the task's downloads carry to its node (semnet.fl.loop.versions): the
    # node holds them once the task has finished in time
    receives: tuple[str, ...] = ()
    outcome: TaskOutcome | None = None  # set once the round is played (e.g. when its training ended)


class Rounds:
    def __init__(self, sim: Simulator, trainer: Trainer, position: Position, *, seed: int, codec,
                 round_deadline_s: float | None, aggregation_s: float, delivery=None, faults=None):
        self._sim = sim
        self._trainer = trainer  # only play() trains: all compute is simulated and counted
        self._position = position
        self._seed, self._codec = seed, codec
        self._deadline_s, self._aggregation_s = round_deadline_s, aggregation_s
        self._delivery = delivery  # a DeliveryTally (shared with branches) counting task failures
        self._codecs: MessageCodecs | None = None
        # the scenario's faults: section (None: every user honest); noise seeded like the codecs'
        self.faults = Faults(faults, self._codec_generator)
        self.holdings = Holdings()  # the model versions each node of this branch holds
        self.local_steps = 0
        self.local_passes = 0  # steps x tasks: the compute budgets are matched in

    @property
    def codecs(self) -> MessageCodecs:
        """This branch's model-message codecs (``method.codec``) and their senders' state;
        stochastic codecs draw from generators seeded per phase, round, kind and link."""
        if self._codecs is None:
            self._codecs = MessageCodecs(self._codec, self._codec_generator)
        return self._codecs

    def _codec_generator(self, *purpose: object) -> torch.Generator:
        # on the CPU, where codecs encode, whatever device the models train on
        position = self._position
        gen = torch.Generator()
        gen.manual_seed(derive_seed(self._seed, position.branch, position.phase, position.round, *purpose))
        return gen

    @property
    def bytes_total(self) -> int:
        """Bytes delivered so far on this branch (model messages, data, images)."""
        return self._sim.bytes_total

    @property
    def bits_total(self) -> int:
        """Bits delivered so far on this branch (``bytes_total`` rounds down)."""
        return self._sim.bits_total

    @property
    def messages_total(self) -> int:
        return self._sim.messages_total

    @property
    def now_s(self) -> float:
        """Simulated time of this branch, in seconds."""
        return self._sim.now_s

    def play(
        self, plans: list[ClientPlan]
    ) -> tuple[list[tuple[ClientPlan, list[TrainJob], list[JobResult]]], list[TaskOutcome]]:
        """One round: simulate the plans' traffic and compute, then train the tasks
        whose messages got through in time. Returns (finished, failures)."""
        position = self._position
        position.next_round()
        self._sim.catch_up()  # images generated so far carry the label of their time
        self._sim.label = {"branch": position.branch, "phase": position.phase, "round": position.round}
        outcomes = self._sim.play_round([p.task for p in plans], self._deadline_s)
        if self._delivery is not None:
            self._delivery.tasks(position.branch, position.phase, outcomes)
        for plan, outcome in zip(plans, outcomes):
            plan.outcome = outcome
        survivors = [p for p, o in zip(plans, outcomes) if o.ok and p.make_jobs is not None]
        job_lists = [p.make_jobs() for p in survivors]
        jobs_in_round = [job for jobs in job_lists for job in jobs]
        flat = self._trainer.run(jobs_in_round) if jobs_in_round else []  # a closing broadcast trains nothing
        self.local_steps += sum(r.steps for r in flat)
        self.local_passes += sum(r.passes for r in flat)
        finished, start = [], 0
        for plan, jobs in zip(survivors, job_lists):
            results = flat[start : start + len(jobs)]
            bad = first_non_finite(jobs, results)
            if bad is not None:  # at once: no aggregation, no later phase on NaN weights
                position.stop(f"{bad[1]} of user {plan.task.node}", user=plan.task.node)
            finished.append((plan, jobs, results))
            start += len(jobs)
        for plan, outcome in zip(plans, outcomes):
            if outcome.ok and plan.receives:
                self.holdings.give(plan.task.node, plan.receives)
        failures = [o for o in outcomes if not o.ok]
        return finished, failures

    def aggregation_delay(self) -> None:
        """The aggregator's simulated time per aggregation (``simulation.compute.aggregation_s``)."""
        self._sim.wait(self._aggregation_s)

    def state(self) -> dict:
        return {"local_steps": self.local_steps, "local_passes": self.local_passes,
                "codecs": None if self._codecs is None else self._codecs.state(),
                "holdings": self.holdings.state(), "sim": self._sim.state()}

    def load_state(self, state: dict) -> None:
        self.local_steps, self.local_passes = state["local_steps"], state["local_passes"]
        if state["codecs"] is not None:
            self.codecs.load_state(state["codecs"])
        elif self._codecs is not None:
            self._codecs.residuals = {}
        self.holdings.load_state(state["holdings"])
        self._sim.load_state(state["sim"])
