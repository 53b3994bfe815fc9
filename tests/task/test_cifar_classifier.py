"""The committed CIFAR-10 classifier: its card's accuracy on the whole test split and on
the first 100 test images of each class is reproduced from the checkpoint by a loop of
this test's own (Pillow decoding, plain forward passes; no training code); the task
metric of the evaluator on undistorted images is that clean accuracy; the file is small
and plain."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from semnet.fl.loop.evaluation import LinkEvaluator, TaskScorer
from semnet.models import Channel
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


def _test_split(per_class: int | None) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """The first ``per_class`` test images of each class (None: all), decoded by Pillow, and their labels."""
    classes = sorted(p.name for p in DATA.iterdir() if p.is_dir())
    images, labels = [], []
    for label, name in enumerate(classes):
        files = sorted(f for f in (DATA / name).iterdir() if f.suffix.lower() in (".jpg", ".jpeg", ".png"))
        pixels = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files[:per_class]])
        images.append(torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous())
        labels.append(torch.full((pixels.shape[0],), label, dtype=torch.int64))
    return torch.cat(images), torch.cat(labels), classes


def _right(model, images: torch.Tensor, labels: torch.Tensor) -> int:
    right = 0
    with torch.no_grad():
        for start in range(0, images.shape[0], 1000):
            x = images[start:start + 1000].float() / 255.0
            right += int((model(x).argmax(dim=1) == labels[start:start + 1000]).sum())
    return right


needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="CIFAR-10 JPEGs not at ../shared/data/cifar10-jpeg")


@needs_data
@pytest.mark.parametrize("per_class, figure", [(PER_CLASS, f"first {PER_CLASS} test images per class"),
                                               (None, "test accuracy")])
def test_the_committed_classifier_reproduces_its_cards_accuracy(per_class, figure):
    model, meta = load_classifier(CHECKPOINT)
    images, labels, classes = _test_split(per_class)
    assert classes == meta["classes"]
    assert (_right(model, images, labels), images.shape[0]) == _card_figure(figure)


class _Replay(torch.nn.Module):
    """A "decoder" that ignores the channel and gives back the sent images, batch after
    batch, in the evaluator's order: the evaluator then scores undistorted images."""

    def __init__(self, images: torch.Tensor):
        super().__init__()
        self.images, self.at = images, 0

    def forward(self, latent, snr_db):
        out = self.images[self.at:self.at + latent.shape[0]].float() / 255.0
        self.at += latent.shape[0]
        return out


class _AnyLatent(torch.nn.Module):
    def forward(self, x, snr_db):
        return x[:, :2]


@needs_data
def test_on_undistorted_images_the_evaluators_task_accuracy_is_the_clean_accuracy():
    model, _ = load_classifier(CHECKPOINT)
    images, labels, _ = _test_split(PER_CLASS)
    encoder = _AnyLatent()  # the replay ignores the latent
    evaluator = LinkEvaluator([(0, 1)], {(0, 1): 10.0}, {0: images}, Channel("none"), torch.device("cpu"), seed=0,
                              with_ssim=False, task=TaskScorer(model, {0: labels}))
    (quality,) = evaluator.evaluate(lambda i: encoder, lambda j: _Replay(images))
    assert quality.psnr_db >= 100.0  # undistorted (PSNR is capped at 100 dB)
    right, total = _card_figure(f"first {PER_CLASS} test images per class")
    assert (quality.accuracy, quality.images) == (right / total, total)


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
