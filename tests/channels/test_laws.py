"""Fading laws' statistics against closed forms, with seeded Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest

from semnet.errors import ScenarioError

from semnet.channels import make_fading

from .record_reference import _linear, capacity_of, law, outage_of, rate_outage_of  # noqa: E402  (one copy)


N = 200_000
KINDS = [("none", 0.0), ("rayleigh", 0.0), ("rician", 0.0), ("rician", 1.0), ("rician", 10.0)]


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.mark.parametrize(("kind", "k_factor"), KINDS)
def test_unit_mean_power_gain(kind, k_factor, rng):
    h = law(kind, k_factor).sample_numpy(N, rng)
    assert h.shape == (N,) and np.iscomplexobj(h)
    assert np.mean(np.abs(h) ** 2) == pytest.approx(1.0, abs=0.01)
    g = law(kind, k_factor).power_gain((4, 5), rng)
    assert g.shape == (4, 5) and g.dtype == np.float64 and np.all(g >= 0)


def test_rician_line_of_sight_mean_and_rayleigh_limit():
    k = 4.0
    h = law("rician", k).sample_numpy(N, np.random.default_rng(0))
    assert np.mean(h).real == pytest.approx(math.sqrt(k / (k + 1)), abs=0.01)
    assert abs(np.mean(h).imag) < 0.01
    # K = 0 is Rayleigh draw for draw
    a = law("rician", 0.0).power_gain(100, np.random.default_rng(5))
    b = law("rayleigh").power_gain(100, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    # Rayleigh power gain is exponential: variance 1
    g = law("rayleigh").power_gain(N, np.random.default_rng(1))
    assert np.var(g) == pytest.approx(1.0, abs=0.03)


def test_no_fading_is_deterministic():
    g = law("none").power_gain(10, None)
    np.testing.assert_array_equal(g, np.ones(10))
    assert outage_of(law("none"), 10.0, 9.0) == 0.0
    assert outage_of(law("none"), 10.0, 11.0) == 1.0


@pytest.mark.parametrize(("kind", "k_factor"), [("rayleigh", 0.0), ("rician", 0.0), ("rician", 2.0), ("rician", 10.0)])
@pytest.mark.parametrize(("snr_db", "threshold"), [(10.0, 3.0), (0.0, 0.5), (5.0, 4.0)])
def test_outage_probability_matches_monte_carlo(kind, k_factor, snr_db, threshold, rng):
    g = law(kind, k_factor).power_gain(N, rng)
    empirical = np.mean(g * _linear(snr_db) < threshold)
    p = outage_of(law(kind, k_factor), snr_db, threshold)
    assert 0.0 < p < 1.0
    assert p == pytest.approx(empirical, abs=0.005)


def test_outage_closed_forms():
    assert outage_of(law("rayleigh"), 0.0, 1.0) == pytest.approx(1 - math.exp(-1))
    assert outage_of(law("rician", 0.0), 0.0, 1.0) == pytest.approx(1 - math.exp(-1))
    # a strong line of sight makes deep fades rarer than Rayleigh
    ray = outage_of(law("rayleigh"), 10.0, 1.0)
    ric = outage_of(law("rician", 10.0), 10.0, 1.0)
    assert ric < ray / 10
    # vectorised over snr and monotone decreasing in snr
    p = outage_of(law("rician", 3.0), [0.0, 5.0, 10.0, 20.0], 1.0)
    assert p.shape == (4,) and np.all(np.diff(p) < 0)


def test_rate_outage_uses_two_to_the_rate_minus_one():
    for kind, k in [("rayleigh", 0.0), ("rician", 3.0)]:
        assert rate_outage_of(law(kind, k), 12.0, 2.0) == pytest.approx(
            outage_of(law(kind, k), 12.0, 3.0)
        )
    assert rate_outage_of(law("rayleigh"), 10.0, 0.0) == 0.0


@pytest.mark.parametrize(("kind", "k_factor"), KINDS)
@pytest.mark.parametrize("snr_db", [0.0, 15.0])
def test_ergodic_capacity_matches_monte_carlo(kind, k_factor, snr_db, rng):
    g = law(kind, k_factor).power_gain(N, rng)
    empirical = np.mean(np.log2(1.0 + g * _linear(snr_db)))
    assert capacity_of(law(kind, k_factor), snr_db) == pytest.approx(empirical, abs=0.015)


def test_ergodic_capacity_ordering_and_limits():
    awgn = capacity_of(law("none"), 10.0)
    assert awgn == pytest.approx(math.log2(11.0))
    ray = capacity_of(law("rayleigh"), 10.0)
    ric = capacity_of(law("rician", 5.0), 10.0)
    assert ray < ric < awgn  # Jensen: fading costs capacity, line of sight recovers some
    assert capacity_of(law("rician", 1e4), 10.0) == pytest.approx(awgn, abs=1e-3)
    # Rayleigh known value: e^1 E1(1) / ln 2 at 0 dB
    assert capacity_of(law("rayleigh"), 0.0) == pytest.approx(0.596347362 / math.log(2), rel=1e-8)
    # very low SNR: capacity ~ snr / ln 2, no overflow
    assert capacity_of(law("rayleigh"), -40.0) == pytest.approx(1e-4 / math.log(2), rel=1e-3)
    caps = capacity_of(law("rayleigh"), [0.0, 10.0, 20.0])
    assert caps.shape == (3,) and np.all(np.diff(caps) > 0)


def test_unknown_kind_lists_valid_kinds():
    with pytest.raises(ScenarioError, match=r"unknown channel 'nakagami'; allowed: none, rayleigh, rician"):
        make_fading("nakagami")


def test_awgn_is_an_alias_of_none():
    """The JSCC channel's old name for no fading is accepted by the network layer too."""
    assert law("awgn").power_gain(4, None).tolist() == [1.0] * 4
    assert outage_of(law("awgn"), 10.0, 9.0) == outage_of(law("none"), 10.0, 9.0) == 0.0
    assert capacity_of(law("awgn"), 10.0) == capacity_of(law("none"), 10.0)


def test_a_bad_k_factor_is_refused():
    with pytest.raises(ScenarioError, match=r"k_factor"):
        make_fading("rician", k_factor=-1.0)
