"""``summary.json`` as a typed object: what the runner writes and what ``semnet report``,
the sweep table and :mod:`semnet.analysis` read.

The core — final quality, totals, phases, links, controls, the network, the model, the
data, live images (``traffic``) and ``energy`` — is typed; the other sections that only
some runs have (``delivery``, ``channel_over_time``, ``headroom``, a method's own
extras) are kept as they are written (``extra`` keys). Run directories written by earlier versions load:
every key added since is optional. :func:`load_summary` turns any unreadable file into
one :class:`~semnet.errors.SemnetError` line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from semnet.errors import SemnetError

__all__ = ["BranchImageStats", "ControlSummary", "DigitalBaseline", "DigitalLinkScore", "DigitalSummary",
           "EnergySummary", "ImageStats", "LinkScore", "PhaseSummary", "RunSummary", "TrafficSummary", "SummaryError",
           "load_summary",
           "read_summary_json"]

MAX_SUMMARY_BYTES = 256 * 1024 * 1024  # a summary of 10,000 links is a few MB


class SummaryError(SemnetError):
    """A ``summary.json`` that cannot be read as a run's summary."""


class _Section(BaseModel):
    # sections gain keys over versions: what a reader does not know is kept, not refused
    model_config = ConfigDict(extra="allow")


class LinkScore(_Section):
    """One image link's quality (dB, SSIM) at its SNR, over ``images`` test images."""

    src: int
    dst: int
    psnr_db: float | None = None
    ssim: float | None = None
    snr_db: float | None = None
    images: int | None = None
    accuracy: float | None = None  # the task classifier's, on decoded images (evaluation.task: classify)
    ms_ssim: float | None = None  # images of 161 px and up only


class PhaseSummary(_Section):
    """One phase (a federated start, a fine-tuning step ...): its quality at its end and
    what it cost (bytes, simulated seconds, local steps, rounds)."""

    name: str
    psnr_db: float | None = None
    ssim: float | None = None
    worst_link_psnr_db: float | None = None
    bytes: int
    bytes_cumulative: int
    sim_time_s: float
    sim_time_end_s: float
    local_steps: int
    rounds: int
    wall_time_s: float
    links: list[LinkScore] = []
    converged: bool | None = None
    convergence: dict | None = None
    validation_psnr_db: float | None = None
    accuracy: float | None = None
    ms_ssim: float | None = None


class ControlSummary(PhaseSummary):
    """A fair-comparison control run from the method's start, on its own branch."""

    local_passes: int | None = None


class NetworkSummary(_Section):
    users: int
    image_links: int
    topology: str
    snr_db_mean: float
    snr_db_min: float
    snr_db_max: float
    fading: str
    positions_m: dict[str, list[float]] = {}
    link_channels: list[dict] = []
    medium: dict | None = None


class LinkSinrStats(_Section):
    """One link's transmissions under interference (``links.interference.model: sinr``):
    how many (``images`` of them), its large-scale SNR, the large-scale SINR each met over
    its airtime (dB: mean and 5th percentile over transmissions) and the share of its
    airtime during which at least one interferer was heard."""

    src: int | str
    dst: int | str
    transmissions: int
    images: int
    snr_db: float
    sinr_db_mean: float | None = None
    sinr_db_p5: float | None = None
    interfered_share: float | None = None


class InterferenceSummary(_Section):
    """``links.interference`` and every link's SINR statistics (all branches pooled)."""

    model: str
    cutoff_db: float
    bands: int
    band_assignment: str
    sinr_db_mean: float | None = None
    interfered_share: float | None = None
    links: list[LinkSinrStats] = []


class ModelSummary(_Section):
    name: str
    channel_uses_per_image: int
    bandwidth_ratio: float
    encoder_bytes: int
    decoder_bytes: int


class DataSummary(_Section):
    source: str
    train_images: int
    test_images: int
    image_hw: list[int]


class ImageStats(_Section):
    """Live images (``traffic:``) of one branch, phase or link: how many travelled, how many
    were lost (past the deadline or in an outage), the delivered images' PSNR (dB, mean and
    5th percentile) and every image's latency (s: mean, median, 99th percentile)."""

    images: int
    delivered: int | None = None
    lost: int
    psnr_db_mean: float | None = None
    psnr_db_p5: float | None = None
    latency_s_mean: float | None = None
    latency_s_p50: float | None = None
    latency_s_p99: float | None = None
    sinr_db_mean: float | None = None  # links.interference.model sinr: the images' SINR over their airtime
    sinr_db_p5: float | None = None


class LinkImageStats(ImageStats):
    src: int
    dst: int


class PhaseImageStats(ImageStats):
    links: list[LinkImageStats] = []


class BranchImageStats(ImageStats):
    phases: dict[str, PhaseImageStats] = {}


class TrafficSummary(_Section):
    """The ``traffic`` section: the traffic settings and the images of every branch."""

    images_per_s: float | None = None
    arrivals: str | None = None
    queue: str | None = None
    deadline_s: float | None = None
    window_s: float | None = None
    channel_uses_per_image: int | None = None
    branches: dict[str, BranchImageStats] = {}


class EnergyParts(_Section):
    """Energy (J) of a node, a phase or a branch: compute, transmit, receive, idle, total."""

    compute_j: float
    tx_j: float
    rx_j: float
    idle_j: float
    total_j: float


class PhaseEnergy(EnergyParts):
    nodes: dict[str, EnergyParts] = {}  # main branch only


class BranchEnergy(EnergyParts):
    phases: dict[str, PhaseEnergy] = {}


class EnergySummary(EnergyParts):
    """The ``energy`` section: the main branch's total (``users_j``: without the aggregator),
    per node, per phase, and every branch's."""

    users_j: float
    nodes: dict[str, EnergyParts] = {}
    phases: dict[str, PhaseEnergy] = {}
    branches: dict[str, BranchEnergy] = {}
class DigitalLinkScore(LinkScore):
    """One link under one digital baseline: sends (images x realisations), how many
    were lost (sent at a rate the state could not carry) or unfit (no encoding fitted
    the budget), the mean budget and the mean size of what was sent."""

    sends: int | None = None
    lost: int | None = None
    unfit: int | None = None
    budget_bits_mean: float | None = None
    sent_bytes_mean: float | None = None


class DigitalBaseline(_Section):
    """One (codec, rate) digital baseline over every image link (fallbacks counted)."""

    name: str
    codec: str
    rate: str
    psnr_db: float | None = None
    ssim: float | None = None
    worst_link_psnr_db: float | None = None
    psnr_db_std_over_links: float | None = None
    accuracy: float | None = None
    lost_share: float | None = None
    unfit_share: float | None = None
    links: list[DigitalLinkScore] = []


class DigitalSummary(_Section):
    """``evaluation.digital``: the baselines, the channel uses they had, the fallback."""

    channel_uses_per_image: int
    fallback: str
    mcs_table: str | None = None
    mcs_margin_db: float | None = None
    baselines: list[DigitalBaseline] = []

    def baseline(self, name: str) -> DigitalBaseline | None:
        return next((b for b in self.baselines if b.name == name), None)


class RunSummary(_Section):
    """A finished run (see the README's table of run files for each key)."""

    status: str
    name: str
    method: str
    seed: int
    psnr_db: float | None = None
    ssim: float | None = None
    worst_link_psnr_db: float | None = None
    accuracy: float | None = None
    ms_ssim: float | None = None  # images of 161 px and up only
    bytes_total: int
    sim_time_s: float
    wall_time_s: float
    local_steps: int
    local_passes: int | None = None
    messages_total: int | None = None
    device: str | None = None
    execution: dict | None = None  # threads and workers the run trained with (absent before auto existed)
    phases: list[PhaseSummary]
    links: list[LinkScore] = []
    controls: list[ControlSummary] = []
    network: NetworkSummary | None = None
    model: ModelSummary | None = None
    data: DataSummary | None = None
    totals_branches: list[str] | None = None
    delivery: dict | None = None
    energy: EnergySummary | None = None
    traffic: TrafficSummary | None = None
    channel_over_time: dict | None = None
    interference: InterferenceSummary | None = None
    headroom: dict | None = None
    finetune_budget: dict | None = None
    test_snr_sweep: list[dict] | None = None
    digital: DigitalSummary | None = None

    def control(self, name: str) -> ControlSummary | None:
        return next((c for c in self.controls if c.name == name), None)

    def as_json(self) -> dict:
        """The summary as written: the keys it was given, none added."""
        return self.model_dump(mode="json", exclude_unset=True)


def load_summary(path: str | Path) -> RunSummary:
    """Read ``path`` (a ``summary.json`` or the run directory holding it). A file that is
    not a run's summary — truncated, binary, not an object, missing keys — raises one
    :class:`SummaryError` line naming the file and what is wrong."""
    path = _summary_file(path)
    raw = read_summary_json(path)
    try:
        return RunSummary.model_validate(raw)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise SummaryError(f"{path}: not a run summary ({where}: {first['msg'][:120]})") from None


def read_summary_json(path: str | Path) -> dict:
    """``summary.json`` as a plain object, unvalidated (readers of partial records, such
    as the analysis of synthetic runs, check the keys they use); a file that is not
    strict JSON, too large or not an object raises one :class:`SummaryError` line."""
    path = _summary_file(path)
    try:
        size = path.stat().st_size
        if size > MAX_SUMMARY_BYTES:
            raise SummaryError(f"{path}: {size} bytes is not a run summary (at most {MAX_SUMMARY_BYTES})")
        raw = json.loads(path.read_bytes(), parse_constant=_no_constant)
    except SummaryError:
        raise
    except OSError as err:
        raise SummaryError(f"cannot read {path}: {err.strerror or err}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as err:
        raise SummaryError(f"{path}: not a run summary (not strict JSON: {str(err)[:120]})") from None
    except RecursionError:
        raise SummaryError(f"{path}: not a run summary (nested too deep)") from None
    if not isinstance(raw, dict):
        raise SummaryError(f"{path}: not a run summary (a JSON {type(raw).__name__}, not an object)")
    return raw


def _summary_file(path: str | Path) -> Path:
    path = Path(path)
    return path / "summary.json" if path.is_dir() else path


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not strict JSON")  # semnet writes null, never NaN
