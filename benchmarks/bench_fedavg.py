"""semnet's FedAvg against a plain PyTorch FedAvg loop on the same work.

Runs ``fedavg_plain.py`` and ``semnet run scenarios/fedavg_speed.yaml`` as separate
processes, alternating, and prints each whole-process wall time and the ratio
(target: semnet <= 1.05x the plain loop while it also simulates the network).

    python benchmarks/bench_fedavg.py [--repeats 3] [--workers 1 2] [--data ../shared/data/cifar10-jpeg]
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", default="../shared/data/cifar10-jpeg")
    parser.add_argument("--workers", type=int, nargs="+", default=[1],
                        help="simulation.workers of the semnet runs (one series each)")
    args = parser.parse_args()
    plain: list[float] = []
    semnet: dict[int, list[float]] = {w: [] for w in args.workers}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            plain.append(timed([sys.executable, str(HERE / "fedavg_plain.py"), "--data", args.data]))
            line = f"repeat {rep + 1}: plain {plain[-1]:.2f} s"
            for w in args.workers:
                semnet[w].append(timed([sys.executable, "-m", "semnet.cli.main", "run",
                                        str(HERE / "scenarios/fedavg_speed.yaml"), "--quiet", "--out",
                                        f"{tmp}/run{rep}-w{w}", "--set", f"data.path={args.data}",
                                        "--set", f"simulation.workers={w}"]))
                line += f", semnet ({w} worker{'s' if w > 1 else ''}) {semnet[w][-1]:.2f} s, ratio " \
                        f"{semnet[w][-1] / plain[-1]:.3f}"
            print(line)
    p = statistics.median(plain)
    for w in args.workers:
        s = statistics.median(semnet[w])
        target = "<= 1.05" if w == 1 else "<= 0.85 with 2"
        print(f"median: plain {p:.2f} s, semnet with {w} worker(s) {s:.2f} s, ratio semnet/plain = {s / p:.3f} "
              f"(target {target})")


if __name__ == "__main__":
    main()
