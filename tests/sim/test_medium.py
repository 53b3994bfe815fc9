"""Shared airtime (``links.medium``) against closed forms: half-duplex node radios, a
cell's uplink under TDMA, OFDMA and proportional fair, and its broadcast downlink.
Fixed-rate links without fading, so every time is exact."""

from __future__ import annotations

import math

import pytest

from semnet.net.network import AGGREGATOR, MediumSettings
from semnet.sim import Message, Simulator, Task
from semnet.sim.band import BandJob, make_band
from tests.sim.test_engine import make_link, make_network

MB = 8 * 1_000_000  # bits
R = 10e6  # bit/s
LAT = 0.005  # s


def sim_on(medium: MediumSettings, *links, speed: float = 100.0):
    net = make_network(*links)
    net.medium = medium
    records: list[dict] = []
    nodes = set(net.users) | {AGGREGATOR}
    sim = Simulator(net, seed=0, compute_speed={n: speed for n in nodes}, sink=records.append)
    return sim, records


def uplinks(n: int, **overrides):
    return [make_link(u, AGGREGATOR, **overrides) for u in range(n)] + [
        make_link(AGGREGATOR, u, **overrides) for u in range(n)]


def upload(user, bits=MB, samples=0) -> Task:
    return Task(key=user, node=user, samples=samples, uploads=(Message(user, AGGREGATOR, "update", bits),))


def download(user, bits=MB) -> Task:
    return Task(key=user, node=user, downloads=(Message(AGGREGATOR, user, "global", bits),))


# --------------------------------------------------------------------------- node radios

RADIO = MediumSettings(kind="node_radio")


def test_a_half_duplex_node_sends_its_two_messages_one_after_the_other():
    links = (make_link(0, 1), make_link(0, 2))
    sim, records = sim_on(RADIO, *links)
    task = Task(key="a", node=0, uploads=(Message(0, 1, "m", MB), Message(0, 2, "m", MB)))
    [out] = sim.play_round([task])
    first, second = records
    assert (first["t_start_s"], first["t_end_s"]) == pytest.approx((0.0, MB / R + LAT), abs=1e-12)
    assert (second["t_start_s"], second["t_end_s"]) == pytest.approx((MB / R, 2 * MB / R + LAT), abs=1e-12)
    assert out.finished_s == pytest.approx(2 * MB / R + LAT, abs=1e-12)
    # on dedicated links the same two messages go side by side
    sim, records = sim_on(MediumSettings(), *links)
    sim.play_round([task])
    assert [r["t_end_s"] for r in records] == pytest.approx([MB / R + LAT] * 2, abs=1e-12)


def test_a_node_cannot_receive_while_it_transmits():
    sim, records = sim_on(RADIO, make_link(0, 1), make_link(2, 0), make_link(3, 4))
    tasks = [Task(key="tx", node=0, uploads=(Message(0, 1, "m", MB),)),
             Task(key="to_busy", node=2, uploads=(Message(2, 0, "m", MB // 2),)),
             Task(key="elsewhere", node=3, uploads=(Message(3, 4, "m", MB),))]
    outcomes = {o.key: o for o in sim.play_round(tasks)}
    by_src = {r["src"]: r for r in records}
    # 2 -> 0 waits for node 0's radio to finish sending (0.8 s), then takes 0.4 s
    assert by_src[2]["t_start_s"] == pytest.approx(MB / R, abs=1e-12)
    assert outcomes["to_busy"].finished_s == pytest.approx(MB / R + MB / 2 / R + LAT, abs=1e-12)
    # an unrelated pair is not held up (no interference is modelled)
    assert by_src[3]["t_start_s"] == 0.0


def test_a_receiving_node_cannot_send_until_the_reception_ends():
    sim, records = sim_on(RADIO, make_link(0, 1), make_link(1, 2))
    sim.play_round([Task(key="a", node=0, uploads=(Message(0, 1, "m", MB),)),
                    Task(key="b", node=1, uploads=(Message(1, 2, "m", MB),))])
    assert records[1]["t_start_s"] == pytest.approx(MB / R, abs=1e-12)


def test_node_radios_stay_busy_across_rounds():
    sim, records = sim_on(RADIO, make_link(0, 1), make_link(2, 1))
    sim.play_round([Task(key="a", node=0, uploads=(Message(0, 1, "m", MB),))], deadline_s=0.1)
    sim.play_round([Task(key="b", node=2, uploads=(Message(2, 1, "m", MB),))])
    assert records[1]["t_submit_s"] == pytest.approx(0.1)
    assert records[1]["t_start_s"] == pytest.approx(MB / R, abs=1e-12)  # node 1 still receives the first


# --------------------------------------------------------------------------- the cell's uplink


def cell(scheduler: str, downlink: str = "unicast", **kw) -> MediumSettings:
    return MediumSettings(kind="cell", scheduler=scheduler, downlink=downlink, **kw)


@pytest.mark.parametrize("n", [1, 3, 5])
def test_tdma_serves_equal_uploads_one_after_another(n):
    sim, records = sim_on(cell("tdma"), *uplinks(n))
    outcomes = sim.play_round([upload(u) for u in range(n)])
    # k-th upload (1-based) ends at k b / R; the last at n b / R
    for k, out in enumerate(outcomes, start=1):
        assert out.ok and out.finished_s == pytest.approx(k * MB / R + LAT, rel=1e-12)
    assert sim.now_s == pytest.approx(n * MB / R + LAT, rel=1e-12)
    assert sorted(r["t_start_s"] for r in records) == pytest.approx([k * MB / R for k in range(n)], abs=1e-9)


@pytest.mark.parametrize("n", [1, 3, 5])
def test_ofdma_equal_share_serves_equal_uploads_together(n):
    sim, records = sim_on(cell("ofdma"), *uplinks(n))
    outcomes = sim.play_round([upload(u) for u in range(n)])
    # each of n users gets B/n: every upload ends at b n / R, all started at once
    assert [o.finished_s for o in outcomes] == pytest.approx([n * MB / R + LAT] * n, rel=1e-12)
    assert all(r["t_start_s"] == 0.0 for r in records)


def test_ofdma_re_splits_the_band_when_a_user_arrives_and_leaves():
    # user 1 starts 0.4 s later (compute: 40 samples at 100/s); w = 0.8 s of full-band airtime each.
    # Alone until 0.4 (0.4 s done), then halves: user 0 ends at 0.4 + 2 * 0.4 = 1.2;
    # user 1 has 0.8 - 0.4 left at 1.2, alone again: ends at 1.6.
    sim, _ = sim_on(cell("ofdma"), *uplinks(2))
    out0, out1 = sim.play_round([upload(0), upload(1, samples=40)])
    assert out0.finished_s == pytest.approx(1.2 + LAT, rel=1e-12)
    assert out1.finished_s == pytest.approx(1.6 + LAT, rel=1e-12)


def test_ofdma_users_of_different_rates_share_the_time_equally():
    # R0 = 10 Mbit/s (w0 = 0.8 s), R1 = 5 Mbit/s (w1 = 1.6 s): 0 ends at 2 w0 = 1.6,
    # then 1 alone with 1.6 - 0.8 left: ends at w0 + w1 = 2.4 (the band never idles)
    links = [make_link(0, AGGREGATOR), make_link(1, AGGREGATOR, rate_bps=5e6)]
    sim, _ = sim_on(cell("ofdma"), *links)
    out0, out1 = sim.play_round([upload(0), upload(1)])
    assert (out0.finished_s, out1.finished_s) == pytest.approx((1.6 + LAT, 2.4 + LAT), rel=1e-12)


def test_tdma_goes_round_robin_between_users():
    # user 0 has two messages, user 1 one, all at t = 0: 0, 1, then 0's second
    sim, records = sim_on(cell("tdma"), *uplinks(2))
    two = Task(key=0, node=0, uploads=(Message(0, AGGREGATOR, "a", MB), Message(0, AGGREGATOR, "b", MB)))
    sim.play_round([two, upload(1)])
    order = [(r["src"], r["kind"]) for r in sorted(records, key=lambda r: r["t_start_s"])]
    assert order == [(0, "a"), (1, "update"), (0, "b")]
    assert max(r["t_end_s"] for r in records) == pytest.approx(3 * MB / R + LAT, rel=1e-12)


def test_proportional_fair_with_fixed_rates_shares_the_time_equally():
    n, slot = 4, 1e-3
    sim, _ = sim_on(cell("proportional_fair", slot_s=slot, pf_window_s=0.05), *uplinks(n))
    ends = [o.finished_s - LAT for o in sim.play_round([upload(u) for u in range(n)])]
    # work-conserving: the last ends at n b / R; each within n slots of it (round robin by slot)
    assert max(ends) == pytest.approx(n * MB / R, rel=1e-9)
    assert min(ends) >= n * MB / R - n * slot - 1e-9


class _AlternatingOwner:
    """Two users whose rates swap every 1 s slot: user a has 2 bit/s in even slots and
    1 in odd ones, user b the reverse; each job is 10 bits at a nominal 1 bit/s."""

    def __init__(self):
        self.ends = {}

    def plan(self, job, t_s):
        job.work_s, job.nominal_bps = 10.0, 1.0

    def rate_bps(self, job, t_s):
        even = int(math.floor(t_s + 1e-9)) % 2 == 0
        return 2.0 if even == (job.user == "a") else 1.0

    def done(self, job, end_s):
        self.ends[job.user] = end_s


def test_proportional_fair_serves_each_user_at_its_peak():
    import simpy

    env = simpy.Environment()
    owner = _AlternatingOwner()
    band = make_band(env, "proportional_fair", owner, slot_s=1.0, window_s=10.0)
    band.add(BandJob("a", None))
    band.add(BandJob("b", None))
    env.run()
    # slot 0: both new, a first (at 2 bit/s); slot 1: b is new (2 bit/s); from then on
    # r/T picks whoever is at its peak, so each gets 2 bit/s in alternate slots and
    # needs 5 slots: a in 0, 2, 4, 6, 8 (ends at 9 s), b in 1, 3, ..., 9 (ends at 10 s).
    # Round robin at the nominal rate would need 20 s, equal shares at the mean rate 13.3 s.
    assert owner.ends == pytest.approx({"a": 9.0, "b": 10.0}, abs=1e-9)


# --------------------------------------------------------------------------- the cell's downlink


def test_broadcast_goes_once_at_the_weakest_receivers_rate():
    rates = [10e6, 4e6, 8e6]
    links = [make_link(AGGREGATOR, u, rate_bps=r) for u, r in enumerate(rates)]
    links += [make_link(u, AGGREGATOR) for u in range(3)]
    sim, records = sim_on(cell("tdma", downlink="broadcast"), *links)
    outcomes = sim.play_round([download(u) for u in range(3)])
    # one transmission of b / min_i R_i heard by all
    assert [o.finished_s for o in outcomes] == pytest.approx([MB / min(rates) + LAT] * 3, rel=1e-12)
    assert len(records) == 3 and {r["t_start_s"] for r in records} == {0.0}
    assert sim.bits_total == 3 * MB  # every receiver got the model


def test_unicast_downloads_share_the_downlink_band():
    sim, _ = sim_on(cell("tdma", downlink="unicast"), *uplinks(3))
    outcomes = sim.play_round([download(u) for u in range(3)])
    assert [o.finished_s for o in outcomes] == pytest.approx([k * MB / R + LAT for k in (1, 2, 3)], rel=1e-12)


def test_a_broadcast_round_then_uploads_fedavg_shape():
    # download (broadcast, 0.8 s), compute 50 samples at 100/s (0.5 s), upload under OFDMA (3 x 0.8 s)
    sim, records = sim_on(cell("ofdma", downlink="broadcast"), *uplinks(3))
    tasks = [Task(key=u, node=u, downloads=(Message(AGGREGATOR, u, "global", MB),), samples=50,
                  uploads=(Message(u, AGGREGATOR, "update", MB),)) for u in range(3)]
    outcomes = sim.play_round(tasks)
    end = MB / R + LAT + 0.5 + 3 * MB / R + LAT
    assert [o.finished_s for o in outcomes] == pytest.approx([end] * 3, rel=1e-12)
    assert [r["kind"] for r in records] == ["global"] * 3 + ["update"] * 3


def test_device_to_device_messages_use_the_radios_in_a_cell():
    sim, records = sim_on(cell("ofdma"), make_link(0, 1), make_link(0, 2), *uplinks(3))
    task = Task(key="a", node=0, uploads=(Message(0, 1, "m", MB), Message(0, 2, "m", MB)))
    [out] = sim.play_round([task])
    assert out.finished_s == pytest.approx(2 * MB / R + LAT, abs=1e-12)


def test_a_late_upload_is_recorded_when_the_band_finishes_it():
    sim, records = sim_on(cell("ofdma"), *uplinks(2))
    outcomes = sim.play_round([upload(0), upload(1)], deadline_s=1.0)
    assert [o.reason for o in outcomes] == ["deadline", "deadline"]
    assert sim.now_s == pytest.approx(1.0)
    assert records == []  # still on the air
    sim.finish()
    assert [r["outcome"] for r in records] == ["late", "late"]
    assert [r["t_end_s"] for r in records] == pytest.approx([2 * MB / R + LAT] * 2, rel=1e-12)


def test_send_primitive_on_a_cell():
    sim, records = sim_on(cell("tdma"), *uplinks(2))
    first = sim.send(Message(0, AGGREGATOR, "m", MB))
    second = sim.send(Message(1, AGGREGATOR, "m", MB))
    sim.env.run(until=second)
    assert first.value["t_end_s"] == pytest.approx(MB / R + LAT, rel=1e-12)
    assert second.value["t_end_s"] == pytest.approx(2 * MB / R + LAT, rel=1e-12)
    assert sim.now_s == pytest.approx(2 * MB / R + LAT, rel=1e-12)


# --------------------------------------------------------------------------- state between rounds


def test_node_radios_pickle():
    import pickle

    sim, _ = sim_on(RADIO, *uplinks(2))
    sim.play_round([upload(0), upload(1)], deadline_s=0.5)
    restored = pickle.loads(pickle.dumps(sim.medium))
    assert restored.radios.free_s == sim.medium.radios.free_s == {0: 0.8, AGGREGATOR: 1.6, 1: 1.6}


@pytest.mark.parametrize("medium", [cell("ofdma"), cell("tdma", downlink="broadcast"), cell("proportional_fair")],
                         ids=lambda m: m.scheduler)
def test_a_cell_with_messages_on_the_air_pickles_and_resumes(medium):
    import pickle

    def straggling():
        sim, records = sim_on(medium, *uplinks(3))
        sim.play_round([download(u) for u in range(3)])
        sim.play_round([upload(u) for u in range(3)], deadline_s=0.5)  # still on the air
        return sim, records

    sim, records = straggling()
    restored = pickle.loads(pickle.dumps(sim.medium))
    sim.finish()
    expected = records[3:]
    assert len(expected) == 3 and {r["outcome"] for r in expected} == {"late"}

    again, records = straggling()
    fresh, resumed = sim_on(medium, *uplinks(3))
    fresh.env = type(fresh.env)(initial_time=again.now_s)  # a restored simulator's clock
    fresh.medium = restored
    restored.attach(fresh)
    fresh.finish()
    assert resumed == expected
