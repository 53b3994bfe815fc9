"""The network's physical parts are registered: a plugin adds a path-loss law or a
mobility model without editing semnet, a scenario names it, and the network built from
that scenario uses it; a name that no registry holds is a one-line error."""

import math
import sys

import numpy as np
import pytest

from semnet import registry
from semnet.errors import ScenarioError
from semnet.net.network import AGGREGATOR, build_network
from semnet.scenario import validate

PLUGIN = '''
import numpy as np
from semnet.net.mobility import Mobility
from semnet.net.pathloss import PathLoss
from semnet.registry import mobilities, path_losses

@path_losses.register("{name}_friis", "free space: SNR = P - N - 20 log10(d)")
class Friis(PathLoss):
    def __init__(self, tx_power_dbm=20.0, noise_power_dbm=-90.0):
        self.tx_power_dbm, self.noise_power_dbm = tx_power_dbm, noise_power_dbm

    def snr_db(self, distance_m, *, los, to_aggregator):
        return self.tx_power_dbm - self.noise_power_dbm - 20.0 * np.log10(np.maximum(distance_m, 1.0))

@mobilities.register("{name}_drift", "every user drifts east at the slowest speed")
class Drift(Mobility):
    def _step(self, pos):
        return np.clip(pos + [self.v_min * self.step_s, 0.0], 0.0, self.area_m)
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """A plugin module on sys.path registering a path loss and a mobility model."""
    name = f"netplugin_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(PLUGIN.format(name=name))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    registry.path_losses.remove(f"{name}_friis")
    registry.mobilities.remove(f"{name}_drift")
    sys.modules.pop(name, None)


def _scenario(plugin, **links):
    return validate({
        "plugins": [plugin],
        "topology": {"kind": "ring", "num_users": 4, "area_m": 100.0, "aggregator_position_m": [50.0, 50.0],
                     "mobility": {"model": f"{plugin}_drift", "speed_mps": [2.0, 2.0], "step_s": 1.0}},
        "links": {"snr_min_db": -50.0, "snr_max_db": 100.0, "overrides": [],
                  "path_loss": {"model": f"{plugin}_friis", "tx_power_dbm": 10.0, "noise_power_dbm": -80.0},
                  **links},
    })


def test_a_plugin_path_loss_and_mobility_drive_the_network(plugin):
    scenario = _scenario(plugin)
    net = build_network(scenario.topology, scenario.links, seed=0)
    large = net.channel.large
    assert large.mobility.model == f"{plugin}_drift"
    start = large.mobility.positions(0).copy()
    # the plugin's mobility: 2 m east per second, clipped at the wall
    assert np.allclose(large.mobility.positions(3), np.clip(start + [6.0, 0.0], 0.0, 100.0))
    # the plugin's law, in closed form, on every link at every grid time (no shadowing)
    for k in (0, 3):
        pos = {u: large.mobility.positions(k)[u] for u in net.users} | {AGGREGATOR: np.array([50.0, 50.0])}
        for i, (src, dst) in enumerate(large.keys):
            d = math.dist(pos[src], pos[dst])
            assert large.row(k)[i] == pytest.approx(10.0 + 80.0 - 20.0 * math.log10(max(d, 1.0)), abs=1e-9)


def test_a_plugin_name_is_checked_against_the_registry(plugin):
    with pytest.raises(ScenarioError) as info:
        validate({"topology": {"mobility": {"model": "teleport"}}}, source="s.yaml")
    message = str(info.value)
    assert message.startswith("s.yaml: topology.mobility.model = 'teleport': unknown mobility model; allowed: static, ")
    assert "\n" not in message
    with pytest.raises(ScenarioError) as info:
        validate({"plugins": [plugin], "links": {"path_loss": {"model": "friis"}}})
    assert f"unknown path loss model; allowed: log_distance, umi_street_canyon, {plugin}_friis" in str(info.value)


@pytest.mark.parametrize("key, value, kind", [
    ("links.channel.time_correlation", "brownian", "time correlation"),
    ("links.medium", "mesh", "medium"),
])
def test_every_new_registry_is_checked_when_a_scenario_loads(key, value, kind):
    section, *rest = key.split(".")
    data = value
    for part in reversed(rest):
        data = {part: data}
    with pytest.raises(ScenarioError) as info:
        validate({section: data})
    allowed = ", ".join(registry.ALL[{"time correlation": "time_correlations", "medium": "media"}[kind]].names())
    assert f"{key} = {value!r}: unknown {kind}; allowed: {allowed}" in str(info.value)


def test_semnet_list_shows_the_new_kinds(capsys):
    from semnet.cli.main import main

    for what, names in [("path_losses", ["log_distance", "umi_street_canyon"]), ("shadowings", ["gudmundson"]),
                        ("mobilities", ["static", "random_waypoint", "gauss_markov"]),
                        ("time_correlations", ["independent", "gauss_markov", "jakes"]),
                        ("media", ["dedicated", "node_radio", "cell"]),
                        ("schedulers", ["tdma", "ofdma", "proportional_fair"])]:
        assert main(["list", what]) == 0
        listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
        assert listed == names, what
