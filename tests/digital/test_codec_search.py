"""The quality search and the separation bound, computed independently from Pillow's
encoded sizes."""

import io
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from PIL import Image, features

from semnet.digital.baseline import score_link
from semnet.digital.ladder import QualityLadder
from semnet.registry import image_codecs


def _images(n: int, seed: int = 0) -> np.ndarray:
    """Smooth colour gradients with texture: (n, 32, 32, 3) uint8."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    out = []
    for _ in range(n):
        a, b, c = rng.uniform(0, 1, 3)
        base = np.stack([a * xx + (1 - a) * yy, b * yy, c * (1 - xx)], axis=-1) * 200 + 20
        out.append(np.clip(base + rng.normal(0, rng.uniform(2, 30), base.shape), 0, 255).astype(np.uint8))
    return np.stack(out)


def _pillow_size(image: np.ndarray, codec: str, quality: int) -> int:
    buffer = io.BytesIO()
    if codec == "jpeg":
        Image.fromarray(image).save(buffer, format="JPEG", quality=quality, optimize=True)
    else:
        Image.fromarray(image).save(buffer, format="WEBP", quality=quality)
    return len(buffer.getvalue())


def _pillow_best(image: np.ndarray, codec: str, budget_bytes: int) -> int | None:
    """Brute force: the highest quality whose file fits."""
    qualities = range(1, 101) if codec == "jpeg" else range(0, 101)
    fitting = [q for q in qualities if _pillow_size(image, codec, q) <= budget_bytes]
    return max(fitting) if fitting else None


IMAGES = _images(3)


@pytest.mark.parametrize("codec", ["jpeg", "webp"])
def test_search_picks_the_highest_quality_that_fits_as_brute_force_does(codec):
    rng = np.random.default_rng(1)
    for image in IMAGES:
        ladder = QualityLadder(image_codecs.get(codec)(), image)
        for budget in [0, 50, *rng.integers(60, 2500, 12).tolist(), 10_000]:
            rung = ladder.best(int(budget))
            expected = _pillow_best(image, codec, int(budget))
            got = None if rung is None else image_codecs.get(codec).settings[rung]
            assert got == expected, (codec, budget)


CODECS = ["jpeg", "webp", *(["jpeg2000"] if image_codecs.get("jpeg2000").available() else [])]


def _image(height: int, width: int, seed: int) -> np.ndarray:
    """A gradient with noise of a drawn strength, ``height x width``."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx / max(width - 1, 1), yy / max(height - 1, 1), rng.uniform(0, 1) * np.ones((height, width))],
                    axis=-1) * 200 + 20
    return np.clip(base + rng.normal(0, rng.uniform(0, 40), base.shape), 0, 255).astype(np.uint8)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(CODECS), st.integers(8, 96), st.integers(8, 96), st.integers(0, 2**16), st.integers(0, 12_000))
def test_the_codec_never_exceeds_its_budget(codec, height, width, seed, budget):
    ladder = QualityLadder(image_codecs.get(codec)(), _image(height, width, seed))
    rung = ladder.best(budget)
    if rung is None:
        assert ladder.smallest_bytes > budget
    else:
        assert len(ladder.codec.encode(ladder.image, ladder.codec.settings[rung])) <= budget


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(float) / 255 - b.astype(float) / 255) ** 2)
    return 10 * math.log10(1 / mse)


def _decode(image: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="WEBP", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def _score(images: np.ndarray, realised: list[float], told: float, rate: str, fallback: str, k: int = 512):
    ladders = [QualityLadder(image_codecs.get("webp")(), im) for im in images]
    originals = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    mean = originals.float().div(255).mean(dim=0)
    return score_link(ladders, originals, np.array(realised), told, k, rate, fallback, mean, with_ssim=False)


def test_static_awgn_link_at_capacity_loses_nothing_and_meets_the_separation_bound():
    k, snr_db = 512, 10.0
    out = _score(IMAGES, [snr_db] * 3, snr_db, "capacity", "previous", k)
    budget_bytes = math.floor(k * math.log2(1 + 10 ** (snr_db / 10))) // 8  # 1771 bits -> 221 bytes
    assert budget_bytes == 221
    assert not out.lost.any() and not out.unfit.any()
    for n, image in enumerate(IMAGES):
        quality = _pillow_best(image, "webp", budget_bytes)
        assert out.sent_bytes[n] == _pillow_size(image, "webp", quality) <= budget_bytes
        assert out.psnr_db[n] == pytest.approx(_psnr(_decode(image, quality), image), abs=1e-4)


@pytest.mark.parametrize("fallback", ["previous", "mean"])
def test_a_lost_image_shows_the_documented_fallback(fallback):
    # told 20 dB: send 0 uses CQI 13 and meets 20 dB (delivered); send 1 uses CQI 13 again and
    # meets 5 dB: lost; send 2 uses the entry of 5 dB (CQI 6, 4.3 dB) and meets 20 dB: delivered
    k = 2048
    out = _score(IMAGES, [20.0, 5.0, 20.0], 20.0, "mcs", fallback, k)
    assert out.lost.tolist() == [False, True, False] and not out.unfit.any()
    q0 = _pillow_best(IMAGES[0], "webp", math.floor(k * 4.5234) // 8)
    shown = _decode(IMAGES[0], q0) if fallback == "previous" else None
    if fallback == "mean":
        mean = IMAGES.astype(float).mean(axis=0) / 255
        expected = 10 * math.log10(1 / np.mean((mean - IMAGES[1] / 255) ** 2))
    else:
        expected = _psnr(shown, IMAGES[1])
    assert out.psnr_db[1] == pytest.approx(expected, abs=1e-4)
    assert out.sent_bytes[1] > 0  # a lost image was sent


def test_an_unfit_image_is_reported_and_the_first_fallback_is_the_mean():
    # 1 dB over 32 channel uses: 40 bits, 5 bytes: no WebP file is that small
    out = _score(IMAGES[:2], [1.0, 1.0], 1.0, "capacity", "previous", k=32)
    assert out.unfit.all() and not out.lost.any() and (out.sent_bytes == 0).all()
    mean = IMAGES[:2].astype(float).mean(axis=0) / 255
    for n in range(2):
        expected = 10 * math.log10(1 / np.mean((mean - IMAGES[n] / 255) ** 2))
        assert out.psnr_db[n] == pytest.approx(expected, abs=1e-4)


@pytest.mark.skipif(not features.check("jpg_2000"), reason="Pillow without OpenJPEG")
def test_jpeg2000_ladder_rises_in_size_and_decodes():
    codec = image_codecs.get("jpeg2000")()
    ladder = QualityLadder(codec, IMAGES[0])
    assert ladder.sizes_bytes[-1] > 4 * ladder.sizes_bytes[0]
    top = ladder.decoded(len(codec.settings) - 1)
    assert top.shape == (32, 32, 3) and _psnr(top, IMAGES[0]) > 30
