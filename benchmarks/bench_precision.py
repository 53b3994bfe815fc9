"""bf16 against fp32 training throughput of the k/n = 1/6 deep JSCC, and how far both
are from this CPU's matmul peak.

Trains the Bourtsoulatze deep JSCC (k/n = 1/6, width 1) at batch 64 on 32x32 images,
Adam 1e-3, 10 dB AWGN, through semnet's ``Trainer`` with ``precision='fp32'`` and
``'bf16'`` alternately (``--repeats`` times ``--steps`` steps each), with
``--threads`` torch threads, on ``--device`` (cpu by default; cuda: bf16 autocast on
the GPU). Prints images/s of each, the ratio, the training FLOPs per image (counted
by ``torch.utils.flop_counter``), the achieved GFLOP/s and a large matmul's GFLOP/s in
float32 and bfloat16 on the same device (the peak to compare with).

    python benchmarks/bench_precision.py [--steps 30] [--repeats 3] [--threads 1] [--channels-last] [--device cuda]
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


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_gflops(dtype: torch.dtype, n: int = 2048, reps: int = 5, device: torch.device = torch.device("cpu")) -> float:
    a = torch.randn(n, n).to(device, dtype)
    b = torch.randn(n, n).to(device, dtype)
    a @ b
    _sync(device)
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    _sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e9


def measure(*, steps: int = 30, repeats: int = 3, batch: int = 64, channels_last: bool = False,
            device: str | torch.device = "cpu", matmul_n: int = 2048) -> dict:
    """Images/s of fp32 and bf16 training (medians of ``repeats``), FLOPs per image and
    the matmul peaks, on ``device``."""
    device = torch.device(device)
    images = torch.randint(0, 256, (1024, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    channel = Channel("awgn")
    model = create_model("deep_jscc", latent_channels=16, width=1.0).init_weights(torch.Generator().manual_seed(0))
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)

    def job(n):
        return TrainJob(key=0, encoder=model.encoder, tasks=[LossTask(model.decoder, [10.0])],
                        data=BatchStream(images, batch, seed=0, device=device), steps=n,
                        generator=torch.Generator(device=device).manual_seed(0))

    trainers = {p: Trainer(channel, device, precision=p) for p in ("fp32", "bf16")}
    for trainer in trainers.values():  # warm-up
        trainer.run([job(3)])
    with FlopCounterMode(display=False) as counter:
        trainers["fp32"].run([job(1)])
    flops_per_image = counter.get_total_flops() / batch
    rates: dict[str, list[float]] = {p: [] for p in trainers}
    for _ in range(repeats):
        for p, trainer in trainers.items():
            _sync(device)
            start = time.perf_counter()
            trainer.run([job(steps)])
            _sync(device)
            rates[p].append(steps * batch / (time.perf_counter() - start))
    fp32, bf16 = (statistics.median(rates[p]) for p in ("fp32", "bf16"))
    return {"fp32_img_s": fp32, "bf16_img_s": bf16, "ratio": bf16 / fp32, "gflop_per_image": flops_per_image / 1e9,
            "peak_fp32_gflops": matmul_gflops(torch.float32, matmul_n, device=device),
            "peak_bf16_gflops": matmul_gflops(torch.bfloat16, matmul_n, device=device)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    r = measure(steps=args.steps, repeats=args.repeats, batch=args.batch, channels_last=args.channels_last,
                device=args.device)
    fp32, bf16, per_image = r["fp32_img_s"], r["bf16_img_s"], r["gflop_per_image"]
    print(f"{args.device}, {args.threads} thread(s), batch {args.batch}{', channels-last' if args.channels_last else ''}: "
          f"fp32 {fp32:.0f} img/s, bf16 {bf16:.0f} img/s, bf16/fp32 = {r['ratio']:.2f}x")
    print(f"training: {per_image:.4f} GFLOP per image -> fp32 {fp32 * per_image:.0f} GFLOP/s, "
          f"bf16 {bf16 * per_image:.0f} GFLOP/s; 2048^2 matmul peak: fp32 {r['peak_fp32_gflops']:.0f} GFLOP/s, "
          f"bf16 {r['peak_bf16_gflops']:.0f} GFLOP/s")


if __name__ == "__main__":
    main()
