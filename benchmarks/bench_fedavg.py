"""semnet's FedAvg against a plain PyTorch FedAvg loop on the same work.

Runs ``fedavg_plain.py`` and ``semnet run scenarios/fedavg_speed.yaml`` as separate
processes, alternating, and prints each whole-process wall time, the ratio measured
side by side in each repeat, the load average next to each, and what
``simulation.threads``/``workers`` resolved to (``summary.json``'s ``execution``).
Targets: semnet at default settings (``auto``) <= 1.0x the plain loop (which runs at
torch's default threads), <= 0.85x with 2 workers.

    python benchmarks/bench_fedavg.py [--repeats 3] [--workers default 2] [--data ../shared/data/cifar10-jpeg]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def load() -> float:
    return os.getloadavg()[0]


def series_name(workers: str) -> str:
    return "default (auto)" if workers == "default" else f"workers={workers}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", default="../shared/data/cifar10-jpeg")
    parser.add_argument("--workers", nargs="+", default=["default", "2"],
                        help="semnet series: 'default' (no setting: auto) or a simulation.workers count")
    args = parser.parse_args()
    plain: list[float] = []
    semnet: dict[str, list[float]] = {w: [] for w in args.workers}
    ratios: dict[str, list[float]] = {w: [] for w in args.workers}
    print(f"{os.cpu_count()} cores; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; "
          f"load average {load():.2f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            plain.append(timed([sys.executable, str(HERE / "fedavg_plain.py"), "--data", args.data]))
            line = f"repeat {rep + 1}: plain {plain[-1]:.2f} s (load {load():.2f})"
            for w in args.workers:
                out = f"{tmp}/run{rep}-w{w}"
                sets = [] if w == "default" else ["--set", f"simulation.workers={int(w)}"]
                semnet[w].append(timed([sys.executable, "-m", "semnet.cli.main", "run",
                                        str(HERE / "scenarios/fedavg_speed.yaml"), "--quiet", "--out", out,
                                        "--set", f"data.path={args.data}", *sets]))
                ratios[w].append(semnet[w][-1] / plain[-1])
                execution = json.loads(Path(out, "summary.json").read_text()).get("execution")
                line += f"; semnet {series_name(w)} {semnet[w][-1]:.2f} s (load {load():.2f}), ratio " \
                        f"{ratios[w][-1]:.3f}, ran as {execution}"
            print(line, flush=True)
    p = statistics.median(plain)
    for w in args.workers:
        s = statistics.median(semnet[w])
        target = "<= 1.0" if w == "default" else "<= 0.85 with 2"
        print(f"median: plain {p:.2f} s, semnet {series_name(w)} {s:.2f} s, ratio semnet/plain = {s / p:.3f}, "
              f"median of side-by-side ratios {statistics.median(ratios[w]):.3f} (target {target})")
    print(f"load average {load():.2f} at the end")


if __name__ == "__main__":
    main()
