"""What moves the costs of model messages and what moves only quality (the claims of
docs/scenario-reference.md#what-moves-costs), checked on the quickstart's links against
the closed forms: fixed-rate airtime b / R, Shannon airtime b / (backoff B log2(1 + snr))."""

import math
from pathlib import Path

import pytest

from semnet.net.network import AGGREGATOR, build_network
from semnet.net.rate import plan_transmission
from semnet.scenario import apply_overrides, read_yaml, validate

QUICKSTART = read_yaml(Path(__file__).resolve().parents[2] / "scenarios" / "quickstart.yaml")
BITS = 8 * 1_000_000  # a 1 MB model message
PATH_LOSS_LINK = (1, 2)  # a quickstart link without an override: SNR from path loss
OVERRIDE_LINK = (0, 1)  # quickstart's overrides: 0 -> 1 at 0 dB


def network(*overrides: str):
    scenario = validate(apply_overrides(QUICKSTART, list(overrides)))
    return build_network(scenario.topology, scenario.links, scenario.seed)


def airtime_s(link) -> float:
    outcome = plan_transmission(BITS, mode=link.rate_mode, rng=None, rate_bps=link.rate_bps,
                                bandwidth_hz=link.bandwidth_hz, snr_db=link.snr_db, fading="none",
                                backoff=link.backoff, packet_bits=link.packet_bits, max_retries=link.max_retries)
    assert outcome.delivered
    return outcome.airtime_s


def shannon_airtime_s(snr_db: float, bandwidth_hz: float = 1.0e6, backoff: float = 0.5) -> float:
    return BITS / (backoff * bandwidth_hz * math.log2(1 + 10 ** (snr_db / 10)))


def test_the_snr_offset_moves_every_user_link_overrides_included():
    low, high = network("links.snr_offset_db=-6"), network("links.snr_offset_db=6")
    for link in (PATH_LOSS_LINK, OVERRIDE_LINK):
        assert high.link(*link).snr_db - low.link(*link).snr_db == pytest.approx(12.0)
    assert high.link(*OVERRIDE_LINK).snr_db == pytest.approx(6.0)


def test_with_fixed_rates_the_snr_offset_moves_no_airtime():
    for offset in (-6, 0, 6):
        net = network(f"links.snr_offset_db={offset}")
        assert airtime_s(net.link(*PATH_LOSS_LINK)) == BITS / 2.0e7  # quickstart: 20 Mbit/s, whatever the SNR
        assert airtime_s(net.link(0, AGGREGATOR)) == BITS / 1.0e7  # its aggregator: 10 Mbit/s


def test_with_shannon_rates_the_airtime_follows_the_snr():
    times = {}
    for offset in (-6, 6):
        net = network("links.rate.mode=shannon", f"links.snr_offset_db={offset}")
        link = net.link(*PATH_LOSS_LINK)
        assert airtime_s(link) == pytest.approx(shannon_airtime_s(link.snr_db), rel=1e-9)
        times[offset] = airtime_s(link)
    assert times[-6] > 2 * times[6]


def test_the_aggregator_keeps_its_own_rate_and_its_fixed_snr():
    # links.rate is the user links' rate: the aggregator's links take links.aggregator.rate
    net = network("links.rate.mode=shannon", "links.snr_offset_db=6")
    up, down = net.link(0, AGGREGATOR), net.link(AGGREGATOR, 0)
    assert (up.rate_mode, up.rate_bps, down.rate_mode) == ("fixed", 1.0e7, "fixed")
    assert up.snr_db == 10.0  # links.aggregator.snr_db is used as given: the offset does not move it
    # Shannon aggregator rates with the SNR from path loss follow the offset like a user link
    moved = [network("links.aggregator.rate.mode=shannon", "links.aggregator.snr_db=null", f"links.snr_offset_db={o}")
             for o in (-6, 6)]
    assert moved[1].link(0, AGGREGATOR).snr_db - moved[0].link(0, AGGREGATOR).snr_db == pytest.approx(12.0)
    assert airtime_s(moved[0].link(0, AGGREGATOR)) > airtime_s(moved[1].link(0, AGGREGATOR))


def test_under_mobility_fixed_snrs_stay_fixed_and_path_loss_snrs_move():
    net = network("topology.mobility.model=random_waypoint", "topology.mobility.speed_mps=[0.5, 2.0]",
                  "links.channel.comparison_states=32", "links.channel.comparison_step_s=5.0")
    assert set(net.snr_samples_db(*OVERRIDE_LINK)) == {0.0}  # links.overrides[].snr_db: fixed
    assert set(net.snr_samples_db(0, AGGREGATOR)) == {10.0}  # links.aggregator.snr_db: fixed
    moving = net.snr_samples_db(*PATH_LOSS_LINK)
    assert max(moving) - min(moving) > 1.0  # the distance, and with it the path-loss SNR, changes
    free = network("topology.mobility.model=random_waypoint", "links.aggregator.snr_db=null",
                   "links.channel.comparison_states=32", "links.channel.comparison_step_s=5.0")
    assert len(set(free.snr_samples_db(0, AGGREGATOR))) > 1


def test_bandwidth_moves_model_airtime_only_at_shannon_rates():
    for mode, ratio in (("fixed", 1.0), ("shannon", 0.5)):
        narrow, wide = (network(f"links.rate.mode={mode}", f"links.bandwidth_hz={b}") for b in (1.0e6, 2.0e6))
        assert airtime_s(wide.link(*PATH_LOSS_LINK)) == pytest.approx(ratio * airtime_s(narrow.link(*PATH_LOSS_LINK)))
