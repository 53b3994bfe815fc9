"""``links.medium`` and the energy keys: bad input is one line naming the key and what
is allowed, from ``validate`` with exit status 2."""

from __future__ import annotations

import pytest
import yaml

from semnet.cli.main import EXIT_USER_ERROR, main
from semnet.errors import ScenarioError
from semnet.net.network import MediumSettings, build_network
from semnet.scenario import validate
from tests.cli.conftest import exchange_scenario, with_key


def _with(**keys) -> dict:
    raw = exchange_scenario()
    for dotted, value in keys.items():
        raw = with_key(raw, dotted.replace("__", "."), value)
    return raw


def refused_in_one_line(raw: dict, expected: str, tmp_path, capsys) -> None:
    """``validate`` refuses scenario ``raw`` with ``expected`` in its message, and
    ``semnet validate`` with exit status 2 and that one line."""
    with pytest.raises(ScenarioError) as info:
        validate(raw)
    assert expected in str(info.value)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["validate", str(path)]) == EXIT_USER_ERROR
    [line] = capsys.readouterr().err.splitlines()
    assert expected in line


@pytest.mark.parametrize("keys, expected", [
    ({"links__medium": "radio"}, "links.medium = 'radio': unknown medium; allowed: dedicated, node_radio, cell"),
    ({"links__scheduler": "tdma"}, "links.scheduler = 'tdma': applies to medium cell only (medium is dedicated); "
                                   "allowed: null"),
    ({"links__medium": "node_radio", "links__downlink": "unicast"},
     "links.downlink = 'unicast': applies to medium cell only (medium is node_radio)"),
    ({"links__medium": "cell", "links__scheduler": "fifo"},
     "links.scheduler = 'fifo': unknown scheduler; allowed: tdma, ofdma, proportional_fair"),
    ({"links__medium": "cell", "links__slot_s": 0.01}, "links.slot_s = 0.01: applies to scheduler proportional_fair only"),
    ({"links__medium": "cell", "links__scheduler": "proportional_fair", "links__slot_s": 0.01,
      "links__pf_window_s": 0.001}, "links.pf_window_s = 0.001: must be >= slot_s = 0.01"),
    ({"simulation__energy": {"tx_power_w": -1}}, "simulation.energy.tx_power_w = -1: Input should be greater than or "
                                                 "equal to 0"),
    ({"simulation__energy": {"aggregator": {"rx_watts": 1}}}, "unknown key 'simulation.energy.aggregator.rx_watts'"),
    ({"simulation__compute__joules_per_sample": -0.1}, "simulation.compute.joules_per_sample = -0.1"),
    ({"simulation__compute__per_node_joules_per_sample": {9: 0.1}},
     "simulation.compute.per_node_joules_per_sample = 9: not a node; allowed 0..3"),
])
def test_bad_medium_and_energy_keys_are_one_line(keys, expected, tmp_path, capsys):
    refused_in_one_line(_with(**keys), expected, tmp_path, capsys)


def test_good_keys_validate_and_reach_the_network():
    scenario = validate(_with(links__medium="cell", links__scheduler="proportional_fair", links__slot_s=0.002))
    net = build_network(scenario.topology, scenario.links, scenario.seed)
    assert net.medium == MediumSettings(kind="cell", scheduler="proportional_fair", downlink="broadcast",
                                        slot_s=0.002, pf_window_s=0.1)
    default = validate(exchange_scenario())
    assert build_network(default.topology, default.links, 0).medium == MediumSettings()  # dedicated


def test_a_broadcast_of_shannon_packets_on_a_channel_over_time_is_refused(tmp_path, capsys):
    raw = _with(links__medium="cell", links__aggregator={"rate": {"mode": "shannon"}},
                links__channel={"time_correlation": "gauss_markov"}, links__fading="rayleigh")
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["validate", str(path)]) == EXIT_USER_ERROR
    [line] = capsys.readouterr().err.splitlines()
    assert "links.downlink = 'broadcast'" in line and "unicast" in line
    raw["links"]["downlink"] = "unicast"
    path.write_text(yaml.safe_dump(raw))
    assert main(["validate", str(path)]) == 0
