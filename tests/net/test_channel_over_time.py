"""The channel over time: shadowing, mobility, UMi path loss and packet outage against
closed forms; one gain for images and packets; defaults unchanged."""

import json
import math

import numpy as np
import pytest

from semnet.net.arq import _scan
from semnet.net.network import build_network
from semnet.net.shadowing import shadowing_step
from semnet.net.umi import umi_los_probability, umi_path_loss_db
from semnet.registry import mobilities
from semnet.scenario.schema import ChannelSpec, LinksSpec, MobilitySpec, RateSpec
from semnet.scenario.topology import topology_spec
from semnet.sim import Message, Simulator
from tests.net.message_rounds import play_message_rounds


def _sim(network, **kw):
    speeds = {u: 100.0 for u in network.users} | {network.aggregator: 100.0}
    return Simulator(network, seed=0, compute_speed=speeds, **kw)


# ---------------------------------------------------------------- large scale


def test_shadowing_std_and_gudmundson_correlation():
    rng = np.random.default_rng(0)
    n, d_corr, step_m = 40_000, 20.0, 2.0
    s0 = rng.standard_normal(n)
    s = s0.copy()
    for k in range(1, 21):
        s = shadowing_step(s, np.full(n, step_m), d_corr, rng)
        if k in (5, 10, 20):
            d = k * step_m
            assert np.corrcoef(s0, s)[0, 1] == pytest.approx(math.exp(-d / d_corr), abs=0.02)
            assert s.std() == pytest.approx(1.0, abs=0.02)


def test_static_shadowed_links_have_the_configured_std():
    top = topology_spec(kind="complete", num_users=40, area_m=100.0)
    links = LinksSpec(snr_db=10.0, channel=ChannelSpec(shadowing_std_db=8.0))
    net = build_network(top, links, seed=1)
    row = net.channel.large.row(0)
    user = [i for i, (s, d) in enumerate(net.channel.large.keys) if s != "server" and d != "server"]
    assert row[user].mean() == pytest.approx(10.0, abs=8.0 * 4 / math.sqrt(len(user)))
    assert row[user].std() == pytest.approx(8.0, rel=0.05)
    assert np.array_equal(net.channel.large.row(500), row)  # static: it never changes
    # the methods are told the shadowed SNR
    key = net.channel.large.keys[user[0]]
    assert net.link(*key).snr_db == pytest.approx(row[user[0]], abs=1e-6)


def test_umi_street_canyon_matches_the_standard():
    # TR 38.901 Table 7.4.1-1 by hand: fc 3.5 GHz, d2D 100 m, hBS 10 m, hUT 1.5 m
    d3 = math.hypot(100.0, 8.5)
    los = 32.4 + 21 * math.log10(d3) + 20 * math.log10(3.5)  # below d'BP = 4*9*0.5*3.5e9/c = 210 m
    nlos = max(los, 35.3 * math.log10(d3) + 22.4 + 21.3 * math.log10(3.5))
    kw = dict(carrier_hz=3.5e9, tx_height_m=10.0, rx_height_m=1.5)
    assert umi_path_loss_db(100.0, los=True, **kw) == pytest.approx(los, abs=1e-9)
    assert umi_path_loss_db(100.0, los=False, **kw) == pytest.approx(nlos, abs=1e-9)
    d_bp = 4 * 9 * 0.5 * 3.5e9 / 299_792_458.0
    d3 = math.hypot(400.0, 8.5)
    far = 32.4 + 40 * math.log10(d3) + 20 * math.log10(3.5) - 9.5 * math.log10(d_bp**2 + 8.5**2)
    assert umi_path_loss_db(400.0, los=True, **kw) == pytest.approx(far, abs=1e-9)
    assert umi_los_probability(10.0) == 1.0
    assert umi_los_probability(100.0) == pytest.approx(0.18 + math.exp(-100 / 36) * 0.82)


# ---------------------------------------------------------------- mobility


@pytest.mark.parametrize("model", ["random_waypoint", "gauss_markov"])
def test_mobility_stays_inside_moves_at_the_configured_speed_and_is_seeded(model):
    area, step, v = 200.0, 0.5, (1.0, 3.0)

    def track(seed):
        start = np.random.default_rng(9).uniform(0, area, (50, 2))
        mob = mobilities.get(model)(start, area_m=area, step_s=step, speed_mps=v, rng=np.random.default_rng(seed))
        return mob, np.array([mob.positions(k) for k in range(400)])

    mob, pos = track(3)
    assert pos.min() >= 0.0 and pos.max() <= area
    speed = np.hypot(*np.diff(pos, axis=0).transpose(2, 0, 1)) / step
    # random waypoint: time average (v_max - v_min) / ln(v_max / v_min) = 1.820 m/s, not the mean 2.0;
    # a turn inside a step shortens the straight-line displacement a little
    expected = (v[1] - v[0]) / math.log(v[1] / v[0]) if model == "random_waypoint" else 2.0
    assert mob.mean_speed_mps == pytest.approx(expected)
    assert speed.mean() == pytest.approx(expected, rel=0.04)
    assert np.array_equal(track(3)[1], pos)
    assert not np.array_equal(track(4)[1], pos)


def test_positions_do_not_depend_on_query_order():
    start = np.full((3, 2), 50.0)
    a = mobilities.get("gauss_markov")(start, area_m=100.0, speed_mps=(1, 2), rng=np.random.default_rng(0))
    b = mobilities.get("gauss_markov")(start, area_m=100.0, speed_mps=(1, 2), rng=np.random.default_rng(0))
    late = a.positions(30).copy()
    for k in range(31):
        b.positions(k)
    assert np.array_equal(b.positions(30), late)


# ---------------------------------------------------------------- packets


def test_scan_counts_packets_losses_and_carried_failures():
    ok = np.array([1, 0, 0, 1, 0, 0, 0, 1, 1], dtype=bool)
    # 3 packets, 2 retries (3 rounds): successes at 0, 3; then 3 failures lose packet 3 at index 6
    assert _scan(ok, 3, 0, 3) == (7, 0, 0, True)
    assert _scan(ok, 2, 0, 3) == (4, 0, 0, False)
    assert _scan(np.zeros(2, bool), 1, 1, 3) == (2, 0, 0, True)  # carried failure + 2 = 3 rounds
    assert _scan(np.array([0, 1], bool), 3, 0, 3) == (2, 2, 0, False)


def test_slow_fading_outage_rate_equals_the_closed_form_averaged_over_the_process():
    """One-packet messages, no retries, on a mobile shadowed link: the fraction lost is
    the mean over messages of the Rayleigh outage 1 - exp(-(2^R - 1) / snr(t))."""
    top = topology_spec(kind="complete", num_users=2, area_m=100.0,
                        mobility=MobilitySpec(model="gauss_markov", speed_mps=(1.0, 2.0), step_s=1.0))
    links = LinksSpec(fading="rayleigh", rate=RateSpec(mode="shannon", backoff=0.8, packet_bits=1000, max_retries=0),
                      snr_min_db=-10.0, snr_max_db=40.0,
                      channel=ChannelSpec(time_correlation="gauss_markov", speed_mps=1.0, shadowing_std_db=6.0))
    net = build_network(top, links, seed=0)
    sim = _sim(net)
    queue = sim._queues[(0, 1)]
    lost, expected, count = 0, 0.0, 6000
    for m in range(count):
        t = 0.3 * m + 0.1  # messages 0.3 s apart: many coherence times of rho, many mobility steps
        sim.env.run(until=t)
        snr = 10 ** (queue.fading.snr_db(t) / 10)
        _, _, delivered = sim._submit(Message(0, 1, "model", 1000), None)
        lost += not delivered
        threshold = (1 + snr) ** 0.8 - 1
        expected += 1 - math.exp(-threshold / snr)
    p = expected / count
    assert 0.05 < p < 0.6  # the check means something
    assert lost / count == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / count))


def test_an_image_and_a_packet_sent_at_the_same_time_see_the_same_gain():
    import torch

    from semnet.channels.layer.channel import Channel

    top = topology_spec(kind="ring", num_users=3)
    links = LinksSpec(snr_db=10.0, fading="rayleigh", rate=RateSpec(mode="shannon"),
                      channel=ChannelSpec(time_correlation="gauss_markov", speed_mps=3.0))
    net = build_network(top, links, seed=0)
    records = []
    sim = _sim(net, sink=records.append)
    sim.env.run(until=1.25)
    sim._submit(Message(0, 1, "model", 50_000), None)
    h, snr_db = sim.channel_state(0, 1, 1.25)  # an image sent when the packet's first attempt left
    realised = snr_db + 10 * math.log10(abs(h) ** 2)
    assert records[-1]["snr_db"] == pytest.approx(realised, abs=1e-4)
    # an image burst queued behind it reads the process at its own start; the record keeps its h
    sim._submit(Message(0, 1, "semantic", symbols=512), None)
    rec = records[-1]
    h2, snr2 = sim.channel_state(0, 1, rec["t_start_s"])
    assert rec["h"] == pytest.approx([h2.real, h2.imag], abs=1e-6)
    # the JSCC channel applies exactly that gain: noiseless, no CSI, y = h z
    z = torch.randn(1, 8, dtype=torch.complex64)
    y = Channel("rayleigh", csi=False)(z, torch.tensor([300.0]), gain=torch.tensor([h2], dtype=torch.complex64))
    torch.testing.assert_close(y, z * complex(h2), atol=1e-5, rtol=1e-5)


def test_comparison_states_are_fixed_whatever_the_simulators_did():
    top = topology_spec(kind="ring", num_users=4, mobility=MobilitySpec(model="random_waypoint", speed_mps=(1, 2)))
    links = LinksSpec(fading="rayleigh", channel=ChannelSpec(time_correlation="jakes", comparison_states=16))
    a = build_network(top, links, seed=0)
    b = build_network(top, links, seed=0)
    snr_a, h_a = a.channel.comparison((0, 1), seed=7)
    sim = _sim(b)  # a branch that ran for a while before being scored
    sim.env.run(until=40.0)
    sim._submit(Message(0, 1, "model", 10_000), None)
    snr_b, h_b = b.channel.comparison((0, 1), seed=7)
    assert np.array_equal(snr_a, snr_b) and np.array_equal(h_a, h_b)
    assert len(h_a) == 16 and np.ptp(snr_a) > 0  # the users move: the states span the process


# ---------------------------------------------------------------- defaults


@pytest.mark.parametrize("fading", ["none", "rayleigh"])
def test_default_channel_is_todays(fading):
    top = topology_spec(kind="ring", num_users=3)
    net = build_network(top, LinksSpec(fading=fading, rate=RateSpec(mode="shannon")), seed=0)
    assert net.channel is None
    records = []
    sim = _sim(net, sink=records.append)
    sim._submit(Message(0, 1, "model", 50_000), None)
    assert "snr_db" not in records[0] and not sim.realised


def test_time_correlation_needs_a_model_with_a_scatter_law():
    from semnet.channels import FadingModel
    from semnet.errors import ScenarioError
    from semnet.registry import channels

    @channels.register("_test_no_scatter", "a plugin without from_gaussian")
    class NoScatter(FadingModel):
        def sample_numpy(self, size, rng):
            return np.ones(size, complex)

        def sample_torch(self, batch, generator, device, dtype):
            raise NotImplementedError

    try:
        links = LinksSpec(fading="_test_no_scatter", channel=ChannelSpec(time_correlation="jakes"))
        with pytest.raises(ScenarioError, match="links.channel.time_correlation = 'jakes'.*from_gaussian"):
            build_network(topology_spec(kind="ring", num_users=3), links, seed=0)
    finally:
        channels.remove("_test_no_scatter")


# ---------------------------------------------------------------- training sees the spread


def test_training_draws_a_moving_links_snr_at_its_comparison_states_and_a_static_link_its_one_snr():
    """A moving link trains over the large-scale SNRs it is scored at (the path loss of
    the users' positions at each comparison time), not only their mean; a link of a
    network whose users stand still trains at its one SNR, as before."""
    top = topology_spec(kind="ring", num_users=4, area_m=200.0,
                        mobility=MobilitySpec(model="random_waypoint", speed_mps=(1, 3)))
    links = LinksSpec(fading="rayleigh", channel=ChannelSpec(time_correlation="gauss_markov", comparison_states=32,
                                                            comparison_step_s=2.0))
    net = build_network(top, links, seed=0)
    large = net.channel.large
    for src, dst in net.image_links():
        samples = net.snr_samples_db(src, dst)
        times = np.arange(32) * 2.0
        expected = [large.snr_db_at(large.index[(src, dst)], t) for t in times]  # one time at a time
        assert samples == pytest.approx(expected, abs=1e-6) and np.ptp(samples) > 0.1
        assert net.link(src, dst).snr_db == pytest.approx(np.mean(samples), abs=1e-5)  # what a method is told
    still = build_network(topology_spec(kind="ring", num_users=4), LinksSpec(fading="rayleigh", channel=ChannelSpec(
        shadowing_std_db=6.0)), seed=0)
    for src, dst in still.image_links():
        assert still.snr_samples_db(src, dst) == [still.link(src, dst).snr_db]


# ---------------------------------------------------------------- the compiled packet loop


@pytest.mark.parametrize("mobile", [True, False], ids=["mobile", "static"])
@pytest.mark.parametrize("fading", ["rayleigh", "rician"])
def test_the_compiled_packet_loop_gives_the_numpy_loops_bits(monkeypatch, mobile, fading):
    """Shannon-rate messages of many sizes on Gauss–Markov links, with outages: the
    compiled loop (semnet.net.arq_compiled) and the numpy loop write the same events,
    byte for byte, and leave every link's process in the same state."""
    from semnet.net import arq_compiled

    if arq_compiled.attempts is None:
        pytest.skip("numba is not installed: only the numpy loop runs")

    def play(compiled: bool):
        if not compiled:
            monkeypatch.setattr(arq_compiled, "attempts", None)
        mobility = MobilitySpec(model="random_waypoint", speed_mps=(1, 3)) if mobile else MobilitySpec()
        top = topology_spec(kind="ring", num_users=6, area_m=300.0, mobility=mobility)
        links = LinksSpec(fading=fading, k_factor=3.0, rate=RateSpec(mode="shannon", backoff=0.8, max_retries=1),
                          channel=ChannelSpec(time_correlation="gauss_markov", gauss_markov_step_s=0.001,
                                              shadowing_std_db=4.0 if mobile else 0.0))
        records, sim = play_message_rounds(build_network(top, links, seed=1), 15)
        monkeypatch.undo()
        return records, sim.state()["queues"]

    fast, fast_queues = play(compiled=True)
    slow, slow_queues = play(compiled=False)
    assert [json.dumps(r, sort_keys=True) for r in fast] == [json.dumps(r, sort_keys=True) for r in slow]
    assert any(r["outcome"] == "outage" for r in fast) and sum(r["attempts"] for r in fast) > 5000
    assert repr(fast_queues) == repr(slow_queues)  # repr: a link never read keeps NaN, which != itself
