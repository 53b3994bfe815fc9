"""Time to quality: how much wall time, bytes and simulated time a run needed to first
reach a validation PSNR.

``semnet analyse time-to-quality RUN_DIRS... --reference RUN_DIRS --out DIR`` reads each
run's validation points of one phase (``metrics.jsonl``, ``split: "validation"``, branch
``main``; the phase defaults to the run's first) and reports, per run:

* the target: ``--target-db``, or else the reference run's last validation PSNR of that
  phase (e.g. today's 400-round FedAvg start: the quality a faster recipe must reach);
  with several reference runs (a folder of them), each run is paired with the reference
  of its seed;
* the first evaluation at or above it: its round, wall seconds, bytes and simulated
  seconds from the start of the run (the evaluation grid bounds the resolution: a run
  evaluated every 5 rounds is credited with the round it was *seen* above the target);
* the wall and byte ratios against the reference's *whole* phase (the reference spends
  all of it to get its final quality), and the run's own final PSNR.

A run that never reaches the target is reported with its best PSNR and no ratio. Runs
named alike (``summary.name``) are recipes over seeds: the second table gives, per
recipe, how many seeds reached the target and the median wall ratio over those that did.

Wall seconds are the runs' own clocks: compare recipes only when they ran on one
machine under the same load (the benchmark ``benchmarks/bench_time_to_quality.py``
runs them back to back and says so).
"""

from __future__ import annotations

import csv
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from .runs import AnalysisError, Run

MAIN_BRANCH = "main"
VALIDATION = "validation"


@dataclass(frozen=True)
class Reach:
    """One run against one target PSNR."""

    recipe: str  # the run's scenario name: runs named alike are seeds of one recipe
    run: str  # the run directory
    seed: int | None
    target_db: float
    reached: bool
    round: int | None  # first evaluation round at or above the target
    wall_s: float  # from the run's start to that evaluation (NaN if not reached)
    bytes: float
    sim_time_s: float
    wall_ratio: float  # wall_s / the reference's whole-phase wall seconds (NaN if not reached)
    bytes_ratio: float
    final_db: float  # the run's last validation PSNR of the phase
    best_db: float


def validation_points(run: Run, phase: str | None = None) -> list[dict]:
    """The main branch's validation points of ``phase`` (default: the first phase that
    has any), in round order; one line if there are none."""
    points = [m for m in run.metrics if m.get("branch", MAIN_BRANCH) == MAIN_BRANCH and m.get("split") == VALIDATION]
    if phase is None and points:
        phase = points[0].get("phase")
    points = [m for m in points if m.get("phase") == phase]
    if not points:
        raise AnalysisError(f"'{run.path}' has no validation points for phase {phase!r} "
                            "(runs evaluate on validation images when method.federated.converge is set)")
    return sorted(points, key=lambda m: m.get("round", 0))


def first_reach(points: list[dict], target_db: float) -> dict | None:
    """The first point whose PSNR is at or above ``target_db``; None if none is."""
    return next((p for p in points if p["psnr_db"] >= target_db), None)


def reach_of(run: Run, target_db: float, reference_wall_s: float, reference_bytes: float,
             phase: str | None = None) -> Reach:
    """``run`` measured against ``target_db`` and the reference's whole-phase costs."""
    points = validation_points(run, phase)
    hit = first_reach(points, target_db)
    nan = math.nan
    return Reach(
        recipe=run.name, run=str(run.path), seed=run.seed, target_db=target_db, reached=hit is not None,
        round=None if hit is None else int(hit["round"]),
        wall_s=nan if hit is None else float(hit["wall_time_s"]),
        bytes=nan if hit is None else float(hit["bytes_cumulative"]),
        sim_time_s=nan if hit is None else float(hit["sim_time_s"]),
        wall_ratio=nan if hit is None else float(hit["wall_time_s"]) / reference_wall_s,
        bytes_ratio=nan if hit is None or reference_bytes <= 0 else float(hit["bytes_cumulative"]) / reference_bytes,
        final_db=float(points[-1]["psnr_db"]), best_db=max(float(p["psnr_db"]) for p in points))


def time_to_quality(runs: list[Run], references: list[Run], target_db: float | None = None,
                    phase: str | None = None) -> list[Reach]:
    """Every run against the target of its reference (the references first): with one
    reference it is every run's; with several, each run is paired with the reference
    of its seed. The target is ``target_db``, or the reference's last validation PSNR
    of ``phase``."""
    if not references:
        raise AnalysisError("no reference run given")
    by_seed: dict[int | None, Run] = {}
    for ref in references:
        if ref.seed in by_seed:
            raise AnalysisError(f"two reference runs have seed {ref.seed}: '{by_seed[ref.seed].path}' and "
                                f"'{ref.path}'; give one reference per seed")
        by_seed[ref.seed] = ref
    ref_paths = {Path(r.path).resolve() for r in references}
    others = [r for r in runs if Path(r.path).resolve() not in ref_paths]
    reaches = []
    for run in [*references, *others]:
        ref = references[0] if len(references) == 1 else by_seed.get(run.seed)
        if ref is None:
            raise AnalysisError(f"'{run.path}' has seed {run.seed} and no reference run has it "
                                f"(references' seeds: {sorted(by_seed, key=str)})")
        last = validation_points(ref, phase)[-1]
        target = float(last["psnr_db"]) if target_db is None else float(target_db)
        ref_wall_s, ref_bytes = float(last["wall_time_s"]), float(last["bytes_cumulative"])
        if ref_wall_s <= 0:
            raise AnalysisError(f"'{ref.path}': its last validation point has no wall time")
        reaches.append(reach_of(run, target, ref_wall_s, ref_bytes, phase))
    return reaches


def recipe_rows(reaches: list[Reach]) -> list[dict]:
    """Per recipe: seeds, seeds that reached the target, median wall and byte ratios
    over those that did (NaN if none did)."""
    by_recipe: dict[str, list[Reach]] = {}
    for r in reaches:
        by_recipe.setdefault(r.recipe, []).append(r)
    rows = []
    for recipe, members in by_recipe.items():
        hits = [r for r in members if r.reached]
        rows.append({
            "recipe": recipe, "seeds": len(members), "reached": len(hits),
            "median_wall_ratio": statistics.median(r.wall_ratio for r in hits) if hits else math.nan,
            "median_bytes_ratio": statistics.median(r.bytes_ratio for r in hits) if hits else math.nan,
            "median_final_db": statistics.median(r.final_db for r in members),
        })
    return rows


def _fmt(value: float | int | None, spec: str = ".2f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)


def write_time_to_quality(reaches: list[Reach], out: str | Path) -> list[Path]:
    """time_to_quality.md (per run, then per recipe) and time_to_quality.csv (per run)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out / "time_to_quality.csv", out / "time_to_quality.md"
    fields = list(Reach.__dataclass_fields__)
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for r in reaches:
            writer.writerow({k: getattr(r, k) for k in fields})
    targets = ", ".join(sorted({f"{r.target_db:.2f}" for r in reaches}))
    lines = [
        "# Time to quality",
        "",
        f"Target validation PSNR (dB): {targets}, each the last one of the run's reference (the reference rows "
        "come first; ratios are to the reference's whole phase).",
        "",
        "| recipe | seed | target dB | reached at round | wall s | wall ratio | MB | bytes ratio | sim. s | final dB | best dB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in reaches:
        lines.append(f"| {r.recipe} | {_fmt(r.seed, 'd')} | {r.target_db:.2f} | {_fmt(r.round, 'd')} | {_fmt(r.wall_s, '.0f')} | "
                     f"{_fmt(r.wall_ratio)} | {_fmt(r.bytes / 1e6, '.1f')} | {_fmt(r.bytes_ratio)} | "
                     f"{_fmt(r.sim_time_s, '.1f')} | {r.final_db:.2f} | {r.best_db:.2f} |")
    lines += ["", "| recipe | seeds | reached | median wall ratio | median bytes ratio | median final dB |",
              "|---|---|---|---|---|---|"]
    for row in recipe_rows(reaches):
        lines.append(f"| {row['recipe']} | {row['seeds']} | {row['reached']} | {_fmt(row['median_wall_ratio'])} | "
                     f"{_fmt(row['median_bytes_ratio'])} | {row['median_final_db']:.2f} |")
    lines += ["", "Wall seconds are each run's own clock: compare recipes run on one machine under one load."]
    md_path.write_text("\n".join(lines) + "\n")
    return [md_path, csv_path]
