"""Rates and message airtime."""

from __future__ import annotations

import math

import numpy as np
import pytest

from semnet.channels import make_fading
from semnet.net.rate import TransmissionOutcome, plan_transmission, shannon_rate_bps, symbol_airtime_s


def test_shannon_rate_and_symbol_airtime():
    assert shannon_rate_bps(1e6, 1.0) == pytest.approx(1e6)
    assert shannon_rate_bps(2e6, 15.0) == pytest.approx(8e6)
    np.testing.assert_allclose(shannon_rate_bps(1e6, [0.0, 3.0]), [0.0, 2e6])
    # a 32x32x3 image at k/n = 1/12 is 256 complex uses
    assert symbol_airtime_s(256, 1e6) == pytest.approx(256e-6)
    np.testing.assert_allclose(symbol_airtime_s([0, 1000], 1e3), [0.0, 1.0])
    with pytest.raises(ValueError, match=r"bandwidth_hz must be > 0"):
        symbol_airtime_s(10, 0.0)
    with pytest.raises(ValueError, match=r"snr_linear must be >= 0"):
        shannon_rate_bps(1e6, -1.0)


def test_fixed_one_megabyte_at_ten_megabit_is_point_eight_seconds():
    outcome = plan_transmission(1_000_000 * 8, mode="fixed", rng=None, rate_bps=10e6)
    assert outcome == TransmissionOutcome(airtime_s=0.8, attempts=1, delivered=True)
    assert outcome.airtime_s == 0.8


def test_outcome_is_frozen():
    outcome = plan_transmission(100, mode="fixed", rng=None, rate_bps=1e3)
    with pytest.raises(AttributeError):
        outcome.airtime_s = 0.0  # type: ignore[misc]


def target_rate_bps(bandwidth_hz, snr_db, backoff):
    return backoff * bandwidth_hz * math.log2(1 + 10 ** (snr_db / 10))


@pytest.mark.parametrize("backoff", [0.3, 0.9, 1.0])
def test_shannon_without_fading_never_retransmits(backoff):
    bits = 25_000  # 3 packets of 12000, 12000, 1000 bits
    outcome = plan_transmission(
        bits, mode="shannon", rng=None, bandwidth_hz=1e6, snr_db=7.0, backoff=backoff, packet_bits=12_000
    )
    assert outcome.attempts == 3
    assert outcome.delivered
    assert outcome.airtime_s == pytest.approx(bits / target_rate_bps(1e6, 7.0, backoff))


def test_shannon_certain_outage_is_not_delivered():
    # backoff > 1 asks for more than the (unfaded) capacity: every attempt fails
    lost = plan_transmission(
        24_000, mode="shannon", rng=None, bandwidth_hz=1e6, snr_db=10.0, backoff=1.5, max_retries=0
    )
    assert lost.delivered is False
    assert lost.attempts == 2
    assert lost.airtime_s == pytest.approx(24_000 / target_rate_bps(1e6, 10.0, 1.5))
    retried = plan_transmission(
        24_000, mode="shannon", rng=None, bandwidth_hz=1e6, snr_db=10.0, backoff=1.5, max_retries=3
    )
    assert not retried.delivered and retried.attempts == 8
    assert retried.airtime_s == pytest.approx(4 * lost.airtime_s)


def test_rayleigh_with_no_retries_and_low_snr_loses_messages():
    outcomes = [
        plan_transmission(
            120_000, mode="shannon", rng=np.random.default_rng(s), bandwidth_hz=1e6, snr_db=0.0,
            fading="rayleigh", backoff=1.0, max_retries=0,
        )
        for s in range(20)
    ]
    assert not any(o.delivered for o in outcomes)  # 10 packets each at ~63 % outage
    assert all(o.attempts == 10 for o in outcomes)


@pytest.mark.parametrize(("fading", "k_factor"), [("rayleigh", 0.0), ("rician", 3.0)])
@pytest.mark.parametrize("backoff", [0.5, 0.9])
def test_fading_packet_failure_rate_matches_outage_probability(fading, k_factor, backoff):
    packets, packet_bits, snr_db = 100_000, 100, 10.0
    outcome = plan_transmission(
        packets * packet_bits, mode="shannon", rng=np.random.default_rng(42), bandwidth_hz=1e6,
        snr_db=snr_db, fading=make_fading(fading, **({"k_factor": k_factor} if fading == "rician" else {})),
        backoff=backoff,
        packet_bits=packet_bits, max_retries=1,
    )
    first_round_failures = outcome.attempts - packets
    law = make_fading(fading, **({"k_factor": k_factor} if fading == "rician" else {}))
    threshold = math.expm1(backoff * math.log2(1 + 10 ** (snr_db / 10)) * math.log(2.0))
    expected = float(law.power_gain_cdf(threshold / 10 ** (snr_db / 10)))
    assert first_round_failures / packets == pytest.approx(expected, abs=0.006)
    # airtime counts every attempt at the target rate
    rate = target_rate_bps(1e6, snr_db, backoff)
    assert outcome.airtime_s == pytest.approx(outcome.attempts * packet_bits / rate)


def test_retries_raise_delivery_and_are_seeded():
    kwargs = dict(mode="shannon", bandwidth_hz=1e6, snr_db=5.0, fading="rayleigh", backoff=0.8)
    a = plan_transmission(240_000, rng=np.random.default_rng(7), max_retries=20, **kwargs)
    b = plan_transmission(240_000, rng=np.random.default_rng(7), max_retries=20, **kwargs)
    assert a == b
    assert a.delivered and a.attempts > 20  # 20 packets, some retransmitted
    assert a.airtime_s > 240_000 / target_rate_bps(1e6, 5.0, 0.8)


def test_empty_message_costs_nothing():
    outcome = plan_transmission(
        0, mode="shannon", rng=np.random.default_rng(0), bandwidth_hz=1e6, snr_db=5.0, fading="rayleigh"
    )
    assert outcome == TransmissionOutcome(0.0, 0, True)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mode": "fixed"}, r"needs rate_bps > 0, got None"),
        ({"mode": "fixed", "rate_bps": 0.0}, r"rate_bps > 0, got 0.0"),
        ({"mode": "fixed", "rate_bps": 1e6, "bits": -1}, r"bits must be >= 0, got -1"),
        ({"mode": "tcp"}, r"unknown mode 'tcp'; valid modes: fixed, shannon"),
        ({"mode": "shannon", "snr_db": 5.0}, r"needs bandwidth_hz > 0"),
        ({"mode": "shannon", "bandwidth_hz": 1e6}, r"needs a finite snr_db"),
        ({"mode": "shannon", "bandwidth_hz": 1e6, "snr_db": 5.0, "fading": "x"}, r"unknown fading 'x'"),
        ({"mode": "shannon", "bandwidth_hz": 1e6, "snr_db": 5.0, "backoff": 0.0}, r"backoff must be finite and > 0"),
        ({"mode": "shannon", "bandwidth_hz": 1e6, "snr_db": 5.0, "max_retries": -1}, r"max_retries"),
        ({"mode": "shannon", "bandwidth_hz": 1e6, "snr_db": 5.0, "packet_bits": 0}, r"packet_bits"),
        ({"mode": "shannon", "bandwidth_hz": 1e6, "snr_db": 5.0, "fading": "rayleigh"}, r"needs an rng"),
    ],
)
def test_programmer_errors_raise_value_error(kwargs, match):
    kwargs = {"bits": 1000, "rng": None, **kwargs}
    with pytest.raises(ValueError, match=match):
        plan_transmission(**kwargs)
