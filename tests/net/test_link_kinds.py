"""links.overrides may give one link its own fading model and CSI: the scenario parses
it, the network gives that link's packets the model, and the run's LinkChannels give
its images the channel; every other link keeps links.fading and links.csi."""

import pytest

from semnet.errors import ScenarioError
from semnet.net.link_kinds import channel_kinds
from semnet.net.network import build_network
from semnet.assembly import link_channels
from semnet.scenario import validate
from semnet.scenario.schema import LinkOverride, SnrOverride
from tests.fl.conftest import tiny_scenario_dict


@pytest.fixture
def nakagami():
    """The Nakagami-m test plugin of tests/channels, registered for one test; its name."""
    from semnet.registry import channels
    from tests.channels.test_registry import PLUGIN, Nakagami

    channels.names()  # the built-ins first
    channels.add(PLUGIN, Nakagami, "Nakagami-m fading (test plugin)")
    yield PLUGIN
    channels._entries.pop(PLUGIN, None)


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


def test_on_a_channel_over_time_an_overridden_link_fades_with_its_own_law():
    """Default AWGN, one link Rayleigh, Gauss–Markov scatter: the overridden link's gain
    has Rayleigh statistics (E|h|^2 = 1, P(|h|^2 <= x) = 1 - e^-x) and the two-ended
    correlation J0(2 pi f_D T)^2 at lag T; every other link's gain is exactly 1, in the
    simulator and in the comparison states every method is scored on."""
    import numpy as np
    from scipy.special import j0

    from semnet.sim import Simulator

    speed_mps, carrier_hz, step_s = 3.0, 2.4e9, 0.01
    scenario = _scenario([{"src": 0, "dst": 1, "fading": "rayleigh", "csi": False}], fading="none",
                         channel={"time_correlation": "gauss_markov", "speed_mps": speed_mps,
                                  "carrier_hz": carrier_hz, "gauss_markov_step_s": step_s, "comparison_states": 64})
    net = build_network(scenario.topology, scenario.links, scenario.seed)
    process = net.channel
    assert process is not None and process.fading_of((0, 1)).name == "rayleigh"
    assert process.fading_of((1, 0)).name == "none" and process.fading_of((0, "server")).name == "none"

    f_d = speed_mps * carrier_hz / 299_792_458.0
    rho_t = j0(2 * np.pi * f_d * step_s) ** 2  # both ends of a user-to-user link move
    assert process.link_rho((0, 1)) == pytest.approx(rho_t, rel=1e-9)

    faded = process.link((0, 1), np.random.default_rng(3))
    times = np.arange(60_000) * step_s
    h = faded.gains(times)
    power = np.abs(h) ** 2
    assert power.mean() == pytest.approx(1.0, abs=0.05)
    for x in (0.1, 0.5, 1.0, 2.0):  # exponential CDF of |h|^2
        assert np.mean(power <= x) == pytest.approx(1 - np.exp(-x), abs=0.03)
    lag1 = np.mean(h[1:] * np.conj(h[:-1])).real
    assert lag1 == pytest.approx(rho_t, abs=0.02)
    lag50 = np.mean(h[50:] * np.conj(h[:-50])).real
    assert lag50 == pytest.approx(rho_t ** 50, abs=0.05)

    steady = process.link((1, 0), np.random.default_rng(3))
    assert np.array_equal(steady.gains(times[:100]), np.ones(100))

    sim = Simulator(net, seed=0, compute_speed={u: 100.0 for u in net.users} | {net.aggregator: 100.0})
    gains = [abs(sim.channel_state(0, 1, t)[0]) for t in np.arange(1, 200) * 0.5]
    assert np.std(gains) > 0.2  # the simulator's 0 -> 1 images and packets fade
    assert all(sim.channel_state(1, 0, t)[0] == 1 for t in np.arange(1, 20) * 0.5)
    _, h_compare = process.comparison((0, 1), seed=scenario.seed)
    _, h_steady = process.comparison((1, 0), seed=scenario.seed)
    assert np.std(np.abs(h_compare)) > 0.2 and np.array_equal(h_steady, np.ones_like(h_steady))


def test_an_override_may_give_its_plugin_channel_options_of_its_own(nakagami):
    """Nakagami-m (a plugin) with m from each override's channel_options: links naming the
    same options share one model, other options build another, an override without
    options naming links.fading's plugin shares links.channel_options; |h|^2 has the
    Gamma(m, 1/m) variance 1/m the option sets."""
    import numpy as np

    PLUGIN = nakagami
    scenario = _scenario([
        {"src": 0, "dst": 1, "fading": PLUGIN, "channel_options": {"m": 3}},
        {"src": 1, "dst": 2, "fading": PLUGIN, "channel_options": {"m": 3}, "csi": False},
        {"src": 2, "dst": 0, "fading": PLUGIN, "channel_options": {"m": 1}},
        {"src": 1, "dst": 0, "fading": PLUGIN, "csi": False},
    ], fading=PLUGIN, channel_options={"m": 2})
    net = build_network(scenario.topology, scenario.links, scenario.seed)
    model = {link: net.link(*link).fading_model for link in [(0, 1), (1, 2), (2, 0), (1, 0), (0, 2)]}
    assert [model[link].m for link in model] == [3.0, 3.0, 1.0, 2.0, 2.0]
    assert model[(0, 1)] is model[(1, 2)] and model[(1, 0)] is model[(0, 2)]  # (0, 2): the default
    chans = link_channels(scenario, net)
    assert chans.of(0, 1).fading is model[(0, 1)] and chans.of(2, 0).fading.m == 1.0
    for m in (1.0, 3.0):
        m_model = model[(2, 0)] if m == 1.0 else model[(0, 1)]
        power = np.abs(m_model.sample_numpy(200_000, np.random.default_rng(0))) ** 2
        assert power.mean() == pytest.approx(1.0, abs=0.01) and power.var() == pytest.approx(1 / m, rel=0.03)


def test_bad_override_channel_options_name_their_key(nakagami):
    PLUGIN = nakagami

    with pytest.raises(ScenarioError, match=r"links.overrides\[0\].channel_options.*needs the override's own fading"):
        _scenario([{"src": 0, "dst": 1, "csi": False, "channel_options": {"m": 3}}])
    with pytest.raises(ScenarioError, match=r"links.overrides\[1\].channel_options.mm: not an option of channel "
                                            rf"'{PLUGIN}'; allowed: m"):
        _scenario([{"src": 0, "dst": 1, "csi": False},
                   {"src": 1, "dst": 0, "fading": PLUGIN, "channel_options": {"mm": 3}}])
    with pytest.raises(ScenarioError, match=r"links.overrides\[0\].channel_options: channel .* rejected \{'m': 0.7\}"):
        _scenario([{"src": 0, "dst": 1, "fading": PLUGIN, "channel_options": {"m": 0.7}}])
