"""Link adaptation with the CQI table (links.rate.mode: mcs) against closed forms: the
entry and rate on a static AWGN link, attempts below the threshold, the Rayleigh
per-attempt failure probability 1 - exp(-theta / snr), and one message of lag on a
channel that changes over time."""

from __future__ import annotations

import math

import numpy as np
import pytest

from semnet.net.cqi_table import CQI_TABLE
from semnet.net.network import build_network
from semnet.net.rate import plan_transmission
from semnet.scenario.schema import ChannelSpec, LinksSpec, MobilitySpec, RateSpec
from semnet.scenario.topology import topology_spec
from semnet.sim import Message, Simulator

# TS 38.214 Table 5.2.2.1-2 efficiencies and the Kawser et al. (2012) 10 % BLER thresholds (dB)
EFFICIENCY = (0.1523, 0.2344, 0.3770, 0.6016, 0.8770, 1.1758, 1.4766, 1.9141, 2.4063, 2.7305, 3.3223, 3.9023,
              4.5234, 5.1152, 5.5547)
THRESHOLD_DB = (-6.7, -4.7, -2.3, 0.2, 2.4, 4.3, 5.9, 8.1, 10.3, 11.7, 14.1, 16.3, 18.7, 21.0, 22.7)


def entry_for(known_db: float, margin_db: float = 0.0) -> int:
    """The CQI the standard's table gives: the fastest whose threshold <= known - margin (1 below all)."""
    usable = [i + 1 for i, t in enumerate(THRESHOLD_DB) if t <= known_db - margin_db]
    return usable[-1] if usable else 1


def test_the_reference_is_the_shipped_table():
    assert [(e.efficiency_bits, e.threshold_snr_db) for e in CQI_TABLE] == list(zip(EFFICIENCY, THRESHOLD_DB))


@pytest.mark.parametrize("snr_db, margin_db, cqi", [(9.0, 0.0, 8), (9.0, 1.0, 7), (15.0, 0.0, 11), (23.0, 0.0, 15),
                                                   (-3.0, 0.0, 2), (-9.0, 0.0, 1)])
def test_a_static_awgn_link_between_two_thresholds_sends_at_the_tables_rate(snr_db, margin_db, cqi):
    bits, packet = 1_000_000, 12_000
    out = plan_transmission(bits, mode="mcs", rng=None, bandwidth_hz=2e6, snr_db=snr_db, packet_bits=packet,
                            mcs_margin_db=margin_db)
    packets = math.ceil(bits / packet)
    if snr_db >= THRESHOLD_DB[cqi - 1]:  # at or above the entry's threshold: every attempt passes
        assert out.delivered and out.attempts == packets
        assert out.airtime_s == pytest.approx(bits / (EFFICIENCY[cqi - 1] * 2e6), rel=1e-12)
    else:  # below the lowest entry: it still sends at CQI 1, and every attempt fails
        assert cqi == 1 and not out.delivered and out.attempts == 5 * packets
        assert out.airtime_s == pytest.approx(5 * bits / (EFFICIENCY[0] * 2e6), rel=1e-12)


@pytest.mark.parametrize("fading", ["none", "rician"])
def test_an_attempt_below_the_threshold_always_fails(fading):
    # known 12 dB picks CQI 10 (11.7 dB); the link is at 11 dB: unfaded, every attempt fails.
    # Rician with K = 1e6 (|h|^2 within a hair of 1): the same
    from semnet.channels import make_fading

    model = make_fading("rician", k_factor=1e6) if fading == "rician" else "none"
    out = plan_transmission(240_000, mode="mcs", rng=np.random.default_rng(0), bandwidth_hz=1e6, snr_db=11.0,
                            fading=model, packet_bits=12_000, max_retries=3, known_snr_db=12.0)
    assert not out.delivered and out.attempts == 20 * 4
    assert out.airtime_s == pytest.approx(4 * 240_000 / 2.7305e6, rel=1e-12)
    # at the threshold itself it passes
    ok = plan_transmission(240_000, mode="mcs", rng=None, bandwidth_hz=1e6, snr_db=11.7, max_retries=3,
                           known_snr_db=12.0)
    assert ok.delivered and ok.attempts == 20


@pytest.mark.parametrize("snr_db", [15.0, 5.0])
def test_rayleigh_attempts_fail_with_probability_one_minus_exp_of_theta_over_snr(snr_db):
    packets = 20_000
    out = plan_transmission(12_000 * packets, mode="mcs", rng=np.random.default_rng(3), bandwidth_hz=1e6,
                            snr_db=snr_db, fading="rayleigh", packet_bits=12_000, max_retries=10_000)
    theta = 10 ** (THRESHOLD_DB[entry_for(snr_db) - 1] / 10)
    p = 1 - math.exp(-theta / 10 ** (snr_db / 10))
    assert 0.2 < p < 0.8  # the check means something
    # attempts until success are geometric: failures / attempts estimates p
    p_hat = (out.attempts - packets) / out.attempts
    assert p_hat == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) ** 2 / packets))
    # the airtime is every attempt at the entry's rate
    assert out.airtime_s == pytest.approx(out.attempts * 12_000 / (EFFICIENCY[entry_for(snr_db) - 1] * 1e6))


def test_on_a_channel_over_time_the_entry_follows_the_previous_messages_snr():
    """One-packet messages, no retries, on a mobile shadowed Rayleigh link, no interference:
    message m is sent with the entry of the large-scale SNR at message m-1's start (its own
    for the first), and it is lost with probability 1 - exp(-theta_m / snr(t_m))."""
    top = topology_spec(kind="complete", num_users=2, area_m=100.0,
                        mobility=MobilitySpec(model="gauss_markov", speed_mps=(1.0, 2.0), step_s=1.0))
    links = LinksSpec(fading="rayleigh", rate=RateSpec(mode="mcs", packet_bits=1000, max_retries=0),
                      snr_min_db=-10.0, snr_max_db=40.0,
                      channel=ChannelSpec(time_correlation="gauss_markov", speed_mps=1.0, shadowing_std_db=6.0))
    net = build_network(top, links, seed=0)
    records: list[dict] = []
    sim = Simulator(net, seed=0, compute_speed={u: 100.0 for u in net.users} | {net.aggregator: 100.0},
                    sink=records.append)
    queue = sim._queues[(0, 1)]
    lost, expected, count, previous_db, lagged = 0, 0.0, 4000, None, 0
    for m in range(count):
        t = 0.3 * m + 0.1
        sim.env.run(until=t)
        snr_db = queue.fading.snr_db(t)
        cqi = entry_for(snr_db if previous_db is None else previous_db)
        record, _, delivered = sim._submit(Message(0, 1, "model", 1000), None, need_record=True)
        assert record["cqi"] == cqi
        lagged += cqi != entry_for(snr_db)
        lost += not delivered
        expected += 1 - math.exp(-10 ** (THRESHOLD_DB[cqi - 1] / 10) / 10 ** (snr_db / 10))
        previous_db = snr_db
    p = expected / count
    assert 0.05 < p < 0.8 and lagged > count // 20  # the channel moves enough for the lag to show
    assert lost / count == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / count))
