"""The built-in methods a scenario names in ``method.name``, registered in
:data:`semnet.registry.methods`. Each is a short pipeline of phases over one
:class:`~semnet.fl.loop.context.RunContext`; the rounds themselves are strategies
(:mod:`semnet.fl.algorithms.federated`, :mod:`semnet.fl.methods.finefed`, :mod:`semnet.fl.methods.baselines`).
"""

from __future__ import annotations

import copy

from torch import nn

from semnet.fl.methods.baselines import Ditto, FedPer, LocalFinetune
from semnet.fl.methods.centralized import train_centralized
from semnet.fl.loop.context import PhaseRecord, RunContext, cpu_state
from semnet.fl.methods.controls import Budget, run_controls
from semnet.fl.methods.exchange import run_exchange
from semnet.fl.algorithms.federated import train_federated
from semnet.fl.methods.finefed import finetune
from semnet.fl.methods.finefed_joint import finetune_joint
from semnet.fl.methods.headroom import headroom
from semnet.fl.loop.strategy import Method, MethodOutcome, personal_checkpoint, run_rounds
from semnet.registry import methods


@methods.register("exchange", "exchange-only protocol: model-sized messages over the graph, no learning "
                  "(tests the network layer)")
class Exchange(Method):
    learns = False

    def run(self, ctx: RunContext) -> MethodOutcome:
        return MethodOutcome([run_exchange(ctx, self.spec.exchange, ctx.settings.symbols_per_image)])


@methods.register("centralized", "one model trained on all users' pooled data at the links' SNRs; upper reference "
                  "(data upload counted)")
class Centralized(Method):
    def run(self, ctx: RunContext) -> MethodOutcome:
        model = ctx.data.new_model()
        phases, sweep = train_centralized(ctx, model, self.spec.centralized)
        return MethodOutcome(phases, extras={"test_snr_sweep": sweep}, checkpoints={"centralized.pt": cpu_state(model)})


class FederatedStart(Method):
    """A method whose first phase trains a global model by federated learning
    (``method.federated``), with ``default_algorithm`` unless
    ``federated.algorithm`` names another registered one."""

    default_algorithm = "fedavg"

    @property
    def algorithm(self) -> str:
        return self.spec.federated.algorithm or self.default_algorithm

    def train_start(self, ctx: RunContext, model: nn.Module) -> PhaseRecord:
        # A start loaded from model.checkpoint with no federated rounds need not be
        # FedAvg's (e.g. the centralised model): its phase says where it came from.
        from_checkpoint = self.model_from_checkpoint and self.spec.federated.rounds == 0
        phase = "checkpoint_start" if from_checkpoint else f"pretrain_{self.algorithm}"
        return train_federated(ctx, model, self.spec.federated, self.algorithm, phase)

    def run(self, ctx: RunContext) -> MethodOutcome:
        model = ctx.data.new_model()
        start = self.train_start(ctx, model)
        return MethodOutcome([start], checkpoints={"global.pt": cpu_state(model)})


def start_checkpoint(model: nn.Module) -> dict:
    """The start's weights as ``global.pt`` holds them: a copy taken right after the start,
    so a later phase that changes ``model`` in place does not change the checkpoint."""
    return {k: v.clone() for k, v in cpu_state(model).items()}


@methods.register("fedavg", "global model of FedAvg (weighted by data size); every link uses the global encoder "
                  "and decoder")
class FedAvg(FederatedStart):
    fixed_algorithm = "fedavg"


@methods.register("fedprox", "global model of FedProx (proximal term mu); every link uses the global encoder and "
                  "decoder")
class FedProx(FederatedStart):
    default_algorithm = fixed_algorithm = "fedprox"


@methods.register("scaffold", "global model of SCAFFOLD (control variates sent as real bytes); every link uses the "
                  "global model")
class Scaffold(FederatedStart):
    default_algorithm = fixed_algorithm = "scaffold"


@methods.register("federated", "global model of any registered federated algorithm (method.federated.algorithm, "
                  "default fedavg: FedAvgM, FedAdam, FedYogi, ...); every link uses the global encoder and decoder")
class AnyAlgorithmStart(FederatedStart):
    """A start whose algorithm is the scenario's: server optimisers have no method of their own."""


class Personalised(FederatedStart):
    """A federated start, then one personalisation phase run by ``strategy``."""

    phase = ""

    def strategy(self, ctx: RunContext, start: nn.Module):
        raise NotImplementedError

    def rounds(self) -> int:
        return self.spec.personal.rounds

    def run(self, ctx: RunContext) -> MethodOutcome:
        model = ctx.data.new_model()
        start = self.train_start(ctx, model)
        global_state = start_checkpoint(model)
        strategy = self.strategy(ctx, model)
        record = run_rounds(ctx, strategy, self.rounds(), phase=self.phase)
        models = strategy.models
        return MethodOutcome([start, record], checkpoints={
            "global.pt": global_state, "personal.pt": personal_checkpoint(models.encoders, models.decoders)})


@methods.register("local_finetune", "federated start + each transmitter fine-tunes its encoder against the frozen "
                  "global decoder")
class LocalFinetuneMethod(Personalised):
    phase = "local_finetune"

    def strategy(self, ctx, start):
        return LocalFinetune(ctx, start, self.spec.personal.local)

    def rounds(self) -> int:
        return 1


@methods.register("fedper", "split model (FedPer): shared federated encoder, personal decoder per user trained on "
                  "its own data")
class FedPerMethod(Personalised):
    phase = "fedper"

    def strategy(self, ctx, start):
        return FedPer(ctx, start, self.spec.personal.local)


@methods.register("ditto", "Ditto: personal (encoder, decoder) per user pulled to the global model; link i->j "
                  "uses E_i and D_j")
class DittoMethod(Personalised):
    phase = "ditto"

    def strategy(self, ctx, start):
        personal = self.spec.personal
        return Ditto(ctx, start, personal.local, personal.ditto_lambda)


@methods.register("finefed", "FineFed: federated start, then K iterations of multi-task encoder and federated "
                  "decoder fine-tuning")
class FineFed(FederatedStart):
    """FineFed (Wu et al., 2026) on a federated start, then the fair-comparison controls
    named in ``method.controls`` from the same start with the same budget."""

    encoder_step = True
    decoder_step = True
    runs_controls = True

    def run(self, ctx: RunContext) -> MethodOutcome:
        model = ctx.data.new_model()
        start = self.train_start(ctx, model)
        global_state = start_checkpoint(model)
        spec = self.spec
        start_model = copy.deepcopy(model)
        start_holdings = ctx.rounds.holdings.clone()  # every user holds the final global model
        bytes0, steps0, passes0 = ctx.rounds.bytes_total, ctx.rounds.local_steps, ctx.rounds.local_passes
        models, ft_phases = self.personalise(ctx, model)
        budget = Budget(local_steps=ctx.rounds.local_steps - steps0, local_passes=ctx.rounds.local_passes - passes0,
                        bytes=ctx.rounds.bytes_total - bytes0)
        controls = run_controls(ctx, spec.controls, spec, self.algorithm, start_model, budget, start_holdings)
        extras = {"finetune_budget": budget.as_dict()}
        oracle = next((c for c in controls if c["name"] == "oracle"), None)
        if oracle is not None:  # the oracle's gain over the start, and the share of it each method captures
            final = ft_phases[-1].links if ft_phases else start.links
            others = {c["name"]: c["links"] for c in controls if c is not oracle}
            extras["headroom"] = headroom(start.links, oracle["links"], {spec.name: final, **others})
        return MethodOutcome(
            [start] + ft_phases,
            controls=controls,
            extras=extras,
            checkpoints={"global.pt": global_state,
                         "personal.pt": personal_checkpoint(models.encoders, models.decoders)},
        )


    def personalise(self, ctx: RunContext, model) -> tuple:
        """The fine-tuning after the start: K iterations of encoder and decoder steps."""
        spec = self.spec
        encoder = self.encoder_step and spec.finetune.encoder_step
        decoder = self.decoder_step and spec.finetune.decoder_step
        return finetune(ctx, model, spec.finetune, encoder=encoder, decoder=decoder)


@methods.register("finefed_joint", "FineFed with joint steps: each transmitter trains its encoder with copies of "
                  "its receivers' decoders, receivers average the copies (same messages as FineFed)")
class FineFedJoint(FineFed):
    """FineFed's constraints, with encoders and decoders co-adapting in each step
    (:mod:`semnet.fl.methods.finefed_joint`); the same controls and budget rules."""

    def personalise(self, ctx: RunContext, model) -> tuple:
        return finetune_joint(ctx, model, self.spec.finetune)


@methods.register("finefed_encoder_only", "FineFed ablation: encoder fine-tuning step only")
class FineFedEncoderOnly(FineFed):
    decoder_step = False


@methods.register("finefed_decoder_only", "FineFed ablation: decoder fine-tuning step only")
class FineFedDecoderOnly(FineFed):
    encoder_step = False
