"""Task accuracy on decoded images: the committed classifier reproduces its card's
accuracy without the training code; on undistorted images the task metric is the
clean accuracy; a run reports it per link, phase and digital baseline."""

import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from semnet.digital.baseline import score_link
from semnet.digital.image_codecs import ImageCodec
from semnet.digital.ladder import QualityLadder
from semnet.errors import ScenarioError
from semnet.runner import run_scenario
from semnet.scenario import validate
from semnet.summary import load_summary
from semnet.task.classifier import load_classifier, save_classifier
from tests.fl.conftest import tiny_scenario_dict

REPO = Path(__file__).resolve().parents[2]
CHECKPOINT = REPO / "models" / "classifier_embedded.pt"
CARD = REPO / "models" / "classifier_embedded.md"


@pytest.fixture(scope="module")
def embedded_test():
    from semnet.data.embedded import load_embedded

    return load_embedded(patch_size=32, seed=0)[1]


@pytest.fixture(scope="module")
def classifier():
    return load_classifier(CHECKPOINT)


def _clean_correct(model, images, labels) -> np.ndarray:
    """Right or wrong per image, by a loop of its own (not the training code's)."""
    out = []
    with torch.no_grad():
        for start in range(0, images.shape[0], 100):
            logits = model(images[start:start + 100].to(torch.float32) / 255.0)
            out.append((logits.argmax(dim=1) == labels[start:start + 100]).numpy())
    return np.concatenate(out)


def test_the_committed_classifier_reproduces_its_cards_accuracy(classifier, embedded_test):
    model, meta = classifier
    assert meta["data"] == "embedded" and meta["classes"] == list(embedded_test.class_names)
    right = int(_clean_correct(model, embedded_test.images, embedded_test.labels).sum())
    card = re.search(r"test accuracy \*\*(\d+)/(\d+)", CARD.read_text())
    assert card, "the card states 'test accuracy **N/M'"
    assert (right, embedded_test.images.shape[0]) == (int(card.group(1)), int(card.group(2)))


class Lossless(ImageCodec):
    """PNG: a decoded image is the image itself."""

    name = "png"
    settings = (6,)

    def encode(self, image, setting):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG", compress_level=setting)
        return buffer.getvalue()


def test_on_undistorted_images_the_task_metric_is_the_clean_accuracy(classifier, embedded_test):
    model, _ = classifier
    images, labels = embedded_test.images[:64], embedded_test.labels[:64]
    ladders = [QualityLadder(Lossless(), im) for im in images.permute(0, 2, 3, 1).numpy()]
    mean = images.float().div(255).mean(dim=0)
    out = score_link(ladders, images, np.full(64, 60.0), 60.0, 3072, "capacity", "mean", mean, with_ssim=False,
                     classifier=model, labels=labels)
    assert not out.unfit.any() and not out.lost.any()
    np.testing.assert_array_equal(out.correct, _clean_correct(model, images, labels))


def test_a_run_reports_accuracy_for_every_link_phase_control_and_baseline(tmp_path):
    raw = tiny_scenario_dict(controls=["compute_matched", "bytes_matched"])
    raw["evaluation"] = {"task": "classify", "classifier": str(CHECKPOINT), "digital": {"codecs": ["webp"],
                                                                                         "rates": ["capacity"]}}
    raw["model"]["latent_channels"] = 16  # k = 512: WebP fits at 10 dB
    run_scenario(validate(raw), out_dir=tmp_path / "r")
    summary = load_summary(tmp_path / "r")
    assert 0.0 <= summary.accuracy <= 1.0
    for phase in summary.phases:
        assert phase.accuracy is not None and all(0.0 <= q.accuracy <= 1.0 for q in phase.links)
        assert phase.accuracy == pytest.approx(np.mean([q.accuracy for q in phase.links]), abs=1e-4)
    assert [c.name for c in summary.controls] == ["compute_matched", "bytes_matched"]
    for control in summary.controls:
        assert control.accuracy is not None and all(0.0 <= q.accuracy <= 1.0 for q in control.links)
        assert control.accuracy == pytest.approx(np.mean([q.accuracy for q in control.links]), abs=1e-4)
    baseline = summary.digital.baselines[0]
    assert baseline.accuracy == pytest.approx(np.mean([q.accuracy for q in baseline.links]), abs=1e-4)


def test_a_classifier_of_other_data_is_one_line(tmp_path):
    model, meta = load_classifier(CHECKPOINT)
    other = tmp_path / "cifar_classifier.pt"
    save_classifier(model, other, classes=tuple(meta["classes"]), data="cifar10", image_hw=(32, 32),
                    width=meta["width"])
    raw = tiny_scenario_dict()
    raw["evaluation"] = {"task": "classify", "classifier": str(other)}
    with pytest.raises(ScenarioError, match="was trained on cifar10") as err:
        run_scenario(validate(raw), out_dir=tmp_path / "r")
    assert len(str(err.value).splitlines()) == 1


def test_task_options_are_checked(tmp_path):
    raw = tiny_scenario_dict()
    raw["evaluation"] = {"task": "classify"}
    with pytest.raises(ScenarioError, match="evaluation.classifier.*needs a classifier"):
        validate(raw)
    raw["evaluation"] = {"classifier": "x.pt"}
    with pytest.raises(ScenarioError, match="evaluation.classifier.*only with task: classify"):
        validate(raw)


def test_the_jscc_evaluators_task_scorer_aligns_labels_batch_by_batch(classifier, embedded_test):
    from semnet.fl.loop.evaluation import TaskScorer

    model, _ = classifier
    images, labels = embedded_test.images[:50], embedded_test.labels[:50]
    scorer = TaskScorer(model, {3: labels})
    x = images.float().div(255)
    counted = sum(scorer.correct(x[s:s + 7], 3, s) for s in range(0, 50, 7))
    assert counted == int(_clean_correct(model, images, labels).sum())
