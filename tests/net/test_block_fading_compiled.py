"""The compiled packet loop of static block-fading links (semnet.net.block_fading) gives
the numpy reference's bits: the same normals, the same outage decisions, the same
outcomes and events, and leaves every link's generator where the reference leaves it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from semnet.channels import make_fading
from semnet.channels.laws.rayleigh import Rayleigh
from semnet.net import block_fading_compiled
from semnet.net.block_fading import BlockFadingLink, outage_threshold
from semnet.net.network import LinkParams, build_network
from semnet.net.rate import plan_transmission
from semnet.scenario.schema import LinksSpec, RateSpec
from semnet.scenario.topology import topology_spec
from tests.net.message_rounds import play_message_rounds

pytestmark = pytest.mark.skipif(block_fading_compiled.block_message is None,
                                reason="numba is not installed: only the numpy loop runs")
_LN2 = math.log(2.0)


def _params(fading="rayleigh", k_factor=0.0, snr_db=10.0, backoff=0.5, packet_bits=12000, max_retries=4,
            bandwidth_hz=1e6) -> LinkParams:
    return LinkParams(src=0, dst=1, snr_db=snr_db, distance_m=10.0, bandwidth_hz=bandwidth_hz, latency_s=0.0,
                      fading=fading, k_factor=k_factor, rate_mode="shannon", rate_bps=0.0, backoff=backoff,
                      packet_bits=packet_bits, max_retries=max_retries,
                      fading_model=make_fading(fading, **({"k_factor": k_factor} if fading == "rician" else {})))


def _reference(bits, p: LinkParams, rng):
    return plan_transmission(bits, mode="shannon", rng=rng, bandwidth_hz=p.bandwidth_hz, snr_db=p.snr_db,
                             fading=p.fading_model, backoff=p.backoff, packet_bits=p.packet_bits,
                             max_retries=p.max_retries)


@pytest.mark.parametrize("count", [1, 7, 1000, 400_000])
def test_the_compiled_normals_are_numpys_and_the_rest_is_handed_back(count):
    ours, numpys = np.random.default_rng(count), np.random.default_rng(count)
    raw = ours.bit_generator.random_raw(count + count // 10 + 20)
    out = np.empty(count)
    used = block_fading_compiled.standard_normals(raw, out)
    ours.bit_generator.advance(used - raw.size)
    assert np.array_equal(out.view(np.int64), numpys.standard_normal(count).view(np.int64))
    assert ours.bit_generator.state == numpys.bit_generator.state
    if count == 400_000:  # the wedge (extra draws) and the tail beyond r = 3.654 were both taken
        assert used > count and np.abs(out).max() > 3.6541528853610088
    assert block_fading_compiled.standard_normals(raw[:count // 2], out) == -1  # too few draws: says so


@pytest.mark.parametrize(("fading", "k_factor"), [("rayleigh", 0.0), ("rician", 3.0), ("rician", 0.25)])
def test_the_compiled_power_gain_is_numpys(fading, k_factor):
    law = _params(fading, k_factor).fading_model
    x, y = np.random.default_rng(3).standard_normal((2, 20_000))
    theirs = law.power_gain(20_000, np.random.default_rng(3))  # draws x, then y
    ours = np.array([block_fading_compiled.power_gain(*law.affine_gain(), a, b) for a, b in zip(x, y)])
    assert np.array_equal(ours.view(np.int64), theirs.view(np.int64))


@pytest.mark.parametrize(("snr_db", "backoff", "bandwidth_hz"),
                         [(10.0, 0.5, 1e6), (0.0, 1.0, 20e6), (-5.0, 0.3, 180e3), (45.0, 0.9, 1e6), (10.0, 1.7, 1e6)])
def test_the_outage_threshold_is_the_step_of_numpys_test(snr_db, backoff, bandwidth_hz):
    snr = 10.0 ** (snr_db / 10.0)
    target = backoff * bandwidth_hz * math.log1p(snr) / _LN2
    x_star = outage_threshold(bandwidth_hz, snr, target)

    def fails(x):  # the reference's test (semnet.net.rate._plan_shannon), x = |h|^2 snr
        return bandwidth_hz * np.log1p(np.asarray(x, dtype=float)) / _LN2 < target

    # closed form: capacity B log2(1 + x) equals R at x = 2^(R/B) - 1 = (1 + snr)^backoff - 1
    assert x_star == pytest.approx((1.0 + snr) ** backoff - 1.0, rel=1e-12)
    assert fails(np.nextafter(x_star, 0.0)) and not fails(x_star)
    rng = np.random.default_rng(0)
    # floats up to 100,000 ulps either side, and a wide log-normal spread
    ulps = np.float64(x_star).view(np.int64) + rng.integers(-100_000, 100_000, 50_000)
    spread = np.concatenate([ulps.view(np.float64), x_star * np.exp(rng.normal(0.0, 3.0, 50_000)), [0.0]])
    assert np.array_equal(spread < x_star, fails(spread))


@pytest.mark.parametrize(("fading", "k_factor", "snr_db", "max_retries"),
                         [("rayleigh", 0.0, 10.0, 4), ("rician", 3.0, 6.0, 2), ("rayleigh", 0.0, 0.0, 12)])
def test_compiled_messages_equal_the_references(fading, k_factor, snr_db, max_retries):
    """Message after message on one generator each: the same outcome, the same state."""
    p = _params(fading, k_factor, snr_db=snr_db, backoff=0.9, max_retries=max_retries)
    ours, theirs = np.random.default_rng(5), np.random.default_rng(5)
    link = BlockFadingLink.of(p, ours)
    assert link is not None
    outcomes = []
    for bits in [800_000, 0, 1, 12_000, 12_001, 23_999, 400_000, 8, 2_400_000] * 6:
        outcome = link.send(bits, ours)
        assert outcome == _reference(bits, p, theirs)
        assert ours.bit_generator.state == theirs.bit_generator.state
        outcomes.append((math.ceil(bits / p.packet_bits), outcome))
    assert any(not o.delivered for _, o in outcomes)  # losses, and deliveries after retransmissions
    assert any(o.delivered and o.attempts > packets > 1 for packets, o in outcomes)


def test_the_compiled_loops_failures_follow_the_closed_form_outage():
    """Rayleigh: a packet's first attempt fails with probability 1 - exp(-x_star / snr)."""
    packets, p = 100_000, _params(snr_db=10.0, backoff=0.5, packet_bits=100, max_retries=1)
    outcome = BlockFadingLink.of(p, rng := np.random.default_rng(42)).send(packets * 100, rng)
    expected = -math.expm1(-((1.0 + 10.0) ** 0.5 - 1.0) / 10.0)  # ~ 0.21
    assert (outcome.attempts - packets) / packets == pytest.approx(expected, abs=0.005)


def test_the_reference_serves_what_the_compiled_loop_does_not_cover():
    class Tilted(Rayleigh):  # a law that draws otherwise: its own sample_numpy
        def sample_numpy(self, size, rng):
            return 2.0 * super().sample_numpy(size, rng)

    rng = np.random.default_rng(0)
    assert BlockFadingLink.of(_params("none"), rng) is None  # nothing random
    assert BlockFadingLink.of(_params(), np.random.Generator(np.random.Philox(0))) is None  # cannot step back
    tilted = _params()
    object.__setattr__(tilted, "fading_model", Tilted())
    assert BlockFadingLink.of(tilted, rng) is None
    link = BlockFadingLink.of(_params(), rng)
    state = rng.bit_generator.state
    assert link.send(1000.5, rng) is None and rng.bit_generator.state == state  # not whole bits: nothing drawn


@pytest.mark.parametrize("fading", ["rayleigh", "rician"])
def test_simulated_events_are_the_references_byte_for_byte(monkeypatch, fading):
    """Static Shannon-rate links under block fading, messages of many sizes, losses
    included: the compiled loop and the numpy loop write the same events and leave every
    link queue (its generator included) in the same state."""

    def play(compiled: bool):
        if not compiled:
            monkeypatch.setattr(block_fading_compiled, "block_message", None)
        net = build_network(topology_spec(kind="ring", num_users=6, area_m=300.0),
                            LinksSpec(fading=fading, k_factor=3.0, rate=RateSpec(mode="shannon", backoff=0.8,
                                                                                 max_retries=1)), seed=1)
        records, sim = play_message_rounds(net, 15)
        taken = [q.block is not None and q.block is not False for q in sim._queues.values() if q.used]
        monkeypatch.undo()
        return records, sim.state()["queues"], taken

    fast, fast_queues, fast_taken = play(compiled=True)
    slow, slow_queues, slow_taken = play(compiled=False)
    assert all(fast_taken) and not any(slow_taken)  # each run took the path it was meant to
    assert [json.dumps(r, sort_keys=True) for r in fast] == [json.dumps(r, sort_keys=True) for r in slow]
    assert any(r["outcome"] == "outage" for r in fast) and sum(r["attempts"] for r in fast) > 2000
    assert repr(fast_queues) == repr(slow_queues)
