"""The interference book (links.interference.model: sinr) against closed forms: two
transmitters at known distances from one receiver, a partial overlap, bands, the cut-off,
packets' outage under interference, and Haenggi's success probability in a Poisson field
of Rayleigh-faded interferers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from semnet.channels import make_fading
from semnet.net.interference_gains import (
    CrossGains,
    InterferenceSettings,
    assign_bands,
    pair_of,
)
from semnet.net.network import AGGREGATOR
from semnet.sim import Message, Simulator, Task
from semnet.sim.interference import InterferenceBook, OnAir, piecewise
from tests.sim.test_engine import make_link, make_network

P_DB = 60.0  # transmit power over noise at 1 m (dB): log-distance, exponent 3


def law_db(d_m: float, exponent: float = 3.0) -> float:
    return P_DB - 10.0 * exponent * math.log10(max(d_m, 1.0))


def lin(db: float) -> float:
    return 10.0 ** (db / 10.0)


def sinr_network(positions: dict, pairs: list, *, bands: int = 1, how: str = "fixed", cutoff_db: float = -20.0,
                 medium: str = "dedicated", **link):
    """A network whose links ``pairs`` (both directions) have the law's SNR at their length,
    interference on, every other pair at the law's SNR too."""
    links = []
    for a, b in pairs:
        d = math.dist(positions[a], positions[b])
        links += [make_link(a, b, snr_db=law_db(d), distance_m=d, **link),
                  make_link(b, a, snr_db=law_db(d), distance_m=d, **link)]
    net = make_network(*links)
    net.medium = type(net.medium)(kind=medium)
    gains = CrossGains(net.links, positions, lambda d, _agg: law_db(d), {})
    band_of = assign_bands([pair_of(a, b) for a, b in net.links], bands, how, gains)
    net.interference = InterferenceSettings(model="sinr", cutoff_db=cutoff_db, bands=bands, band_assignment=how,
                                            band_of=band_of)
    net.cross_gains = gains
    return net


def sim_of(net, records=None) -> Simulator:
    nodes = set(net.users) | {AGGREGATOR}
    return Simulator(net, seed=0, compute_speed={n: 100.0 for n in nodes},
                     sink=None if records is None else records.append)


def send(sim, *messages):
    return sim.play_round([Task(key=i, node=m.src, uploads=(m,)) for i, m in enumerate(messages)])


# receiver 0 at the origin hears 1 (its sender, 10 m) and 2 (sending to 3, 25 m from 0)
POS = {0: (0.0, 0.0), 1: (10.0, 0.0), 2: (0.0, 25.0), 3: (0.0, 60.0)}


def test_two_transmitters_give_the_closed_form_sinr():
    net = sinr_network(POS, [(1, 0), (2, 3)])
    records: list[dict] = []
    sim = sim_of(net, records)
    send(sim, Message(2, 3, "m", 1_000_000), Message(1, 0, "m", 1_000_000))  # same airtime, same start
    sim.finish()
    closed = 10 * math.log10(lin(law_db(10.0)) / (1 + lin(law_db(25.0))))
    # the message booked second was decided knowing the first: its record holds the SINR
    mine = next(r for r in records if r["src"] == 1)
    assert mine["sinr_db"] == pytest.approx(closed, abs=1e-4)
    # after the run every transmission has met all the others, whichever was booked first
    [(sinr_db, air_s, interfered_s, image)] = sim.sinr_log[(1, 0)]
    assert sinr_db == pytest.approx(closed, abs=1e-9)
    assert interfered_s == pytest.approx(air_s) and not image
    [(other_db, _, _, _)] = sim.sinr_log[(2, 3)]
    d13 = math.dist(POS[1], POS[3])
    assert other_db == pytest.approx(10 * math.log10(lin(law_db(35.0)) / (1 + lin(law_db(d13)))), abs=1e-9)
    # dedicated without interference: the same messages meet noise only (no sinr_db)
    plain = make_network(*net.links.values())
    records.clear()
    sim = sim_of(plain, records)
    send(sim, Message(2, 3, "m", 1_000_000), Message(1, 0, "m", 1_000_000))
    assert all("sinr_db" not in r for r in records)


def test_a_partial_overlap_is_met_for_its_share_of_the_airtime():
    net = sinr_network(POS, [(1, 0), (2, 3)])
    sim = sim_of(net)
    # 1 -> 0 sends 1 Mbit (0.1 s), 2 -> 3 a quarter of that: interfered for 25% of the airtime
    send(sim, Message(1, 0, "m", 1_000_000), Message(2, 3, "m", 250_000))
    sim.finish()
    [(sinr_db, air_s, interfered_s, _)] = sim.sinr_log[(1, 0)]
    assert interfered_s / air_s == pytest.approx(0.25)
    closed = 10 * math.log10(lin(law_db(10.0)) / (1 + 0.25 * lin(law_db(25.0))))
    assert sinr_db == pytest.approx(closed, abs=1e-9)


def test_another_band_and_a_far_interferer_below_the_cutoff_are_not_heard():
    # fixed assignment: pairs (0, 1) and (2, 3) in sorted order take bands 0 and 1
    net = sinr_network(POS, [(1, 0), (2, 3)], bands=2)
    assert net.interference.band(1, 0) != net.interference.band(2, 3)
    sim = sim_of(net)
    send(sim, Message(2, 3, "m", 1_000_000), Message(1, 0, "m", 1_000_000))
    sim.finish()
    assert sim.sinr_log[(1, 0)][0][0] == pytest.approx(law_db(10.0)) and sim.sinr_log[(1, 0)][0][2] == 0.0
    # one band, the interferer 10 km away: 60 - 120 = -60 dB below the noise, under the -20 dB cut-off
    far = {**POS, 2: (0.0, 10_000.0), 3: (0.0, 10_030.0)}
    sim = sim_of(sinr_network(far, [(1, 0), (2, 3)]))
    send(sim, Message(2, 3, "m", 1_000_000), Message(1, 0, "m", 1_000_000))
    sim.finish()
    assert sim.sinr_log[(1, 0)][0][2] == 0.0


def test_greedy_bands_put_the_pairs_that_hear_each_other_most_apart():
    # two clusters far apart, two pairs each: greedy puts the two pairs of a cluster in
    # different bands (fixed round-robin in sorted order happens to pair them up)
    pos = {0: (0.0, 0.0), 1: (5.0, 0.0), 2: (0.0, 5.0), 3: (5.0, 5.0),
           4: (1000.0, 0.0), 5: (1005.0, 0.0), 6: (1000.0, 5.0), 7: (1005.0, 5.0)}
    pairs = [(0, 1), (4, 5), (2, 3), (6, 7)]
    net = sinr_network(pos, pairs, bands=2, how="greedy")
    band = net.interference.band
    assert band(0, 1) != band(2, 3) and band(4, 5) != band(6, 7)


PACKETS = {"rate_mode": "shannon", "backoff": 0.9, "packet_bits": 10_000, "max_retries": 0}
POS5 = {0: (0.0, 0.0), 1: (10.0, 0.0), 2: (0.0, 12.0), 3: (0.0, 17.0), 4: (0.0, 40.0)}


def test_the_rate_follows_the_sinr_at_the_start():
    # 2 -> 4 is on the air when 1 -> 0 starts: 1 -> 0 picks R = 0.9 B log2(1 + S / (1 + I))
    net = sinr_network(POS5, [(1, 0), (2, 4)], **PACKETS)
    records: list[dict] = []
    sim = sim_of(net, records)
    out = send(sim, Message(2, 4, "m", 2_000_000), Message(1, 0, "m", 200_000))  # 2 -> 4 outlasts it
    assert all(o.ok for o in out)
    snr, inr = lin(law_db(10.0)), lin(law_db(12.0))
    rate = 0.9 * 1e6 * math.log2(1 + snr / (1 + inr))
    victim = next(r for r in records if r["src"] == 1)
    assert victim["t_end_s"] - victim["t_start_s"] - 0.005 == pytest.approx(200_000 / rate, rel=1e-9)
    assert victim["sinr_db"] == pytest.approx(10 * math.log10(snr / (1 + inr)), abs=1e-4)


@pytest.mark.parametrize("floor_db", [-10.0, -math.inf])
def test_a_drowned_sender_keeps_the_rate_of_the_floor(floor_db):
    # 1 -> 0 at 100 m (SNR 0 dB) starts while 2 -> 4 (2 is 12 m from 0) is on the air: SINR
    # about -27.6 dB. Its rate comes from max(SINR, min(SNR, floor)): 0.9 B log2(1 + 0.1) with
    # the -10 dB floor, the SINR's own (about 160x slower) without one; the one packet
    # gets through at the SINR's own rate (0.9 of the capacity met) and fails at the floor's
    # (no retries), after one attempt of packet_bits / R
    positions = {**POS5, 1: (100.0, 0.0)}
    net = sinr_network(positions, [(1, 0), (2, 4)], **PACKETS, rate_floor_snr_db=floor_db)
    records: list[dict] = []
    out = send(sim_of(net, records), Message(2, 4, "m", 40_000_000), Message(1, 0, "m", 10_000))  # 2 -> 4: 8 s
    snr, inr = lin(law_db(100.0)), lin(law_db(12.0))
    sinr = snr / (1 + inr)
    picked = max(sinr, min(snr, lin(floor_db)))
    victim = next(r for r in records if r["src"] == 1)
    air = victim["t_end_s"] - victim["t_start_s"] - 0.005
    assert air == pytest.approx(10_000 / (0.9e6 * math.log2(1 + picked)), rel=1e-9)
    assert (air < 0.1) is (floor_db == -10.0)  # 10 kbit at 124 kbit/s (0.08 s), or at 2.3 kbit/s (4.4 s)
    assert victim["sinr_db"] == pytest.approx(10 * math.log10(sinr), abs=1e-4)  # the SINR met, not the floor
    assert out[1].ok is (floor_db == -math.inf)
    assert out[1].reason == (None if floor_db == -math.inf else "outage")


@pytest.mark.parametrize("interferer_band, lost", [(0, True), (2, False)])
def test_packets_fail_when_an_interferer_comes_on_after_the_rate_was_picked(interferer_band, lost):
    # node 2's radio sends 2 -> 3 first (band 1), then 2 -> 4: booked at once, starting later.
    # 1 -> 0 starts at 0 with nobody on its band 0: it picks its rate from its SNR, and its
    # packets that overlap 2 -> 4 (node 2 is 12 m from 0) fail; with 2 -> 4 on band 2 they all pass
    net = sinr_network(POS5, [(1, 0), (2, 3), (2, 4)], medium="node_radio", **PACKETS)
    net.interference = InterferenceSettings(model="sinr", bands=3, band_of={(2, 3): 1, (2, 4): interferer_band})
    records: list[dict] = []
    out = sim_of(net, records).play_round([
        Task(key="i", node=2, uploads=(Message(2, 3, "m", 20_000), Message(2, 4, "m", 400_000))),
        Task(key="v", node=1, uploads=(Message(1, 0, "m", 400_000),)),
    ])
    victim = next(r for r in records if r["src"] == 1)
    blocker = next(r for r in records if r["dst"] == 4)
    assert 0.0 < blocker["t_start_s"] < victim["t_end_s"] - 0.005  # 2 -> 4 comes on while 1 -> 0 sends
    # its rate from its SNR alone (nothing on its band at its start): one attempt per packet
    air = victim["t_end_s"] - victim["t_start_s"] - 0.005
    assert air == pytest.approx(400_000 / (0.9e6 * math.log2(1 + lin(law_db(10.0)))), rel=1e-9)
    # what it was decided with: the interferer for the share of its airtime they overlap
    share = (victim["t_end_s"] - 0.005 - blocker["t_start_s"]) / air if interferer_band == 0 else 0.0
    closed = 10 * math.log10(lin(law_db(10.0)) / (1 + share * lin(law_db(12.0))))
    assert victim["sinr_db"] == pytest.approx(closed, abs=1e-4)
    assert out[0].ok
    assert out[1].ok is not lost and (out[1].reason == "outage") is lost


def test_piecewise_cuts_at_every_start_and_end():
    pieces = piecewise(0.0, 1.0, [(0.2, 0.6, 1.0), (0.4, 2.0, 2.0)])
    assert pieces == [(0.0, 0.2, 0.0), (0.2, 0.4, 1.0), (0.4, 0.6, 3.0), (0.6, 1.0, 2.0)]


class _Law:
    """Path loss ``d^-alpha`` at a power far above the noise (interference-limited)."""

    def __init__(self, alpha: float):
        self.alpha = alpha

    def __call__(self, d_m: float, _agg: bool) -> float:
        return 200.0 - 10.0 * self.alpha * math.log10(d_m)


@pytest.mark.parametrize("alpha, lam, theta_db", [(4.0, 0.2, 0.0), (4.0, 0.1, 5.0)])
def test_haenggi_success_probability_in_a_poisson_field(alpha, lam, theta_db):
    """P(SINR > theta) at link distance r among Poisson interferers of density lambda with
    Rayleigh fading equals exp(-lambda pi r^2 theta^(2/alpha) Gamma(1+2/alpha) Gamma(1-2/alpha))."""
    rng = np.random.default_rng(7)
    r, radius, drops = 1.0, 8.0, 3000
    theta = lin(theta_db)
    rayleigh = make_fading("rayleigh")
    settings = InterferenceSettings(model="sinr", cutoff_db=-150.0)  # the far sink (-160 dB) is not heard
    law = _Law(alpha)
    success = 0
    for _ in range(drops):
        count = rng.poisson(lam * math.pi * radius ** 2)
        rho = radius * np.sqrt(rng.uniform(size=count))
        phi = rng.uniform(0, 2 * math.pi, size=count)
        positions = {"rx": (0.0, 0.0), "tx": (r, 0.0), "sink": (1e9, 0.0)}
        for i in range(count):
            positions[i] = (rho[i] * math.cos(phi[i]), rho[i] * math.sin(phi[i]))
        gains = CrossGains({}, positions, law, {}, aggregator=None)
        book = InterferenceBook(settings, gains, lambda a, b: rayleigh, rng)
        mine = book.add(OnAir("tx", "rx", 0, 0.0, 1.0, gains.linear("tx", "rx", 0.0)))
        for i in range(count):  # every interferer sends to one far sink: they do not meet each other
            book.add(OnAir(i, "sink", 0, 0.0, 1.0, 1.0))
        [(_, _, interference)] = mine.pieces(faded=True)
        signal = mine.snr * float(rayleigh.power_gain(1, rng)[0])
        success += signal / (1.0 + interference) > theta
    closed = math.exp(-lam * math.pi * r ** 2 * theta ** (2 / alpha) * math.gamma(1 + 2 / alpha)
                      * math.gamma(1 - 2 / alpha))
    p = success / drops
    # Monte-Carlo error (3 sigma) plus the field beyond `radius`, left out:
    # at most exp(2 pi lambda theta r^alpha radius^(2-alpha) / (alpha - 2)) - 1 relative
    truncation = closed * (math.exp(2 * math.pi * lam * theta * r ** alpha * radius ** (2 - alpha) / (alpha - 2)) - 1)
    assert abs(p - closed) < 3 * math.sqrt(closed * (1 - closed) / drops) + truncation


def test_an_images_symbols_meet_noise_of_power_n_plus_i_where_they_overlap():
    """The decoder side scales each channel use's unit noise by sqrt(1 + I/N) of the
    interference on the air while it was sent: half an image under I = 3 N has its noise
    doubled (in amplitude) on the first half of its symbols and unchanged on the rest."""
    import torch

    from semnet.channels.layer.channel import Channel
    from semnet.fl.loop.traffic import ImageDecoder
    from semnet.sim.traffic import ImageSent

    decoder = ImageDecoder({}, Channel("none"), torch.device("cpu"), seed=3, new_model=None)
    record = OnAir(1, 0, 0, 0.0, 1.0, 100.0, symbols=64)
    record.hits.append((0.0, 0.5, 3.0, 3.0, False))
    plain = ImageSent(1, 0, 0, 0.0, 0.0, 1.0, 20.0, None, {})
    hit = ImageSent(1, 0, 0, 0.0, 0.0, 1.0, 20.0, None, {}, on_air=record)
    _, noise_plain = decoder._draws([plain], [0], 64, "main")
    _, noise_hit = decoder._draws([hit], [0], 64, "main")
    ratio = (noise_hit / noise_plain).abs()[0].numpy()
    assert ratio[:32] == pytest.approx(2.0, rel=1e-6) and ratio[32:] == pytest.approx(1.0, rel=1e-6)
    # the large-scale SINR over the airtime: 20 dB over 1 + 3 * 0.5
    assert record.sinr_db() == pytest.approx(10 * math.log10(100.0 / 2.5))
    assert record.interfered_s() == pytest.approx(0.5) and record.interfered_by() == ["model"]


def test_a_restored_simulator_meets_the_same_interference():
    """A checkpoint between rounds keeps the book (records on the air, the fading stream):
    the images and SINRs of a restored run are those of the run that went on."""
    from semnet.sim.traffic import TrafficPlan

    def make():
        net = sinr_network(POS5, [(1, 0), (2, 4), (2, 3)], medium="node_radio", **PACKETS)
        net.link_kinds = {}
        net.default_kind = type("Kind", (), {"model": make_fading("rayleigh")})()
        nodes = set(net.users) | {AGGREGATOR}
        return Simulator(net, seed=5, compute_speed={n: 100.0 for n in nodes},
                         traffic=TrafficPlan(links=((1, 0), (2, 4)), images_per_s=200.0, symbols=3000))

    def round_(sim):
        sim.play_round([Task(key="a", node=2, uploads=(Message(2, 3, "update", 300_000),))])
        sim.wait(0.05)

    def images(sim):
        sim.catch_up()
        out = [(im.as_tuple()[:9], round(im.on_air.sinr_db(), 9), len(im.on_air.hits)) for im in sim.traffic.take()]
        sim.finish()
        return out, sorted((k, v) for k, v in sim.sinr_log.items())

    whole = make()
    for _ in range(3):
        round_(whole)
    expected = images(whole)
    assert any(hits for _, _, hits in expected[0])  # the images did meet the updates
    first = make()
    round_(first)
    second = make()
    second.load_state(first.state())
    for _ in range(2):
        round_(second)
    assert images(second) == expected


@pytest.mark.parametrize("min_sinr_db, floor", [(-10.0, -10.0), (3.0, 3.0), (None, -math.inf)])
def test_links_rate_min_sinr_db_reaches_every_user_link(min_sinr_db, floor):
    from semnet.net.network import build_network
    from semnet.scenario.links import InterferenceSpec
    from semnet.scenario.schema import LinksSpec, RateSpec
    from semnet.scenario.topology import topology_spec

    links = LinksSpec(rate=RateSpec(mode="shannon", min_sinr_db=min_sinr_db), interference=InterferenceSpec(model="sinr"))
    net = build_network(topology_spec(kind="random_geometric", num_users=5, area_m=100.0, radius_m=80.0), links, 0)
    # user links (the aggregator's follow links.aggregator.rate, its default floor here)
    assert {p.rate_floor_snr_db for (a, b), p in net.links.items() if AGGREGATOR not in (a, b)} == {floor}
    assert {p.rate_floor_snr_db for (a, b), p in net.links.items() if AGGREGATOR in (a, b)} == {-10.0}
