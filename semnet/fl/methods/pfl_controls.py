"""The controls a reviewer names for a cell where personalisation wins: clustered FL
(IFCA), representation sharing (FedRep) and one SNR-conditioned federated model
(``snr_conditioned``: the gain could be SNR specialisation, not data personalisation).

Budget rules, as for every control in :mod:`semnet.fl.methods.controls`: each runs on
its own branch, its messages counted by the one bytes protocol
(:mod:`semnet.fl.loop.versions`: a model is sent only to a node that lacks it, the
closing round deploys what the links use), and plays rounds until its own local passes
reach the method's (encoder->channel->decoder passes: steps x tasks). IFCA and FedRep
start from the method's start, which every user holds; their local steps and batch
size are ``method.federated.local``'s, at the control's rate (``controls_lr``, the
fine-tuning rate, or the best of ``controls_lr_grid`` on validation images).

``snr_conditioned`` is a different model (``method.snr_control.model``, SNR-aware),
so it cannot start from the method's start. With ``start: own`` (the default) it
trains its own federated start from scratch on a branch of its own with the method's
recipe (``method.federated``: the same algorithm, round cap, schedule and plateau
rule), then continues it at a constant rate for the method's passes after the
start. Its total is therefore its own start plus the method's fine-tuning budget,
against the method's start plus the same budget: the summary's ``snr_start`` gives
its start's rounds, passes, bytes and whether it converged, so the two starts can be
compared. With ``start: backbone`` it takes the method's start's weights wherever
they fit (the SNR modules start fresh) and spends exactly the method's passes: the
same total, but its SNR modules see only the fine-tuning budget.
"""

from __future__ import annotations

import torch
from torch import nn

from semnet.errors import ScenarioError
from semnet.fl.algorithms.federated import continued, make_strategy, train_federated
from semnet.fl.loop.versions import Holdings
from semnet.fl.methods.controls import Prepared, _PassesMatched
from semnet.fl.methods.fedrep import FedRep
from semnet.fl.methods.ifca import IFCA
from semnet.models import create_model
from semnet.models.layout import canonical_name
from semnet.registry import controls, models
from semnet.seeding import derive_seed


class _LocalRounds(_PassesMatched):
    """A personalised control trained in rounds of ``method.federated.local`` at the control's rate."""

    tuned = True

    @property
    def local(self):
        local = self.spec.federated.local
        return local.model_copy(update={"lr": self.lr})


@controls.register("ifca", "IFCA (Ghosh et al. 2020): k cluster (encoder, decoder) pairs, each user trains the one "
                   "with the lowest loss on its images, FedAvg within clusters; link i->j uses i's cluster "
                   "(method.ifca), for at least the method's local passes")
class IFCAControl(_LocalRounds):
    pairs_per_link = True  # a receiver decodes with its transmitter's cluster's decoder

    def strategy(self, ctx, start, budget):
        return IFCA(ctx, start, self.local, self.spec.ifca.clusters)

    def spent(self, ctx, strategy, budget):
        # a choose round is half an iteration: stop after a train round only
        return strategy.after_train and super().spent(ctx, strategy, budget)

    def report(self, strategy):
        return strategy.report()


@controls.register("fedrep", "FedRep (Collins et al. 2021): shared body, personal heads at the image ends "
                   "(encoder's first, decoder's last layers), head steps then body steps (method.fedrep), "
                   "for at least the method's local passes")
class FedRepControl(_LocalRounds):
    def strategy(self, ctx, start, budget):
        return FedRep(ctx, start, self.local, self.spec.fedrep)


@controls.register("snr_conditioned", "one SNR-aware model (method.snr_control.model, fed each link's SNR) trained "
                   "by federated learning: its own start by the method's recipe, then the method's local passes "
                   "(or from the start's backbone: method.snr_control.start)")
class SnrConditionedControl(_PassesMatched):
    tuned = True

    def prepare(self, ctx, start, holdings) -> Prepared:
        spec = self.spec.snr_control
        model = snr_model(spec.model, start, derive_seed(ctx.settings.seed, "snr_control_init")).to(ctx.data.device)
        if spec.start == "backbone":
            load_fitting(model, start)
            return Prepared(ctx, model, holdings)
        # its own start on a branch of its own, where nobody holds any model yet
        branch = ctx.branch("control_snr_conditioned_start", Holdings())
        record = train_federated(branch, model, self.spec.federated, self.algorithm, "snr_start")
        start_report = {key: record.as_dict()[key] for key in
                        ("rounds", "converged", "psnr_db", "validation_psnr_db", "bytes", "local_steps")}
        start_report["local_passes"] = branch.rounds.local_passes
        return Prepared(branch, model, None, {"snr_start": start_report})

    def strategy(self, ctx, start, budget):
        return make_strategy(ctx, start, continued(self.spec.federated, self.lr), self.algorithm)


def snr_model(name: str, start: nn.Module, seed: int) -> nn.Module:
    """A fresh SNR-aware model ``name`` of the start's size (latent channels, width)."""
    if not getattr(models.get(name), "snr_aware", False):
        aware = [n for n in models.names() if getattr(models.get(n), "snr_aware", False)]
        raise ScenarioError(f"method.snr_control.model = {name!r}: not SNR-aware; SNR-aware models: {', '.join(aware)}")
    size = {key: getattr(start, key) for key in ("latent_channels", "width") if hasattr(start, key)}
    return create_model(name, generator=torch.Generator().manual_seed(seed), **size)


@torch.no_grad()
def load_fitting(model: nn.Module, source: nn.Module) -> list[str]:
    """Copy into ``model`` every tensor of ``source``'s state that sits in the same layer
    and role (:func:`semnet.models.layout.canonical_name`) with the same shape; the
    source's names copied."""
    target = {canonical_name(k): v for k, v in model.state_dict().items()}
    copied = []
    for key, value in source.state_dict().items():
        name = canonical_name(key)
        if name is not None and name in target and target[name].shape == value.shape:
            target[name].copy_(value)
            copied.append(key)
    return copied
