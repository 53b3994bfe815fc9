"""The robust-aggregation table: what faulty transmitters cost their receivers' decoders
under each aggregation rule, paired by seed.

    semnet analyse robust runs/sweeps/robust_one_faulty --out DIR

Reads every run directory under the folders given (``summary.json`` and ``scenario.yaml``),
groups the runs by FineFed's decoder rule and whether faults were on, and reports the
mean test PSNR of the image links into the faulty users' receivers (their decoders
are the ones a lie reaches; the faulty users' own decoders are left out). Differences
are paired by seed, with a Student-t 95 % interval over the seeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .runs import AnalysisError, Run, load_runs
from .stats import paired_interval


@dataclass(frozen=True)
class RobustRun:
    rule: str
    faulty: bool
    seed: int
    victims_psnr_db: float  # mean over links into the faulty users' receivers
    psnr_db: float  # mean over every link


def victims(links: list[dict], faulty_users: set[int]) -> list[dict]:
    """Links whose receiver hears a faulty transmitter (and is not faulty itself)."""
    receivers = {link["dst"] for link in links if link["src"] in faulty_users} - faulty_users
    return [link for link in links if link["dst"] in receivers]


def read_run(run: Run, victim_users: set[int]) -> RobustRun:
    scenario, summary = run.scenario, run.typed
    links = [link.model_dump() for link in summary.links]
    chosen = victims(links, victim_users)
    return RobustRun(rule=scenario["method"]["finetune"]["decoder_aggregation"]["rule"],
                     faulty=scenario.get("faults") is not None, seed=summary.seed,
                     victims_psnr_db=float(np.mean([link["psnr_db"] for link in chosen])),
                     psnr_db=float(summary.psnr_db))


def interval(diffs: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its Student-t 95 % interval (NaN with one value)."""
    mean = float(np.mean(diffs))
    low, high = paired_interval(diffs)
    return mean, (high - low) / 2


def _faulty_users(runs: list[Run]) -> set[int]:
    for run in runs:
        faults = run.scenario.get("faults")
        if faults:
            return set(faults["users"])
    raise AnalysisError("no run with a faults: section")


def table(folders) -> str:
    """The table (Markdown) of the finished runs under ``folders``."""
    loaded = load_runs(folders)
    faulty_users = _faulty_users(loaded)
    runs = [read_run(r, faulty_users) for r in loaded]
    by = {}
    for r in runs:
        by.setdefault((r.rule, r.faulty), {})[r.seed] = r
    clean = by.get(("mean", False), {})
    attacked = by.get(("mean", True), {})
    order = sorted(by, key=lambda k: (k[1], k[0] != "mean", k[0]))
    lines = [f"Receivers' links: every link into a receiver of user(s) {sorted(faulty_users)}, "
             "the faulty users' own decoders left out. Differences paired by seed, ± the 95 % t-interval.", "",
             "| decoder rule | faults | seeds | receivers' PSNR (dB) | minus clean FedAvg (dB) | "
             "minus faulty FedAvg: saved (dB) | per seed, saved (dB) |",
             "|---|---|---:|---:|---:|---:|---|"]
    for key in order:
        group = by[key]
        seeds = sorted(group)
        values = [group[s].victims_psnr_db for s in seeds]
        mean, _ = interval(values)
        cells = [f"`{key[0]}`", "on" if key[1] else "off", str(len(seeds)), f"{mean:.2f}"]
        for ref in (clean, attacked):
            paired = [group[s].victims_psnr_db - ref[s].victims_psnr_db for s in seeds if s in ref]
            if paired and ref is not group:
                m, half = interval(paired)
                cells.append(f"{m:+.2f} ± {half:.2f}" if math.isfinite(half) else f"{m:+.2f}")
            else:
                cells.append("–")
        saved = [group[s].victims_psnr_db - attacked[s].victims_psnr_db for s in seeds if s in attacked]
        cells.append(", ".join(f"{d:+.2f}" for d in saved) if saved and group is not attacked else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_robust(folders, out: str | Path) -> list[Path]:
    """Write ``robust.md`` into ``out``; return the path written."""
    path = Path(out) / "robust.md"
    text = table(folders)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return [path]
