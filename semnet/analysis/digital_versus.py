"""Deep JSCC against the digital separation baselines of the same runs, over seeds.

    semnet analyse digital RUN_DIRS --out DIR [--group-by links.fading]

Every run must have scored ``evaluation.digital`` (the baselines are sent over the same
links, test images and channel states as the learnt models, see
docs/features/digital-baselines.md). For each group of runs (``--group-by`` keys; the
seeds are pooled) and each scheme — the federated start (the run's first phase), the
method's final models, every digital baseline — it reports the mean over seeds of the
mean link PSNR, SSIM and task accuracy (with ``evaluation.task``), and the method's
lead over each scheme **paired by seed**: the mean difference with its Student-t 95 %
interval, and on how many (seed, link) pairs the method is ahead. A scheme "wins" a
group only if the interval of the method's lead lies entirely below zero; the method
wins if it lies entirely above; otherwise the group is "not resolved".
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .grouping import with_groups
from .run_files import AnalysisError
from .runs import Run, load_runs
from .stats import paired_interval

__all__ = ["Scheme", "collect", "lead", "write_digital_versus"]

METRICS = ("psnr_db", "ssim", "accuracy")
UNITS = {"psnr_db": "dB", "ssim": "", "accuracy": "%"}


@dataclass
class Scheme:
    """One scheme's scores in one group: per seed, the mean over links and each link."""

    name: str
    mean: dict[str, dict[int, float]] = field(default_factory=lambda: {m: {} for m in METRICS})
    links: dict[str, dict[int, dict[tuple, float]]] = field(default_factory=lambda: {m: {} for m in METRICS})
    lost_share: dict[int, float] = field(default_factory=dict)
    unfit_share: dict[int, float] = field(default_factory=dict)

    def add(self, seed: int, record: dict, link_records: list[dict]) -> None:
        for metric in METRICS:
            per_link = {(l["src"], l["dst"]): float(l[metric]) for l in link_records if l.get(metric) is not None}
            if per_link:  # the mean over links: every scheme is scored on the same links, each link once
                self.links[metric][seed] = per_link
                self.mean[metric][seed] = float(np.mean(list(per_link.values())))
            elif record.get(metric) is not None:
                self.mean[metric][seed] = float(record[metric])


def _schemes_of(run: Run) -> list[tuple[str, dict, list[dict]]]:
    """(scheme name, record with the metrics, its links) of one run."""
    summary = run.summary
    digital = summary.get("digital")
    if not digital:
        raise AnalysisError(f"{run.path}: no digital baselines in summary.json (run it with evaluation.digital)")
    phases = summary.get("phases") or []
    out = []
    if len(phases) > 1:
        out.append((f"{phases[0]['name']} (start)", phases[0], phases[0].get("links") or []))
    out.append((f"{run.method} (final)", summary, summary.get("links") or []))
    for baseline in digital["baselines"]:
        out.append((f"digital {baseline['name']}", baseline, baseline.get("links") or []))
    return out


def collect(runs: list[Run]) -> dict[str, dict[str, Scheme]]:
    """group label -> scheme name -> :class:`Scheme`, in the runs' order."""
    groups: dict[str, dict[str, Scheme]] = {}
    for run in runs:
        seed = run.seed
        schemes = groups.setdefault(run.group or "all", {})
        for name, record, links in _schemes_of(run):
            scheme = schemes.setdefault(name, Scheme(name))
            if seed in scheme.mean["psnr_db"]:
                raise AnalysisError(f"{run.path}: a second run of seed {seed} in group '{run.group or 'all'}' "
                                    "(separate them with --group-by)")
            scheme.add(seed, record, links)
            if record.get("lost_share") is not None:
                scheme.lost_share[seed] = float(record["lost_share"])
                scheme.unfit_share[seed] = float(record["unfit_share"])
    return groups


def lead(method: Scheme, other: Scheme, metric: str) -> dict:
    """The method's lead over ``other`` in ``metric``, paired by seed: mean, 95 % interval,
    seeds, and (seed, link) pairs ahead out of those both scored."""
    seeds = sorted(set(method.mean[metric]) & set(other.mean[metric]))
    diffs = [method.mean[metric][s] - other.mean[metric][s] for s in seeds]
    low, high = paired_interval(diffs)
    ahead = total = 0
    for s in seeds:
        mine, theirs = method.links[metric].get(s, {}), other.links[metric].get(s, {})
        for key in set(mine) & set(theirs):
            total += 1
            ahead += mine[key] > theirs[key]
    mean = float(np.mean(diffs)) if diffs else math.nan
    verdict = ("method" if low > 0 else "other" if high < 0 else "not resolved") if math.isfinite(low) else "one seed"
    return {"mean": mean, "low": low, "high": high, "seeds": len(seeds), "links_ahead": ahead, "links": total,
            "verdict": verdict}


def _fmt(metric: str, value: float, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    scale = 100.0 if metric == "accuracy" else 1.0
    digits = 3 if metric == "ssim" else 2 if metric == "psnr_db" else 1
    return f"{value * scale:{'+' if signed else ''}.{digits}f}"


def _final_name(schemes: dict[str, Scheme]) -> str:
    finals = [name for name in schemes if name.endswith("(final)")]
    if len(finals) != 1:
        raise AnalysisError(f"expected one method per group, found {finals} (separate them with --group-by)")
    return finals[0]


def tables(groups: dict[str, dict[str, Scheme]]) -> tuple[str, list[dict]]:
    """The Markdown page and the CSV rows."""
    lines, rows = [], []
    for group, schemes in groups.items():
        method = schemes[_final_name(schemes)]
        lines += [f"## {group}", "",
                  f"Means over seeds of the mean link score; the lead of **{method.name}** paired by seed "
                  "(± the Student-t 95 % interval) and the (seed, link) pairs where it is ahead.", "",
                  "| scheme | seeds | PSNR (dB) | SSIM | accuracy (%) | lost / unfit (%) | lead PSNR (dB) | "
                  "links ahead PSNR | lead accuracy (points) | links ahead accuracy |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name, scheme in schemes.items():
            means = {m: (float(np.mean(list(scheme.mean[m].values()))) if scheme.mean[m] else math.nan)
                     for m in METRICS}
            row = {"group": group, "scheme": name, "seeds": len(scheme.mean["psnr_db"]),
                   **{m: means[m] for m in METRICS}}
            lost = (f"{100 * np.mean(list(scheme.lost_share.values())):.0f} / "
                    f"{100 * np.mean(list(scheme.unfit_share.values())):.0f}") if scheme.lost_share else ""
            cells = [name, str(row["seeds"]), _fmt("psnr_db", means["psnr_db"]), _fmt("ssim", means["ssim"]),
                     _fmt("accuracy", means["accuracy"]), lost]
            for metric in ("psnr_db", "accuracy"):
                if scheme is method:
                    cells += ["", ""]
                    continue
                result = lead(method, scheme, metric)
                half = (result["high"] - result["low"]) / 2
                text = _fmt(metric, result["mean"], signed=True)
                if math.isfinite(half):
                    text += f" ± {_fmt(metric, half)}"
                cells += [text, f"{result['links_ahead']}/{result['links']}" if result["links"] else "–"]
                row.update({f"lead_{metric}": result["mean"], f"lead_{metric}_low": result["low"],
                            f"lead_{metric}_high": result["high"], f"verdict_{metric}": result["verdict"],
                            f"links_ahead_{metric}": result["links_ahead"], f"links_{metric}": result["links"]})
            rows.append(row)
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines), rows


def write_digital_versus(folders, out: str | Path, group_by=()) -> list[Path]:
    """Write ``digital.md`` and ``digital.csv`` into ``out``; return the paths."""
    runs = with_groups(load_runs(folders), group_by)
    if not runs:
        raise AnalysisError(f"no finished runs under {', '.join(map(str, folders))}")
    text, rows = tables(collect(runs))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    md, table_csv = out / "digital.md", out / "digital.csv"
    md.write_text("# Deep JSCC against digital links, paired by seed\n\n" + text)
    fields = sorted({key for row in rows for key in row}, key=lambda k: (k not in ("group", "scheme", "seeds"), k))
    with open(table_csv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return [md, table_csv]
