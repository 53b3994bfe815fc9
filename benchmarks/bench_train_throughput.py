"""Training throughput: semnet's Trainer against a bare PyTorch loop, side by side.

Both train the Bourtsoulatze deep JSCC (k/n = 1/6, c = 16) on 32x32 images, batch 64,
Adam 1e-3, MSE, AWGN at 10 dB, for the same number of steps on the same uint8 data;
the two loops alternate so machine noise hits both. Target: semnet >= 0.9x bare.

    python benchmarks/bench_train_throughput.py [--steps 150] [--repeats 3] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from semnet.data import BatchStream
from semnet.fl.execution.trainer import LossTask, Trainer, TrainJob
from semnet.models import Channel, create_model


def bare_loop(images: torch.Tensor, steps: int, device: torch.device) -> float:
    model = create_model("deep_jscc", latent_channels=16).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sigma = (10 ** (-10 / 10) / 2) ** 0.5
    snr = torch.full((64,), 10.0, device=device)
    gen = torch.Generator().manual_seed(0)
    data = images.to(device)
    start = time.perf_counter()
    for _ in range(steps):
        idx = torch.randint(len(data), (64,), generator=gen)
        x = data[idx].float().div_(255)
        latent = model.encoder(x, snr)
        flat = latent.flatten(1)
        z = flat / (flat.pow(2).mean(1, keepdim=True) * 2).sqrt()
        y = z + sigma * torch.randn_like(z)
        loss = torch.mean((model.decoder(y.view_as(latent), snr) - x) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * 64 / (time.perf_counter() - start)


def semnet_loop(images: torch.Tensor, steps: int, device: torch.device) -> float:
    model = create_model("deep_jscc", latent_channels=16).to(device)
    trainer = Trainer(Channel("awgn"), device)
    stream = BatchStream(images, 64, seed=0, device=device)
    job = TrainJob(key=0, encoder=model.encoder, tasks=[LossTask(model.decoder, [10.0])], data=stream,
                   steps=steps, lr=1e-3, generator=torch.Generator(device=device).manual_seed(0))
    start = time.perf_counter()
    trainer.run([job])
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * 64 / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    images = torch.randint(0, 256, (5000, 3, 32, 32), dtype=torch.uint8)
    bare_loop(images, 10, device)  # warm-up (allocator, kernels)
    semnet_loop(images, 10, device)
    bare, ours = [], []
    for rep in range(args.repeats):
        bare.append(bare_loop(images, args.steps, device))
        ours.append(semnet_loop(images, args.steps, device))
        print(f"repeat {rep + 1}: bare {bare[-1]:.0f} img/s, semnet {ours[-1]:.0f} img/s, ratio {ours[-1] / bare[-1]:.3f}")
    b, s = statistics.median(bare), statistics.median(ours)
    print(f"median on {device} ({torch.get_num_threads()} threads): bare {b:.0f} img/s, semnet {s:.0f} img/s, "
          f"ratio {s / b:.3f} (target >= 0.9)")


if __name__ == "__main__":
    main()
