"""A round's jobs on worker processes against one process with several threads.

Runs the paper scenario's FedAvg start (``scenarios/paper/fedavg.yaml``: 10 users,
500 CIFAR-10 images each, deep JSCC k/n = 1/6, two local epochs per round) for a few
rounds, as separate ``semnet run`` processes, in four configurations:

* ``workers=2, threads=1``: two worker processes of one torch thread each;
* ``workers=1, threads=2``: one process, two torch threads (what an untuned run did
  before ``simulation.workers``);
* ``workers=1, threads=1``: one process, one thread (the reference the workers must
  equal bit for bit);
* ``auto``: neither set, the default (what it resolved to is printed: on an idle
  2-core box the paper round's counted work, 6.3e11 FLOP, pays for 2 workers).

It prints each run's training wall time (the federated phase's: convergence checks
are off and only the phase's end is scored, about 1,000 test and validation images), the ratio of the
two-thread process to the two workers, each configuration's time over the two-thread
process's measured in the same run, the load average next to each run, and whether the
two workers' global model equals the one-thread process's exactly.
``--busy`` keeps one other busy process running on the machine meanwhile.

It also measures the ceiling side by side: semnet's ``Trainer`` on bare training steps
of the same model (no simulator, no shipping) in two one-thread processes at once
against one two-thread process. Workers cannot beat two threads by more than that.

    python benchmarks/bench_parallel.py [--rounds 2] [--repeats 1] [--busy] [--data ../shared/data/cifar10-jpeg]
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

import torch

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "paper" / "fedavg.yaml"
CONFIGS = [("2 workers x 1 thread", 2, 1), ("1 process x 2 threads", 1, 2), ("1 process x 1 thread", 1, 1),
           ("auto (default)", None, None)]


def busy_loop() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def bare_steps(threads: int, processes: int) -> float:
    """Training images/s of ``processes`` concurrent processes of ``threads`` torch threads
    each, every one running semnet's Trainer on bare steps (bench_train_throughput.py)."""
    code = ("import sys, torch; sys.path.insert(0, sys.argv[2]); torch.set_num_threads(int(sys.argv[1])); "
            "import bench_train_throughput as b; "
            "x = torch.randint(0, 256, (512, 3, 32, 32), dtype=torch.uint8); d = torch.device('cpu'); "
            "b.semnet_loop(x, 10, d); print(b.semnet_loop(x, 120, d))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(threads), str(ROOT / "benchmarks")],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT) for _ in range(processes)]
    return sum(float(p.communicate()[0].split()[-1]) for p in procs)


def run(out: Path, workers: int, threads: int, rounds: int, data: str) -> dict:
    sets = {
        "method.federated.rounds": rounds,
        "method.federated.converge": "null",
        "output.eval_every_rounds": 0,
        "output.ssim": "false",
        "simulation.device": "cpu",
        "data.path": data,
    }
    if workers is not None:
        sets.update({"simulation.workers": workers, "simulation.threads": threads})
    cmd = [sys.executable, "-m", "semnet.cli.main", "run", str(SCENARIO), "--quiet", "--out", str(out)]
    for key, value in sets.items():
        cmd += ["--set", f"{key}={value}"]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    wall = time.perf_counter() - start
    summary = json.loads((out / "summary.json").read_text())
    train_s = summary["phases"][0]["wall_time_s"]  # the federated phase: its rounds and one final scoring
    return {"process_s": wall, "run_s": summary["wall_time_s"], "train_s": train_s, "psnr_db": summary["psnr_db"],
            "execution": summary.get("execution"), "load": os.getloadavg()[0],
            "weights": torch.load(out / "checkpoints" / "global.pt", weights_only=True)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--busy", action="store_true", help="one other busy process on the machine meanwhile")
    parser.add_argument("--data", default=str((ROOT / "../shared/data/cifar10-jpeg").resolve()))
    args = parser.parse_args()
    other = busy_loop() if args.busy else None
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start"
          f"{', one other busy process' if other else ''}; {args.rounds} FedAvg rounds of the paper scenario")
    times: dict[str, list[float]] = {name: [] for name, _, _ in CONFIGS}
    times_p: dict[str, list[float]] = {name: [] for name, _, _ in CONFIGS}  # whole processes
    results = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for rep in range(args.repeats):
                for name, workers, threads in CONFIGS:
                    r = run(Path(tmp) / f"{workers}-{threads}-{rep}", workers, threads, args.rounds, args.data)
                    times[name].append(r["train_s"])
                    times_p[name].append(r["process_s"])
                    results[name] = r
                    print(f"  {name}: training {r['train_s']:.1f} s (run {r['run_s']:.1f} s, process "
                          f"{r['process_s']:.1f} s), PSNR {r['psnr_db']:.4f} dB, load {r['load']:.2f} at its end, "
                          f"ran as {r['execution']}", flush=True)
        two_procs, two_threads = bare_steps(1, 2), bare_steps(2, 1)  # under the same load as the runs
    finally:
        if other is not None:
            other.kill()
            other.wait()
    med = {name: statistics.median(v) for name, v in times.items()}
    a, b, c, _ = (name for name, _, _ in CONFIGS)
    same = all(torch.equal(x, y) for x, y in zip(results[a]["weights"].values(), results[c]["weights"].values()))
    same_2t = all(torch.equal(x, y) for x, y in zip(results[b]["weights"].values(), results[c]["weights"].values()))
    print(f"training time, median: {', '.join(f'{n} {t:.1f} s' for n, t in med.items())}")
    print(f"speed-up of 2 workers over 1 process at 2 threads: {med[b] / med[a]:.2f}x (ceiling: the bare-step line); "
          f"over 1 thread: {med[c] / med[a]:.2f}x")
    print("process wall time over 1 process x 2 threads, side by side: "
          + ", ".join(f"{n} {statistics.median(times_p[n]) / statistics.median(times_p[b]):.3f}x" for n in times_p))
    print(f"ceiling on bare training steps: 2 processes x 1 thread {two_procs:.0f} images/s, 1 process x 2 threads "
          f"{two_threads:.0f} images/s: {two_procs / two_threads:.2f}x")
    print(f"global model of 2 workers == 1 process at 1 thread: {same}; "
          f"1 process at 2 threads == at 1 thread: {same_2t}; load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
