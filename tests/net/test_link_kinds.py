"""links.overrides may give one link its own fading model and CSI: the scenario parses
it, the network gives that link's packets the model, and the run's LinkChannels give
its images the channel; every other link keeps links.fading and links.csi."""

import pytest

from semnet.errors import ScenarioError
from semnet.net.link_kinds import channel_kinds
from semnet.net.network import build_network
from semnet.runner import link_channels
from semnet.scenario import validate
from semnet.scenario.schema import LinkOverride, SnrOverride
from tests.fl.conftest import tiny_scenario_dict


def _scenario(overrides, **links):
    raw = tiny_scenario_dict()
    raw["links"] = {"snr_db": 10.0, "overrides": overrides, **links}
    return validate(raw)


def test_an_override_gives_one_link_rayleigh_without_csi():
    scenario = _scenario([{"src": 0, "dst": 1, "fading": "rayleigh", "csi": False}])
    net = build_network(scenario.topology, scenario.links, scenario.seed)
    chans = link_channels(scenario, net)
    for link in net.image_links():
        params, channel = net.link(*link), chans.of(*link)
        faded = link == (0, 1)
        assert params.fading == ("rayleigh" if faded else "none")
        assert params.fading_model.name == ("rayleigh" if faded else "none")
        assert params.fading_model.random == faded  # the packets of 0 -> 1 draw gains, no other's
        assert (channel.kind, channel.csi) == (("rayleigh", False) if faded else ("none", True))
        assert params.snr_db == 10.0  # no snr_db in the override: the link keeps links.snr_db
    assert chans.of(1, 0) is chans.default  # a direction is one link: 1 -> 0 is not overridden
    assert net.link(0, "server").fading == "none"  # the aggregator's links keep the default
    assert not chans.uniform and chans.distinct()[0] is chans.default and len(chans.distinct()) == 2


def test_overrides_of_one_link_merge_and_links_of_one_kind_share_a_channel():
    scenario = _scenario([
        {"src": 0, "dst": 1, "snr_db": 3.0},
        {"src": 0, "dst": 1, "csi": False},
        {"src": 2, "dst": 0, "fading": "rician", "csi": False},
        {"src": 1, "dst": 2, "fading": "rician", "csi": False},
        {"src": 2, "dst": 1, "fading": "awgn"},  # the default under its alias: no exception
    ], fading="none")
    net = build_network(scenario.topology, scenario.links, scenario.seed)
    chans = link_channels(scenario, net)
    assert net.link(0, 1).snr_db == 3.0
    assert (chans.of(0, 1).kind, chans.of(0, 1).csi) == ("none", False)
    assert chans.of(2, 0) is chans.of(1, 2) and chans.of(2, 0).kind == "rician"
    assert chans.of(2, 0).fading.k_factor == scenario.links.k_factor
    assert net.link(2, 0).fading_model is net.link(1, 2).fading_model
    assert chans.of(2, 1) is chans.default and (2, 1) not in net.link_kinds


def test_without_fading_or_csi_overrides_every_link_has_the_default_channel():
    scenario = _scenario([{"src": 0, "dst": 1, "snr_db": 0.0}], fading="rayleigh", csi=False)
    net = build_network(scenario.topology, scenario.links, scenario.seed)
    chans = link_channels(scenario, net)
    assert chans.uniform and net.link_kinds == {}
    assert all(net.link(*link).fading == "rayleigh" for link in net.links)
    assert (chans.default.kind, chans.default.csi) == ("rayleigh", False)


def test_an_override_must_change_something():
    with pytest.raises(ScenarioError, match=r"links.overrides\[0\].*changes nothing.*snr_db, fading, csi"):
        _scenario([{"src": 0, "dst": 1}])


def test_an_unknown_fading_in_an_override_names_its_key_and_the_allowed_channels():
    with pytest.raises(ScenarioError, match=r"links.overrides\[1\].fading = 'nakagami': unknown channel.*rayleigh"):
        _scenario([{"src": 0, "dst": 1, "snr_db": 1.0}, {"src": 1, "dst": 0, "fading": "nakagami"}])


def test_channel_kinds_refuses_an_unknown_name_without_the_loader():
    spec = _scenario([{"src": 0, "dst": 1, "csi": False}]).links
    bad = spec.model_copy(update={"overrides": (LinkOverride(src=0, dst=1, fading="nakagami"),)})
    with pytest.raises(ScenarioError, match=r"links.overrides\[0\].fading = 'nakagami'"):
        channel_kinds(bad)


def test_the_old_name_still_builds_an_snr_override():
    assert SnrOverride is LinkOverride and SnrOverride(src=0, dst=1, snr_db=2.0).snr_db == 2.0
