"""Task-aware training (method.task_loss_weight): the decoder's gradient is that of
the image loss plus the weighted cross-entropy of the frozen classifier, computed
here by hand; the classifier never moves; weight 0 is the old trainer; the term
travels to worker processes."""

import copy

import numpy as np
import pytest
import torch

from semnet.assembly import make_trainer
from semnet.data import BatchStream
from semnet.errors import ScenarioError
from semnet.fl.execution.task_term import TaskLossTerm
from semnet.fl.execution.trainer import LossTask, Trainer, TrainJob
from semnet.models import Channel, create_model, transmit
from semnet.runner import run_scenario
from semnet.scenario import validate
from semnet.summary import load_summary
from semnet.task.classifier import PatchClassifier
from tests.fl.conftest import tiny_scenario_dict

SNR_DB, BATCH, WEIGHT = 10.0, 8, 0.7
EMBEDDED_CLASSIFIER = "models/classifier_embedded.pt"


@pytest.fixture
def parts():
    model = create_model("deep_jscc", latent_channels=8, width=0.25, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(2)
    classifier = PatchClassifier(10, width=8).eval()
    images = torch.randint(0, 256, (16, 3, 32, 32), generator=torch.Generator().manual_seed(3), dtype=torch.uint8)
    return model, classifier, images


def _hand_gradients(model, classifier, images, weight):
    """d/d(decoder) of mean((x_hat - x)^2) + weight * CE(classifier(x_hat), argmax classifier(x))."""
    model = copy.deepcopy(model).train()
    x = BatchStream(images, BATCH, seed=5).next()
    x_hat = transmit(model.encoder, model.decoder, x, torch.full((BATCH,), SNR_DB), Channel("awgn"),
                     torch.Generator().manual_seed(7))
    with torch.no_grad():
        target = classifier(x).argmax(dim=1)
    logits = classifier(x_hat)
    log_p = logits - logits.logsumexp(dim=1, keepdim=True)
    cross_entropy = -log_p[torch.arange(BATCH), target].mean()
    loss = ((x_hat - x) ** 2).mean() + weight * cross_entropy
    return torch.autograd.grad(loss, list(model.decoder.parameters()))


def _one_sgd_step(model, images, trainer):
    """The decoder's parameter change of one trainer step (SGD, lr 1: minus the gradient)."""
    model = copy.deepcopy(model)
    before = [p.detach().clone() for p in model.decoder.parameters()]
    job = TrainJob(key=0, encoder=model.encoder, tasks=[LossTask(model.decoder, [SNR_DB])],
                   data=BatchStream(images, BATCH, seed=5), steps=1, train=("decoders",), lr=1.0,
                   optimizer="sgd", generator=torch.Generator().manual_seed(7))
    trainer.run([job])
    return [b - p.detach() for b, p in zip(before, model.decoder.parameters())]


def test_the_decoders_gradient_includes_the_classifiers_cross_entropy(parts):
    model, classifier, images = parts
    frozen = copy.deepcopy(classifier.state_dict())
    trainer = Trainer(Channel("awgn"), torch.device("cpu"), task_term=TaskLossTerm(classifier, WEIGHT))
    step = _one_sgd_step(model, images, trainer)
    with_task = _hand_gradients(model, classifier, images, WEIGHT)
    pixels_only = _hand_gradients(model, classifier, images, 0.0)
    for moved, expected in zip(step, with_task):
        torch.testing.assert_close(moved, expected, rtol=1e-4, atol=1e-7)
    # the term is not negligible here: without it the step would differ clearly
    gap = max(float((a - b).abs().max()) for a, b in zip(with_task, pixels_only))
    assert gap > 1e-3 * max(float(g.abs().max()) for g in pixels_only)
    # the classifier is frozen: no gradient, no change, still in eval mode
    assert all(p.grad is None and not p.requires_grad for p in classifier.parameters())
    for key, value in classifier.state_dict().items():
        torch.testing.assert_close(value, frozen[key], rtol=0, atol=0)
    assert not classifier.training


def test_without_the_term_the_step_is_the_image_loss_alone(parts):
    model, classifier, images = parts
    step = _one_sgd_step(model, images, Trainer(Channel("awgn"), torch.device("cpu")))
    for moved, expected in zip(step, _hand_gradients(model, classifier, images, 0.0)):
        torch.testing.assert_close(moved, expected, rtol=1e-4, atol=1e-7)


def test_the_weight_defaults_to_zero_and_builds_no_term():
    scenario = validate(tiny_scenario_dict())
    assert scenario.method.task_loss_weight == 0.0
    assert make_trainer(scenario, Channel("awgn"), torch.device("cpu")).task_term is None


def test_a_weight_without_a_classifier_is_one_line():
    raw = tiny_scenario_dict(task_loss_weight=0.5)
    with pytest.raises(ScenarioError, match="method.task_loss_weight.*needs the classifier of evaluation.task") as err:
        validate(raw)
    assert len(str(err.value).splitlines()) == 1


def _task_run(tmp_path, name, weight, workers=1):
    raw = tiny_scenario_dict(task_loss_weight=weight)
    raw["evaluation"] = {"task": "classify", "classifier": EMBEDDED_CLASSIFIER}
    raw["simulation"]["workers"] = workers
    run_scenario(validate(raw), out_dir=tmp_path / name)
    return load_summary(tmp_path / name)


def test_a_task_aware_run_differs_and_workers_train_with_the_term_too(tmp_path):
    pixels = _task_run(tmp_path, "pixels", 0.0)
    task = _task_run(tmp_path, "task", 5.0)
    spread = _task_run(tmp_path, "task_workers", 5.0, workers=2)
    assert task.psnr_db != pixels.psnr_db  # the term changed the training
    # the worker processes got the term: their run is the in-process one, number for number
    assert spread.psnr_db == task.psnr_db and spread.accuracy == task.accuracy
    assert np.isfinite(task.psnr_db) and 0.0 <= task.accuracy <= 1.0
