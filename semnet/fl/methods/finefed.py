"""FineFed collaborative fine-tuning (Wu et al., 2026), on top of a federated start.

Each iteration k = 1..K runs, in order:

* **encoder step** — decoders frozen. Every receiver j sends ``D_j`` to each
  transmitter i in in(j). Transmitter i fine-tunes ``E_i`` on its own images with
  the multi-task loss ``sum_{j in out(i)} w_ij * MSE(x, D_j(ch_ij(E_i(x))))``, each
  task through link i->j's channel at its SNR.
* **decoder step** — encoders frozen. For each receiver j, the transmitters in(j)
  fine-tune copies of ``D_j`` on their own images through their own encoders and
  link channels; j averages the copies (FedAvg weighted by data size): one
  federation per decoder, ``decoder_rounds`` rounds each.

Pairing rule: link i->j uses the transmitter's personal ``E_i`` and the receiver's
personal ``D_j``.

Decoder copies travel with ``method.codec.decoders`` and the transmitters' decoder
updates (their copy minus the one they received) with ``method.codec.updates``: a
transmitter trains against, and fine-tunes, the decoder it decoded, and receiver j
moves its own ``D_j`` by the mean decoded update.

A decoder is sent only to a transmitter that lacks its version (:mod:`semnet.fl.loop.versions`):
in iteration 1 every ``D_j`` is the global decoder every user holds after the federated
start, so the encoder step and the first decoder round send none; in later iterations
``D_j`` travels for the encoder step and not again for the first decoder round (the
encoder step did not change it).
"""

from __future__ import annotations

import copy

from torch import nn

from semnet.fl.algorithms.aggregation import differences, load_tensors, tensors_of
from semnet.fl.loop.context import ClientPlan, PhaseRecord, RunContext
from semnet.fl.loop.strategy import ClientReply, Pairing, RoundStrategy, run_rounds
from semnet.fl.execution.trainer import TrainJob, simulated_samples
from semnet.fl.loop.versions import version_of
from semnet.fl.methods.decoder_servers import DecoderAggregation
from semnet.scenario.schema import FineTuneSpec
from semnet.sim import Message, Task


class PersonalModels:
    """One encoder per transmitter and one decoder per receiver, starting from a global model."""

    def __init__(self, start: nn.Module, users: list[int]):
        self.encoders = {u: copy.deepcopy(start.encoder) for u in users}
        self.decoders = {u: copy.deepcopy(start.decoder) for u in users}
        self.decoder_servers: dict = {}  # receiver -> its decoder's server step (kept over iterations)

    @classmethod
    def of(cls, encoders: dict, decoders: dict) -> "PersonalModels":
        """Wrap existing per-user modules (no copies)."""
        models = cls.__new__(cls)
        models.encoders, models.decoders, models.decoder_servers = encoders, decoders, {}
        return models

    def encoder_of(self, user: int) -> nn.Module:
        return self.encoders[user]

    def decoder_of(self, user: int) -> nn.Module:
        return self.decoders[user]

    def pairing(self) -> Pairing:
        """Link i->j uses the transmitter's ``E_i`` and the receiver's ``D_j``."""
        return self.encoder_of, self.decoder_of


def task_weights(ctx: RunContext, transmitter: int, receivers: list[int], rule: str) -> list[float]:
    """w_ij: uniform, or traffic share (the transmit graph's edge weights)."""
    if rule == "traffic":
        raw = [ctx.topology.traffic_weight(transmitter, j) for j in receivers]
        total = sum(raw)
        return [w / total for w in raw]
    return [1.0 / len(receivers)] * len(receivers)


def decoder_bits(ctx: RunContext, decoder: nn.Module) -> int:
    """Size of a decoder copy sent whole (``method.codec.decoders``)."""
    return ctx.rounds.codecs.bits("decoders", tensors_of(decoder), difference=False)


def decoder_downloads(ctx: RunContext, models: PersonalModels, i: int, receivers: list[int],
                      versions: dict) -> tuple[dict, tuple]:
    """Which of its receivers' decoders transmitter i holds at ``versions`` already, and
    the messages that bring it the others."""
    held = {j: ctx.rounds.holdings.holds(i, versions[j]) for j in receivers}
    downloads = tuple(Message(j, i, "decoder", decoder_bits(ctx, models.decoders[j]))
                      for j in receivers if not held[j])
    return held, downloads


def received_decoder(ctx: RunContext, models: PersonalModels, j: int, i: int, version: str | None = None,
                     held: bool = False) -> nn.Module:
    """Transmitter i's copy of receiver j's decoder: as it arrived, or as i holds it
    (``held``: version ``version`` was not sent again; a lossy codec left i a copy).
    ``D_j`` itself where i's copy is exact (the caller must not train it then)."""
    decoder = models.decoders[j]
    state = ctx.rounds.holdings.copy(i, version) if held else None
    if state is None:
        if held or ctx.rounds.codecs.lossless("decoders", difference=False):
            return decoder
        state = ctx.rounds.codecs.send_state("decoders", tensors_of(decoder), j, i)
        ctx.rounds.holdings.keep_copy(i, f"decoder/{j}", version or version_of(decoder), state)
    copy_j = copy.deepcopy(decoder)
    load_tensors(copy_j, state)
    return copy_j


def multitask_job(ctx: RunContext, spec: FineTuneSpec, i: int, encoder: nn.Module, tasks: list, steps: int,
                  train: tuple[str, ...], generator) -> TrainJob:
    """Transmitter i's one multi-task job over its receivers' decoders (``tasks``), at
    the encoder step's local settings: FineFed's encoder step and the joint step."""
    local = spec.encoder
    return TrainJob(
        key=i,
        encoder=encoder,
        tasks=tasks,
        data=ctx.data.stream(i, local.batch_size),
        steps=steps,
        train=train,
        lr=local.lr,
        optimizer=local.optimizer,
        weighting="uncertainty" if spec.task_weights == "uncertainty" else "fixed",
        generator=generator,
    )


class EncoderStep(RoundStrategy):
    """Decoders frozen; each transmitter fine-tunes its encoder against its receivers'
    decoders (one round: decoder downloads, then local multi-task training). A
    transmitter whose decoder downloads failed keeps its previous encoder."""

    uses = ("topology", "data", "random", "rounds", "deployment")

    aggregates = False  # nothing is aggregated: each encoder stays where it trained

    def __init__(self, ctx: RunContext, models: PersonalModels, spec: FineTuneSpec, iteration: int):
        super().__init__(ctx)
        self.models, self.spec, self.iteration = models, spec, iteration

    def pairing(self) -> Pairing:
        return self.models.pairing()

    def configure(self, rnd: int) -> list[ClientPlan]:
        ctx, models, spec = self.ctx, self.models, self.spec
        local = spec.encoder
        plans = []
        versions = {j: version_of(models.decoders[j]) for j in ctx.topology.users if ctx.topology.transmitters(j)}
        for i in ctx.topology.users:
            receivers = ctx.topology.receivers(i)
            if not receivers:
                continue
            held, downloads = decoder_downloads(ctx, models, i, receivers, versions)
            steps = local.steps_for(ctx.data.samples(i))

            def make(i=i, receivers=receivers, steps=steps, held=held):
                weights = task_weights(ctx, i, receivers, spec.task_weights)
                tasks = [ctx.data.loss_task(received_decoder(ctx, models, j, i, versions[j], held[j]), [(i, j)], w)
                         for j, w in zip(receivers, weights)]
                return [multitask_job(ctx, spec, i, models.encoders[i], tasks, steps, ("encoder",),
                                      ctx.random.generator("encoder_step", self.iteration, i))]

            task = Task(key=i, node=i, downloads=downloads,
                        samples=simulated_samples(steps, local.batch_size, len(receivers)))
            plans.append(ClientPlan(task, make, receives=tuple(versions[j] for j in receivers if not held[j])))
        return plans

    def aggregate(self, rnd: int, replies: list[ClientReply], failures) -> None:
        for reply in replies:  # each transmitter sends with its new encoder once it has trained it
            self.ctx.deployment.deploy(reply.key, encoder=self.models.encoders[reply.key], at_s=reply.plan.outcome.compute_end_s)


class DecoderStep(RoundStrategy):
    """Encoders frozen; for each receiver j, its transmitters fine-tune copies of
    ``D_j`` through their own encoders and link channels, and j combines the copies
    (by default FedAvg weighted by data size; a rule and a server step of the scenario's
    choosing, :mod:`semnet.fl.methods.decoder_servers`): one federation per decoder."""

    uses = ("topology", "data", "random", "rounds", "deployment")

    round_scoped = ("_start",)

    def __init__(self, ctx: RunContext, models: PersonalModels, spec: FineTuneSpec, iteration: int):
        super().__init__(ctx)
        self.models, self.spec, self.iteration = models, spec, iteration
        codecs = self.ctx.rounds.codecs
        # raw float32 both ways: receivers average the copies exactly as before codecs
        self.exact = codecs.lossless("decoders", difference=False) and codecs.lossless("updates", difference=True)
        self._start: dict[tuple[int, int], list] = {}  # (i, j) -> the copy of D_j that i decoded
        self.combiner = DecoderAggregation(spec, models.decoder_servers)
        self.combiner.check(ctx.topology)
        self.combiner.prepare(ctx.topology, models.decoders)

    def pairing(self) -> Pairing:
        return self.models.pairing()

    def configure(self, rnd: int) -> list[ClientPlan]:
        ctx, models = self.ctx, self.models
        self._start.clear()
        local = self.spec.decoder
        plans = []
        for j in ctx.topology.users:
            version = version_of(models.decoders[j]) if ctx.topology.transmitters(j) else None
            for i in ctx.topology.transmitters(j):
                down = decoder_bits(ctx, models.decoders[j])
                up = ctx.rounds.codecs.bits("updates", tensors_of(models.decoders[j]), difference=True)
                steps = local.steps_for(ctx.data.samples(i))
                held = ctx.rounds.holdings.holds(i, version)

                def make(i=i, j=j, steps=steps, rnd=rnd, version=version, held=held):
                    copy_j = self.decoder_copy(i, j, version, held)
                    return [
                        TrainJob(
                            key=(i, j),
                            encoder=models.encoders[i],
                            tasks=[ctx.data.loss_task(copy_j, [(i, j)])],
                            data=ctx.data.stream(i, local.batch_size),
                            steps=steps,
                            train=("decoders",),
                            lr=local.lr,
                            optimizer=local.optimizer,
                            generator=ctx.random.generator("decoder_step", self.iteration, rnd, i, j),
                        )
                    ]

                task = Task(
                    key=(i, j),
                    node=i,
                    downloads=() if held else (Message(j, i, "decoder", down),),
                    samples=simulated_samples(steps, local.batch_size),
                    uploads=(Message(i, j, "decoder_update", up),),
                )
                plans.append(ClientPlan(task, make, receives=() if held else (version,)))
        return plans

    def decoder_copy(self, i: int, j: int, version: str | None, held: bool) -> nn.Module:
        """Transmitter i's trainable copy of ``D_j``: as i holds it or as it arrived (kept
        for the update i sends back when a codec is lossy)."""
        ctx = self.ctx
        copy_j = copy.deepcopy(self.models.decoders[j])
        state = ctx.rounds.holdings.copy(i, version) if held else None
        if state is None and not held and not self.exact:
            state = ctx.rounds.codecs.send_state("decoders", tensors_of(self.models.decoders[j]), j, i)
            if not ctx.rounds.codecs.lossless("decoders", difference=False):
                ctx.rounds.holdings.keep_copy(i, f"decoder/{j}", version, state)
        if state is not None:
            load_tensors(copy_j, state)
        if not self.exact:
            self._start[(i, j)] = tensors_of(copy_j)
        return copy_j

    def trained_copies(self, replies: list[ClientReply]):
        """(transmitter i, receiver j, i's trained copy of ``D_j``) for every reply."""
        for reply in replies:
            i, j = reply.key
            yield i, j, reply.jobs[0].tasks[0].decoder

    def aggregate(self, rnd: int, replies: list[ClientReply], failures) -> None:
        by_receiver: dict[int, list] = {}
        for i, j, trained in self.trained_copies(replies):
            by_receiver.setdefault(j, []).append((i, trained, self.ctx.data.samples(i)))
        codecs = self.ctx.rounds.codecs
        for j, copies in sorted(by_receiver.items()):
            weights = [w for _, _, w in copies]

            def decoded_updates(j=j, copies=copies):
                return [codecs.send_difference("updates", differences(tensors_of(c), self._start[(i, j)]), i, j)
                        for i, c, _ in copies]

            self.combiner.aggregate(j, self.models.decoders[j], [(i, c) for i, c, _ in copies], weights,
                                    exact=self.exact, decoded_updates=decoded_updates, faults=self.ctx.rounds.faults)
            # j decodes with the aggregated decoder once its aggregation ends
            self.ctx.deployment.deploy(j, decoder=self.models.decoders[j], via="aggregation")


def encoder_step(ctx: RunContext, models: PersonalModels, spec: FineTuneSpec, iteration: int) -> None:
    """One encoder step inside the caller's phase."""
    run_rounds(ctx, EncoderStep(ctx, models, spec, iteration), 1)


def decoder_step(ctx: RunContext, models: PersonalModels, spec: FineTuneSpec, iteration: int) -> None:
    """One decoder step (``decoder_rounds`` rounds) inside the caller's phase."""
    run_rounds(ctx, DecoderStep(ctx, models, spec, iteration), spec.decoder_rounds)


def finetune(
    ctx: RunContext, start: nn.Module, spec: FineTuneSpec, *, encoder: bool = True, decoder: bool = True
) -> tuple[PersonalModels, list[PhaseRecord]]:
    """K FineFed iterations from the global model ``start``; one phase per step."""
    models = PersonalModels(start, ctx.topology.users)
    phases = []
    for k in range(1, spec.iterations + 1):
        if encoder:
            phases.append(run_rounds(ctx, EncoderStep(ctx, models, spec, k), 1, phase=f"finefed_{k}_encoder"))
        if decoder:
            phases.append(run_rounds(ctx, DecoderStep(ctx, models, spec, k), spec.decoder_rounds,
                                     phase=f"finefed_{k}_decoder"))
    return models, phases
