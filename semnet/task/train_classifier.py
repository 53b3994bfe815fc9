"""Train the task classifier of a data set (``models/classifier_<data>.md``):

    python -m semnet.task.train_classifier --data embedded --out models/classifier_embedded.pt
    python -m semnet.task.train_classifier --data cifar10 --out models/classifier_cifar10.pt

On CIFAR-10 (the JPEG copy at ``--root``, ImageFolder layout) the net is the small
ResNet of :mod:`semnet.task.resnet` trained by :mod:`semnet.task.fast_recipe`; the
command prints its accuracy on the whole test split and on the first 100 test images
of each class (the 1,000 images the committed test re-evaluates).

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


DATA = ("embedded", "cifar10")
#: Default epochs per data set (the committed checkpoints' settings).
EPOCHS = {"embedded": 10, "cifar10": 9}
CIFAR_WIDTHS = (16, 32, 64, 128)
#: Test images per class of the quick re-evaluation (the first ones, in file-name order).
SUBSET_PER_CLASS = 100


def _load_cifar10(root: str, cache_dir: str | None):
    """Training set, test set and the test subset of the quick re-evaluation."""
    from semnet.data.folder import load_image_folder

    return (load_image_folder(root, split="train", cache_dir=cache_dir),
            load_image_folder(root, split="test", cache_dir=cache_dir),
            load_image_folder(root, split="test", max_per_class=SUBSET_PER_CLASS))


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
    parser.add_argument("--data", default="embedded", choices=DATA)
    parser.add_argument("--root", default="../shared/data/cifar10-jpeg", help="the CIFAR-10 folder (--data cifar10)")
    parser.add_argument("--cache-dir", default=None, help="on-disk cache of the decoded CIFAR-10 images")
    parser.add_argument("--epochs", type=int, default=None, help="default: 10 (embedded), 9 (cifar10)")
    parser.add_argument("--width", type=int, default=16, help="embedded: filters of the first convolution (doubled twice)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    epochs = args.epochs if args.epochs is not None else EPOCHS[args.data]
    if epochs < 1:
        raise SystemExit(f"--epochs {epochs}: allowed: a positive integer")
    if args.data == "embedded":
        from semnet.data.embedded import load_embedded

        train_set, test_set = load_embedded(patch_size=32, seed=0)
        start = time.perf_counter()
        model = train(train_set, epochs=epochs, width=args.width, seed=args.seed)
        meta = {"width": args.width}
    else:
        from semnet.errors import DataError
        from semnet.task.fast_recipe import train_small_resnet

        try:
            train_set, test_set, subset = _load_cifar10(args.root, args.cache_dir)
        except DataError as err:
            raise SystemExit(f"--root: {err}") from None
        start = time.perf_counter()
        model = train_small_resnet(train_set, epochs=epochs, widths=CIFAR_WIDTHS, seed=args.seed)
        sub_right = count_correct(model, subset.images, subset.labels)
        meta = {"arch": "small_resnet", "widths": list(CIFAR_WIDTHS), "epochs": epochs, "seed": args.seed,
                "subset": f"first {SUBSET_PER_CLASS} test images per class",
                "subset_correct": sub_right, "subset_total": int(subset.images.shape[0])}
    wall = time.perf_counter() - start
    correct = count_correct(model, test_set.images, test_set.labels)
    total = int(test_set.images.shape[0])
    if args.data == "cifar10":
        meta.update(test_correct=correct, test_total=total)
        print(f"subset ({meta['subset']}): {meta['subset_correct']}/{meta['subset_total']}")
    save_classifier(model, args.out, classes=train_set.class_names, data=args.data,
                    image_hw=tuple(train_set.images.shape[-2:]), **meta)
    print(f"{args.out}: test accuracy {correct}/{total} = {correct / total:.4f} after {epochs} epochs, {wall:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
