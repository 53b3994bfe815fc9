"""The snr-curve records: the separation bound and the fixed-rate cliff against
Pillow's own sizes, every scheme on the same states."""

import math

import numpy as np
import pytest
import torch

from semnet.digital.snr_curve import JsccModel, measure
from semnet.models import create_model
from tests.digital.test_codec_search import _decode, _images, _pillow_best, _pillow_size


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    model = create_model("deep_jscc", latent_channels=16, width=0.25, generator=torch.Generator().manual_seed(0))
    torch.save(model.state_dict(), root / "tiny.pt")
    images = torch.from_numpy(_images(4, seed=5)).permute(0, 3, 1, 2).contiguous()
    entry = JsccModel("tiny", "deep_jscc", "tiny.pt", "1/6", width=0.25)
    rows = measure(images, (entry,), [0.0, 20.0], fadings=("none", "rayleigh"), ratios=("1/6",), codecs=("webp",),
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
