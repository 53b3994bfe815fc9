"""Live images on the links (:mod:`semnet.sim.traffic`) against closed forms: the
Pollaczek–Khinchine mean wait of Poisson images with deterministic service, and exact
times of images queued behind a model message (FIFO and images first, on a dedicated
link and on node radios)."""

from __future__ import annotations

import numpy as np
import pytest

from semnet.net.network import AGGREGATOR, MediumSettings
from semnet.sim import Message, Simulator, Task
from semnet.sim.traffic import TrafficPlan
from tests.sim.test_engine import make_link, make_network

B = 1e6  # Hz: complex symbols per second
LAT = 0.005  # s
R = 10e6  # bit/s of model messages


def traffic_sim(*links, plan_links, medium=MediumSettings(), seed=0, **plan) -> Simulator:
    net = make_network(*links)
    net.medium = medium
    nodes = set(net.users) | {AGGREGATOR}
    return Simulator(net, seed=seed, compute_speed={n: 100.0 for n in nodes},
                     traffic=TrafficPlan(links=tuple(plan_links), **plan))


def images_until(sim: Simulator, t_s: float):
    sim.wait(t_s - sim.now_s)
    sim.catch_up()
    return sim.traffic.take()


# --------------------------------------------------------------------------- queueing oracle


@pytest.mark.parametrize("rho", [0.3, 0.7])
def test_poisson_images_wait_as_pollaczek_khinchine_says(rho):
    # M/D/1: service 1/mu = k / B, mean wait W = rho / (2 mu (1 - rho))
    k = 1000
    mu = B / k
    sim = traffic_sim(make_link(0, 1, latency_s=0.0), plan_links=[(0, 1)], images_per_s=rho * mu, symbols=k,
                      arrivals="poisson", seed=7)
    images = images_until(sim, 400.0)
    waits = np.array([im.t_start_s - im.t_gen_s for im in images])
    served = np.array([im.t_end_s - im.t_start_s for im in images])
    assert served == pytest.approx(1 / mu, abs=1e-12)  # deterministic service
    assert len(images) == pytest.approx(rho * mu * 400, rel=0.02)
    expected = rho / (2 * mu * (1 - rho))
    # waits are correlated in time: the Monte-Carlo error from means over 40 long batches
    batches = np.array([b.mean() for b in np.array_split(waits, 40)])
    sem = batches.std(ddof=1) / np.sqrt(len(batches))
    assert abs(waits.mean() - expected) < 4 * sem, (waits.mean(), expected, sem)
    assert sem < 0.05 * expected  # the check is tight enough to fail on a wrong law


def test_periodic_images_below_capacity_never_wait():
    sim = traffic_sim(make_link(0, 1), make_link(1, 0), plan_links=[(0, 1), (1, 0)], images_per_s=900.0, symbols=1000,
                      arrivals="periodic")
    images = images_until(sim, 2.0)
    assert len(images) == pytest.approx(2 * 1800, abs=2)
    assert all(im.t_start_s == im.t_gen_s for im in images)
    assert all(im.t_end_s == pytest.approx(im.t_start_s + 1000 / B + LAT, abs=1e-12) for im in images)
    gaps = np.diff([im.t_gen_s for im in images if im.src == 0])
    assert gaps == pytest.approx(1 / 900.0, abs=1e-12)
    phases = {im.src: im.t_gen_s for im in reversed(images)}  # each link's first image
    assert phases[0] != phases[1]  # links start at their own random phase


# --------------------------------------------------------------------------- exact times


def _first_after(images, t_s):
    return next(i for i, im in enumerate(images) if im.t_gen_s > t_s)


@pytest.mark.parametrize("queue", ["fifo", "images_first"])
def test_a_model_message_delays_the_images_queued_behind_it(queue):
    # images every 5 ms, 1 ms each; a 10 ms model message sent on the same link
    gap, air = 0.005, 0.001
    sim = traffic_sim(make_link(0, 1), plan_links=[(0, 1)], images_per_s=1 / gap, symbols=int(air * B),
                      arrivals="periodic", queue=queue)
    phase = images_until(sim, 0.0)  # nothing yet: the first image comes at a random phase
    assert phase == []
    t0 = 0.1
    before = images_until(sim, t0)
    [out] = sim.play_round([Task(key="m", node=0, uploads=(Message(0, 1, "update", 100_000),))])
    msg_end = t0 + 100_000 / R
    assert out.finished_s == pytest.approx(msg_end + LAT, abs=1e-12)  # the link was idle: it starts at once
    images = before + images_until(sim, 0.2)
    first = _first_after(images, t0)
    a, b, c = images[first], images[first + 1], images[first + 2]
    # the two images generated while the message is on the air wait for its end, then go in turn
    assert a.t_gen_s < msg_end and b.t_gen_s < msg_end < c.t_gen_s
    assert a.t_start_s == pytest.approx(msg_end, abs=1e-12)
    assert b.t_start_s == pytest.approx(msg_end + air, abs=1e-12)
    assert b.t_end_s == pytest.approx(msg_end + 2 * air + LAT, abs=1e-12)
    assert c.t_start_s == pytest.approx(max(c.t_gen_s, msg_end + 2 * air), abs=1e-12)
    assert all(im.t_start_s == im.t_gen_s for im in images if im.t_gen_s > t0 + 0.03)  # the queue has drained
    assert images[first - 1].t_end_s == pytest.approx(images[first - 1].t_gen_s + air + LAT, abs=1e-12)


def test_images_first_overtakes_a_waiting_model_message_and_fifo_does_not():
    # a 30 ms message holds the link; a second message (10 ms) waits behind it; images
    # generated meanwhile go after the first message under either policy, before the
    # second one only with images_first
    gap, air = 0.004, 0.001
    starts = {}
    for queue in ("fifo", "images_first"):
        sim = traffic_sim(make_link(0, 1), plan_links=[(0, 1)], images_per_s=1 / gap, symbols=int(air * B),
                          arrivals="periodic", queue=queue)
        images = images_until(sim, 0.1)
        records = []
        sim._sink = records.append
        sim.play_round([Task(key="m1", node=0, uploads=(Message(0, 1, "update", 300_000),)),
                        Task(key="m2", node=0, uploads=(Message(0, 1, "update", 100_000),))])
        images += images_until(sim, 0.3)
        waiting = [im for im in images if 0.1 < im.t_gen_s < 0.13]  # generated while m1 is sent
        assert len(waiting) >= 7
        m2 = records[1]
        starts[queue] = (m2["t_start_s"], [im.t_start_s for im in waiting])
        t1 = 0.1 + 300_000 / R  # m1 ends
        if queue == "fifo":
            assert m2["t_start_s"] == pytest.approx(t1, abs=1e-12)
            expected = [t1 + 100_000 / R + i * air for i in range(len(waiting))]
        else:
            expected = [t1 + i * air for i in range(len(waiting))]
            # non-preemptive priority: m2 starts once no image is waiting, and images
            # keep arriving (every 4 ms) while the backlog drains at 1 ms each
            free = t1 + len(waiting) * air
            for im in images:
                if 0.13 <= im.t_gen_s <= free:
                    free += air
            assert m2["t_start_s"] == pytest.approx(free, abs=1e-12)
        assert [im.t_start_s for im in waiting] == pytest.approx(expected, abs=1e-12)
    assert starts["fifo"][0] < starts["images_first"][0]


def test_on_node_radios_a_download_holds_the_users_radio_and_its_images_wait():
    # the aggregator's 80 ms download to user 0 holds 0's radio: 0's images to 1 wait
    links = (make_link(0, 1), make_link(AGGREGATOR, 0), make_link(0, AGGREGATOR))
    sim = traffic_sim(*links, plan_links=[(0, 1)], medium=MediumSettings(kind="node_radio"), images_per_s=100.0,
                      symbols=1000, arrivals="periodic")
    images = images_until(sim, 0.05)
    sim.play_round([Task(key=0, node=0, downloads=(Message(AGGREGATOR, 0, "global_model", 800_000),))])
    images += images_until(sim, 0.3)
    end = 0.05 + 800_000 / R
    held = [im for im in images if 0.05 < im.t_gen_s < end]
    assert len(held) == 8
    assert [im.t_start_s for im in held] == pytest.approx([end + i * 0.001 for i in range(8)], abs=1e-12)
    # on dedicated links the same images would not have waited
    sim = traffic_sim(*links, plan_links=[(0, 1)], images_per_s=100.0, symbols=1000, arrivals="periodic")
    images = images_until(sim, 0.05)
    sim.play_round([Task(key=0, node=0, downloads=(Message(AGGREGATOR, 0, "global_model", 800_000),))])
    images += images_until(sim, 0.3)
    assert all(im.t_start_s == im.t_gen_s for im in images)


# --------------------------------------------------------------------------- seams


def test_a_tagged_message_reports_its_arrival_and_untagged_ones_do_not():
    sim = traffic_sim(make_link(0, 1), make_link(1, 0), plan_links=[(0, 1)], images_per_s=10.0, symbols=100)
    sim.play_round([Task(key="a", node=0, uploads=(Message(0, 1, "decoder", 100_000, tag=("deploy", 1)),
                                                   Message(0, 1, "other", 100_000)))])
    assert sim.arrivals == [(("deploy", 1), pytest.approx(0.01 + LAT), True)]


def test_a_restored_simulator_books_the_same_images():
    def make():
        return traffic_sim(make_link(0, 1), make_link(1, 0), plan_links=[(0, 1), (1, 0)], images_per_s=50.0,
                           symbols=2000, arrivals="poisson", queue="images_first", seed=4)

    def round_(sim):
        sim.play_round([Task(key="a", node=0, uploads=(Message(0, 1, "update", 200_000),))])
        sim.wait(0.3)

    whole = make()
    for _ in range(3):
        round_(whole)
    whole.catch_up()
    expected = [im.as_tuple() for im in whole.traffic.take()]

    first = make()
    round_(first)
    state = first.state()
    second = make()
    second.load_state(state)
    for _ in range(2):
        round_(second)
    second.catch_up()
    got = [im.as_tuple() for im in second.traffic.take()]
    assert got == expected


@pytest.mark.parametrize("queue", ["fifo", "images_first"])
def test_images_first_uses_a_radio_while_its_download_waits_for_the_aggregator(queue):
    # the aggregator's radio sends 0.8 s to user 2, then 0.8 s to user 0: user 0's radio
    # is idle until 0.8 s. FIFO: 0's images wait behind the booked download (its queue
    # is one FIFO), until 1.6 s. Images first: they use the idle radio at once, and only
    # those generated while the download is on the air wait for its end.
    links = (make_link(0, 1), make_link(AGGREGATOR, 0), make_link(AGGREGATOR, 2))
    sim = traffic_sim(*links, plan_links=[(0, 1)], medium=MediumSettings(kind="node_radio"), images_per_s=100.0,
                      symbols=1000, arrivals="periodic", queue=queue)
    images = images_until(sim, 0.0)
    sim.play_round([Task(key=2, node=2, downloads=(Message(AGGREGATOR, 2, "global_model", 8_000_000),)),
                    Task(key=0, node=0, downloads=(Message(AGGREGATOR, 0, "global_model", 8_000_000),))])
    images += images_until(sim, 2.0)
    early = [im for im in images if im.t_gen_s < 0.8 - 0.001]
    during = [im for im in images if 0.8 < im.t_gen_s < 1.6]
    later = [im for im in images if im.t_gen_s > 1.85]  # the backlog has drained
    assert len(early) >= 78 and len(during) == 80 and later
    if queue == "fifo":
        waiting = early + during
        assert [im.t_start_s for im in waiting] == pytest.approx([1.6 + i * 0.001 for i in range(len(waiting))],
                                                                  abs=1e-9)
    else:
        assert all(im.t_start_s == im.t_gen_s for im in early)
        assert [im.t_start_s for im in during] == pytest.approx([1.6 + i * 0.001 for i in range(80)], abs=1e-9)
    assert all(im.t_start_s == im.t_gen_s for im in later)


def test_a_live_image_meets_the_gain_a_packet_sent_then_would_meet():
    # on a channel over time an image reads its link's process at its start: a twin
    # simulator (same seed and branch) asked for the channel at those times, in order,
    # answers with the same h and SNR, and so does a model packet sent after them
    from semnet.scenario.schema import ChannelSpec, LinksSpec, RateSpec
    from semnet.scenario.topology import topology_spec
    from semnet.net.network import build_network

    top = topology_spec(kind="ring", num_users=3)
    links = LinksSpec(snr_db=10.0, fading="rayleigh", rate=RateSpec(mode="fixed", rate_bps=1e6),
                      channel=ChannelSpec(time_correlation="gauss_markov", speed_mps=3.0))
    net = build_network(top, links, seed=0)
    speeds = {n: 100.0 for n in net.users} | {net.aggregator: 100.0}
    plan = TrafficPlan(images_per_s=20.0, symbols=256, links=((0, 1),), arrivals="poisson")
    sim = Simulator(net, seed=0, compute_speed=speeds, traffic=plan)
    images = images_until(sim, 2.0)
    assert len(images) > 20 and all(im.h is not None for im in images)
    twin = Simulator(net, seed=0, compute_speed=speeds)
    for im in images:
        h, snr_db = twin.channel_state(0, 1, im.t_start_s)
        assert (im.h, im.snr_db) == (h, snr_db)
    assert len({im.h for im in images}) == len(images)  # the channel moves between images
    # a model packet sent now reads the same process, after the images: the twin agrees
    records = []
    sim._sink = records.append
    sim._submit(Message(0, 1, "model", 1000), None)
    h, snr_db = twin.channel_state(0, 1, sim.now_s)
    assert records[-1]["snr_db"] == pytest.approx(snr_db + 10 * np.log10(abs(h) ** 2), abs=1e-4)
