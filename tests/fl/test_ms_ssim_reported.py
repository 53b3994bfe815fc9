"""MS-SSIM is reported where the images allow its five scales (a smaller side of 161
pixels and up), per link and on the mean, and nowhere else: runs of small images keep
the keys they always had."""

import pytest
import torch
from pytorch_msssim import ms_ssim as reference_ms_ssim

from semnet.fl.loop.evaluation import LinkEvaluator, summarize
from semnet.models import Channel, transmit
from semnet.models.deep_jscc import DeepJSCC
from semnet.seeding import derive_seed

LINKS = [(0, 1), (1, 0)]
SNR = {(0, 1): 3.0, (1, 0): 12.0}


def _images(side: int, width: int | None = None) -> dict[int, torch.Tensor]:
    gen = torch.Generator().manual_seed(side)
    smooth = torch.nn.functional.interpolate(torch.rand(4, 3, 12, 12, generator=gen), size=(side, width or side),
                                             mode="bilinear", align_corners=False)
    return {u: (smooth[2 * u:2 * u + 2] * 255).to(torch.uint8) for u in range(2)}


def _model():
    torch.manual_seed(0)
    return DeepJSCC(latent_channels=4, width=0.25)


@pytest.mark.parametrize("side, width", [(176, 176), (168, 200)])
def test_large_images_get_ms_ssim_per_link_equal_to_the_reference_on_the_decoded_images(side, width):
    model, images = _model(), _images(side, width)
    evaluator = LinkEvaluator(LINKS, SNR, images, Channel("none"), torch.device("cpu"), seed=5)
    scores = evaluator.evaluate(lambda i: model.encoder, lambda j: model.decoder)
    for q in scores:
        x = images[q.src].float() / 255
        gen = torch.Generator().manual_seed(derive_seed(5, "eval", q.src, q.dst))
        with torch.no_grad():
            x_hat = transmit(model.encoder.eval(), model.decoder.eval(), x, torch.full((2,), SNR[(q.src, q.dst)]),
                             Channel("none"), gen).clamp(0, 1)
        expected = float(reference_ms_ssim(x_hat, x, data_range=1.0, size_average=False).mean())
        assert q.ms_ssim == pytest.approx(expected, abs=1e-6)
        assert 0.0 < q.ms_ssim < 1.0
        assert q.as_dict()["ms_ssim"] == round(q.ms_ssim, 5)
    assert summarize(scores)["ms_ssim"] == round((scores[0].ms_ssim + scores[1].ms_ssim) / 2, 5)
    assert scores[0].ms_ssim != scores[1].ms_ssim  # 3 dB and 12 dB differ


@pytest.mark.parametrize("side, width, with_ssim", [(32, 32, True), (160, 160, True), (240, 160, True),
                                                    (176, 176, False)])
def test_small_images_or_no_ssim_leave_ms_ssim_out(side, width, with_ssim):
    model = _model()
    evaluator = LinkEvaluator(LINKS, SNR, _images(side, width), Channel("none"), torch.device("cpu"), seed=5,
                              with_ssim=with_ssim)
    scores = evaluator.evaluate(lambda i: model.encoder, lambda j: model.decoder)
    assert all(q.ms_ssim is None and "ms_ssim" not in q.as_dict() for q in scores)
    assert "ms_ssim" not in summarize(scores)


def test_a_run_of_large_images_reports_ms_ssim_per_link_phase_and_run(tmp_path):
    import json

    import numpy as np
    from PIL import Image

    from semnet.runner import run_scenario
    from semnet.scenario import validate
    from tests.fl.conftest import tiny_scenario_dict

    rng = np.random.default_rng(0)
    for split, count in (("train", 6), ("test", 3)):
        for label in ("a", "b"):
            folder = tmp_path / "images" / split / label
            folder.mkdir(parents=True)
            for n in range(count):
                tile = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
                Image.fromarray(tile).resize((164, 164), Image.BILINEAR).save(folder / f"{n}.png")
    raw = tiny_scenario_dict(name="fedavg", federated={"rounds": 1, "local": {"steps": 1, "batch_size": 2}})
    raw["data"] = {"source": "folder", "path": str(tmp_path / "images"), "partition": {"kind": "iid"},
                   "test_per_user": 2}
    run_scenario(validate(raw), out_dir=tmp_path / "run")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    links = summary["phases"][-1]["links"]
    assert links and all(0.0 < link["ms_ssim"] < 1.0 for link in links)
    assert summary["phases"][-1]["ms_ssim"] == summary["ms_ssim"]
    assert summary["ms_ssim"] == pytest.approx(np.mean([link["ms_ssim"] for link in links]), abs=1e-5)
