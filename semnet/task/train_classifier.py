"""Train the task classifier of a data set (``models/classifier_<data>.md``):

    python -m semnet.task.train_classifier --data embedded --out models/classifier_embedded.pt

On the embedded photos the task is which photograph a patch comes from (the 10 classes
the set already has); test patches come from each photograph's held-out strip, so the
accuracy measures recognition of a photograph's look, not memorised pixels. Adam,
cosine schedule, random horizontal flips, one seed and one torch thread: the same
command gives the same checkpoint.
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from torch import nn

from semnet.seeding import derive_seed
from semnet.task.classifier import PatchClassifier, save_classifier

__all__ = ["main", "train"]


def _load(data: str):
    if data != "embedded":
        raise SystemExit(f"--data {data!r}: only 'embedded' is supported (the CIFAR-10 classifier is not made yet)")
    from semnet.data.embedded import load_embedded

    return load_embedded(patch_size=32, seed=0)


def train(train_set, *, epochs: int, batch_size: int = 64, lr: float = 2e-3, width: int = 32,
          seed: int = 0) -> PatchClassifier:
    gen = torch.Generator().manual_seed(derive_seed(seed, "classifier"))
    torch.manual_seed(derive_seed(seed, "classifier_init"))
    model = PatchClassifier(len(train_set.class_names), width)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = train_set.images.shape[0]
    steps = epochs * math.ceil(n / batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            x = train_set.images[idx].float().div(255)
            flip = torch.rand(x.shape[0], generator=gen) < 0.5
            x[flip] = x[flip].flip(-1)
            loss = loss_fn(model(x), train_set.labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


@torch.no_grad()
def count_correct(model: PatchClassifier, images: torch.Tensor, labels: torch.Tensor, batch: int = 256) -> int:
    return sum(int((model(images[s:s + batch].float().div(255)).argmax(1) == labels[s:s + batch]).sum())
               for s in range(0, images.shape[0], batch))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m semnet.task.train_classifier", description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="embedded")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--width", type=int, default=16, help="filters of the first convolution (doubled twice)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    train_set, test_set = _load(args.data)
    start = time.perf_counter()
    model = train(train_set, epochs=args.epochs, width=args.width, seed=args.seed)
    wall = time.perf_counter() - start
    correct = count_correct(model, test_set.images, test_set.labels)
    save_classifier(model, args.out, classes=train_set.class_names, data=args.data,
                    image_hw=tuple(train_set.images.shape[-2:]), width=args.width)
    print(f"{args.out}: test accuracy {correct}/{test_set.images.shape[0]} = "
          f"{correct / test_set.images.shape[0]:.4f} after {args.epochs} epochs, {wall:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
