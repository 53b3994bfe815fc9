"""Codecs: reconstruction within each codec's bound, exact top-k and error feedback, the
stochastic quantiser's unbiasedness, and message sizes equal to real serialisations."""

import math

import pytest
import torch

from semnet.codecs import MessageCodecs, codec_names, is_default, label
from semnet.codecs.base import BitReader, BitWriter, index_bits
from semnet.codecs.qsgd import QSGD
from semnet.fl.algorithms.aggregation import state_bits, tensors_of
from semnet.models import create_model
from semnet.registry import codecs


def _tensors(seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(8, 3, 5, 5, generator=gen) * 0.1, torch.randn(16, generator=gen), torch.zeros(4),
            torch.randn(1, generator=gen)]


@pytest.fixture(scope="module")
def model_state():
    model = create_model("deep_jscc", latent_channels=4, width=0.25, generator=torch.Generator().manual_seed(0))
    return model, tensors_of(model)


# --------------------------------------------------------------------------- sizes


@pytest.mark.parametrize("name", codecs.names())
def test_serialised_size_is_the_announced_size(name, model_state):
    model, state = model_state
    codec = codecs.get(name)()
    shapes = [tuple(t.shape) for t in state]
    data = codec.encode(state, torch.Generator().manual_seed(1))
    assert 8 * len(data) == codec.bits(shapes)
    decoded = codec.decode(data, shapes)
    assert [tuple(d.shape) for d in decoded] == shapes
    # what a receiver reads from the bytes is what the run uses (same seed, same draw)
    again = codec.roundtrip(state, torch.Generator().manual_seed(1))
    assert all(torch.equal(a, b) for a, b in zip(decoded, again))


def test_float32_is_todays_size_and_lossless(model_state):
    model, state = model_state
    codec = codecs.get("float32")()
    assert codec.bits([t.shape for t in state]) == state_bits(model)
    decoded = codec.decode(codec.encode(state), [t.shape for t in state])
    assert all(torch.equal(a, b) for a, b in zip(decoded, state))
    assert all(a is b for a, b in zip(codec.roundtrip(state), state))  # no arithmetic at all


def test_sizes_follow_the_layouts():
    shapes = [(8, 3, 5, 5), (16,)]  # 600 + 16 values
    assert codecs.get("float16")().bits(shapes) == 16 * 616
    assert codecs.get("int8")().bits(shapes) == 8 * 616 + 2 * 32
    assert codecs.get("int8_channel")().bits(shapes) == 8 * 616 + (8 + 1) * 32
    # top-10%: 60 and 2 entries, float32 value + 10 and 4 index bits, padded to a byte
    assert codecs.get("topk10")().bits(shapes) == 8 * math.ceil((60 * (32 + 10) + 2 * (32 + 4)) / 8)
    assert codecs.get("qsgd4")().bits(shapes) == 2 * 32 + 4 * 616


def test_bitstream_round_trip_of_odd_widths():
    out = BitWriter()
    out.uints([5, 0, 7], 3)
    out.uints([1023], 10)
    data = out.to_bytes()
    assert len(data) == 3  # 19 bits -> 3 bytes
    src = BitReader(data)
    assert src.uints(3, 3).tolist() == [5, 0, 7]
    assert src.uints(1, 10).tolist() == [1023]
    with pytest.raises(ValueError):
        BitWriter().uints([8], 3)
    assert index_bits(1) == 0 and index_bits(2) == 1 and index_bits(600) == 10 and index_bits(1024) == 10


def test_a_message_of_the_wrong_length_is_refused():
    codec = codecs.get("int8")()
    data = codec.encode([torch.ones(10)])
    with pytest.raises(ValueError):
        codec.decode(data[:-1], [(10,)])
    with pytest.raises(ValueError):
        codec.decode(data + b"\0", [(10,)])


# --------------------------------------------------------------------------- round trips within bounds


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_float_formats_within_their_relative_error(name):
    codec = codecs.get(name)()
    x = torch.cat([torch.logspace(-3, 3, 500), -torch.logspace(-3, 3, 500)])  # normal range of both formats
    x_hat = codec.roundtrip([x])[0]
    assert torch.all((x_hat - x).abs() <= codec.relative_error * x.abs())
    assert not torch.equal(x_hat, x)  # the format is really narrower


def test_float16_saturates_instead_of_overflowing():
    x_hat = codecs.get("float16")().roundtrip([torch.tensor([1e6, -1e6])])[0]
    assert x_hat.tolist() == [65504.0, -65504.0]


@pytest.mark.parametrize("name", ["int8", "int8_channel"])
def test_int8_within_half_a_step(name):
    codec = codecs.get(name)()
    for x in _tensors():
        x_hat = codec.roundtrip([x])[0]
        groups = x.shape[0] if (codec.per_channel and x.dim() > 1) else 1
        scale = x.reshape(groups, -1).abs().amax(dim=1) / 127
        err = (x_hat - x).reshape(groups, -1).abs()
        assert torch.all(err <= scale[:, None] / 2 * (1 + 1e-5) + 1e-12)
        assert torch.all(x_hat[x == 0] == 0)
    # per channel is finer where channels differ in size
    x = torch.stack([torch.linspace(-1, 1, 50), torch.linspace(-0.01, 0.01, 50)])
    per_tensor = (codecs.get("int8")().roundtrip([x])[0] - x)[1].abs().max()
    per_channel = (codecs.get("int8_channel")().roundtrip([x])[0] - x)[1].abs().max()
    assert per_channel < per_tensor / 10


def test_topk_keeps_exactly_the_k_largest():
    codec = codecs.get("topk10")()
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(40, 25, generator=gen)  # 1000 values, k = 100
    x_hat = codec.roundtrip([x])[0]
    kept = x_hat != 0
    assert int(kept.sum()) == 100
    assert torch.equal(x_hat[kept], x[kept])  # values travel exactly
    assert x[kept].abs().min() >= x[~kept].abs().max()
    assert int((codecs.get("topk1")().roundtrip([x])[0] != 0).sum()) == 10


def test_error_feedback_carries_the_dropped_mass_to_the_next_round():
    book = MessageCodecs("topk10")
    d1 = torch.tensor([3.0, -2.0, 1.0, 0.5, 0, 0, 0, 0, 0, 0])  # 10 values: top-10% keeps one
    sent1 = book.send_difference("updates", [d1], 0, "server")[0]
    assert sent1.tolist() == [3.0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert book.residuals[("updates", 0, "server")][0].tolist() == [0, -2.0, 1.0, 0.5, 0, 0, 0, 0, 0, 0]
    sent2 = book.send_difference("updates", [torch.zeros(10)], 0, "server")[0]
    assert sent2.tolist() == [0, -2.0, 0, 0, 0, 0, 0, 0, 0, 0]  # last round's dropped -2 arrives now
    sent3 = book.send_difference("updates", [torch.tensor([0, 0, 0, 0.7, 0, 0, 0, 0, 0, 0])], 0, "server")[0]
    assert sent3.tolist() == pytest.approx([0, 0, 0, 1.2, 0, 0, 0, 0, 0, 0])  # 0.5 kept + 0.7 new beats 1.0
    # nothing is lost: everything sent plus what is still held equals everything meant to be sent
    total = sent1 + sent2 + sent3 + book.residuals[("updates", 0, "server")][0]
    assert torch.allclose(total, d1 + torch.tensor([0, 0, 0, 0.7, 0, 0, 0, 0, 0, 0]))
    # another stream (another sender) has its own residual
    other = book.send_difference("updates", [torch.tensor([0, 0, 5.0, 0, 0, 0, 0, 0, 0, 0])], 1, "server")[0]
    assert other.tolist() == [0, 0, 5.0, 0, 0, 0, 0, 0, 0, 0]


def _qsgd_mean_error(codec, x, draws):
    gen = torch.Generator().manual_seed(7)
    total = torch.zeros_like(x)
    for _ in range(draws):
        total += codec.roundtrip([x], gen)[0]
    return total / draws - x


def test_qsgd_is_unbiased_within_monte_carlo_error():
    codec = QSGD(levels=3)  # coarse: each value is far from its levels, so a bias would show
    x = torch.tensor([0.9, -0.55, 0.31, 0.0, 0.05, -0.77, 0.123, 1.0, -0.33, 0.6])
    draws = 4000
    # per value, the variance is at most (m/s)^2 / 4 with m = max|x| = 1: a 5-sigma bound on the mean
    bound = 5 * (1.0 / 3) / 2 / math.sqrt(draws)
    err = _qsgd_mean_error(codec, x, draws)
    assert err.abs().max() < bound
    # the draws really vary, and each is within one step of x
    gen = torch.Generator().manual_seed(1)
    a, b = codec.roundtrip([x], gen)[0], codec.roundtrip([x], gen)[0]
    assert not torch.equal(a, b)
    assert (a - x).abs().max() <= 1.0 / 3 + 1e-6


class _Nearest(QSGD):
    """QSGD's layout with deterministic rounding to the nearest level: biased."""

    def write(self, out, x, generator):
        flat = x.reshape(-1)
        scale = flat.abs().max().to(torch.float32)
        level = torch.round(flat.abs() / scale * self.levels)
        out.float32(scale.reshape(1))
        out.uints((flat < 0).numpy().astype("uint64"), 1)
        out.uints(level.numpy().astype("uint64"), self.level_bits)


def test_the_unbiasedness_check_catches_a_biased_quantiser():
    x = torch.tensor([0.9, -0.55, 0.31, 0.0, 0.05, -0.77, 0.123, 1.0, -0.33, 0.6])
    draws = 4000
    bound = 5 * (1.0 / 3) / 2 / math.sqrt(draws)
    assert _qsgd_mean_error(_Nearest(levels=3), x, draws).abs().max() > bound


def test_stochastic_codec_needs_a_generator():
    with pytest.raises(ValueError, match="generator"):
        codecs.get("qsgd8")().encode([torch.ones(3)])


# --------------------------------------------------------------------------- the run's book


def test_codec_names_and_labels():
    assert codec_names("int8") == dict.fromkeys(("global_model", "decoders", "updates", "control_variates"), "int8")
    names = codec_names({"updates": "topk1"})
    assert names["updates"] == "topk1" and names["global_model"] == "float32"
    assert is_default("float32") and is_default({"updates": "float32"}) and not is_default({"updates": "int8"})
    assert label("float16") == "float16"
    assert label({"updates": "topk1", "global_model": "float16"}) == "global_model=float16,updates=topk1"
    with pytest.raises(ValueError, match="allowed"):
        codec_names({"weights": "int8"})


def test_a_difference_only_codec_sends_whole_models_in_float32():
    book = MessageCodecs("topk1")
    state = [torch.randn(100)]
    assert book.codec("global_model", difference=False).name == "float32"
    assert book.codec("updates", difference=True).name == "topk1"
    assert book.bits("global_model", state, difference=False) == 3200
    assert book.bits("updates", state, difference=True) == 8 * math.ceil(1 * (32 + 7) / 8)
    assert torch.equal(book.send_state("global_model", state, "server", 0)[0], state[0])


def test_stochastic_messages_are_seeded_per_link():
    seen = []

    def generator(*purpose):
        seen.append(purpose)
        return torch.Generator().manual_seed(hash(purpose) % 2**31)

    book = MessageCodecs("qsgd4", generator)
    x = [torch.randn(50, generator=torch.Generator().manual_seed(0))]
    a = book.send_state("global_model", x, "server", 0)[0]
    b = book.send_state("global_model", x, "server", 1)[0]
    assert seen == [("codec", "global_model", "server", 0), ("codec", "global_model", "server", 1)]
    assert not torch.equal(a, b)
    assert torch.equal(a, book.send_state("global_model", x, "server", 0)[0])
