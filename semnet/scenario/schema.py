"""Typed, frozen scenario specification.

A scenario YAML file is parsed once, at the edge, into these pydantic models.
Unknown keys are errors (``extra="forbid"``) and every number carries its range,
so nothing past the loader ever sees a raw dict. The key-by-key reference with
units and defaults is ``docs/scenario-reference.md``; keep the two in step.
"""

from __future__ import annotations

import importlib.util
import re
from fractions import Fraction
from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from semnet.scenario.base import SpecValueError, _Spec, _is_number  # noqa: F401  (re-exported)
from semnet.scenario.controls import FedRepSpec, IFCASpec, SnrControlSpec
from semnet.scenario.data import DataSpec, PartitionSpec  # noqa: F401
from semnet.scenario.evaluation import DigitalSpec, EvaluationSpec  # noqa: F401
from semnet.scenario.links import (  # noqa: F401
    AggregatorLinkSpec,
    ChannelSpec,
    LinkOverride,
    LinksSpec,
    PathLossSpec,
    RateSpec,
    SnrOverride,
)
from semnet.scenario.robust import AggregationSpec, DecoderServerSpec, FaultsSpec
from semnet.scenario.topology import MobilitySpec, RingTopologySpec, TopologySpec  # noqa: F401
from semnet.scenario.traffic import TrafficSpec


# --------------------------------------------------------------------------- model

# k/n = c (H/4)(W/4) / 2 / (3 H W) = c / 96 whatever the image size, for models that
# downsample by 4 (every built-in family: semnet.workload.DOWNSAMPLE), so a ratio
# needs a whole number of latent channels c = 96 k/n: checkable without any data.
LATENT_CHANNELS_PER_UNIT_RATIO = 96


class ModelSpec(_Spec):
    name: str = Field("deep_jscc", description="a registered model (semnet list models)")
    latent_channels: int | None = Field(None, ge=2, le=4096, description="c of the 8x8xc latent; k/n = c/96 for 32x32")
    bandwidth_ratio: str | float | None = Field(None, description="k/n, e.g. '1/6'; alternative to latent_channels")
    width: float = Field(1.0, gt=0, le=8, description="multiplier on filter counts")
    checkpoint: str | None = Field(None, description="initial weights (.pt written by semnet)")
    options: dict[str, Any] = Field(
        default_factory=dict, description="further keyword arguments of the model class, checked against its constructor"
    )

    # 'before': a list or a boolean gets this message rather than one per union member
    @field_validator("bandwidth_ratio", mode="before")
    @classmethod
    def _ratio(cls, value):
        if value is None:
            return None
        try:
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise ValueError
            ratio = float(Fraction(str(value)))
        except (ValueError, ZeroDivisionError):
            raise ValueError("not a number or fraction like '1/6'") from None
        if not 0 < ratio <= 1:
            raise ValueError("must be in (0, 1]")
        channels = ratio * LATENT_CHANNELS_PER_UNIT_RATIO
        if abs(channels - round(channels)) > 1e-6 * channels or round(channels) < 1:
            raise ValueError(
                f"needs {channels:.4g} latent channels (96 x k/n); k/n must be a whole multiple of 1/96 "
                "(e.g. 1/6, 1/12, 1/16)"
            )
        return ratio

    @model_validator(mode="after")
    def _check(self) -> "ModelSpec":
        if self.latent_channels is not None and self.bandwidth_ratio is not None:
            raise SpecValueError(
                "bandwidth_ratio", self.bandwidth_ratio, "give latent_channels or bandwidth_ratio, not both"
            )
        return self


# --------------------------------------------------------------------------- method


DEFAULT_STEPS = 20  # local steps when a training section gives neither steps nor epochs

# Upper bounds on counts: far beyond any real experiment, but they turn a slip
# (`rounds: 1e12`, a batch of a billion images) into one line from `validate`
# instead of a run that never ends or dies for memory much later.
MAX_ROUNDS = 100_000
MAX_STEPS = 1_000_000
MAX_EPOCHS = 100_000
MAX_BATCH = 65_536


class LocalTrainSpec(_Spec):
    """One piece of local training: how many optimiser steps, batch and learning rate."""

    steps: int | None = Field(None, ge=1, le=MAX_STEPS, description="optimiser steps per round")
    epochs: float | None = Field(None, gt=0, le=MAX_EPOCHS, description="alternative to steps: passes over local data")
    batch_size: int = Field(32, ge=1, le=MAX_BATCH)
    lr: float = Field(1e-3, gt=0)
    optimizer: Literal["adam", "sgd"] = "adam"

    @model_validator(mode="after")
    def _check(self) -> "LocalTrainSpec":
        if self.steps is not None and self.epochs is not None:
            raise SpecValueError("epochs", self.epochs, "give steps or epochs, not both")
        return self

    def steps_for(self, num_samples: int) -> int:
        """Optimiser steps for a client with ``num_samples`` local images
        (``steps``, else ``epochs`` passes, else ``DEFAULT_STEPS``)."""
        if self.steps is not None:
            return self.steps
        if self.epochs is None:
            return DEFAULT_STEPS
        return max(1, round(self.epochs * num_samples / self.batch_size))


class ConvergeSpec(_Spec):
    """Stop a federation once it stops improving: the mean validation PSNR over the last
    ``window_frac`` of its rounds (at least three evaluations) beats the window before it
    by less than ``min_gain_db``. Validation images are held out of each user's
    training data; evaluated every ``eval_every`` rounds."""

    min_gain_db: float = Field(0.1, ge=0)
    window_frac: float = Field(0.1, gt=0, le=1)
    min_rounds: int = Field(10, ge=1, le=MAX_ROUNDS)
    eval_every: int = Field(1, ge=1, le=MAX_ROUNDS)
    min_lr_frac: float = Field(
        0.25, ge=0, le=1,
        description="a plateau counts as converged only while the learning rate is at least this share of local.lr",
    )


class FederatedSpec(_Spec):
    algorithm: str | None = Field(
        None, description="a registered federated algorithm (semnet list algorithms); None: the method's own, else fedavg"
    )
    rounds: int = Field(20, ge=0, le=MAX_ROUNDS, description="maximum rounds (all of them unless converge is set)")
    client_fraction: float = Field(1.0, gt=0, le=1)
    local: LocalTrainSpec = LocalTrainSpec(steps=20)
    mu: float = Field(0.01, ge=0, description="fedprox: proximal weight")
    server_lr: float = Field(1.0, gt=0, description="scaffold: global step size")
    options: dict[str, Any] = Field(
        default_factory=dict, description="the algorithm's own settings (semnet list algorithms), checked against "
        "its Options model: fedavgm server_lr and momentum, feddyn alpha"
    )
    aggregation: AggregationSpec = Field(
        AggregationSpec(), description="how the server combines the clients' updates (semnet list aggregators)")
    lr_schedule: Literal["constant", "cosine", "plateau_then_cosine"] = Field(
        "constant", description="local learning rate over rounds: constant, cosine decay to 0 at `rounds`, or "
        "constant until the converge rule holds, then cosine decay over `decay_rounds`"
    )
    decay_rounds: int = Field(0, ge=0, le=MAX_ROUNDS, description="plateau_then_cosine: rounds of decay after the plateau")
    converge: ConvergeSpec | None = None

    @model_validator(mode="after")
    def _check_decay(self) -> "FederatedSpec":
        if self.lr_schedule == "plateau_then_cosine":
            if self.converge is None:
                raise SpecValueError("converge", None, "lr_schedule plateau_then_cosine needs a converge section")
            if self.decay_rounds < 1:
                raise SpecValueError("decay_rounds", self.decay_rounds,
                                     "lr_schedule plateau_then_cosine needs decay_rounds >= 1")
        elif self.decay_rounds:
            raise SpecValueError("decay_rounds", self.decay_rounds,
                                 f"only lr_schedule plateau_then_cosine decays after a plateau (got {self.lr_schedule}); "
                                 "allowed 0")
        return self


class FineTuneSpec(_Spec):
    iterations: int = Field(2, ge=0, le=1000, description="K: encoder step + decoder step repetitions")
    encoder_step: bool = True
    decoder_step: bool = True
    encoder: LocalTrainSpec = LocalTrainSpec(steps=20, lr=5e-4)
    decoder_rounds: int = Field(2, ge=1, le=MAX_ROUNDS, description="federated rounds per decoder step")
    decoder: LocalTrainSpec = LocalTrainSpec(steps=10, lr=5e-4)
    task_weights: Literal["uniform", "traffic", "uncertainty"] = "uniform"
    decoder_aggregation: AggregationSpec = Field(
        AggregationSpec(), description="how each receiver combines its transmitters' decoder updates")
    decoder_server: DecoderServerSpec = Field(
        DecoderServerSpec(), description="the server optimiser each receiver steps its decoder with")


class CentralizedSpec(_Spec):
    epochs: float = Field(10, gt=0, le=MAX_EPOCHS)
    batch_size: int = Field(64, ge=1, le=MAX_BATCH)
    lr: float = Field(1e-3, gt=0)
    lr_schedule: Literal["constant", "cosine", "step"] = "cosine"
    eval_every_epochs: float = Field(1.0, gt=0, le=MAX_EPOCHS)
    test_snrs_db: tuple[float, ...] = (0.0, 10.0, 20.0)
    snr_range_db: tuple[float, float] | None = Field(
        None, description="train SNRs uniform in this range instead of the links' SNRs"
    )


class PersonalSpec(_Spec):
    """Personalised-FL baselines (fedper, ditto) and naive local fine-tuning."""

    rounds: int = Field(5, ge=1, le=MAX_ROUNDS, description="fedper/ditto: rounds after the federated start")
    local: LocalTrainSpec = LocalTrainSpec(steps=20, lr=5e-4)
    ditto_lambda: float = Field(0.1, ge=0, description="ditto: pull of the personal model to the global one")


class OracleSpec(_Spec):
    """The headroom oracle (control ``oracle``): per image link i->j, a copy of the start's
    encoder and decoder trained jointly on i's training images at the link's channel,
    ``rounds`` chunks of ``local`` training; each link keeps its best chunk on i's
    validation images (the last one without them). With ``patience`` a link stops once
    that many chunks in a row have not raised its best validation PSNR by ``min_gain_db``
    (trained to its plateau, ``rounds`` the cap)."""

    rounds: int = Field(10, ge=1, le=MAX_ROUNDS, description="chunks of local training, each scored on validation "
                        "images; with patience, the cap")
    local: LocalTrainSpec = LocalTrainSpec(steps=50, lr=5e-4)
    patience: int | None = Field(None, ge=1, le=MAX_ROUNDS, description="null: train every link all rounds; N: a link "
                                 "stops after N chunks in a row without a min_gain_db gain on validation images")
    min_gain_db: float = Field(0.05, ge=0.0, le=10.0, description="with patience: the validation gain (dB) over the "
                               "link's best so far that counts as progress")


class ExchangeSpec(_Spec):
    """Exchange-only protocol: gossip messages of a fixed size, no learning."""

    rounds: int = Field(5, ge=1, le=MAX_ROUNDS)
    message_bytes: int = Field(100_000, ge=1, le=10**12)
    semantic_images: int = Field(0, ge=0, le=1_000_000, description="images each user also sends on each out-link per round")


class CodecSpec(_Spec):
    """``method.codec`` as a mapping: a registered codec (``semnet list codecs``) per
    kind of model message; a kind left out travels as float32."""

    global_model: str = Field("float32", description="the global model (FedPer: the shared encoder) sent to clients")
    decoders: str = Field("float32", description="FineFed: the decoder copies receivers send to their transmitters")
    updates: str = Field("float32", description="every client-to-server update, sent as a difference")
    control_variates: str = Field("float32", description="SCAFFOLD: the server's control variate and the clients' changes")


def _codec_form(value: Any) -> str:
    return "codec=kinds" if isinstance(value, (dict, CodecSpec)) else "codec=name"


# tagged 'codec=...' so that error messages drop the tag from the key path, like the topology kinds'
CodecChoice = Annotated[
    Union[Annotated[str, Tag("codec=name")], Annotated[CodecSpec, Tag("codec=kinds")]], Discriminator(_codec_form)
]


class MethodSpec(_Spec):
    """``method:`` — which method runs (a registered name) and the sections it reads.

    Names (``name``, ``federated.algorithm``, ``controls``) are checked against the
    registries when the scenario is loaded, after its ``plugins`` are imported; a
    plugin method's own settings go in ``options`` and are checked against its
    ``Options`` model there too.
    """

    name: str = Field("finefed", description="a registered method (semnet list methods)")
    federated: FederatedSpec = FederatedSpec()
    finetune: FineTuneSpec = FineTuneSpec()
    centralized: CentralizedSpec = CentralizedSpec()
    personal: PersonalSpec = PersonalSpec()
    exchange: ExchangeSpec = ExchangeSpec()
    oracle: OracleSpec = OracleSpec()
    controls: tuple[str, ...] = Field(
        (), description="fair-comparison controls run from the same start (semnet list controls)"
    )
    controls_lr: float | None = Field(
        None, gt=0, description="learning rate of the federated controls; None: finetune.encoder.lr"
    )
    controls_lr_grid: tuple[Annotated[float, Field(gt=0)], ...] | None = Field(
        None, min_length=1, max_length=8,
        description="rates tried for each tuned control, the best on validation images kept; None: controls_lr"
    )
    ifca: IFCASpec = IFCASpec()
    fedrep: FedRepSpec = FedRepSpec()
    snr_control: SnrControlSpec = SnrControlSpec()
    codec: CodecChoice = Field(
        "float32", description="a registered codec (semnet list codecs) for every model message, or one per kind"
    )
    loss: Literal["mse", "log_mse"] = Field(
        "mse",
        description="training loss of every local step: mse (mean squared error over the batch) or log_mse "
        "(mean over images of 10 log10 MSE = minus the mean per-image PSNR that evaluations report; "
        "images on high-SNR links are not drowned by the larger errors of low-SNR ones)",
    )
    task_loss_weight: float = Field(
        0.0, ge=0, le=1000,
        description="task-aware training: weight of the frozen classifier's (evaluation.classifier) cross-entropy "
        "on the decoded images, added to every local step's loss (target: its decision on the sent image); "
        "0: pixels only. Needs evaluation.task: classify",
    )

    options: dict[str, Any] = Field(
        default_factory=dict, description="a plugin method's own settings, checked against its Options model"
    )

    @model_validator(mode="after")
    def _loss_fits_weighting(self) -> "MethodSpec":
        # uncertainty weighting needs a positive loss: exp(-s) L + s has no minimum for L < 0
        if self.loss == "log_mse" and self.finetune.task_weights == "uncertainty":
            raise SpecValueError(
                "loss", self.loss, "cannot be combined with finetune.task_weights 'uncertainty'; use mse or uniform/traffic weights"
            )
        return self



# --------------------------------------------------------------------------- simulation / output


class ComputeSpec(_Spec):
    """Simulated compute speed: local training of n samples takes n / samples_per_s seconds."""

    samples_per_s: float = Field(500.0, gt=0)
    samples_per_s_range: tuple[float, float] | None = Field(
        None, description="heterogeneous devices: each user's speed drawn uniformly (seeded)"
    )
    per_node: dict[int, float] = Field(default_factory=dict, description="node id -> samples/s")
    aggregation_s: float = Field(0.0, ge=0, description="aggregator time per aggregation")
    joules_per_sample: float | None = Field(
        None, ge=0, le=1e6, description="energy of training on one sample (every node); null: no compute energy"
    )
    per_node_joules_per_sample: dict[int, float] = Field(
        default_factory=dict, description="node id -> J per training sample (overrides joules_per_sample)"
    )

    @model_validator(mode="after")
    def _check(self) -> "ComputeSpec":
        if self.samples_per_s_range is not None:
            low, high = self.samples_per_s_range
            if not 0 < low <= high:
                raise SpecValueError("samples_per_s_range", self.samples_per_s_range, "needs 0 < low <= high")
        for node, speed in self.per_node.items():
            if speed <= 0:
                raise SpecValueError(f"per_node[{node}]", speed, "samples/s must be > 0")
        for node, joules in self.per_node_joules_per_sample.items():
            if not 0 <= joules <= 1e6:
                raise SpecValueError(f"per_node_joules_per_sample[{node}]", joules, "J per sample must be in 0 ... 1e6")
        return self


class RadioPowerSpec(_Spec):
    """Power a radio draws (not what it radiates: ``links.path_loss.tx_power_dbm``)."""

    tx_power_w: float = Field(0.2, ge=0, le=1e4, description="while transmitting")
    rx_power_w: float = Field(0.1, ge=0, le=1e4, description="while receiving")
    idle_power_w: float = Field(0.0, ge=0, le=1e4, description="the rest of each phase")


class EnergySpec(RadioPowerSpec):
    """Radio energy of every node: power x the seconds it transmits, receives and idles.
    The users' powers; ``aggregator`` gives the base station its own (null: the same)."""

    aggregator: RadioPowerSpec | None = None


MAX_THREADS, MAX_WORKERS = 1024, 4096


class SimulationSpec(_Spec):
    compute: ComputeSpec = ComputeSpec()
    energy: EnergySpec | None = Field(
        None, description="radio powers; with it (or compute.joules_per_sample) summary.json gets an energy section"
    )
    round_deadline_s: float | None = Field(None, gt=0, description="aggregators stop waiting after this")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int | Literal["auto"] | None = Field(
        "auto", description="torch CPU threads of the run's process and of each worker (auto: the free cores, "
        "one where training steps are too small to gain; null: 1, as before auto)"
    )
    workers: int | Literal["auto"] | None = Field(
        "auto", description="processes (or Ray actors) that train a round's jobs side by side (auto, or null: "
        "workers only where a round's training pays for starting them)",
    )
    backend: Literal["local", "ray"] = Field("local", description="where workers run: local processes or Ray actors")
    trainer: str = Field(
        "sequential", description="a registered trainer (semnet list trainers): sequential (spread over workers "
        "where there are several), batched (same-shaped jobs trained together as stacked models, torch.func)"
    )
    precision: Literal["fp32", "bf16"] = Field("fp32", description="bf16: model layers under autocast")
    collapse_drop_db: float | None = Field(
        5.0, gt=0, description="stop a run whose validation PSNR falls this far below its phase's start (None: "
        "never); NaN or infinite losses and weights always stop it"
    )

    # 'before': one message naming every allowed value rather than one per union member
    @field_validator("threads", "workers", mode="before")
    @classmethod
    def _check_count(cls, value, info):
        limit = {"threads": MAX_THREADS, "workers": MAX_WORKERS}[info.field_name]
        if value is None or value == "auto" or (isinstance(value, int) and not isinstance(value, bool)
                                                 and 1 <= value <= limit):
            return value
        raise ValueError(f"allowed: auto, null or an integer 1 ... {limit}")

    @model_validator(mode="after")
    def _check_parallel(self) -> "SimulationSpec":
        # only the sequential trainer is spread over worker processes or Ray actors
        if self.trainer != "sequential" and isinstance(self.workers, int) and self.workers > 1:
            raise SpecValueError("workers", self.workers, f"the {self.trainer} trainer runs in one process; "
                                 f"allowed: 1, auto or null with trainer: {self.trainer}")
        if self.trainer != "sequential" and self.backend == "ray":
            raise SpecValueError("backend", self.backend, f"the {self.trainer} trainer runs in one process; "
                                 f"allowed: local with trainer: {self.trainer}")
        if self.backend == "ray" and importlib.util.find_spec("ray") is None:
            raise SpecValueError("backend", self.backend, "needs Ray: pip install 'semnet[ray]' (or backend: local)")
        return self


class OutputSpec(_Spec):
    dir: str = "runs"
    eval_every_rounds: int = Field(0, ge=0, le=MAX_ROUNDS, description="0: evaluate at the end of each phase only")
    eval_images_per_link: int | None = Field(None, ge=1, description="cap on test images per link")
    eval_realisations: int = Field(1, ge=1, le=10_000, description="fading realisations (noise draws) per test image")
    ssim: bool = Field(True, description="also compute SSIM at evaluations (about 40% of evaluation time), "
                      "and MS-SSIM where images are 161 px and up")
    checkpoints: bool = Field(True, description="write checkpoints: final models, interim files of long phases "
                              "and the resume checkpoint")
    resume_every_rounds: int = Field(10, ge=0, le=MAX_ROUNDS, description="with checkpoints: a resume checkpoint "
                                     "every N rounds of a phase, and at every phase's end (0: at phase ends only)")
    progress: bool = True


# a run's name becomes one folder under output.dir: nothing that climbs out of it
# (``..``, ``/``), hides it, or breaks a line
NAME_CHARS = "A-Z a-z 0-9 . _ = + -"
MAX_NAME_CHARS = 100
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._=+-]*")


class Scenario(_Spec):
    """A whole scenario: the root of a YAML file."""

    name: str = Field("scenario", description="the run's folder name under output.dir (default run directories)")
    description: str = ""
    seed: int = Field(0, ge=0, le=2**63 - 1)
    plugins: tuple[str, ...] = Field(
        (), description="Python modules imported before names are checked, so that they can register components"
    )
    topology: TopologySpec = RingTopologySpec()
    links: LinksSpec = LinksSpec()
    data: DataSpec = DataSpec()
    model: ModelSpec = ModelSpec()
    method: MethodSpec = MethodSpec()
    simulation: SimulationSpec = SimulationSpec()
    output: OutputSpec = OutputSpec()
    evaluation: EvaluationSpec = EvaluationSpec()
    traffic: TrafficSpec | None = Field(
        None, description="live images on every image link while the run learns; null: none (no images travel)"
    )
    faults: FaultsSpec | None = Field(None, description="users that send corrupted updates; null: none")

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not (len(value) <= MAX_NAME_CHARS and _SAFE_NAME.fullmatch(value)):
            raise ValueError(f"must be one folder name: 1 to {MAX_NAME_CHARS} of the characters {NAME_CHARS}, "
                             "starting with a letter, digit or _ (no '/', '..', spaces or control characters)")
        return value

    @model_validator(mode="after")
    def _check(self) -> "Scenario":
        n = self.topology.num_users
        for i, override in enumerate(self.links.overrides):
            for end in ("src", "dst"):
                node = getattr(override, end)
                if node >= n:
                    raise SpecValueError(f"links.overrides[{i}].{end}", node, f"not a node; allowed 0..{n - 1}")
        for node in self.links.node_tx_power_dbm:
            if node >= n:
                raise SpecValueError("links.node_tx_power_dbm", node, f"not a node; allowed 0..{n - 1}")
        if self.links.interference.model != "none" and self.traffic is not None and self.traffic.queue != "fifo":
            raise SpecValueError("traffic.queue", self.traffic.queue, "moves model messages after they are booked, "
                                 "which links.interference.model sinr does not follow; allowed with it: fifo")
        if self.links.interference.model != "none" and self.traffic is not None and self.traffic.digital is not None:
            raise SpecValueError("traffic.digital", "a codec", "digital images meet noise only so far, not the "
                                 "interference of links.interference.model sinr; allowed with it: null (JSCC images)")
        if self.method.task_loss_weight > 0 and self.evaluation.task != "classify":
            raise SpecValueError("method.task_loss_weight", self.method.task_loss_weight,
                                 "needs the classifier of evaluation.task: classify; allowed: 0 without it")
        if self.method.oracle.patience is not None and self.data.validation_per_user == 0:
            raise SpecValueError("data.validation_per_user", 0, "method.oracle.patience needs held-out images; "
                                 "allowed: > 0 with patience (or method.oracle.patience: null)")
        if self.method.federated.converge is not None and self.data.validation_per_user == 0:
            raise SpecValueError("data.validation_per_user", 0, "method.federated.converge needs held-out images; "
                                 "allowed: > 0 with converge (or remove method.federated.converge)")
        for user in self.faults.users if self.faults else ():
            if not 0 <= user < n:
                raise SpecValueError("faults.users", user, f"not a node; allowed 0..{n - 1}")
        for key in ("per_node", "per_node_joules_per_sample"):
            for node in getattr(self.simulation.compute, key):
                if not 0 <= node < n:
                    raise SpecValueError(f"simulation.compute.{key}", node, f"not a node; allowed 0..{n - 1}")
        return self
