"""What a method sees while it runs: its users and their data streams, the graph of
who sends images to whom, the trainer, a way to play a round of messages and local
jobs, and a way to evaluate and end a phase.

It is deliberately narrow: no scenario, no simulator, no network object. Methods
never touch links: they describe messages (src, dst, kind, bits) and local work; the
simulator decides when things arrive and which tasks miss the deadline. Settings a
method does not choose itself (deadline, aggregation time, evaluation cadence,
augmentation, checkpointing) arrive as one ``RunSettings``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from semnet.codecs import MessageCodecs
from semnet.data import BatchStream
from semnet.errors import RunDiverged
from semnet.fl.evaluation import LinkEvaluator, LinkModules, LinkQuality, summarize
from semnet.fl.guard import all_finite, collapsed, first_non_finite
from semnet.fl.trainer import JobResult, LossTask, Trainer, TrainJob
from semnet.fl.versions import Holdings
from semnet.net.network import Network
from semnet.seeding import derive_seed, numpy_rng
from semnet.sim import Message, Simulator, Task, TaskOutcome


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
        )


@dataclass
class ClientPlan:
    """A strategy's request for one task: what the network carries (``task``) and the
    local training to run if the task's messages get through (``make_job``)."""

    task: Task
    make_jobs: Callable[[], list[TrainJob]] | None = None
    # model versions the task's downloads carry to its node (semnet.fl.versions): the
    # node holds them once the task has finished in time
    receives: tuple[str, ...] = ()
    outcome: TaskOutcome | None = None  # set once the round is played (e.g. when its training ended)


@dataclass
class PhaseRecord:
    name: str
    psnr_db: float
    ssim: float
    worst_link_psnr_db: float
    bytes: int
    bytes_cumulative: int
    sim_time_s: float
    sim_time_end_s: float
    local_steps: int
    rounds: int
    wall_time_s: float
    links: list[dict] = field(default_factory=list)
    # federated starts with a convergence check: did it stop improving (else it ran
    # out of rounds)? None where no check applies
    converged: bool | None = None
    # the verdict's grounds: the rule, the learning rate and the validation gain over
    # the last window at the decision, and any decay after it (see ConvergenceCheck)
    convergence: dict | None = None
    # mean link PSNR on the users' validation images (None without them)
    validation_psnr_db: float | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def cpu_state(model: nn.Module) -> dict:
    """``model``'s state dict on the CPU, detached: what checkpoints store."""
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


class RunContext:
    """Shared state of one run (or one branch of it, see ``branch``)."""

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
        new_model: Callable[[], nn.Module],
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
        self._network = network
        self._sim = sim
        self._trainer = trainer  # only play() trains: all compute is simulated and counted
        self._evaluator = evaluator
        self._validator = validator
        self._train_images = train_images
        self._new_model = new_model
        self.device = device
        self._record_metric = record_metric
        self._progress = progress
        self.branch_name = branch_name
        self._sim_factory = sim_factory
        self._save_checkpoint = save_checkpoint
        self.interim_checkpoints: set[str] = set()  # shared with branches: the runner discards them at the end
        self._streams: dict[tuple[int, int], BatchStream] = {}
        self._codecs: MessageCodecs | None = None
        self.local_steps = 0
        self.local_passes = 0  # steps x tasks: the compute budgets are matched in
        self.phase_name = ""
        self.round = 0
        self._phase_start = (0, 0.0, 0, time.perf_counter())
        self._delivery = delivery  # a DeliveryTally (shared with branches) counting task failures
        # where the run is, shared with branches: what an interrupted run reports
        self._where = {"branch": branch_name, "phase": "", "round": 0}
        self._last_validation_db: float | None = None  # the latest validation PSNR of this branch
        self._reference_db: float | None = None  # the current phase's start, for the collapse check
        # checkpoints to resume from (shared with branches); None: this run writes none
        self.resume_log = resume_log
        self.holdings = Holdings()  # the model versions each node of this branch holds
        self._traffic = traffic  # this branch's live images (semnet.fl.traffic.TrafficRecorder); None: none

    # ------------------------------------------------------------------ helpers

    @property
    def seed(self) -> int:
        return self.settings.seed

    @property
    def users(self) -> list[int]:
        return self._network.users

    @property
    def aggregator(self) -> int:
        """The aggregator (base station) node."""
        return self._network.aggregator

    def receivers(self, user: int) -> list[int]:
        """out(user): the users it sends images to."""
        return self._network.receivers(user)

    def transmitters(self, user: int) -> list[int]:
        """in(user): the users that send images to it."""
        return self._network.transmitters(user)

    def image_links(self) -> list[tuple[int, int]]:
        return self._network.image_links()

    def traffic_weight(self, src: int, dst: int) -> float:
        """Share of ``src``'s images that go to ``dst`` (the transmit graph's edge weight)."""
        return self._network.traffic_weight(src, dst)

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

    def new_model(self) -> nn.Module:
        """A fresh model of the scenario's architecture, seeded (or loaded from its checkpoint)."""
        return self._new_model()

    @property
    def learns(self) -> bool:
        """Whether this run has models and data (every method but the exchange-only one)."""
        return self._new_model is not None

    def samples(self, user: int) -> int:
        return int(self._train_images[user].shape[0])

    def user_images(self, user: int) -> torch.Tensor:
        """The user's training images (centralised training pools them; nobody else should)."""
        return self._train_images[user]

    def rng(self, *purpose: object):
        """A numpy Generator for ``purpose`` on this branch (e.g. client sampling)."""
        return numpy_rng(self.seed, self.branch_name, *purpose)

    def stream(self, user: int, batch_size: int) -> BatchStream:
        """The user's own batch stream (continues across rounds, seeded per user)."""
        key = (user, batch_size)
        if key not in self._streams:
            self._streams[key] = BatchStream(
                self._train_images[user],
                batch_size,
                seed=derive_seed(self.seed, "batches", self.branch_name, user, batch_size),
                device=self.device,
                augment=self.settings.augment,
            )
        return self._streams[key]

    def generator(self, *purpose: object) -> torch.Generator:
        gen = torch.Generator(device=self.device)
        gen.manual_seed(derive_seed(self.seed, self.branch_name, *purpose))
        return gen

    @property
    def codecs(self) -> MessageCodecs:
        """This branch's model-message codecs (``method.codec``) and their senders' state;
        stochastic codecs draw from generators seeded per phase, round, kind and link."""
        if self._codecs is None:
            self._codecs = MessageCodecs(self.settings.codec, self._codec_generator)
        return self._codecs

    def _codec_generator(self, *purpose: object) -> torch.Generator:
        # on the CPU, where codecs encode, whatever device the models train on
        gen = torch.Generator()
        gen.manual_seed(derive_seed(self.seed, self.branch_name, self.phase_name, self.round, *purpose))
        return gen

    def link_snr(self, src: int, dst: int) -> float:
        """The link's (mean) SNR in dB: what a method is told about it."""
        return self._network.link(src, dst).snr_db

    def link_snrs(self, src: int, dst: int) -> list[float]:
        """The SNRs (dB) training on link ``src -> dst`` draws from: its one SNR, or on a
        channel whose users move, its large-scale SNR at each comparison state (so a
        moving link is trained over its spread, not only at its mean)."""
        return self._network.snr_samples_db(src, dst)

    def out_snrs(self, user: int) -> list[float]:
        """SNRs of the user's image links (its own data travels over these), each link's
        :meth:`link_snrs` in turn."""
        receivers = self._network.receivers(user)
        if not receivers:
            return [self._network.link(user, self._network.aggregator).snr_db]
        return [snr for j in receivers for snr in self.link_snrs(user, j)]

    def out_links(self, user: int) -> list[tuple]:
        """The links :meth:`out_snrs` come from: the user's image links, or (a user who
        sends no images) its uplink to the aggregator."""
        receivers = self._network.receivers(user)
        return [(user, j) for j in receivers] or [(user, self._network.aggregator)]

    def loss_task(self, decoder: nn.Module, links: list[tuple], weight: float = 1.0,
                  snr_uniform_db: tuple[float, float] | None = None) -> LossTask:
        """A loss term that decodes images sent over ``links``: each image is drawn at one
        of their SNRs (each image link's :meth:`link_snrs`, an aggregator link's one SNR,
        in turn) and meets the channel of the link that SNR is from."""
        snrs: list[float] = []
        origin: list[tuple] = []
        for src, dst in links:
            values = (self.link_snrs(src, dst) if self._network.transmit.has_edge(src, dst)
                      else [self._network.link(src, dst).snr_db])
            snrs += values
            origin += [(src, dst)] * len(values)
        return LossTask(decoder, snrs, weight, snr_uniform_db=snr_uniform_db, links=origin)

    # ------------------------------------------------------------------ rounds

    def play(
        self, plans: list[ClientPlan]
    ) -> tuple[list[tuple[ClientPlan, list[TrainJob], list[JobResult]]], list[TaskOutcome]]:
        """One round: simulate the plans' traffic and compute, then train the tasks
        whose messages got through in time. Returns (finished, failures).

        Simulated timing depends only on message sizes and sample counts, never on
        the trained values, so the simulator can settle the round first and the
        trainer can then run all surviving jobs as one batch.
        """
        self.round += 1
        self._where.update(branch=self.branch_name, phase=self.phase_name, round=self.round)
        self._sim.catch_up()  # images generated so far carry the label of their time
        self._sim.label = {"branch": self.branch_name, "phase": self.phase_name, "round": self.round}
        outcomes = self._sim.play_round([p.task for p in plans], self.settings.round_deadline_s)
        if self._delivery is not None:
            self._delivery.tasks(self.branch_name, self.phase_name, outcomes)
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
                self._diverged(f"{bad[1]} of user {plan.task.node}", user=plan.task.node)
            finished.append((plan, jobs, results))
            start += len(jobs)
        for plan, outcome in zip(plans, outcomes):
            if outcome.ok and plan.receives:
                self.holdings.give(plan.task.node, plan.receives)
        failures = [o for o in outcomes if not o.ok]
        return finished, failures

    def _diverged(self, what: str, user=None, verb: str = "diverged") -> None:
        where = {"branch": self.branch_name, "phase": self.phase_name, "round": self.round, "user": user}
        branch = "" if self.branch_name == "main" else f" of branch '{self.branch_name}'"
        raise RunDiverged(f"run {verb}: {what}, in phase '{self.phase_name}'{branch}, round {self.round}", **where)

    @property
    def where(self) -> dict:
        """Branch, phase and round the run (any of its branches) is in now."""
        return dict(self._where)

    def aggregation_delay(self) -> None:
        self._sim.wait(self.settings.aggregation_s)

    # ------------------------------------------------------------------ deployed models (live traffic)

    @property
    def carries_images(self) -> bool:
        """Whether live images travel on this branch (``traffic:``): only then do
        deployments cost anything."""
        return self._traffic is not None

    def deploys(self, message: Message, *, encoder: nn.Module | None = None,
                decoder: nn.Module | None = None) -> Message:
        """``message`` carrying ``encoder``'s and/or ``decoder``'s current states to its
        receiver, who uses them for its images from the moment it arrives (an outage
        deploys nothing). Without live traffic the message itself."""
        if self._traffic is None:
            return message
        versions = self._traffic.deployments
        tag = versions.expect(message.dst, versions.version_of(encoder), versions.version_of(decoder), message.kind,
                              self.phase_name)
        return dataclasses.replace(message, tag=tag)

    def deploy(self, node, *, encoder: nn.Module | None = None, decoder: nn.Module | None = None,
               at_s: float | None = None, via: str = "local_training") -> None:
        """From ``at_s`` on (None: when this round's aggregation ends), ``node`` uses the
        current states of ``encoder`` and/or ``decoder`` for its images (a model trained
        or aggregated where it is used). A no-op without live traffic."""
        if self._traffic is None:
            return
        versions = self._traffic.deployments
        encoder_v, decoder_v = versions.version_of(encoder), versions.version_of(decoder)
        if at_s is None:
            self._traffic.at_aggregation.append((node, encoder_v, decoder_v, via, self.phase_name))
        else:
            versions.deploy(node, at_s, encoder_v, decoder_v, via, self.phase_name)

    def deploy_pairing(self, encoder_of, decoder_of, *, via: str, missing_only: bool = False) -> None:
        """Every transmitter uses ``encoder_of(i)`` and every receiver ``decoder_of(j)``
        from now on (``missing_only``: only those that use none yet)."""
        if self._traffic is None:
            return
        versions = self._traffic.deployments
        links = self.image_links()
        for i in sorted({i for i, _ in links}):
            if not (missing_only and versions.has(i, "encoder")):
                self.deploy(i, encoder=encoder_of(i), at_s=self.now_s, via=via)
        for j in sorted({j for _, j in links}):
            if not (missing_only and versions.has(j, "decoder")):
                self.deploy(j, decoder=decoder_of(j), at_s=self.now_s, via=via)

    def settle_traffic(self) -> None:
        """The round is over: score the live images whose models are now known."""
        if self._traffic is not None:
            self._traffic.settle()

    # ------------------------------------------------------------------ phases and evaluation

    def begin_phase(self, name: str) -> None:
        self.phase_name = name
        self.round = 0
        self._where.update(branch=self.branch_name, phase=name, round=0)
        self._phase_start = (self._sim.bytes_total, self._sim.now_s, self.local_steps, time.perf_counter())
        self._reference_db = self._last_validation_db  # the models start where the last phase ended

    def watch_collapse(self, encoder_of, decoder_of) -> None:
        """Score the phase's starting models on the validation images, unrecorded, as the
        reference of the collapse check, unless the last phase's end already is one."""
        if (self._reference_db is not None or self.settings.collapse_drop_db is None or self._validator is None
                or not self._validator.links):
            return
        value = summarize(self._validator.evaluate(encoder_of, decoder_of))["psnr_db"]
        self._reference_db = value if math.isfinite(value) else None

    @property
    def validates(self) -> bool:
        """Whether the users hold validation images (held out of their training data)."""
        return self._validator is not None and bool(self._validator.links)

    def evaluate(
        self,
        encoder_of: Callable[[int], nn.Module],
        decoder_of: Callable[[int], nn.Module],
        *,
        final: bool = False,
        validation: bool = False,
    ) -> tuple[list[LinkQuality], dict]:
        """Score every image link and append a point to metrics.jsonl."""
        evaluator = self._validator if validation else self._evaluator
        links = evaluator.evaluate(encoder_of, decoder_of)
        quality = summarize(links)
        record = {
            "branch": self.branch_name,
            "phase": self.phase_name,
            "round": self.round,
            "split": "validation" if validation else "test",
            "final": final,
            "sim_time_s": self._sim.now_s,
            "bytes_cumulative": self._sim.bytes_total,
            "local_steps": self.local_steps,
            **quality,
        }
        self._record_metric(record)
        self._progress(record)
        self._check_quality(links, quality, validation)
        return links, quality

    def _check_quality(self, links: list[LinkQuality], quality: dict, validation: bool) -> None:
        """Stop a run whose scores are not finite, or whose validation PSNR collapsed."""
        if not links:
            return
        split = "validation" if validation else "test"
        if not math.isfinite(quality["psnr_db"]):
            bad = next(q for q in links if not math.isfinite(q.psnr_db))
            self._diverged(f"non-finite {split} PSNR on link {bad.src}->{bad.dst} (user {bad.src})", user=bad.src)
        if not validation:
            return
        value, drop = quality["psnr_db"], self.settings.collapse_drop_db
        if self._reference_db is None and self.round == 0:
            self._reference_db = value  # scored before the phase's first round: its start
        elif collapsed(value, self._reference_db, drop):
            worst = min(links, key=lambda q: q.psnr_db)
            self._diverged(
                f"validation PSNR {value:.2f} dB is {self._reference_db - value:.2f} dB below the phase's start "
                f"({self._reference_db:.2f} dB; limit simulation.collapse_drop_db = {drop:g}), worst on link "
                f"{worst.src}->{worst.dst} of user {worst.src}", user=worst.src, verb="collapsed")
        self._last_validation_db = value

    def end_phase(self, encoder_of=None, decoder_of=None, validation_psnr_db: float | None = None) -> PhaseRecord:
        """Evaluate on the test links (unless no models are given) and close the phase.

        Where users hold validation images, the phase is also scored on them, so that
        hyper-parameters can be chosen without looking at the test images; a caller
        that has just validated these very models passes ``validation_psnr_db``.
        """
        if encoder_of is None:
            links, quality = [], summarize([])
            self.report()
        else:
            if validation_psnr_db is None and self._validator is not None and self._validator.links:
                validation_psnr_db = self.evaluate(encoder_of, decoder_of, validation=True)[1]["psnr_db"]
            links, quality = self.evaluate(encoder_of, decoder_of, final=True)
        bytes0, t0, steps0, wall0 = self._phase_start
        return PhaseRecord(
            name=self.phase_name,
            psnr_db=quality["psnr_db"],
            ssim=quality["ssim"],
            worst_link_psnr_db=quality["worst_link_psnr_db"],
            bytes=self._sim.bytes_total - bytes0,
            bytes_cumulative=self._sim.bytes_total,
            sim_time_s=self._sim.now_s - t0,
            sim_time_end_s=self._sim.now_s,
            local_steps=self.local_steps - steps0,
            rounds=self.round,
            wall_time_s=time.perf_counter() - wall0,
            links=[q.as_dict() for q in links],
            validation_psnr_db=validation_psnr_db,
        )

    def checkpoint(self, name: str, model: nn.Module) -> None:
        """Save ``model``'s state now as the interim file ``checkpoints/name`` (a branch's
        name gets the branch as prefix), overwriting the last one: a long run stopped
        early leaves its latest weights behind. A run that finishes discards it."""
        if self._save_checkpoint is None or not self.settings.save_checkpoints:
            return
        if not all_finite(model.parameters()):  # keep the last good file for inspection
            self._diverged(f"non-finite weights in the model saved as {name}")
        if self.branch_name != "main":
            name = f"{self.branch_name}_{name}"
        self._save_checkpoint(name, cpu_state(model))
        self.interim_checkpoints.add(name)

    def checkpoint_phase_end(self, encoder_of, decoder_of) -> None:
        """Save the models every link uses at the end of a phase that scored finite, as
        the interim ``checkpoints/last_phase.pt``: a run that diverges later leaves
        its last good models for inspection (a finished run discards the file)."""
        if self._save_checkpoint is None or not self.settings.save_checkpoints or not self.learns:
            return
        states: dict[int, dict] = {}  # one state per module: a global model is stored once

        def state(module: nn.Module) -> dict:
            if id(module) not in states:
                states[id(module)] = cpu_state(module)
            return states[id(module)]

        name = "last_phase.pt" if self.branch_name == "main" else f"{self.branch_name}_last_phase.pt"
        if isinstance(encoder_of, LinkModules):  # a pair per link
            models = {"links": {link: {"encoder": state(encoder_of[link]), "decoder": state(decoder_of[link])}
                                for link in self.image_links()}}
        else:
            models = {
                "encoders": {i: state(encoder_of(i)) for i in sorted({i for i, _ in self.image_links()})},
                "decoders": {j: state(decoder_of(j)) for j in sorted({j for _, j in self.image_links()})},
            }
        self._save_checkpoint(name, {"phase": self.phase_name, "round": self.round, **models})
        self.interim_checkpoints.add(name)

    def report(self, **fields) -> None:
        self._progress({"branch": self.branch_name, "phase": self.phase_name, "round": self.round,
                        "sim_time_s": self._sim.now_s, "bytes_cumulative": self._sim.bytes_total, **fields})

    def evaluate_at_snr(self, snr_db: float, encoder_of, decoder_of) -> list[LinkQuality]:
        """Score every test link as if its SNR were ``snr_db`` (no metrics record)."""
        return self._evaluator.at_snr(snr_db).evaluate(encoder_of, decoder_of)

    # ------------------------------------------------------------------ checkpoints

    def state(self) -> dict:
        """This branch's state between rounds: counters, phase and round, its batch
        streams' positions, its codecs' residuals and its simulator (see
        :mod:`semnet.fl.resume`)."""
        return {
            "branch": self.branch_name,
            "local_steps": self.local_steps,
            "local_passes": self.local_passes,
            "phase_name": self.phase_name,
            "round": self.round,
            "phase_start": self._phase_start[:3],  # the wall clock is not state
            "last_validation_db": self._last_validation_db,
            "reference_db": self._reference_db,
            "streams": {key: stream.state() for key, stream in self._streams.items()},
            "codecs": None if self._codecs is None else self._codecs.state(),
            "holdings": self.holdings.state(),
            "sim": self._sim.state(),
            **({} if self._traffic is None else {"traffic": self._traffic.state()}),
        }

    def load_state(self, state: dict) -> None:
        """Continue from :meth:`state` of this branch (streams and codecs in place, since
        strategies may hold them)."""
        if state["branch"] != self.branch_name:
            raise ValueError(f"checkpoint of branch {state['branch']!r} loaded into {self.branch_name!r}")
        self.local_steps, self.local_passes = state["local_steps"], state["local_passes"]
        self.phase_name, self.round = state["phase_name"], state["round"]
        self._phase_start = (*state["phase_start"], time.perf_counter())
        self._last_validation_db, self._reference_db = state["last_validation_db"], state["reference_db"]
        for key in [k for k in self._streams if k not in state["streams"]]:
            del self._streams[key]
        for (user, batch_size), stream_state in state["streams"].items():
            self.stream(user, batch_size).load_state(stream_state)
        if state["codecs"] is not None:
            self.codecs.load_state(state["codecs"])
        elif self._codecs is not None:
            self._codecs.residuals = {}
        self.holdings.load_state(state["holdings"])
        self._sim.load_state(state["sim"])
        if self._traffic is not None:
            self._traffic.load_state(state["traffic"])

    def shared_state(self) -> dict:
        """What every branch of the run shares: where it is, the delivery counts and the
        interim checkpoints written so far."""
        return {
            "where": dict(self._where),
            "delivery": None if self._delivery is None else self._delivery.state(),
            "interim_checkpoints": sorted(self.interim_checkpoints),
            "ledger": None if self._sim.ledger is None else copy.deepcopy(self._sim.ledger.rows),
            **({} if self._traffic is None else {"traffic": self._traffic.tally.state()}),
        }

    def load_shared_state(self, state: dict) -> None:
        self._where.clear()
        self._where.update(state["where"])
        if self._delivery is not None:
            self._delivery.load_state(state["delivery"])
        self.interim_checkpoints.clear()
        self.interim_checkpoints.update(state["interim_checkpoints"])
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
        other.branch_name = name
        other._sim = self._sim_factory(name, self._sim.now_s)
        other._traffic = None if self._traffic is None else self._traffic.for_branch(name, other._sim)
        other._streams = {}
        other._codecs = None  # a control's senders start with no error-feedback residuals
        other.local_steps = 0
        other.local_passes = 0
        other.round = 0
        other.phase_name = ""
        other._phase_start = (0, other._sim.now_s, 0, time.perf_counter())
        other._last_validation_db = other._reference_db = None  # a branch starts from its own models
        other.holdings = (self.holdings if holdings is None else holdings).clone()
        return other

