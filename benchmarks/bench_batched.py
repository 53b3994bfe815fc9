"""The batched trainer against the per-user loop, side by side, at several user counts.

Each of ``--users`` users holds its own small deep JSCC (``--latent`` channels, width
``--width``; the defaults are ``bench_scale.py``'s tiny model), its own 32x32 images
(``--images`` random uint8 each) and its own generator, and trains ``--steps`` Adam
steps of batch ``--batch`` at 10 dB over Rayleigh fading, as one FedAvg round does.
The same jobs, built again from the same seeds, run through the sequential
``Trainer`` (one user after another) and through ``BatchedTrainer``
(``simulation.trainer: batched``: the users' models stacked, one ``torch.func.vmap``).
The two agree up to float rounding; the last column is the largest relative
difference of the users' mean losses, a check that both did the same work.

    python benchmarks/bench_batched.py [--users 32 128 512] [--steps 5] [--device cuda]

Target (issue 26): batched >= 10x the per-user loop at 128 users on a GPU. On a CPU
the stacked convolutions gain little: the loop is not launch-bound there.
"""

from __future__ import annotations

import argparse
import time

import torch

from semnet.data import BatchStream
from semnet.fl.execution.batched import BatchedTrainer
from semnet.fl.execution.trainer import LossTask, Trainer, TrainJob
from semnet.models import Channel, create_model


def make_jobs(users: int, steps: int, batch: int, images: int, latent: int, width: float,
              device: torch.device) -> list[TrainJob]:
    """One FedAvg-like local job per user, every part seeded by the user's index."""
    jobs = []
    for u in range(users):
        model = create_model("deep_jscc", latent_channels=latent, width=width,
                             generator=torch.Generator().manual_seed(u)).to(device)
        data = torch.randint(0, 256, (images, 3, 32, 32), dtype=torch.uint8,
                             generator=torch.Generator().manual_seed(10_000 + u))
        jobs.append(TrainJob(key=u, encoder=model.encoder, tasks=[LossTask(model.decoder, [10.0])],
                             data=BatchStream(data, batch, seed=u, device=device), steps=steps,
                             generator=torch.Generator(device=device).manual_seed(20_000 + u)))
    return jobs


def timed(trainer: Trainer, jobs: list[TrainJob], device: torch.device) -> tuple[float, list[float]]:
    """(wall seconds, each job's mean loss) of one ``trainer.run``."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    results = trainer.run(jobs)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, [r.loss for r in results]


def compare(users: int, *, steps: int = 5, batch: int = 8, images: int = 64, latent: int = 2, width: float = 0.25,
            device: str | torch.device = "cpu") -> dict:
    """Per-user loop and batched trainer on the same jobs: seconds, speed-up, loss agreement."""
    device = torch.device(device)
    channel = Channel("rayleigh")
    build = dict(steps=steps, batch=batch, images=images, latent=latent, width=width, device=device)
    loop_s, loop_losses = timed(Trainer(channel, device), make_jobs(users, **build), device)
    batched_s, batched_losses = timed(BatchedTrainer(channel, device), make_jobs(users, **build), device)
    diff = max(abs(a - b) / max(abs(a), 1e-12) for a, b in zip(loop_losses, batched_losses))
    return {"users": users, "loop_s": loop_s, "batched_s": batched_s, "speedup": loop_s / batched_s,
            "loss_rel_diff": diff}


def warm_up(device: str | torch.device, **build) -> None:
    """Kernels, allocator and autotuning, before anything is timed."""
    compare(2, **{**build, "steps": 1}, device=device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[32, 128, 512])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--images", type=int, default=64, help="images per user")
    parser.add_argument("--latent", type=int, default=2, help="latent channels (2: k/n = 1/48)")
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    build = dict(steps=args.steps, batch=args.batch, images=args.images, latent=args.latent, width=args.width)
    warm_up(args.device, **build)
    print(f"{'users':>6} {'loop s':>8} {'batched s':>9} {'speed-up':>8} {'loss rel diff':>13}   ({args.device})")
    for users in args.users:
        row = compare(users, **build, device=args.device)
        print(f"{users:>6} {row['loop_s']:>8.2f} {row['batched_s']:>9.2f} {row['speedup']:>7.1f}x "
              f"{row['loss_rel_diff']:>13.1e}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
