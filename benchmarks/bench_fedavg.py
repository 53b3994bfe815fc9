"""semnet's FedAvg against a plain PyTorch FedAvg loop on the same work.

Runs ``fedavg_plain.py`` and ``semnet run scenarios/fedavg_speed.yaml`` as separate
processes, alternating, and prints each whole-process wall time and the ratio
(target: semnet <= 1.05x the plain loop while it also simulates the network).

    python benchmarks/bench_fedavg.py [--repeats 3] [--data ../shared/data/cifar10-jpeg]
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
    args = parser.parse_args()
    plain, semnet = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            plain.append(timed([sys.executable, str(HERE / "fedavg_plain.py"), "--data", args.data]))
            semnet.append(timed([sys.executable, "-m", "semnet.cli.main", "run", str(HERE / "scenarios/fedavg_speed.yaml"),
                                 "--quiet", "--out", f"{tmp}/run{rep}", "--set", f"data.path={args.data}"]))
            print(f"repeat {rep + 1}: plain {plain[-1]:.2f} s, semnet {semnet[-1]:.2f} s, ratio {semnet[-1] / plain[-1]:.3f}")
    p, s = statistics.median(plain), statistics.median(semnet)
    print(f"median: plain {p:.2f} s, semnet {s:.2f} s, ratio semnet/plain = {s / p:.3f} (target <= 1.05)")


if __name__ == "__main__":
    main()
