"""Per-link paired differences: FineFed minus its start and each control, link by link.

The methods table compares means over links; personalisation may help weak links and
cost strong ones, which a mean hides. Within one run the method, its federated start
and its controls are scored on the same test images over the same links (same SNR,
same noise draws), so the difference on a link is paired: ``method PSNR - other PSNR``
on that link, next to the link's SNR.

Rows come from the links each variant of a run keeps (``summary.json``: ``links`` for
the method, ``phases[0].links`` for the start, ``controls[i].links`` per control).

Examples
--------
>>> rows = link_differences(load_runs(["results/paper"]))   # doctest: +SKIP
>>> write_link_pairs(rows, "docs/results/paper")             # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from .runs import AnalysisError, Run, Variant, as_variants, group_by_label, is_finefed
from .stats import MeanStd, mean_std


@dataclass(frozen=True)
class LinkDiff:
    """One link of one run: the method's PSNR minus another variant's (dB)."""

    method: str          # the method's label (``finefed``)
    other: str           # the compared label (``finefed/start``, ``finefed/compute_matched``)
    run_dir: str
    seed: int | None
    src: int
    dst: int
    snr_db: float        # the link's mean SNR
    method_psnr_db: float
    other_psnr_db: float

    @property
    def diff_db(self) -> float:
        return self.method_psnr_db - self.other_psnr_db


@dataclass(frozen=True)
class PairSummary:
    """All links of all runs of one (method, other) pair."""

    method: str
    other: str
    diff_db: MeanStd          # over links (all seeds pooled)
    wins: int                 # links where the method is better
    links: int
    slope_db_per_db: float    # least-squares slope of the difference over link SNR; NaN if SNR does not vary
    weakest_db: float         # difference on the links in the lowest third of SNR (mean)
    strongest_db: float       # ... and in the highest third


def _psnr(link: dict) -> float:
    value = link.get("psnr_db")
    return math.nan if value is None else float(value)


def link_differences(runs: Iterable[Run] | Iterable[Variant]) -> list[LinkDiff]:
    """FineFed (and ablations) minus its start and each control, per link of each run.

    Links missing from either side, or with a non-finite PSNR on either, are left
    out. Sorted by (method, other) in table order, then seed, then SNR.
    """
    variants = as_variants(runs)
    by_run: dict = {}
    for v in variants:
        by_run.setdefault(v.run.path, []).append(v)
    rows: list[LinkDiff] = []
    for run_variants in by_run.values():
        for final in (v for v in run_variants if v.kind == "final" and is_finefed(v.method) and v.links):
            mine = {(q["src"], q["dst"]): q for q in final.links}
            for other in run_variants:
                if other is final or not other.links:
                    continue
                for q in other.links:
                    m = mine.get((q["src"], q["dst"]))
                    if m is None or not (math.isfinite(_psnr(m)) and math.isfinite(_psnr(q))):
                        continue
                    rows.append(LinkDiff(final.label, other.label, str(final.run.path), final.seed, int(q["src"]),
                                         int(q["dst"]), float(m["snr_db"]), _psnr(m), _psnr(q)))
    order = list(group_by_label(variants))
    rows.sort(key=lambda r: (order.index(r.method), order.index(r.other), r.seed is None, r.seed or 0,
                             r.run_dir, r.snr_db, r.src, r.dst))
    return rows


def pair_summaries(rows: list[LinkDiff]) -> list[PairSummary]:
    """One summary per (method, other), in the rows' order."""
    groups: dict[tuple[str, str], list[LinkDiff]] = {}
    for r in rows:
        groups.setdefault((r.method, r.other), []).append(r)
    out = []
    for (method, other), group in groups.items():
        snr = np.array([r.snr_db for r in group])
        diff = np.array([r.diff_db for r in group])
        slope = float(np.polyfit(snr, diff, 1)[0]) if np.ptp(snr) > 0 and len(group) > 1 else math.nan
        ranked = diff[np.argsort(snr, kind="stable")]
        third = max(1, len(ranked) // 3)
        out.append(PairSummary(method, other, mean_std(diff), int(np.sum(diff > 0)), len(group), slope,
                               float(ranked[:third].mean()), float(ranked[-third:].mean())))
    return out


def _fmt(value: float, digits: int = 2, sign: bool = True) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def to_markdown(rows: list[LinkDiff]) -> str:
    """The pair summaries, then every link's difference (grouped by pair and seed, by SNR)."""
    lines = [
        "| method | minus | links | PSNR difference per link (dB) | method better on | slope over SNR (dB/dB) "
        "| weakest third (dB) | strongest third (dB) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in pair_summaries(rows):
        lines.append(f"| `{s.method}` | `{s.other}` | {s.links} | {s.diff_db.format(2)} | {s.wins}/{s.links} "
                     f"| {_fmt(s.slope_db_per_db, 3)} | {_fmt(s.weakest_db)} | {_fmt(s.strongest_db)} |")
    lines += ["", "Mean ± sample standard deviation over links (all seeds pooled); thirds by link SNR.", "",
              "| method | minus | seed | link | SNR (dB) | method PSNR (dB) | other PSNR (dB) | difference (dB) |",
              "|---|---|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        seed = "" if r.seed is None else str(r.seed)
        lines.append(f"| `{r.method}` | `{r.other}` | {seed} | {r.src}->{r.dst} | {r.snr_db:.2f} "
                     f"| {r.method_psnr_db:.2f} | {r.other_psnr_db:.2f} | {_fmt(r.diff_db)} |")
    return "\n".join(lines) + "\n"


def to_csv(rows: list[LinkDiff]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["method", "other", "run_dir", "seed", "src", "dst", "snr_db", "method_psnr_db",
                     "other_psnr_db", "diff_db"])
    for r in rows:
        writer.writerow([r.method, r.other, r.run_dir, "" if r.seed is None else r.seed, r.src, r.dst,
                         repr(r.snr_db), repr(r.method_psnr_db), repr(r.other_psnr_db), repr(r.diff_db)])
    return buffer.getvalue()


def write_link_pairs(rows: list[LinkDiff], out_dir: str | Path, stem: str = "link_pairs") -> list[Path]:
    """Write ``stem.md`` and ``stem.csv`` under ``out_dir``; return the paths."""
    if not rows:
        raise AnalysisError("no per-link pairs: these runs have no FineFed run whose start or controls keep "
                            "per-link results")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md, cs = out_dir / f"{stem}.md", out_dir / f"{stem}.csv"
    md.write_text(to_markdown(rows))
    cs.write_text(to_csv(rows))
    return [md, cs]
