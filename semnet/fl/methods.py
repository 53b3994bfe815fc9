"""Each method as a pipeline of phases over one ``RunContext``.

``run_method`` returns the phase records, the final per-link quality, the fair-comparison
controls (FineFed only) and the states worth checkpointing.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

from torch import nn

from semnet.fl.aggregation import state_bits
from semnet.fl.baselines import ditto, fedper, local_finetune
from semnet.fl.centralized import train_centralized
from semnet.fl.context import PhaseRecord, RunContext, cpu_state
from semnet.fl.exchange import run_exchange
from semnet.fl.federated import train_federated
from semnet.fl.finefed import PersonalModels, finetune


@dataclass
class MethodOutcome:
    phases: list[PhaseRecord]
    controls: list[dict] = field(default_factory=list)
    extras: dict = field(default_factory=dict)
    checkpoints: dict[str, dict] = field(default_factory=dict)


def run_method(ctx: RunContext, symbols_per_image: int = 0) -> MethodOutcome:
    spec = ctx.scenario.method
    name = spec.name
    if name == "exchange":
        return MethodOutcome([run_exchange(ctx, spec.exchange, symbols_per_image)])
    model = ctx.new_model()
    if name == "centralized":
        phases, sweep = train_centralized(ctx, model, spec.centralized)
        return MethodOutcome(phases, extras={"test_snr_sweep": sweep}, checkpoints={"centralized.pt": cpu_state(model)})

    algorithm = spec.algorithm
    # A start loaded from model.checkpoint with no federated rounds need not be
    # FedAvg's (e.g. the centralised model): its phase says where it came from.
    from_checkpoint = ctx.scenario.model.checkpoint is not None and spec.federated.rounds == 0
    start_phase = "checkpoint_start" if from_checkpoint else f"pretrain_{algorithm}"
    start = train_federated(ctx, model, spec.federated, algorithm, start_phase)
    phases = [start]
    checkpoints = {"global.pt": cpu_state(model)}
    if name in ("fedavg", "fedprox", "scaffold"):
        return MethodOutcome(phases, checkpoints=checkpoints)
    if name == "local_finetune":
        models, record = local_finetune(ctx, model, spec.personal.local)
        return MethodOutcome(phases + [record], checkpoints={**checkpoints, "personal.pt": _personal(models)})
    if name == "fedper":
        models, record = fedper(ctx, model, spec.personal.rounds, spec.personal.local)
        return MethodOutcome(phases + [record], checkpoints={**checkpoints, "personal.pt": _personal(models)})
    if name == "ditto":
        models, record = ditto(ctx, model, spec.personal.rounds, spec.personal.local, spec.personal.ditto_lambda)
        return MethodOutcome(phases + [record], checkpoints={**checkpoints, "personal.pt": _personal(models)})

    encoder = name != "finefed_decoder_only" and spec.finetune.encoder_step
    decoder = name != "finefed_encoder_only" and spec.finetune.decoder_step
    start_model = copy.deepcopy(model)
    bytes0, steps0, passes0 = ctx.sim.bytes_total, ctx.local_steps, ctx.local_passes
    models, ft_phases = finetune(ctx, model, spec.finetune, encoder=encoder, decoder=decoder)
    budget = {
        "local_steps": ctx.local_steps - steps0,
        "local_passes": ctx.local_passes - passes0,
        "bytes": ctx.sim.bytes_total - bytes0,
    }
    controls = [_control(ctx, kind, start_model, budget) for kind in spec.controls]
    return MethodOutcome(
        phases + ft_phases,
        controls=controls,
        extras={"finetune_budget": budget},
        checkpoints={**checkpoints, "personal.pt": _personal(models)},
    )


def _rounds_for(budget: float, per_round: float) -> int:
    """Rounds that spend at least ``budget`` (never less: a control is not starved)."""
    return max(1, math.ceil(budget / per_round - 1e-9))


def _control(ctx: RunContext, kind: str, start: nn.Module, budget: dict) -> dict:
    """Run one fair-comparison control from the FineFed start on its own branch.

    Compute budgets are matched in encoder->channel->decoder passes (optimiser steps
    x tasks: one FineFed encoder step over 3 receivers costs 3 passes), bytes in
    bytes. Federated controls continue at the fine-tuning learning rate (or at
    ``controls_lr``, chosen for the controls on validation images), so FineFed's gain
    cannot come from a smaller step size alone.
    """
    branch = ctx.branch(f"control_{kind}")
    spec = ctx.scenario.method
    fed = spec.federated
    ft_lr = spec.controls_lr if spec.controls_lr is not None else spec.finetune.encoder.lr
    model = copy.deepcopy(start)
    participants = max(1, round(fed.client_fraction * len(ctx.users)))
    steps_per_round = sum(fed.local.steps_for(branch.samples(u)) for u in ctx.users) * participants / len(ctx.users)
    copies = 2 if spec.algorithm == "scaffold" else 1
    bytes_per_round = 2 * copies * participants * state_bits(model) / 8
    if kind == "compute_matched":
        rounds = _rounds_for(budget["local_passes"], steps_per_round)
        record = train_federated(branch, model, fed, spec.algorithm, kind, rounds=rounds, converge=False, lr=ft_lr)
    elif kind == "bytes_matched":
        rounds = _rounds_for(budget["bytes"], bytes_per_round)
        record = train_federated(branch, model, fed, spec.algorithm, kind, rounds=rounds, converge=False, lr=ft_lr)
    elif kind in ("fedper", "ditto"):
        personal = spec.personal
        per_round = sum(personal.local.steps_for(branch.samples(u)) for u in ctx.users)
        per_round *= 2 if kind == "ditto" else 1  # Ditto trains a global and a personal model
        rounds = _rounds_for(budget["local_passes"], per_round)
        if kind == "fedper":
            _, record = fedper(branch, model, rounds, personal.local)
        else:
            _, record = ditto(branch, model, rounds, personal.local, personal.ditto_lambda)
    else:  # local_finetune: one multi-task job per transmitter, FineFed's passes in all
        tasks = sum(len(ctx.network.receivers(u)) for u in ctx.users)
        steps = _rounds_for(budget["local_passes"], tasks)
        rounds = 1
        _, record = local_finetune(branch, model, spec.finetune.encoder, steps=steps, phase=kind)
    out = record.as_dict()
    out["name"] = kind
    out["rounds"] = rounds
    out["local_passes"] = branch.local_passes
    return out


def _personal(models: PersonalModels) -> dict:
    return {
        "encoders": {u: cpu_state(m) for u, m in models.encoders.items()},
        "decoders": {u: cpu_state(m) for u, m in models.decoders.items()},
    }
