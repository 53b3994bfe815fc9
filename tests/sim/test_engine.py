"""Timing rules of the SimPy engine: airtime, latency, queueing, outage, deadlines,
compute, and the event records. Networks are built by hand (or from small specs);
nothing here trains a model."""

from __future__ import annotations

import networkx as nx
import pytest

from semnet.net.network import AGGREGATOR, LinkParams, Network, build_network
from semnet.scenario.schema import LinksSpec, RateSpec
from semnet.scenario.topology import topology_spec
from semnet.sim import Message, Simulator, Task

MEGABYTE_BITS = 8 * 1_000_000
RECORD_KEYS = {"t_submit_s", "t_start_s", "t_end_s", "src", "dst", "kind", "bits", "outcome", "attempts"}


def make_link(src, dst, **overrides) -> LinkParams:
    """A 10 Mbit/s fixed-rate link with 5 ms latency unless ``overrides`` say otherwise."""
    fields = dict(
        src=src,
        dst=dst,
        snr_db=10.0,
        distance_m=10.0,
        bandwidth_hz=1e6,
        latency_s=0.005,
        fading="none",
        k_factor=0.0,
        rate_mode="fixed",
        rate_bps=10e6,
        backoff=0.5,
        packet_bits=12_000,
        max_retries=4,
    )
    fields.update(overrides)
    return LinkParams(**fields)


def make_network(*links: LinkParams) -> Network:
    nodes = sorted({end for link in links for end in (link.src, link.dst) if end != AGGREGATOR})
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    transmit = nx.DiGraph()
    transmit.add_nodes_from(nodes)
    for link in links:
        if AGGREGATOR not in (link.src, link.dst):
            graph.add_edge(link.src, link.dst)
            transmit.add_edge(link.src, link.dst, weight=1.0)
    return Network(graph=graph, transmit=transmit, links={(l.src, l.dst): l for l in links}, users=nodes)


@pytest.fixture
def records() -> list[dict]:
    return []


def make_sim(network: Network, records: list[dict] | None = None, *, seed: int = 0, speed: float = 100.0) -> Simulator:
    nodes = set(network.users) | {AGGREGATOR}
    return Simulator(
        network,
        seed=seed,
        compute_speed={node: speed for node in nodes},
        sink=None if records is None else records.append,
    )


def upload_task(key, src, dst, bits=MEGABYTE_BITS, samples=0) -> Task:
    return Task(key=key, node=src, samples=samples, uploads=(Message(src, dst, "model", bits),))


def by_key(outcomes):
    return {o.key: o for o in outcomes}


# --------------------------------------------------------------------------- transfers


def test_one_megabyte_at_ten_megabit_arrives_after_805_ms(records):
    sim = make_sim(make_network(make_link(0, 1)), records)
    [outcome] = sim.play_round([upload_task("a", 0, 1)])
    assert outcome.ok and outcome.reason is None
    assert outcome.finished_s == pytest.approx(0.805, abs=1e-12)
    assert outcome.bits == MEGABYTE_BITS
    [record] = records
    assert record["t_start_s"] == 0.0
    assert record["t_end_s"] == pytest.approx(0.805, abs=1e-12)
    assert record["outcome"] == "delivered"
    assert sim.now_s == pytest.approx(0.805, abs=1e-12)
    assert sim.bytes_total == 1_000_000
    assert sim.messages_total == 1


def test_messages_on_one_link_queue_and_latency_is_pipelined(records):
    sim = make_sim(make_network(make_link(0, 1)), records)
    outcomes = by_key(sim.play_round([upload_task("first", 0, 1), upload_task("second", 0, 1)]))
    assert outcomes["first"].finished_s == pytest.approx(0.805, abs=1e-12)
    assert outcomes["second"].finished_s == pytest.approx(1.605, abs=1e-12)
    first, second = sorted(records, key=lambda r: r["t_start_s"])
    # the second message waits only for the first one's airtime, not its propagation
    assert second["t_start_s"] == pytest.approx(0.8, abs=1e-12)
    assert second["t_start_s"] < first["t_end_s"]
    assert second["t_submit_s"] == 0.0


def test_messages_on_different_links_proceed_in_parallel(records):
    # 0 -> 1 and 1 -> 0 are two directed links, as is 0 -> 2
    net = make_network(make_link(0, 1), make_link(1, 0), make_link(0, 2))
    sim = make_sim(net, records)
    outcomes = sim.play_round([upload_task("a", 0, 1), upload_task("b", 1, 0), upload_task("c", 0, 2)])
    assert [o.finished_s for o in outcomes] == pytest.approx([0.805] * 3, abs=1e-12)
    assert all(r["t_start_s"] == 0.0 for r in records)
    assert sim.now_s == pytest.approx(0.805, abs=1e-12)


def test_link_stays_busy_across_rounds(records):
    sim = make_sim(make_network(make_link(0, 1)), records)
    sim.play_round([upload_task("a", 0, 1)])
    sim.play_round([upload_task("b", 0, 1)])
    # the second round starts at 0.805, after the link went idle at 0.8
    assert records[1]["t_start_s"] == pytest.approx(0.805, abs=1e-12)
    assert records[1]["t_end_s"] == pytest.approx(1.61, abs=1e-12)


def test_semantic_symbols_take_symbols_over_bandwidth(records):
    net = make_network(make_link(0, 1, bandwidth_hz=2e6, latency_s=0.001))
    sim = make_sim(net, records)
    symbols = 10 * 256  # ten 32x32 images at k/n = 1/12
    task = Task(key="img", node=0, uploads=(Message(0, 1, "semantic", symbols=symbols),))
    [outcome] = sim.play_round([task])
    assert outcome.ok
    [record] = records
    assert record["t_end_s"] - record["t_start_s"] == pytest.approx(symbols / 2e6 + 0.001, rel=1e-12)
    assert record["symbols"] == symbols
    assert record["bits"] == 0
    assert record["attempts"] == 1


def test_send_primitive_returns_the_record(records):
    sim = make_sim(make_network(make_link(0, 1)), records)
    proc = sim.send(Message(0, 1, "model", MEGABYTE_BITS))
    sim.env.run(until=proc)
    assert proc.value == records[0]
    assert proc.value["t_end_s"] == pytest.approx(0.805, abs=1e-12)


def test_unknown_link_raises():
    sim = make_sim(make_network(make_link(0, 1)))
    with pytest.raises(KeyError, match="no link 1 -> 0"):
        sim.play_round([upload_task("x", 1, 0)])


def test_negative_wait_raises():
    sim = make_sim(make_network(make_link(0, 1)))
    with pytest.raises(ValueError, match="Negative delay -1"):
        sim.wait(-1)
    sim.wait(2.5)
    assert sim.now_s == 2.5


# --------------------------------------------------------------------------- retransmission and outage


def lossy_link(src, dst, **overrides) -> LinkParams:
    """Shannon rate at 0 dB with backoff 1 under Rayleigh fading: each packet attempt fails
    with probability P(|h|^2 < 1) = 1 - 1/e ~ 0.63. Target rate 1 Mbit/s, packets 12 ms."""
    fields = dict(rate_mode="shannon", snr_db=0.0, bandwidth_hz=1e6, backoff=1.0, fading="rayleigh",
                  packet_bits=12_000, max_retries=30, latency_s=0.002)
    fields.update(overrides)
    return make_link(src, dst, **fields)


def test_retransmissions_cost_their_airtime(records):
    sim = make_sim(make_network(lossy_link(0, 1)), records, seed=7)
    packets = 10
    tasks = [upload_task(k, 0, 1, bits=packets * 12_000) for k in ("a", "b")]
    outcomes = by_key(sim.play_round(tasks))
    first, second = sorted(records, key=lambda r: r["t_start_s"])
    packet_airtime_s = 12_000 / 1e6
    for record in (first, second):
        assert record["attempts"] > packets  # P(no retry in 10 packets) = e^-10
        airtime = record["t_end_s"] - 0.002 - record["t_start_s"]
        assert airtime == pytest.approx(record["attempts"] * packet_airtime_s, rel=1e-9)
        assert record["outcome"] == "delivered"  # 31 tries per packet: loss ~ 1e-6
    # the second message waits for every attempt of the first
    assert second["t_start_s"] == pytest.approx(first["attempts"] * packet_airtime_s, rel=1e-9)
    assert outcomes["b"].finished_s == pytest.approx(second["t_end_s"])


def certain_outage_link(src, dst) -> LinkParams:
    # backoff > 1 asks for more than the unfaded capacity: every attempt fails
    return make_link(src, dst, rate_mode="shannon", fading="none", backoff=1.5, max_retries=0)


@pytest.mark.parametrize("deadline_s", [None, 10.0])
def test_task_on_a_link_in_outage_fails_without_deadlock(records, deadline_s):
    net = make_network(certain_outage_link(0, 1), make_link(0, 2))
    sim = make_sim(net, records)
    outcomes = by_key(sim.play_round([upload_task("lost", 0, 1, bits=24_000), upload_task("fine", 0, 2)],
                                     deadline_s=deadline_s))
    assert not outcomes["lost"].ok and outcomes["lost"].reason == "outage"
    assert outcomes["lost"].finished_s is None
    assert outcomes["fine"].ok
    lost = next(r for r in records if r["dst"] == 1)
    assert lost["outcome"] == "outage"
    assert lost["attempts"] == 2  # two packets, one try each
    # the failed attempts still occupied the link
    target_bps = 1.5 * 1e6 * 3.4594316186372973  # log2(1 + 10)
    assert lost["t_end_s"] - lost["t_start_s"] == pytest.approx(24_000 / target_bps + 0.005, rel=1e-9)
    # no waiting for the deadline when everything has ended
    assert sim.now_s == pytest.approx(0.805, abs=1e-12)


def test_download_outage_skips_compute_and_uploads(records):
    net = make_network(certain_outage_link(AGGREGATOR, 0), make_link(0, AGGREGATOR))
    sim = make_sim(net, records, speed=10.0)
    task = Task(key=0, node=0, downloads=(Message(AGGREGATOR, 0, "global", 24_000),), samples=100,
                uploads=(Message(0, AGGREGATOR, "update", 1000),))
    [outcome] = sim.play_round([task])
    assert not outcome.ok and outcome.reason == "outage"
    assert [r["kind"] for r in records] == ["global"]
    assert sim.compute_samples_total == 0
    assert sim.now_s < 1.0  # the 10 s of compute never happened


# --------------------------------------------------------------------------- deadlines


def test_upload_after_the_deadline_fails_and_is_recorded_late(records):
    net = make_network(make_link(0, 1), make_link(2, 1))
    sim = make_sim(net, records)
    small = upload_task("fast", 2, 1, bits=80_000)  # 8 ms + 5 ms
    outcomes = by_key(sim.play_round([upload_task("slow", 0, 1), small], deadline_s=0.5))
    assert outcomes["fast"].ok
    assert not outcomes["slow"].ok and outcomes["slow"].reason == "deadline"
    assert sim.now_s == pytest.approx(0.5)
    # the late message is in the log even though the clock never reached its arrival
    late = {r["src"]: r for r in records}
    assert late[0]["outcome"] == "late"
    assert late[0]["t_end_s"] == pytest.approx(0.805, abs=1e-12)
    assert late[2]["outcome"] == "delivered"


def test_late_message_keeps_its_link_busy_and_its_round_label(records):
    sim = make_sim(make_network(make_link(0, 1)), records)
    sim.label = {"round": 1}
    [outcome] = sim.play_round([upload_task("slow", 0, 1)], deadline_s=0.5)
    assert outcome.reason == "deadline"
    sim.label = {"round": 2}
    [outcome] = sim.play_round([upload_task("next", 0, 1)], deadline_s=1.5)
    # starts when the late message frees the link at 0.8, arrives at 1.605 > 0.5 + 1.5
    assert outcome.ok
    assert outcome.finished_s == pytest.approx(1.605, abs=1e-12)
    assert [(r["round"], r["outcome"]) for r in records] == [(1, "late"), (2, "delivered")]


def test_arrival_exactly_at_the_deadline_is_in_time(records):
    sim = make_sim(make_network(make_link(0, 1, latency_s=0.0)), records)
    [outcome] = sim.play_round([upload_task("edge", 0, 1)], deadline_s=0.8)
    assert outcome.ok
    assert records[0]["outcome"] == "delivered"


def test_task_past_its_deadline_sends_nothing_more(records):
    # compute ends after the deadline: the upload would be useless, so it is never sent
    net = make_network(make_link(0, 1))
    sim = make_sim(net, records, speed=10.0)
    [outcome] = sim.play_round([upload_task("straggler", 0, 1, samples=20)], deadline_s=1.0)
    assert not outcome.ok and outcome.reason == "deadline"
    sim.wait(10.0)
    assert records == []
    assert sim.messages_total == 0


def test_compute_running_at_the_deadline_keeps_the_node_busy():
    sim = make_sim(make_network(make_link(0, 1)), speed=10.0)
    [first] = sim.play_round([Task(key="slow", node=0, samples=20)], deadline_s=0.5)  # needs 2 s
    assert first.reason == "deadline"
    assert sim.now_s == pytest.approx(0.5)
    [second] = sim.play_round([Task(key="next", node=0, samples=10)])
    assert second.finished_s == pytest.approx(3.0)  # queued behind the straggler's 2 s


# --------------------------------------------------------------------------- compute


def test_compute_takes_samples_over_speed_and_serialises_per_node(records):
    net = make_network(make_link(0, 1), make_link(2, 1))
    sim = Simulator(net, seed=0, compute_speed={0: 50.0, 1: 50.0, 2: 25.0}, sink=records.append)
    tasks = [
        Task(key="a", node=0, samples=100),
        Task(key="b", node=0, samples=50),
        Task(key="c", node=2, samples=100),
        upload_task("d", 2, 1, samples=25),
    ]
    outcomes = by_key(sim.play_round(tasks))
    assert outcomes["a"].finished_s == pytest.approx(2.0)
    assert outcomes["b"].finished_s == pytest.approx(3.0)  # waited for "a" on node 0
    assert outcomes["c"].finished_s == pytest.approx(4.0)  # node 2 runs at 25 samples/s
    assert outcomes["d"].finished_s == pytest.approx(5.0 + 0.805)  # after "c", then the upload
    assert all(o.ok for o in outcomes.values())
    assert sim.compute_samples_total == 275
    assert records[0]["t_submit_s"] == pytest.approx(5.0)


def test_compute_then_upload_on_different_nodes_overlap(records):
    net = make_network(make_link(0, 1), make_link(2, 1))
    sim = make_sim(net, records, speed=100.0)
    outcomes = sim.play_round([upload_task("a", 0, 1, samples=100), upload_task("b", 2, 1, samples=100)])
    assert [o.finished_s for o in outcomes] == pytest.approx([1.805, 1.805])


def test_empty_round_returns_at_once():
    sim = make_sim(make_network(make_link(0, 1)))
    assert sim.play_round([]) == []
    assert sim.play_round([], deadline_s=5.0) == []
    assert sim.now_s == 0.0


# --------------------------------------------------------------------------- records


def test_sink_records_every_message(records):
    net = make_network(make_link(0, 1), make_link(1, 0), make_link(0, AGGREGATOR), make_link(AGGREGATOR, 0))
    sim = make_sim(net, records)
    sim.label = {"phase": "test", "round": 3}
    tasks = [
        Task(key=0, node=0, downloads=(Message(AGGREGATOR, 0, "global", 8000),), samples=10,
             uploads=(Message(0, AGGREGATOR, "update", 4000), Message(0, 1, "model", 2000))),
        Task(key=1, node=1, uploads=(Message(1, 0, "semantic", symbols=512),)),
    ]
    sim.play_round(tasks)
    assert len(records) == 4 == sim.messages_total
    for record in records:
        assert RECORD_KEYS <= record.keys()
        assert record["t_submit_s"] <= record["t_start_s"] < record["t_end_s"]
        assert record["outcome"] == "delivered"
        assert record["phase"] == "test" and record["round"] == 3
    seen = {(r["src"], r["dst"], r["kind"], r["bits"]) for r in records}
    assert seen == {(AGGREGATOR, 0, "global", 8000), (0, AGGREGATOR, "update", 4000), (0, 1, "model", 2000),
                    (1, 0, "semantic", 0)}
    assert sim.bits_total == 14_000


def lossy_round(seed: int) -> list[dict]:
    net = make_network(lossy_link(0, 1, max_retries=2), lossy_link(1, 0, max_retries=2), lossy_link(0, 2))
    records: list[dict] = []
    sim = make_sim(net, records, seed=seed)
    for _ in range(3):
        sim.play_round([upload_task((i, j), i, j, bits=60_000) for i, j in net.links], deadline_s=2.0)
    return records


def test_same_seed_gives_identical_records():
    first = lossy_round(seed=11)
    assert len(first) == 9
    assert first == lossy_round(seed=11)
    assert first != lossy_round(seed=12)
    assert len({r["attempts"] for r in first}) > 1  # the draws really are random


def test_network_from_specs_exchange_round(records):
    topology = topology_spec(kind="ring", num_users=4)
    links = LinksSpec(snr_db=10.0, latency_s=0.005, rate=RateSpec(mode="fixed", rate_bps=10e6))
    net = build_network(topology, links, seed=0)
    sim = make_sim(net, records)
    image_links = net.image_links()
    assert len(image_links) == 8
    outcomes = sim.play_round([upload_task((i, j), i, j) for i, j in image_links])
    # every image link is its own directed link: all eight transfers run side by side
    assert all(o.ok for o in outcomes)
    assert [o.finished_s for o in outcomes] == pytest.approx([0.805] * 8, abs=1e-12)
    assert sorted((r["src"], r["dst"]) for r in records) == image_links
