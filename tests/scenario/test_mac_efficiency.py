"""``links.rate.mac_efficiency``: a fixed-rate message of ``b`` bits takes ``b / (rate_bps * eta)``
on the air (checked against that closed form through the simulator); 1.0 leaves every rate as
it was; anything else with Shannon or MCS rates, or outside (0, 1], is one line naming the key."""

from __future__ import annotations

import pytest

from semnet.net.network import build_network
from semnet.scenario import validate
from semnet.sim import Message, Simulator
from tests.scenario.test_medium_keys import _with, refused_in_one_line


@pytest.mark.parametrize("keys, expected", [
    ({"links__rate": {"mode": "shannon", "mac_efficiency": 0.7}},
     "links.rate.mac_efficiency = 0.7: applies to mode fixed only"),
    ({"links__rate": {"mode": "mcs", "mac_efficiency": 0.9}},
     ("links.rate.mac_efficiency = 0.9: applies to mode fixed only (shannon's overhead is its backoff, mcs's its "
      "table); allowed with mode mcs: 1.0")),
    ({"links__aggregator__rate": {"mode": "shannon", "mac_efficiency": 0.5}},
     "links.aggregator.rate.mac_efficiency = 0.5: applies to mode fixed only"),
    ({"links__rate": {"mac_efficiency": 1.2}}, "links.rate.mac_efficiency = 1.2"),
    ({"links__rate": {"mac_efficiency": 0}}, "links.rate.mac_efficiency = 0"),
])
def test_bad_mac_efficiency_is_one_line(keys, expected, tmp_path, capsys):
    refused_in_one_line(_with(**keys), expected, tmp_path, capsys)


def _network(**keys):
    scenario = validate(_with(**keys))
    return build_network(scenario.topology, scenario.links, scenario.seed)


def test_the_default_leaves_every_rate_as_configured():
    net = _network(links__rate={"rate_bps": 3e6})
    users = {key: p.rate_bps for key, p in net.links.items() if net.aggregator not in key}
    aggregator = {key: p.rate_bps for key, p in net.links.items() if net.aggregator in key}
    assert set(users.values()) == {3e6} and set(aggregator.values()) == {10e6}


@pytest.mark.parametrize("medium", ["dedicated", "node_radio"])
def test_a_message_takes_its_bits_over_the_payload_rate(medium):
    eta, rate_bps, bits = 0.72, 24e6, 8 * 1472 * 20
    net = _network(links__rate={"rate_bps": rate_bps, "mac_efficiency": eta},
                   links__aggregator__rate={"rate_bps": 5e6, "mac_efficiency": 0.5},
                   links__latency_s=0.0, links__aggregator__latency_s=0.0, links__medium=medium)
    src, dst = net.image_links()[0]
    sim = Simulator(net, seed=0, compute_speed={})
    up = sim.send(Message(src, dst, "model", bits=bits))
    sim.env.run()
    assert up.value["t_end_s"] == pytest.approx(bits / (rate_bps * eta), rel=1e-12)  # 13.63 ms, not 9.81 ms
    down = sim.send(Message(net.aggregator, src, "model", bits=bits))
    start = sim.now_s
    sim.env.run()
    assert down.value["t_end_s"] - start == pytest.approx(bits / (5e6 * 0.5), rel=1e-12)
