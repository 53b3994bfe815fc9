"""The committed CIFAR-10 classifier: its card's accuracy on the first 100 test images
of each class is reproduced from the checkpoint by a loop of this test's own (Pillow
decoding, plain forward passes; no training code), and the file is small and plain."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from semnet.safe_load import load_torch_file
from semnet.task.classifier import load_classifier
from semnet.task.fast_recipe import augment, triangular_lr

REPO = Path(__file__).resolve().parents[2]
CHECKPOINT = REPO / "models" / "classifier_cifar10.pt"
CARD = REPO / "models" / "classifier_cifar10.md"
DATA = REPO.parent / "shared" / "data" / "cifar10-jpeg" / "test"
PER_CLASS = 100


def _card_figure(label: str) -> tuple[int, int]:
    found = re.search(rf"{label}: \*\*(\d+)/(\d+)\*\*", CARD.read_text())
    assert found, f"the card states '{label}: **N/M**'"
    return int(found.group(1)), int(found.group(2))


def test_the_checkpoint_is_small_plain_data_and_agrees_with_its_card():
    assert CHECKPOINT.stat().st_size < 3_000_000
    raw = load_torch_file(CHECKPOINT)  # weights only: no code runs
    assert raw["arch"] == "small_resnet" and raw["data"] == "cifar10" and raw["image_hw"] == [32, 32]
    assert (raw["test_correct"], raw["test_total"]) == _card_figure("test accuracy")
    assert (raw["subset_correct"], raw["subset_total"]) == _card_figure(f"first {PER_CLASS} test images per class")
    assert raw["test_correct"] / raw["test_total"] >= 0.85


@pytest.mark.skipif(not DATA.is_dir(), reason="CIFAR-10 JPEGs not at ../shared/data/cifar10-jpeg")
def test_the_committed_classifier_reproduces_its_cards_accuracy_on_1000_test_images():
    model, meta = load_classifier(CHECKPOINT)
    classes = sorted(p.name for p in DATA.iterdir() if p.is_dir())
    assert classes == meta["classes"]
    right = total = 0
    with torch.no_grad():
        for label, name in enumerate(classes):
            files = sorted(f for f in (DATA / name).iterdir() if f.suffix.lower() in (".jpg", ".jpeg", ".png"))
            pixels = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files[:PER_CLASS]])
            x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255.0
            right += int((model(x).argmax(dim=1) == label).sum())
            total += x.shape[0]
    assert (right, total) == _card_figure(f"first {PER_CLASS} test images per class")


def test_augment_flips_and_translates_each_image_as_drawn():
    images = torch.randint(0, 256, (6, 3, 8, 8), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    out = augment(images, torch.Generator().manual_seed(1), shift=0)
    again = torch.Generator().manual_seed(1)
    flip = torch.rand(6, generator=again) < 0.5
    expected = images.float() / 255
    expected[flip] = expected[flip].flip(-1)
    torch.testing.assert_close(out, expected)
    shifted = augment(images, torch.Generator().manual_seed(1), shift=2)
    # every translated image keeps an 4x4 window of its (flipped) original, away from the border
    for i in range(6):
        windows = [expected[i, :, 2 + dy:6 + dy, 2 + dx:6 + dx] for dy in range(-2, 3) for dx in range(-2, 3)]
        assert any(torch.equal(shifted[i, :, 2:6, 2:6], w) for w in windows)


def test_the_learning_rate_is_triangular():
    assert [triangular_lr(s, 100, 0.4) for s in (0, 25, 50, 100)] == pytest.approx([0.0, 0.4, 0.4 * 50 / 75, 0.0])
    assert triangular_lr(10, 100, 0.4) == pytest.approx(0.16)
