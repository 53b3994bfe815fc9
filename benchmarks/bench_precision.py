"""bf16 against fp32 training throughput of the k/n = 1/6 deep JSCC, and how far both
are from this CPU's matmul peak.

Trains the Bourtsoulatze deep JSCC (k/n = 1/6, width 1) at batch 64 on 32x32 images,
Adam 1e-3, 10 dB AWGN, through semnet's ``Trainer`` with ``precision='fp32'`` and
``'bf16'`` alternately (``--repeats`` times ``--steps`` steps each), with
``--threads`` torch threads. Prints images/s of each, the ratio, the training FLOPs
per image (counted by ``torch.utils.flop_counter``), the achieved GFLOP/s and a large
matmul's GFLOP/s in float32 and bfloat16 (the peak to compare with).

    python benchmarks/bench_precision.py [--steps 30] [--repeats 3] [--threads 1] [--channels-last]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from semnet.data import BatchStream
from semnet.fl.execution.trainer import LossTask, Trainer, TrainJob
from semnet.models import Channel
from semnet.models import create_model


def matmul_gflops(dtype: torch.dtype, n: int = 2048, reps: int = 5) -> float:
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    a @ b
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--channels-last", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = torch.randint(0, 256, (1024, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    channel = Channel("awgn")
    model = create_model("deep_jscc", latent_channels=16, width=1.0).init_weights(torch.Generator().manual_seed(0))
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)

    def job(steps):
        return TrainJob(key=0, encoder=model.encoder, tasks=[LossTask(model.decoder, [10.0])],
                        data=BatchStream(images, args.batch, seed=0), steps=steps,
                        generator=torch.Generator().manual_seed(0))

    trainers = {p: Trainer(channel, torch.device("cpu"), precision=p) for p in ("fp32", "bf16")}
    for trainer in trainers.values():  # warm-up
        trainer.run([job(3)])
    with FlopCounterMode(display=False) as counter:
        trainers["fp32"].run([job(1)])
    flops_per_image = counter.get_total_flops() / args.batch
    rates: dict[str, list[float]] = {p: [] for p in trainers}
    for _ in range(args.repeats):
        for p, trainer in trainers.items():
            start = time.perf_counter()
            trainer.run([job(args.steps)])
            rates[p].append(args.steps * args.batch / (time.perf_counter() - start))
    fp32, bf16 = (statistics.median(rates[p]) for p in ("fp32", "bf16"))
    peak32, peak16 = matmul_gflops(torch.float32), matmul_gflops(torch.bfloat16)
    print(f"{args.threads} thread(s), batch {args.batch}{', channels-last' if args.channels_last else ''}: "
          f"fp32 {fp32:.0f} img/s, bf16 {bf16:.0f} img/s, bf16/fp32 = {bf16 / fp32:.2f}x")
    print(f"training: {flops_per_image / 1e9:.4f} GFLOP per image -> fp32 {fp32 * flops_per_image / 1e9:.0f} GFLOP/s, "
          f"bf16 {bf16 * flops_per_image / 1e9:.0f} GFLOP/s; 2048^2 matmul peak: fp32 {peak32:.0f} GFLOP/s, "
          f"bf16 {peak16:.0f} GFLOP/s")


if __name__ == "__main__":
    main()
