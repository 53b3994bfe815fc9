"""The methods table: quality and cost per method, mean ± std over seeds.

Rows are the variants of :mod:`semnet.analysis.runs` (``fedavg``, ``finefed/start``,
``finefed/compute_matched``, ``finefed``, ...). Columns: mean link PSNR, worst-link
PSNR, SSIM, bytes (MB), simulated time (s), wall time (s), local steps, energies (J:
all, radio, users', aggregator's; only when some run accounts energy), the live
images' share lost, delivered PSNR (mean, p5) and latency (p50, p99; only when some
run carried live images, ``traffic:``), the PSNR gain over the run's
own federated start (%, FineFed rows and controls), and the number of seeds. Each
cell is the mean ± sample standard deviation (ddof=1) over seeds; a cell with one
seed shows the value alone.

Examples
--------
>>> rows = methods_table(load_runs(["runs/"]))       # doctest: +SKIP
>>> print(to_markdown(rows))                         # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .runs import Run, Variant, as_variants, group_by_label, warn_mixed
from .stats import MeanStd, mean_std
from .style import MB


@dataclass(frozen=True)
class Column:
    key: str          # measure key in Variant.values (or "psnr_gain_pct")
    title: str        # Markdown header, with units
    csv_name: str     # CSV column prefix, with units
    scale: float      # multiplies the stored value (bytes -> MB)
    digits: int


COLUMNS: tuple[Column, ...] = (
    Column("psnr_db", "mean link PSNR (dB)", "psnr_db", 1.0, 2),
    Column("worst_link_psnr_db", "worst-link PSNR (dB)", "worst_link_psnr_db", 1.0, 2),
    Column("ssim", "SSIM", "ssim", 1.0, 4),
    Column("bytes", "bytes (MB)", "bytes_mb", 1.0 / MB, 3),
    Column("sim_time_s", "simulated time (s)", "sim_time_s", 1.0, 2),
    Column("wall_time_s", "wall time (s)", "wall_time_s", 1.0, 1),
    Column("local_steps", "local steps", "local_steps", 1.0, 0),
)
#: Shown when some run of the table scores a task (``evaluation.task: classify``).
ACCURACY = Column("accuracy", "task accuracy", "accuracy", 1.0, 4)
GAIN = Column("psnr_gain_pct", "PSNR gain vs start (%)", "psnr_gain_pct", 1.0, 2)
#: Shown when some run of the table accounts energy (``simulation.energy`` or
#: ``simulation.compute.joules_per_sample``).
ENERGY = (
    Column("energy_j", "energy (J)", "energy_j", 1.0, 3),
    Column("radio_energy_j", "radio energy (J)", "radio_energy_j", 1.0, 3),
    Column("users_energy_j", "users' energy (J)", "users_energy_j", 1.0, 3),
    Column("aggregator_energy_j", "aggregator energy (J)", "aggregator_energy_j", 1.0, 3),
)
#: Shown when some run of the table carried live images (``traffic:``).
IMAGES = (
    Column("image_loss_share", "images lost (%)", "image_loss_pct", 100.0, 1),
    Column("delivered_psnr_db", "delivered PSNR (dB)", "delivered_psnr_db", 1.0, 2),
    Column("delivered_psnr_p5_db", "delivered PSNR p5 (dB)", "delivered_psnr_p5_db", 1.0, 2),
    Column("latency_p50_s", "latency p50 (ms)", "latency_p50_ms", 1e3, 1),
    Column("latency_p99_s", "latency p99 (ms)", "latency_p99_ms", 1e3, 1),
)
#: Optional column groups: (the column whose presence shows the group, the columns).
OPTIONAL = ((ACCURACY.key, (ACCURACY,)), (ENERGY[0].key, ENERGY), (IMAGES[0].key, IMAGES))


@dataclass(frozen=True)
class TableRow:
    """One row: a variant label, its seeds and a MeanStd per column key."""

    label: str
    seeds: tuple
    cells: dict[str, MeanStd]

    @property
    def n_seeds(self) -> int:
        return len(self.seeds)


def psnr_gain_pct(variant: Variant, start: Variant | None) -> float:
    """Relative PSNR gain of ``variant`` over its run's federated start, in %."""
    if start is None:
        return math.nan
    base, value = start.values["psnr_db"], variant.values["psnr_db"]
    if not (math.isfinite(base) and math.isfinite(value)) or base == 0:
        return math.nan
    return 100.0 * (value - base) / base


def methods_table(runs: Iterable[Run] | Iterable[Variant]) -> list[TableRow]:
    """Rows in reading order (references, baselines, FineFed start/controls/final)."""
    variants = as_variants(runs)
    starts = {v.run.path: v for v in variants if v.kind == "start"}
    groups = group_by_label(variants)
    warn_mixed(groups, "methods table")
    rows = []
    for label, group in groups.items():
        cells = {
            c.key: mean_std(v.values[c.key] * c.scale for v in group) for c in COLUMNS
        }
        for marker, group_columns in OPTIONAL:
            if any(math.isfinite(v.values.get(marker, math.nan)) for v in group):
                cells.update({c.key: mean_std(v.values.get(c.key, math.nan) * c.scale for v in group)
                              for c in group_columns})
        if group[0].kind != "start" and any(v.run.path in starts for v in group):
            cells[GAIN.key] = mean_std(psnr_gain_pct(v, starts.get(v.run.path)) for v in group)
        rows.append(TableRow(label=label, seeds=tuple(v.seed for v in group), cells=cells))
    return rows


@dataclass(frozen=True)
class PairedRow:
    """A FineFed method against one variant of the same runs, paired by run (seed)."""

    method: str
    other: str
    diff_db: MeanStd              # FineFed PSNR - other PSNR (dB), mean ± std over runs
    per_run_db: tuple[float, ...]  # the paired differences, in seed order

    @property
    def wins(self) -> int:
        return sum(d > 0 for d in self.per_run_db)


def paired_differences(runs: Iterable[Run] | Iterable[Variant]) -> list[PairedRow]:
    """FineFed (and ablations) minus its start and each control, run by run.

    Seeds share the start's data split and evaluation noise, so the paired difference
    has far less spread than the difference of the two means.
    """
    variants = as_variants(runs)
    by_run: dict = {}
    for v in variants:
        by_run.setdefault(v.run.path, []).append(v)
    pairs: dict[tuple[str, str], list[tuple]] = {}
    for run_variants in by_run.values():
        finals = [v for v in run_variants if v.kind == "final" and v.method.startswith("finefed")]
        for final in finals:
            for other in run_variants:
                if other is final or not math.isfinite(other.values["psnr_db"]):
                    continue
                diff = final.values["psnr_db"] - other.values["psnr_db"]
                pairs.setdefault((final.label, other.label), []).append((final.seed, diff))
    rows = []
    for (method, other), values in pairs.items():
        values.sort(key=lambda sv: (sv[0] is None, sv[0] or 0))
        diffs = tuple(d for _, d in values)
        rows.append(PairedRow(method, other, mean_std(diffs), diffs))
    order = list(group_by_label(variants))
    rows.sort(key=lambda r: (order.index(r.method), order.index(r.other)))
    return rows


def paired_markdown(rows: list[PairedRow]) -> str:
    lines = ["| method | minus | PSNR difference (dB) | per seed (dB) | method better on |",
             "|---|---|---:|---|---:|"]
    for r in rows:
        per = ", ".join(f"{d:+.2f}" for d in r.per_run_db)
        lines.append(f"| `{r.method}` | `{r.other}` | {r.diff_db.format(2)} | {per} | {r.wins}/{len(r.per_run_db)} |")
    return "\n".join(lines) + "\n"


def _has_gain(rows: list[TableRow]) -> bool:
    return any(GAIN.key in r.cells for r in rows)


def _optional(rows: list[TableRow]) -> list[Column]:
    """Energy and live-image columns where some row has them."""
    return [c for marker, group in OPTIONAL if any(marker in r.cells for r in rows) for c in group]


def _columns(rows: list[TableRow]) -> list[Column]:
    """The table's columns: the optional groups and the gain where some row has them."""
    return list(COLUMNS) + _optional(rows) + ([GAIN] if _has_gain(rows) else [])


NOTES = (
    "Mean ± sample standard deviation over seeds. `<method>/start`: the federated start "
    "(first phase) of that run; `<method>/<control>`: a fair-comparison control continued "
    "from the same start with FineFed's extra local steps (compute_matched) or bytes "
    "(bytes_matched). Costs are counted from the beginning of each run (a run that "
    "starts from a checkpoint, `model.checkpoint`, counts from that checkpoint). PSNR gain: "
    "100 (PSNR - PSNR_start) / PSNR_start per seed."
)


def to_markdown(rows: list[TableRow], notes: bool = True) -> str:
    """A GitHub-flavoured Markdown table (and a line of notes under it)."""
    columns = _columns(rows)
    header = ["method"] + [c.title for c in columns] + ["seeds"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for r in rows:
        cells = [f"`{r.label}`"]
        for c in columns:
            cell = r.cells.get(c.key)
            cells.append(cell.format(c.digits) if cell is not None else "")
        cells.append(str(r.n_seeds))
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    if notes:
        text += "\n" + NOTES + "\n"
    return text


def to_csv(rows: list[TableRow]) -> str:
    """CSV with ``<column>_mean`` and ``<column>_std`` (empty when undefined) per column."""
    columns = list(COLUMNS) + _optional(rows) + [GAIN]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["method", "n_seeds", "seeds"] + [f"{c.csv_name}_{s}" for c in columns for s in ("mean", "std")])
    for r in rows:
        values = []
        for c in columns:
            cell = r.cells.get(c.key)
            for v in ((cell.mean, cell.std) if cell is not None else (math.nan, math.nan)):
                values.append("" if math.isnan(v) else repr(float(v)))
        writer.writerow([r.label, r.n_seeds, " ".join(str(s) for s in r.seeds)] + values)
    return buffer.getvalue()


def write_table(
    rows: list[TableRow], out_dir: str | Path, stem: str = "methods", paired: list[PairedRow] | None = None,
    pooled: list[str] | None = None,
) -> list[Path]:
    """Write ``stem.md`` (with what each pooled row mixes and the paired differences
    under the table, if any) and ``stem.csv`` under ``out_dir``; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md, cs = out_dir / f"{stem}.md", out_dir / f"{stem}.csv"
    text = to_markdown(rows)
    if pooled:
        text += "\nPooled on request (--pool), so these rows are not one setting over seeds:\n\n"
        text += "".join(f"- {note}\n" for note in pooled)
    if paired:
        text += "\nFineFed minus each other row of the same run, paired by seed:\n\n" + paired_markdown(paired)
    md.write_text(text)
    cs.write_text(to_csv(rows))
    return [md, cs]
