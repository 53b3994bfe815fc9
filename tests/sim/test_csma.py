"""Carrier sensing on node radios (links.csma) against closed forms: the freeze/resume
countdown, no overlap among nodes that all sense each other (and overlap without it),
hidden terminals colliding at the rate of unslotted ALOHA's vulnerable period, and an
exposed terminal serialised at half the throughput."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from semnet.net.interference_gains import CrossGains, InterferenceSettings
from semnet.net.network import CsmaSettings, MediumSettings
from semnet.net.rate import TransmissionOutcome
from semnet.sim import Message, Simulator, Task
from semnet.sim.csma import CarrierSense, sensed_start_s
from semnet.sim.interference import DEAF
from semnet.sim.medium_state import pickle_medium, unpickle_medium
from tests.sim.test_engine import make_link, make_network

SLOT, DIFS = 9e-6, 34e-6
RATE = 10e6  # fixed-rate links: airtime = bits / RATE
T = 1e-3  # airtime of one 10 kbit message


def csma(threshold_db: float = 10.0, cw_min: int = 15, cw_max: int = 1023) -> CsmaSettings:
    return CsmaSettings(sense_threshold_db=threshold_db, slot_s=SLOT, difs_s=DIFS, cw_min=cw_min, cw_max=cw_max)


class TableGains:
    """``P_rx / N`` from a table (pairs not in it: nothing heard): lets a test place
    senders that all reach one receiver yet never hear each other."""

    def __init__(self, table: dict):
        self.table = table

    def linear(self, a, b, _t_s: float) -> float:
        return self.table.get((a, b), 0.0)


def network(pairs: list, gains, sense: CsmaSettings | None, **link):
    """Links ``pairs`` at a fixed 10 Mbit/s (SNR from ``gains``), interference on, one band,
    node radios with carrier sensing ``sense`` (None: off)."""
    net = make_network(*[make_link(a, b, snr_db=10 * math.log10(gains.linear(a, b, 0.0)), **link) for a, b in pairs])
    net.medium = MediumSettings(kind="node_radio", csma=sense)
    net.interference = InterferenceSettings(model="sinr", cutoff_db=-20.0)
    net.cross_gains = gains
    return net


def simulator(net, seed: int = 0) -> Simulator:
    return Simulator(net, seed=seed, compute_speed={n: 100.0 for n in net.users})


def book_all(sim, arrivals: list[tuple[float, object, object]], bits: int = 10_000) -> list:
    """Book a message ``src -> dst`` at each ``(t_s, src, dst)`` in time order, as the
    engine does (the book pruned first); return their records in the book."""
    out = []
    for t, src, dst in sorted(arrivals, key=lambda a: a[0]):
        sim.book.prune(t)
        queue = sim.queue(src, dst)
        sim.medium.book(queue, t, bits, 0)
        out.append(queue.last_on_air)
    return out


# ---------------------------------------------------------------- the countdown


def test_the_countdown_freezes_while_busy_and_resumes_after_difs():
    # idle: DIFS then k slots
    assert sensed_start_s(0.0, [], 5, difs_s=DIFS, slot_s=SLOT) == pytest.approx(DIFS + 5 * SLOT)
    # busy until 1 ms: DIFS after it, then k slots
    assert sensed_start_s(0.0, [(-1.0, 1e-3)], 5, difs_s=DIFS, slot_s=SLOT) == pytest.approx(1e-3 + DIFS + 5 * SLOT)
    # 3 slots fit in the idle gap before a transmission at DIFS + 3.5 slots: 2 are left after it
    busy = [(DIFS + 3.5 * SLOT, 2e-3)]
    assert sensed_start_s(0.0, busy, 5, difs_s=DIFS, slot_s=SLOT) == pytest.approx(2e-3 + DIFS + 2 * SLOT)
    # a gap shorter than DIFS counts nothing
    busy = [(0.0, 1e-3), (1e-3 + 0.5 * DIFS, 2e-3)]
    assert sensed_start_s(0.0, busy, 1, difs_s=DIFS, slot_s=SLOT) == pytest.approx(2e-3 + DIFS + SLOT)
    # the countdown ends before a transmission booked earlier starts: it goes DIFS after that one
    assert sensed_start_s(0.0, [(5e-3, 6e-3)], 0, difs_s=DIFS, slot_s=SLOT) == pytest.approx(6e-3 + DIFS)


def test_the_window_doubles_after_a_failure_up_to_cw_max_and_resets_after_a_success():
    sense = CarrierSense(csma(cw_min=15, cw_max=63), None, np.random.default_rng(0))

    radios = type("Radios", (), {"free_s": {}})()

    queue = type("Q", (), {"params": make_link(1, 0, rate_mode="shannon", packet_bits=1000)})()
    windows = []
    for outcome in (TransmissionOutcome(1.0, 3, True), TransmissionOutcome(1.0, 2, False),
                    TransmissionOutcome(1.0, 9, True), TransmissionOutcome(1.0, 2, True)):
        sense.hold(radios, queue, 2000, outcome, 1.0)  # 2 packets: 3 attempts is a retransmission
        windows.append(sense.cw[1])
    assert windows == [31, 63, 63, 15]


# ---------------------------------------------------------------- all in range


def test_nodes_that_all_sense_each_other_never_overlap_and_do_without_sensing():
    # four nodes within 20 m: everyone senses everyone (law 60 - 30 log10 d dB, threshold 10 dB)
    pos = {0: (0.0, 0.0), 1: (10.0, 0.0), 2: (0.0, 10.0), 3: (10.0, 10.0)}
    pairs = [(0, 1), (2, 3), (1, 2), (3, 0)]
    gains = CrossGains({}, pos, lambda d, _agg: 60.0 - 30.0 * math.log10(max(d, 1.0)), {})
    rng = np.random.default_rng(1)
    arrivals = [(float(t), *pairs[rng.integers(len(pairs))]) for t in np.cumsum(rng.exponential(0.7e-3, 400))]
    for sense in (csma(), None):
        sim = simulator(network(pairs, gains, sense))
        records = sorted(book_all(sim, arrivals), key=lambda r: r.start_s)
        gaps = np.array([b.start_s - a.end_s for a, b in itertools.pairwise(records)])
        if sense is not None:
            # one band, one transmission at a time, DIFS of idle medium between any two
            assert gaps.min() >= DIFS - 1e-12
            assert all(not r.hits for r in records)
        else:  # the same schedule without sensing: 0 -> 1 and 2 -> 3 go at once and interfere
            assert (gaps < 0).sum() > 20
            assert sum(bool(r.hits) for r in records) > 20


# ---------------------------------------------------------------- hidden terminals


def test_hidden_terminals_collide_at_the_aloha_rate():
    """A -> B every 10 ms; 50 hidden senders, each strong at B but sensing no one, send to
    B at the arrivals of a Poisson process of rate lam (round robin, so none ever queues).
    Their starts are the arrivals shifted by DIFS + U slots, independently: again a
    Poisson process of rate lam (displacement theorem). A's transmission of length T
    then meets one iff a start falls in its vulnerable period of 2T:
    P = 1 - exp(-2 lam T), exactly."""
    a, b, hidden = 100, 101, list(range(50))
    table = {(a, b): 100.0, **{(c, b): 100.0 for c in hidden}}
    sim = simulator(network([(a, b)] + [(c, b) for c in hidden], TableGains(table), csma()))
    lam, n_a, span = 150.0, 2000, 10e-3
    rng = np.random.default_rng(7)
    poisson = np.cumsum(rng.exponential(1.0 / lam, int(lam * n_a * span * 1.2)))
    arrivals = [(i * span, a, b) for i in range(1, n_a + 1)]
    arrivals += [(float(t), hidden[i % len(hidden)], b) for i, t in enumerate(poisson) if t < (n_a + 2) * span]
    records = book_all(sim, arrivals)
    mine = [r for r in records if r.src == a]
    others = [r for r in records if r.src != a]
    # nobody queued or deferred: each start is its arrival + DIFS + at most CW slots
    starts = np.array([r.start_s for r in mine])
    assert np.all((starts - np.arange(1, n_a + 1) * span >= DIFS - 1e-12)
                  & (starts - np.arange(1, n_a + 1) * span <= DIFS + 15 * SLOT + 1e-12))
    assert len(others) > 0.9 * lam * n_a * span
    collided = np.array([r.interfered_s() > 0 for r in mine])
    p, closed = collided.mean(), 1.0 - math.exp(-2.0 * lam * T)
    assert abs(p - closed) < 4.0 * math.sqrt(closed * (1 - closed) / n_a), (p, closed)
    # a collision is an SINR one at B: 20 dB signal, 20 dB interference for the overlap's share
    single = [r for r in mine if len(r.hits) == 1]
    assert len(single) > 100
    for r in single:
        share = r.interfered_s() / r.air_s
        assert 0 < share <= 1
        assert r.sinr_db() == pytest.approx(10 * math.log10(100.0 / (1.0 + 100.0 * share)), abs=1e-9)


@pytest.mark.parametrize("threshold_db, hidden", [(25.0, True), (15.0, False)])
def test_two_senders_either_side_of_a_receiver_are_hidden_below_the_threshold(threshold_db, hidden):
    """A (-10 m) and C (+10 m) both send to B at the origin (log-distance, 60 - 30 log10 d
    dB over the noise: 30 dB at B, 20 m apart they hear each other at 21 dB). Over a 25 dB
    threshold C does not sense A and sends into it: both meet the other at B for the
    overlap, at SINR 30 dB over 1 + 30 dB times the overlap's share. Over 15 dB C defers."""
    pos = {0: (-10.0, 0.0), 1: (0.0, 0.0), 2: (10.0, 0.0)}
    gains = CrossGains({}, pos, lambda d, _agg: 60.0 - 30.0 * math.log10(max(d, 1.0)), {})
    sim = simulator(network([(0, 1), (2, 1)], gains, csma(threshold_db, cw_min=0, cw_max=0)))
    first, second = book_all(sim, [(0.0, 0, 1), (0.5 * T, 2, 1)])
    assert first.start_s == pytest.approx(DIFS)
    if not hidden:
        assert second.start_s == pytest.approx(first.end_s + DIFS) and not first.hits and not second.hits
        return
    assert second.start_s == pytest.approx(0.5 * T + DIFS)
    share = (first.end_s - second.start_s) / T
    closed = 10 * math.log10(1e3 / (1 + 1e3 * share))
    assert first.sinr_db() == pytest.approx(closed, abs=1e-9)
    assert second.sinr_db() == pytest.approx(closed, abs=1e-9)


def test_a_receiver_that_sends_hears_nothing():
    # 1 -> 0 is booked first; 2, hidden from 1, sends to 1 while 1 is sending: deaf
    table = {(1, 0): 100.0, (2, 1): 100.0}
    sim = simulator(network([(1, 0), (2, 1)], TableGains(table), csma(cw_min=0, cw_max=0)))
    first, second = book_all(sim, [(0.0, 1, 0), (1e-6, 2, 1)])
    assert second.start_s < first.end_s
    assert [h[2] for h in second.hits] == [DEAF]
    share = (first.end_s - second.start_s) / second.air_s
    assert second.sinr_db() == pytest.approx(20.0 - 10 * math.log10(1.0 + DEAF * share), abs=1e-9)
    assert second.sinr_db() < -90.0


# ---------------------------------------------------------------- exposed terminals


@pytest.mark.parametrize("sense", [csma(), None])
def test_an_exposed_terminal_is_serialised_at_half_the_throughput(sense):
    """B -> A and C -> D; B and C sense each other (15 dB over a 10 dB threshold), A and D
    hear the other sender not at all. Without sensing both pairs send at once, n messages
    each in n T; with it they take turns: 2 n T plus a DIFS and at most cw_min slots each."""
    a, b, c, d = 0, 1, 2, 3
    table = {(b, a): 1000.0, (c, d): 1000.0, (b, c): 31.6, (c, b): 31.6}
    sim = simulator(network([(b, a), (c, d)], TableGains(table), sense))
    n = 200
    records = book_all(sim, [(0.0, b, a)] * n + [(0.0, c, d)] * n)
    end = max(r.end_s for r in records)
    assert all(not r.hits for r in records)  # nobody interferes either way: the receivers are out of range
    if sense is None:
        assert end == pytest.approx(n * T)
        return
    spans = sorted((r.start_s, r.end_s) for r in records)
    assert all(s1 >= e0 + DIFS - 1e-12 for (_, e0), (s1, _) in itertools.pairwise(spans))
    assert 2 * n * (T + DIFS) <= end <= 2 * n * (T + DIFS + 15 * SLOT)
    # each transmission after a DIFS and a backoff of mean 7.5 slots (variance (16^2 - 1) / 12), but
    # the first of C, whose countdown ran out while B was booked ahead of it
    mean = 2 * n * (T + DIFS) + (2 * n - 1) * 7.5 * SLOT
    assert abs(end - mean) < 4 * SLOT * math.sqrt((2 * n - 1) * (16**2 - 1) / 12)
    # the two pairs side by side move 2 n messages in n T: sensing halves that, less the MAC's overhead
    throughput, side_by_side = 2 * n * 10_000 / end, 2 * RATE
    assert throughput / side_by_side == pytest.approx(0.5 * T / (T + DIFS + 7.5 * SLOT), rel=0.01)


# ---------------------------------------------------------------- plumbing


def test_a_round_with_carrier_sensing_is_seeded_and_its_medium_survives_a_checkpoint():
    table = {(1, 0): 100.0, (0, 1): 100.0, (2, 0): 100.0, (0, 2): 100.0, (1, 2): 100.0, (2, 1): 100.0}
    net = network([(1, 0), (2, 0), (0, 1), (0, 2)], TableGains(table), csma())

    def run(sim):
        sim.play_round([Task(key=i, node=s, uploads=(Message(s, 0, "m", 50_000),)) for i, s in enumerate((1, 2))])
        return [r.start_s for r in sim.book.air[0]]

    first = run(simulator(net, seed=3))
    assert first == run(simulator(net, seed=3)) and first != run(simulator(net, seed=4))
    sim = simulator(net, seed=3)
    run(sim)
    state = sim.state()
    restored = simulator(net, seed=3)
    restored.load_state(state)
    assert restored.medium.radios.access.cw == sim.medium.radios.access.cw
    assert restored.book.shared_receivers and restored.medium.radios.access.book is restored.book
    assert run(restored) == run(sim)
    again = unpickle_medium(pickle_medium(sim.medium), sim._queues)
    assert again.radios.access.rng.bit_generator.state == sim.medium.radios.access.rng.bit_generator.state
