"""Quality at several test SNRs, and an SNR-aware model against per-SNR models.

Reads runs whose ``summary.json`` holds ``test_snr_sweep`` (centralised training
evaluated at each ``method.centralized.test_snrs_db``). Each run is one *model*:
its architecture (name and width) and bandwidth ratio, and what it was trained at
— one SNR (the links' ``snr_db``) or a range (``method.centralized.snr_range_db``).
Rows are means ± std over seeds.

The comparison answers "does one SNR-aware model trained over a range serve each
SNR as well as a model trained at that SNR alone?": for every range-trained model
and every test SNR ``t`` inside its range, the PSNR gap to the per-SNR model of the
same scenario, bandwidth ratio and training loss trained at ``t`` (positive: the
SNR-aware model is better), of equal epochs where one exists, else of the closest
epochs; one gap per width of per-SNR model up to the SNR-aware model's own (see
``snr_aware_gaps``).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable

from .runs import AnalysisError, Run, warn_mixed
from .stats import MeanStd, mean_std


@dataclass(frozen=True)
class TrainedModel:
    """What a centralised run trained: architecture and width, bandwidth ratio, training SNR(s)."""

    model: str
    bandwidth_ratio: str
    train_snr_db: tuple[float, float]  # (low, high); low == high for one SNR
    epochs: float = 0.0                # of this run (a run may start from a checkpoint)
    scenario: str = ""                 # scenario name: runs of one scenario pool as seeds
    loss: str = "mse"                  # method.loss: the training objective
    width: float = 1.0                 # model.width: multiplier on the filter counts

    @property
    def per_snr(self) -> bool:
        return self.train_snr_db[0] == self.train_snr_db[1]

    @property
    def label(self) -> str:
        low, high = self.train_snr_db
        trained = f"{low:g} dB" if self.per_snr else f"{low:g}-{high:g} dB"
        name = f"{self.scenario}: " if self.scenario else ""
        loss = "" if self.loss == "mse" else f" on {self.loss}"
        width = "" if self.width == 1.0 else f" width {self.width:g}"
        return f"{name}{self.model}{width} k/n={self.bandwidth_ratio} trained at {trained}{loss}"


@dataclass(frozen=True)
class SnrPointsRow:
    trained: TrainedModel
    wall_time_s: MeanStd
    psnr_db: dict[float, MeanStd]  # test SNR (dB) -> PSNR over seeds
    ssim: dict[float, MeanStd]
    seeds: int


def trained_model(run: Run) -> TrainedModel:
    """The training set-up of a centralised run, from its resolved scenario."""
    model = run.scenario.get("model", {})
    central = run.scenario.get("method", {}).get("centralized", {}) or {}
    snr_range = central.get("snr_range_db")
    if snr_range:
        low, high = (float(v) for v in snr_range)
    else:
        snr = run.scenario.get("links", {}).get("snr_db")
        if snr is None:
            raise AnalysisError(f"run '{run.path}' trains at path-loss SNRs; give links.snr_db or snr_range_db")
        low = high = float(snr)
    ratio = model.get("bandwidth_ratio")
    ratio_text = str(Fraction(str(ratio)).limit_denominator(1000)) if ratio else f"c={model.get('latent_channels')}"
    return TrainedModel(str(model.get("name", "unknown")), ratio_text, (low, high),
                        epochs=float(central.get("epochs") or 0),
                        scenario=str(run.scenario.get("name", "")),
                        loss=str(run.scenario.get("method", {}).get("loss") or "mse"),
                        width=float(model.get("width") or 1.0))


def rows_at_test_snrs(runs: Iterable[Run]) -> list[SnrPointsRow]:
    """One row per trained model (seeds pooled), in label order."""
    groups: dict[TrainedModel, list[Run]] = defaultdict(list)
    for run in runs:
        if run.typed.test_snr_sweep:
            groups[trained_model(run)].append(run)
    if not groups:
        raise AnalysisError("no run has a test-SNR sweep (method 'centralized' with test_snrs_db)")
    warn_mixed({t.label: g for t, g in groups.items()}, "test-SNR table")
    rows = []
    for trained in sorted(groups, key=lambda t: (t.scenario, t.model, t.width, t.bandwidth_ratio, t.train_snr_db)):
        group = groups[trained]
        by_snr_psnr: dict[float, list[float]] = defaultdict(list)
        by_snr_ssim: dict[float, list[float]] = defaultdict(list)
        for run in group:
            for point in run.typed.test_snr_sweep:
                by_snr_psnr[float(point["snr_db"])].append(point.get("psnr_db"))
                by_snr_ssim[float(point["snr_db"])].append(point.get("ssim"))
        rows.append(
            SnrPointsRow(
                trained=trained,
                wall_time_s=mean_std(r.typed.wall_time_s for r in group),
                psnr_db={t: mean_std(v) for t, v in sorted(by_snr_psnr.items())},
                ssim={t: mean_std(v) for t, v in sorted(by_snr_ssim.items())},
                seeds=len(group),
            )
        )
    return rows


@dataclass(frozen=True)
class SnrAwareGap:
    aware: TrainedModel
    reference: TrainedModel
    test_snr_db: float
    aware_psnr_db: float
    reference_psnr_db: float

    @property
    def gap_db(self) -> float:
        return self.aware_psnr_db - self.reference_psnr_db


def snr_aware_gaps(rows: list[SnrPointsRow]) -> list[SnrAwareGap]:
    """Range-trained model vs the per-SNR model trained at each test SNR with the same
    scenario, k/n and loss, among those evaluated at that SNR: the one with the same
    epochs (an equal budget per model) when there is one, else the one with the
    closest epochs, the longer-trained on a tie (the table shows both counts; e.g.
    one SNR-aware model trained as long as three per-SNR models together). Per-SNR
    models of different widths are different references: one gap for each width up
    to the SNR-aware model's own, narrowest first (a wider SNR-aware model against
    the narrow per-SNR models and against those of its own width; never against a
    wider per-SNR model)."""
    per_snr: dict[tuple, list[SnrPointsRow]] = defaultdict(list)
    for r in rows:
        if r.trained.per_snr:
            per_snr[(r.trained.scenario, r.trained.bandwidth_ratio, r.trained.loss, r.trained.train_snr_db[0])].append(r)
    gaps = []
    for row in rows:
        if row.trained.per_snr:
            continue
        low, high = row.trained.train_snr_db
        for t, psnr in row.psnr_db.items():
            if not low <= t <= high:
                continue
            key = (row.trained.scenario, row.trained.bandwidth_ratio, row.trained.loss, t)
            by_width: dict[float, list[SnrPointsRow]] = defaultdict(list)
            for r in per_snr.get(key, []):
                if t in r.psnr_db and r.trained.width <= row.trained.width:
                    by_width[r.trained.width].append(r)
            for width in sorted(by_width):
                ref = min(by_width[width], key=lambda r: (abs(r.trained.epochs - row.trained.epochs), -r.trained.epochs))
                gaps.append(SnrAwareGap(row.trained, ref.trained, t, psnr.mean, ref.psnr_db[t].mean))
    return gaps


def to_markdown(rows: list[SnrPointsRow], gaps: list[SnrAwareGap]) -> str:
    snrs = sorted({t for r in rows for t in r.psnr_db})
    head = ["model", "epochs", "wall s", *(f"PSNR @ {t:g} dB" for t in snrs), *(f"SSIM @ {t:g} dB" for t in snrs), "seeds"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r.trained.label, f"{r.trained.epochs:g}", r.wall_time_s.format(0)]
        cells += [r.psnr_db[t].format(2) if t in r.psnr_db else "–" for t in snrs]
        cells += [r.ssim[t].format(4) if t in r.ssim else "–" for t in snrs]
        cells.append(str(r.seeds))
        lines.append("| " + " | ".join(cells) + " |")
    if gaps:
        lines += ["", "| SNR-aware model | per-SNR model | epochs (aware / per-SNR) | test SNR (dB) "
                      "| SNR-aware PSNR (dB) | per-SNR PSNR (dB) | gap (dB) |",
                  "|---|---|---|---|---|---|---|"]
        for g in gaps:
            lines.append(
                f"| {g.aware.label} | {g.reference.label} | {g.aware.epochs:g} / {g.reference.epochs:g} "
                f"| {g.test_snr_db:g} | {g.aware_psnr_db:.2f} | {g.reference_psnr_db:.2f} | {g.gap_db:+.2f} |"
            )
    return "\n".join(lines) + "\n"


def to_csv(rows: list[SnrPointsRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["model", "width", "bandwidth_ratio", "train_snr_low_db", "train_snr_high_db", "test_snr_db",
                     "psnr_db_mean", "psnr_db_std", "ssim_mean", "ssim_std", "epochs", "seeds"])
    for r in rows:
        for t, p in r.psnr_db.items():
            s = r.ssim.get(t, MeanStd(float("nan"), float("nan"), 0))
            writer.writerow([r.trained.model, r.trained.width, r.trained.bandwidth_ratio, *r.trained.train_snr_db, t,
                             p.mean, p.std, s.mean, s.std, r.trained.epochs, r.seeds])
    return buffer.getvalue()


def write_at_test_snr(runs: Iterable[Run], out_dir: str | Path) -> list[Path]:
    """Write ``test_snr.md`` (table + SNR-aware gaps) and ``test_snr.csv``."""
    rows = rows_at_test_snrs(runs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md, csv_path = out / "test_snr.md", out / "test_snr.csv"
    md.write_text(to_markdown(rows, snr_aware_gaps(rows)))
    csv_path.write_text(to_csv(rows))
    return [md, csv_path]
