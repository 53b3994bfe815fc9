"""Every registered JSCC model: shapes, checkpoint round trip, sizes, bandwidth, pairing."""

from __future__ import annotations

import io

import pytest
import torch

from semnet.channels import make_fading
from semnet.errors import ModelError
from semnet.models import Channel, create_model, list_models, transmit

MODELS = sorted(list_models())


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _model(name: str, **kwargs):
    return create_model(name, generator=_gen(0), **kwargs)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("side", [32, 64])
def test_output_shapes(name, side):
    model = _model(name, latent_channels=8)
    x = torch.rand(2, 3, side, side, generator=_gen(1))
    out = model(x, torch.tensor([0.0, 20.0]), Channel("rayleigh"), generator=_gen(2))
    k = model.channel_uses((side, side))
    assert k == 8 * (side // 4) ** 2 // 2
    assert out["x_hat"].shape == x.shape
    assert out["z"].shape == (2, k) and out["z"].is_complex()
    assert out["x_hat"].min() >= 0 and out["x_hat"].max() <= 1
    torch.testing.assert_close(out["z"].abs().square().mean(dim=1), torch.ones(2), atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", MODELS)
def test_encode_decode_match_forward(name):
    model = _model(name)
    x = torch.rand(3, 3, 32, 32, generator=_gen(1))
    snr = torch.tensor([1.0, 5.0, 9.0])
    channel = Channel("awgn")
    out = model(x, snr, channel, generator=_gen(5))
    z = model.encode(x, snr)
    torch.testing.assert_close(z, out["z"])
    x_hat = model.decode(channel(z, snr, generator=_gen(5)), snr, model.latent_shape((32, 32)))
    torch.testing.assert_close(x_hat, out["x_hat"])


@pytest.mark.parametrize("name", MODELS)
def test_state_dict_round_trip(name):
    model = _model(name, latent_channels=8, width=0.5)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    fresh = create_model(name, latent_channels=8, width=0.5, generator=_gen(99))
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    x = torch.rand(2, 3, 32, 32, generator=_gen(1))
    snr = torch.tensor([3.0, 12.0])
    channel = Channel(make_fading("rician", k_factor=2.0))
    torch.testing.assert_close(model(x, snr, channel, _gen(4))["x_hat"], fresh(x, snr, channel, _gen(4))["x_hat"], rtol=0, atol=0)


@pytest.mark.parametrize("name", MODELS)
def test_part_bytes_add_up_to_whole_model(name):
    model = _model(name)
    total = sum(4 * t.numel() for t in model.state_dict().values())
    assert model.encoder_bytes() + model.decoder_bytes() == total
    assert total == sum(4 * p.numel() for p in model.parameters())
    enc = {id(p) for p in model.encoder.parameters()}
    assert enc.isdisjoint(id(p) for p in model.decoder.parameters())


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("channels", [8, 16])
def test_bandwidth_ratio(name, channels):
    model = _model(name, latent_channels=channels)
    assert model.latent_channels == channels
    assert model.bandwidth_ratio((32, 32)) == pytest.approx(channels / 96)
    assert model.bandwidth_ratio((64, 128)) == pytest.approx(channels / 96)


@pytest.mark.parametrize("name", MODELS)
def test_bad_image_size_raises_model_error(name):
    model = _model(name)
    with pytest.raises(ModelError, match="30x30"):
        model(torch.rand(1, 3, 30, 30), torch.tensor([5.0]), Channel())
    with pytest.raises(ModelError, match="30x30"):
        model.channel_uses((30, 30))


def test_snr_aware_flag_and_effect():
    x = torch.rand(1, 3, 32, 32, generator=_gen(1))
    for name in MODELS:
        model = _model(name)
        z_low, z_high = model.encode(x, torch.tensor([0.0])), model.encode(x, torch.tensor([20.0]))
        assert model.snr_aware == (not torch.allclose(z_low, z_high))


def test_transmit_pairs_encoder_and_decoder_of_different_models():
    a = _model("deep_jscc", latent_channels=8)
    b = create_model("deep_jscc", latent_channels=8, generator=_gen(1))
    x = torch.rand(2, 3, 32, 32, generator=_gen(2))
    snr = torch.tensor([10.0, 10.0])
    x_hat = transmit(a.encoder, b.decoder, x, snr, Channel("awgn"), _gen(3))
    z = a.encode(x, snr)
    expected = b.decode(Channel("awgn")(z, snr, generator=_gen(3)), snr, a.latent_shape((32, 32)))
    torch.testing.assert_close(x_hat, expected)
    x_hat.mean().backward()
    assert all(p.grad is not None for p in a.encoder.parameters())
    assert all(p.grad is not None for p in b.decoder.parameters())
    assert all(p.grad is None for p in a.decoder.parameters())
