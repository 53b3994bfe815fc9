"""The snr-curve records: the separation bound and the fixed-rate cliff against
Pillow's own sizes, every scheme on the same states."""

import math

import numpy as np
import pytest
import torch

from semnet.digital.snr_curve import JsccModel, MemoClassifier, measure, measure_panels
from semnet.models import Channel, create_model, transmit
from semnet.seeding import derive_seed
from semnet.task.classifier import PatchClassifier
from tests.digital.test_codec_search import _decode, _images, _pillow_best, _pillow_size

TINY = JsccModel("tiny", "deep_jscc", "tiny.pt", "1/6", width=0.25)


def _tiny_model(root=None):
    """The tiny JSCC model of ``TINY`` (saved under ``root`` when given)."""
    model = create_model("deep_jscc", latent_channels=16, width=0.25, generator=torch.Generator().manual_seed(0))
    if root is not None:
        torch.save(model.state_dict(), root / TINY.checkpoint)
    return model


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    _tiny_model(root)
    images = torch.from_numpy(_images(4, seed=5)).permute(0, 3, 1, 2).contiguous()
    rows = measure(images, (TINY,), [0.0, 20.0], fadings=("none", "rayleigh"), ratios=("1/6",), codecs=("webp",),
                   realisations=2, root=root)
    return images, rows


def _get(rows, **where):
    found = [r for r in rows if all(r[k] == v for k, v in where.items())]
    assert len(found) == 1, where
    return found[0]


def test_one_row_per_fading_snr_and_scheme(records):
    _, rows = records
    assert len(rows) == 2 * 2 * (1 + 3)
    assert {r["sends"] for r in rows if r["fading"] == "none"} == {4}
    assert {r["sends"] for r in rows if r["fading"] == "rayleigh"} == {8}


def test_awgn_capacity_row_is_the_separation_bound_from_pillow_sizes(records):
    images, rows = records
    row = _get(rows, fading="none", test_snr_db=20.0, scheme="webp capacity")
    k = 512  # 32 x 32 x 3 / 6
    budget = math.floor(k * math.log2(1 + 100.0)) // 8
    originals = images.permute(0, 2, 3, 1).numpy()
    mean = originals.astype(float).mean(axis=0) / 255
    values = []
    for image in originals:
        q = _pillow_best(image, "webp", budget)
        shown = mean if q is None else _decode(image, q) / 255
        values.append(10 * math.log10(1 / np.mean((shown - image / 255) ** 2)))
        assert q is None or _pillow_size(image, "webp", q) <= budget
    assert row["psnr_db"] == pytest.approx(np.mean(values), abs=1e-3)
    assert row["lost_share"] == 0.0


def test_fixed_rate_below_its_design_snr_loses_every_image_it_sends(records):
    images, rows = records
    row = _get(rows, fading="none", test_snr_db=0.0, scheme="webp mcs_fixed")
    budget = math.floor(512 * 1.9141) // 8  # CQI 8, chosen for 10 dB (threshold 8.1 dB)
    originals = images.permute(0, 2, 3, 1).numpy()
    fits = np.mean([_pillow_best(image, "webp", budget) is not None for image in originals])
    assert row["lost_share"] == pytest.approx(fits) and row["lost_share"] + row["unfit_share"] == pytest.approx(1.0)
    # at 20 dB the same rate is never lost: the cliff is a step at the threshold
    assert _get(rows, fading="none", test_snr_db=20.0, scheme="webp mcs_fixed")["lost_share"] == 0.0


@pytest.fixture(scope="module")
def task_records(tmp_path_factory):
    root = tmp_path_factory.mktemp("models_task")
    _tiny_model(root)
    images = torch.from_numpy(_images(6, seed=5)).permute(0, 3, 1, 2).contiguous()
    torch.manual_seed(4)
    classifier = PatchClassifier(3, width=8).eval()
    # labels: the classifier's own decision on the undistorted image for half of them, another class for the rest
    clean = classifier(images.float() / 255).argmax(1)
    labels = torch.where(torch.arange(6) % 2 == 0, clean, (clean + 1) % 3)
    rows = measure(images, (TINY,), [0.0, 20.0], fadings=("none",), ratios=("1/6",), codecs=("webp",),
                   realisations=1, root=root, classifier=classifier, labels=labels)
    return images, classifier, labels, rows


def test_rows_without_a_classifier_have_no_accuracy(records):
    assert {r["accuracy"] for r in records[1]} == {""}


def test_the_capacity_rows_accuracy_is_the_classifiers_on_pillows_images(task_records):
    images, classifier, labels, rows = task_records
    originals = images.permute(0, 2, 3, 1).numpy()
    mean = originals.astype(np.float32).mean(axis=0) / 255
    for snr in (0.0, 20.0):
        budget = math.floor(512 * math.log2(1 + 10 ** (snr / 10))) // 8
        shown = []
        for image in originals:
            q = _pillow_best(image, "webp", budget)
            shown.append(mean if q is None else _decode(image, q).astype(np.float32) / 255)
        x = torch.from_numpy(np.stack(shown)).permute(0, 3, 1, 2).float()
        with torch.no_grad():
            expected = float((classifier(x).argmax(1) == labels).float().mean())
        assert _get(rows, test_snr_db=snr, scheme="webp capacity")["accuracy"] == pytest.approx(expected, abs=1e-5)


def test_jscc_rows_score_the_decoded_images(task_records, tmp_path):
    images, classifier, labels, rows = task_records
    model = _tiny_model().eval()
    x = images.float() / 255
    for snr in (0.0, 20.0):
        gen = torch.Generator().manual_seed(derive_seed(0, "snr_curve_noise", "none", snr))
        with torch.no_grad():
            x_hat = transmit(model.encoder, model.decoder, x, snr, Channel("none", csi=True), gen,
                             gain=torch.ones(6, dtype=torch.complex64)).clamp(0, 1)
            expected = float((classifier(x_hat).argmax(1) == labels).float().mean())
        assert _get(rows, test_snr_db=snr, scheme="tiny")["accuracy"] == pytest.approx(expected, abs=1e-5)


def test_the_memo_classifier_gives_the_classifiers_logits_once_per_distinct_image():
    torch.manual_seed(0)
    classifier = PatchClassifier(3, width=8).eval()
    calls = []

    def counted(x):
        calls.append(x.shape[0])
        return classifier(x)

    memo = MemoClassifier(counted)
    x = torch.rand(4, 3, 32, 32)
    batch = torch.stack([x[0], x[1], x[0], x[2], x[1]])
    with torch.no_grad():
        torch.testing.assert_close(memo(batch), classifier(batch), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(memo(torch.stack([x[3], x[2]])), classifier(torch.stack([x[3], x[2]])),
                                   rtol=1e-5, atol=1e-6)
    assert calls == [3, 1]  # each distinct image classified once


def test_panels_in_processes_give_the_serial_rows(task_records, tmp_path):
    images, classifier, labels, _ = task_records
    _tiny_model(tmp_path)
    kwargs = {"fadings": ("none", "rayleigh"), "ratios": ("1/6", "1/12"), "codecs": ("webp",), "realisations": 2,
              "root": tmp_path, "classifier": classifier, "labels": labels}
    serial = measure(images, (TINY,), [0.0, 20.0], **kwargs)
    assert measure_panels(images, (TINY,), [0.0, 20.0], jobs=2, **kwargs) == serial


@pytest.mark.parametrize("args, expected", [
    (["--model", "x", "deep_jscc", "models/nope.pt", "1/12", "0.5"], "snr_curve: model.checkpoint 'models/nope.pt' does not exist"),
    (["--classifier", "models/nope.pt"], "--classifier: classifier checkpoint 'models/nope.pt' cannot be read"),
])
def test_a_bad_model_or_classifier_is_one_line(tmp_path, args, expected):
    from semnet.digital.snr_curve import main

    with pytest.raises(SystemExit) as stop:
        main(["--data", "embedded", "--snrs", "0", "--fadings", "none", *args, "--out", str(tmp_path)])
    assert str(stop.value).startswith(expected) and len(str(stop.value).splitlines()) == 1
