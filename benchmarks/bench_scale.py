"""Many users: wall time per user-round and memory of FedAvg with a tiny model.

Runs ``fedavg`` on ``--users`` users (a ring; CIFAR-10 images split IID, ``--images``
training images and 4 test images per user; deep JSCC at width 0.25, k/n = 1/48;
2 local steps of batch 8 per round) for ``--rounds`` rounds, in this process, with
``--workers`` workers (CIFAR-10 from ``--data``), and prints wall seconds per user-round (the federated phase's
time over users x rounds) and the process's peak resident memory.

    python benchmarks/bench_scale.py --users 100 1000 [--rounds 3] [--workers 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
from semnet.runner import run_scenario
from semnet.scenario import validate
users, rounds, workers, images, out, data = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]),
                                             sys.argv[5], sys.argv[6])
raw = {
    "name": f"scale{users}", "seed": 0,
    "topology": {"kind": "ring", "num_users": users, "area_m": 10.0 * users},
    "links": {"snr_db": 10.0},
    "data": {"source": "cifar10", "path": data, "partition": {"kind": "iid"}, "train_per_user": images, "test_per_user": 4,
             "validation_per_user": 0},
    "model": {"name": "deep_jscc", "latent_channels": 2, "width": 0.25},
    "method": {"name": "fedavg", "federated": {"rounds": rounds, "local": {"steps": 2, "batch_size": 8}}},
    "simulation": {"device": "cpu", "workers": workers, "threads": 1},
    "output": {"progress": False, "checkpoints": False, "ssim": False},
}
result = run_scenario(validate(raw), out_dir=out)
phase = result.summary["phases"][0]
print(json.dumps({"users": users, "phase_s": phase["wall_time_s"], "run_s": result.summary["wall_time_s"],
                  "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "psnr_db": result.summary["psnr_db"]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--data", default=str((ROOT / "../shared/data/cifar10-jpeg").resolve()))
    args = parser.parse_args()
    print("users | rounds | phase s | s per user-round | run s | peak RSS MiB | PSNR dB")
    with tempfile.TemporaryDirectory() as tmp:
        for users in args.users:
            out = subprocess.run([sys.executable, "-c", CHILD, str(users), str(args.rounds), str(args.workers),
                                  str(args.images), f"{tmp}/u{users}", args.data], check=True, capture_output=True, text=True,
                                 cwd=ROOT).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(f"{users} | {args.rounds} | {r['phase_s']:.1f} | {r['phase_s'] / (users * args.rounds) * 1000:.1f} ms"
                  f" | {r['run_s']:.1f} | {r['maxrss_mib']:.0f} | {r['psnr_db']:.2f}")


if __name__ == "__main__":
    main()
