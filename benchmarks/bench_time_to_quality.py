"""Time to quality of paper starts: today's recipe against candidate recipes, side by side.

Each recipe is a scenario under ``benchmarks/scenarios/time_to_quality/`` (``today``: the
paper scenario's FedAvg start, Adam 1e-3 at a constant rate to the plateau rule, capped
at 400 rounds; candidates: server momentum, an Adam server step, batch 128, bf16). For
every seed the recipes run back to back, one after the other, so that they meet the same
machine and load; then ``semnet analyse time-to-quality`` reports, per run, the wall
time, bytes and simulated time it needed to first reach today's final validation PSNR
of the same seed, and the ratios to today's whole start (target: a recipe at <= 1/3
of the wall time on >= 3 seeds, quality-neutral).

    python benchmarks/bench_time_to_quality.py [--recipes today fedavgm fedadam batch128]
        [--seeds 0 1 2] [--rounds N] [--out runs/bench/time_to_quality] [--threads 1] [--device auto]

``--rounds`` caps every recipe's constant-rate rounds (a quick look, e.g. 40: the target
is then today's quality at that cap, not the 400-round one). A finished run is not run
again (delete its folder to redo it), so a killed benchmark resumes where it stopped.
About an hour per recipe and seed on one CPU core at the full 400 rounds: it is meant
for a GPU or for a resumable overnight run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "benchmarks" / "scenarios" / "time_to_quality"


def recipe_names() -> list[str]:
    return sorted(p.stem for p in RECIPES.glob("*.yaml"))


def run_recipe(recipe: str, seed: int, out: Path, rounds: int | None, threads: int, device: str) -> Path:
    """One ``semnet run`` of ``recipe`` at ``seed`` into ``out/<recipe>/seed=<seed>`` (skipped
    if that folder already holds a finished run)."""
    run_dir = out / recipe / f"seed={seed}"
    if (run_dir / "summary.json").is_file():
        print(f"{recipe} seed {seed}: kept ({run_dir})", flush=True)
        return run_dir
    command = [sys.executable, "-m", "semnet.cli.main", "run", str(RECIPES / f"{recipe}.yaml"), "--out",
               str(run_dir), "--set", f"seed={seed}", "--set", f"simulation.threads={threads}",
               "--set", f"simulation.device={device}", "--set", "output.checkpoints=false"]
    if rounds is not None:
        command += ["--set", f"method.federated.rounds={rounds}"]
    print(f"{recipe} seed {seed}: running", flush=True)
    subprocess.run(command, check=True, cwd=ROOT)
    return run_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=["today", "fedavgm", "fedadam", "batch128"],
                        choices=recipe_names(), help="recipes to run; 'today' (the reference) is always run")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--rounds", type=int, default=None, help="cap every recipe's constant-rate rounds")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run (default 1)")
    parser.add_argument("--device", default="auto", help="simulation.device of every run (auto, cpu, cuda)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench" / "time_to_quality")
    args = parser.parse_args(argv)
    recipes = ["today"] + [r for r in args.recipes if r != "today"]
    for seed in args.seeds:  # recipes back to back per seed: they meet the same load
        for recipe in recipes:
            run_recipe(recipe, seed, args.out, args.rounds, args.threads, args.device)
    others = [str(args.out / r) for r in recipes[1:]]
    command = [sys.executable, "-m", "semnet.cli.main", "analyse", "time-to-quality", *(others or [str(args.out / "today")]),
               "--reference", str(args.out / "today"), "--out", str(args.out)]
    subprocess.run(command, check=True, cwd=ROOT)
    print((args.out / "time_to_quality.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
