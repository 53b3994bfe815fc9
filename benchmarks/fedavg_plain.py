"""The reference: a plain single-process PyTorch FedAvg loop, no simulator.

10 users, Dirichlet(0.5) label skew over a 5,000-image CIFAR-10 subset (the first
500 JPEGs of each class), 3 rounds of 1 local epoch, batch 64, Adam 1e-3, the
Bourtsoulatze deep JSCC at k/n = 1/6, AWGN at 10 dB, and server-side evaluation
(PSNR) on 2,000 test images (the first 200 of each class) after every round.

    python benchmarks/fedavg_plain.py --data ../shared/data/cifar10-jpeg
"""

from __future__ import annotations

import argparse
import copy
import os
import time

import numpy as np
import torch
import torchvision.io

from semnet.models import create_model


def load(root: str, split: str, per_class: int) -> tuple[torch.Tensor, np.ndarray]:
    images, labels = [], []
    classes = sorted(os.listdir(os.path.join(root, split)))
    for label, name in enumerate(classes):
        folder = os.path.join(root, split, name)
        for file in sorted(os.listdir(folder))[:per_class]:
            data = torchvision.io.read_file(os.path.join(folder, file))
            images.append(torchvision.io.decode_jpeg(data))
            labels.append(label)
    return torch.stack(images), np.array(labels)


def dirichlet_split(labels: np.ndarray, users: int, alpha: float, rng: np.random.Generator) -> list[np.ndarray]:
    parts = [[] for _ in range(users)]
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        cuts = (np.cumsum(rng.dirichlet([alpha] * users)) * len(idx)).astype(int)[:-1]
        for user, chunk in enumerate(np.split(idx, cuts)):
            parts[user].extend(chunk.tolist())
    return [np.array(p) for p in parts]


def channel(z: torch.Tensor, snr_db: float) -> torch.Tensor:
    sigma2 = 10 ** (-snr_db / 10)
    noise = torch.randn_like(z) * (sigma2 / 2) ** 0.5
    return z + noise


def transmit(model, x: torch.Tensor, snr_db: float) -> torch.Tensor:
    latent = model.encoder(x, torch.full((x.shape[0],), snr_db))
    flat = latent.flatten(1)
    power = flat.pow(2).mean(dim=1, keepdim=True) * 2  # mean |complex symbol|^2
    z = flat / power.sqrt()
    return model.decoder(channel(z, snr_db).view_as(latent), torch.full((x.shape[0],), snr_db))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="../shared/data/cifar10-jpeg")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    train, train_labels = load(args.data, "train", 500)
    test, _ = load(args.data, "test", 200)
    parts = dirichlet_split(train_labels, 10, 0.5, rng)
    model = create_model("deep_jscc", latent_channels=16)
    for rnd in range(args.rounds):
        states, weights = [], []
        for part in parts:
            local = copy.deepcopy(model)
            opt = torch.optim.Adam(local.parameters(), lr=1e-3)
            order = rng.permutation(part)
            for start in range(0, len(order), 64):
                x = train[order[start : start + 64]].float().div_(255)
                loss = torch.mean((transmit(local, x, 10.0) - x) ** 2)
                opt.zero_grad()
                loss.backward()
                opt.step()
            states.append(local.state_dict())
            weights.append(len(part))
        total = sum(weights)
        model.load_state_dict({k: sum(s[k] * (w / total) for s, w in zip(states, weights)) for k in states[0]})
        with torch.no_grad():
            psnrs = []
            for start in range(0, len(test), 256):
                x = test[start : start + 256].float().div_(255)
                mse = ((transmit(model, x, 10.0).clamp(0, 1) - x) ** 2).flatten(1).mean(1)
                psnrs.append(10 * torch.log10(1 / mse))
            print(f"round {rnd + 1}: PSNR {torch.cat(psnrs).mean():.2f} dB")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"wall {time.perf_counter() - start:.2f} s")
