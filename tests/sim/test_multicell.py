"""Several cells (``links.cells``) against closed forms: attach to the strongest station;
an uplink meeting another cell's user; reuse 1 vs 3 on 19 hexagonal cells with a
full-buffer downlink, each user's SINR against the log-distance formula at its position,
and the mean over the central cell against a numerical integration over the hexagon; bad
keys are one line."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import yaml

import semnet.net.network as network_module
from semnet.cli.main import EXIT_USER_ERROR, main
from semnet.errors import ScenarioError
from semnet.net.cells import CellLayout
from semnet.net.network import AGGREGATOR, build_network
from semnet.scenario import validate
from semnet.sim import Message, Simulator, Task
from tests.scenario.test_medium_keys import _with

ALPHA = 3.5
P_DB = 46.0 - 40.0 + 90.0  # tx power - loss at 1 m + noise: SNR at 1 m (dB)
R_M = 200.0  # hexagon circumradius
ISD_M = math.sqrt(3.0) * R_M  # inter-site distance
CENTER = (1000.0, 1000.0)
MB = 1_000_000


def snr_linear(d_m):
    """Log-distance SNR at distance ``d_m`` (written here, not read from the code)."""
    return 10.0 ** (P_DB / 10.0) * np.maximum(np.asarray(d_m, dtype=float), 1.0) ** -ALPHA


def hex_sites(rings: int = 2) -> tuple[list[tuple[float, float]], list[int]]:
    """Hexagonal sites (axial q, r within ``rings``), the centre first, and the standard
    reuse-3 colouring (q - r) mod 3, in which neighbours never share a band."""
    sites, colours = [], []
    for q in range(-rings, rings + 1):
        for r in range(-rings, rings + 1):
            if abs(q + r) > rings:
                continue
            x = CENTER[0] + ISD_M * (q + r / 2.0)
            y = CENTER[1] + ISD_M * (math.sqrt(3.0) / 2.0) * r
            sites.append((x, y))
            colours.append((q - r) % 3)
    order = sorted(range(len(sites)), key=lambda i: (math.dist(sites[i], CENTER) > 1e-6, i))
    return [sites[i] for i in order], [colours[i] for i in order]


def in_hexagon(x, y):
    """Inside the Voronoi cell of a site at the origin of this lattice (neighbours at
    0, 60, ..., 300 degrees, ISD apart): within ISD / 2 along each neighbour direction."""
    inside = np.ones(np.shape(x), dtype=bool)
    for k in range(3):
        a = math.radians(60.0 * k)
        inside &= np.abs(x * math.cos(a) + y * math.sin(a)) <= ISD_M / 2.0
    return inside


def drop_in_hexagon(n: int, centre, rng) -> list[tuple[float, float]]:
    out = []
    while len(out) < n:
        x, y = rng.uniform(-R_M, R_M, size=2)
        if in_hexagon(np.array(x), np.array(y)):
            out.append((centre[0] + x, centre[1] + y))
    return out


def scenario(positions, *, reuse=1, bands=None, interference=True, **extra):
    cells = {"positions_m": [list(p) for p in positions], "reuse": reuse, **({"bands": bands} if bands else {})}
    keys = {
        "topology__num_users": 2, "topology__aggregator_position_m": list(CENTER),
        "links__snr_db": None, "links__snr_min_db": -100.0, "links__snr_max_db": 200.0,
        "links__path_loss": {"tx_power_dbm": 46.0, "exponent": ALPHA, "reference_loss_db": 40.0,
                             "noise_power_dbm": -90.0},
        "links__medium": "cell", "links__scheduler": "tdma", "links__downlink": "unicast", "links__cells": cells,
    }
    if interference:
        keys["links__interference"] = {"model": "sinr", "cutoff_db": -100.0}
    keys.update(extra)
    return validate(_with(**keys))


def network_at(monkeypatch, users, spec):
    """``build_network`` with the users at ``users`` (the topology's graph replaced)."""
    def graph_of(_topology, seed):
        graph = nx.Graph()
        for u, pos in enumerate(users):
            graph.add_node(u, pos_m=(float(pos[0]), float(pos[1])))
        graph.add_edge(0, 1)
        return graph

    monkeypatch.setattr(network_module, "build_graph", graph_of)
    return build_network(spec.topology, spec.links, spec.seed)


def simulator(net, records=None) -> Simulator:
    nodes = set(net.users) | {AGGREGATOR}
    return Simulator(net, seed=0, compute_speed={n: 100.0 for n in nodes},
                     sink=None if records is None else records.append)


# --------------------------------------------------------------------------- attach


def test_each_user_attaches_to_the_strongest_station(monkeypatch):
    stations = [(0.0, 0.0), (500.0, 0.0), (250.0, 433.0)]
    users = [(10.0, 5.0), (400.0, 50.0), (260.0, 300.0), (240.0, 140.0)]
    # nearest under log-distance: 0, 1, 2, and (240, 140) is 277 m from 0, 286 m from 1, 293 m from 2
    net = network_at(monkeypatch, users, scenario(stations, interference=False))
    assert net.cells.serving == {0: 0, 1: 1, 2: 2, 3: 0}
    for u, cell in net.cells.serving.items():  # the user's links reach the aggregator through its station
        d = math.dist(users[u], stations[cell])
        assert net.link(u, AGGREGATOR).distance_m == pytest.approx(d)
        assert net.link(AGGREGATOR, u).snr_db == pytest.approx(10 * math.log10(snr_linear(d)), abs=1e-6)  # kept to 1e-6 dB


def test_without_cells_the_aggregator_is_the_only_station(monkeypatch):
    spec = validate(_with(links__medium="cell", links__snr_db=None, topology__aggregator_position_m=[0.0, 0.0]))
    assert spec.links.cells is None
    net = network_at(monkeypatch, [(30.0, 40.0), (500.0, 0.0)], spec)
    assert net.cells is None and net.link(0, AGGREGATOR).distance_m == pytest.approx(50.0)
    sim = simulator(net)
    assert len(sim.medium.uplinks) == len(sim.medium.downlinks) == 1


def test_backhaul_latency_adds_to_the_aggregators_links(monkeypatch):
    spec = scenario([(0.0, 0.0), (500.0, 0.0)], interference=False,
                    links__cells={"positions_m": [[0, 0], [500, 0]], "backhaul_latency_s": 0.02})
    net = network_at(monkeypatch, [(10.0, 0.0), (490.0, 0.0)], spec)
    assert net.link(1, AGGREGATOR).latency_s == pytest.approx(spec.links.aggregator.latency_s + 0.02)


# --------------------------------------------------------------------------- uplink


@pytest.mark.parametrize("reuse", [1, 2])
def test_an_uplink_meets_the_other_cells_user_of_its_band(monkeypatch, reuse):
    stations = [(0.0, 0.0), (400.0, 0.0)]
    users = [(-100.0, 30.0), (250.0, -40.0)]  # user 1 is in cell 1, 250 m from station 0
    records: list[dict] = []
    sim = simulator(network_at(monkeypatch, users, scenario(stations, reuse=reuse)), records)
    sim.play_round([Task(key=u, node=u, uploads=(Message(u, AGGREGATOR, "update", MB),)) for u in (0, 1)])
    sim.finish()
    s = snr_linear(math.dist(users[0], stations[0]))
    i = snr_linear(math.dist(users[1], stations[0])) if reuse == 1 else 0.0
    [(sinr_db, _, interfered_s, _)] = sim.sinr_log[(0, AGGREGATOR)]
    assert sinr_db == pytest.approx(10 * math.log10(s / (1 + i)), abs=1e-5)
    assert (interfered_s > 0) == (reuse == 1)
    # events.jsonl: what each upload was decided with; user 1's was booked second, knowing user 0's
    s1 = snr_linear(math.dist(users[1], stations[1]))
    i1 = snr_linear(math.dist(users[0], stations[1])) if reuse == 1 else 0.0
    by_src = {r["src"]: r["sinr_db"] for r in records}
    assert by_src[1] == pytest.approx(10 * math.log10(s1 / (1 + i1)), abs=1e-4)
    assert by_src[0] == pytest.approx(10 * math.log10(s), abs=1e-4)
    # the cells' bands are their own: the two uploads go side by side, not one after the other
    assert {r["t_start_s"] for r in records} == {0.0}


def test_a_shannon_upload_picks_its_rate_from_the_sinr_with_the_other_cell(monkeypatch):
    stations = [(0.0, 0.0), (400.0, 0.0)]
    users = [(-100.0, 30.0), (250.0, -40.0)]
    spec = scenario(stations, links__aggregator={"rate": {"mode": "shannon", "backoff": 0.5}})
    net = network_at(monkeypatch, users, spec)
    records: list[dict] = []
    sim = simulator(net, records)
    sim.play_round([Task(key=u, node=u, uploads=(Message(u, AGGREGATOR, "update", MB),)) for u in (0, 1)])
    # user 1, booked second, meets user 0 at station 1 from its start: R = backoff B log2(1 + SINR)
    sinr1 = snr_linear(math.dist(users[1], stations[1])) / (1 + snr_linear(math.dist(users[0], stations[1])))
    [mine] = [r for r in records if r["src"] == 1]
    airtime = mine["t_end_s"] - mine["t_start_s"] - net.link(1, AGGREGATOR).latency_s
    assert airtime == pytest.approx(MB / (0.5 * 1e6 * math.log2(1 + sinr1)), rel=1e-6)  # SNRs kept to 1e-6 dB
    assert mine["outcome"] == "delivered"


@pytest.mark.parametrize("rate", ["fixed", "shannon"])
def test_a_broadcast_per_cell_meets_the_other_station_once(monkeypatch, rate):
    stations = [(0.0, 0.0), (400.0, 0.0)]
    users = [(-100.0, 30.0), (150.0, -40.0), (250.0, 60.0), (420.0, -90.0)]  # two in each cell
    spec = scenario(stations, links__downlink="broadcast", links__aggregator={"rate": {"mode": rate}})
    net = network_at(monkeypatch, users, spec)
    assert net.cells.serving == {0: 0, 1: 0, 2: 1, 3: 1}
    records: list[dict] = []
    sim = simulator(net, records)
    sim.play_round([Task(key=u, node=u, downloads=(Message(AGGREGATOR, u, "global", MB),)) for u in range(4)])
    sim.finish()

    def sinr(u, other):  # the other cell's station, heard once however many it sends to
        return snr_linear(math.dist(users[u], stations[net.cells.cell_of(u)])) / (
            1 + snr_linear(math.dist(users[u], stations[other])))

    ends = {r["dst"]: r["t_end_s"] - net.link(AGGREGATOR, r["dst"]).latency_s for r in records}
    if rate == "fixed":  # both broadcasts go at once for the same airtime: every receiver meets the other station
        for u in range(4):
            [(sinr_db, air_s, interfered_s, _)] = sim.sinr_log[(AGGREGATOR, u)]
            assert sinr_db == pytest.approx(10 * math.log10(sinr(u, 1 - net.cells.cell_of(u))), abs=1e-5)
            assert interfered_s == pytest.approx(air_s)
    else:  # cell 1, booked second, sends at its weakest receiver's rate at the SINR with station 0 on the air
        rate_bps = min(0.5 * 1e6 * math.log2(1 + sinr(u, 0)) for u in (2, 3))
        assert ends[2] == ends[3] == pytest.approx(MB / rate_bps, rel=1e-6)
        # station 0, at its receivers' SNRs, ends first: cell 1's receivers meet it for that share of their airtime
        air0 = MB / min(0.5 * 1e6 * math.log2(1 + snr_linear(math.dist(users[u], stations[0]))) for u in (0, 1))
        assert ends[0] == ends[1] == pytest.approx(air0, rel=1e-6) and air0 < ends[2]
        for u in (2, 3):
            s, i = snr_linear(math.dist(users[u], stations[1])), snr_linear(math.dist(users[u], stations[0]))
            [(sinr_db, _, interfered_s, _)] = sim.sinr_log[(AGGREGATOR, u)]
            assert interfered_s == pytest.approx(air0, rel=1e-6)
            assert sinr_db == pytest.approx(10 * math.log10(s / (1 + i * air0 / ends[u])), abs=1e-5)


def test_a_restored_simulator_meets_the_same_inter_cell_interference(monkeypatch):
    """A checkpoint between rounds keeps every cell's bands and the book: a restored run's
    outcomes and SINRs are those of the run that went on (Shannon packets, Rayleigh)."""
    stations = [(0.0, 0.0), (300.0, 0.0), (150.0, 260.0)]
    users = [(-40.0, 10.0), (60.0, -30.0), (260.0, 40.0), (330.0, -50.0), (140.0, 200.0), (170.0, 300.0)]
    spec = scenario(stations, links__fading="rayleigh", links__aggregator={"rate": {"mode": "shannon"}})
    net = network_at(monkeypatch, users, spec)

    def round_(sim):
        tasks = [Task(key=u, node=u, downloads=(Message(AGGREGATOR, u, "global", 200_000),), samples=5,
                      uploads=(Message(u, AGGREGATOR, "update", 200_000),)) for u in range(len(users))]
        return [(o.finished_s, o.ok) for o in sim.play_round(tasks)]

    def sinrs(sim):
        sim.finish()
        return sorted(((str(k), v) for k, v in sim.sinr_log.items()), key=lambda item: item[0])

    whole = simulator(net)
    outcomes = [round_(whole) for _ in range(3)]
    expected = sinrs(whole)
    assert any(s[2] > 0 for _, samples in expected for s in samples)  # the cells did interfere
    first = simulator(net)
    assert round_(first) == outcomes[0]
    second = simulator(net)
    second.load_state(first.state())
    assert [round_(second) for _ in range(2)] == outcomes[1:]
    assert sinrs(second) == expected


# --------------------------------------------------------------------------- reuse 1 vs 3


def mean_db_over_hexagon(interferers, grid: int = 801) -> tuple[float, float]:
    """Mean and 5th percentile of 10 log10 SINR for a user uniform in the central hexagon,
    downlink full buffer: midpoint rule on a ``grid`` x ``grid`` lattice over its bounding
    box, the points outside the hexagon dropped."""
    h = 2.0 * R_M / grid
    axis = -R_M + h * (np.arange(grid) + 0.5)
    x, y = np.meshgrid(axis, axis)
    keep = in_hexagon(x, y)
    x, y = x[keep] + CENTER[0], y[keep] + CENTER[1]
    signal = snr_linear(np.hypot(x - CENTER[0], y - CENTER[1]))
    noise_and_i = 1.0 + sum(snr_linear(np.hypot(x - bx, y - by)) for bx, by in interferers)
    sinr_db = 10.0 * np.log10(signal / noise_and_i)
    return float(sinr_db.mean()), float(np.percentile(sinr_db, 5))


def full_buffer_downlink(monkeypatch, reuse: int, n_center: int = 1000):
    """Central-cell users' SINR (dB, from the book) under reuse ``reuse`` on 19 hexagons:
    ``n_center`` users dropped uniformly in the central cell, one user in each other cell
    whose station sends it one long message covering every central user's slot."""
    sites, colours = hex_sites()
    rng = np.random.default_rng(7)
    users = drop_in_hexagon(n_center, sites[0], rng)
    users += [(x + 20.0, y + 10.0) for x, y in sites[1:]]
    bands = colours if reuse == 3 else None
    net = network_at(monkeypatch, users, scenario(sites, reuse=reuse, bands=bands))
    assert [net.cells.cell_of(u) for u in range(len(users))] == [0] * n_center + list(range(1, len(sites)))
    sim = simulator(net)
    tasks = [Task(key=u, node=u, downloads=(Message(AGGREGATOR, u, "global", MB),)) for u in range(n_center)]
    tasks += [Task(key=u, node=u, downloads=(Message(AGGREGATOR, u, "global", (n_center + 1) * MB),))
              for u in range(n_center, len(users))]
    sim.play_round(tasks)
    sim.finish()
    sinr = np.array([sim.sinr_log[(AGGREGATOR, u)][0][0] for u in range(n_center)])
    co_band = [s for s, c in zip(sites[1:], (bands or [c % reuse for c in range(len(sites))])[1:])
               if c == (bands or [0])[0]]
    # each user's SINR is the formula at its position: S / (N + sum over co-band stations)
    xy = np.asarray(users[:n_center])
    expected = 10 * np.log10(snr_linear(np.hypot(*(xy - sites[0]).T))
                             / (1.0 + sum(snr_linear(np.hypot(*(xy - s).T)) for s in co_band)))
    np.testing.assert_allclose(sinr, expected, atol=1e-5)  # link SNRs are kept to 1e-6 dB
    return sinr, co_band


def test_reuse_3_beats_reuse_1_at_the_cell_edge_and_means_match_the_integral(monkeypatch):
    summary = {}
    for reuse in (1, 3):
        sinr, co_band = full_buffer_downlink(monkeypatch, reuse)
        assert len(co_band) == (18 if reuse == 1 else 6)
        mean_db, p5_db = mean_db_over_hexagon(co_band)
        error = 4.0 * sinr.std(ddof=1) / math.sqrt(sinr.size)  # Monte-Carlo error of the users' mean
        assert sinr.mean() == pytest.approx(mean_db, abs=error), (reuse, sinr.mean(), mean_db, error)
        summary[reuse] = (np.percentile(sinr, 5), p5_db, mean_db)
    (edge1, int_edge1, mean1), (edge3, int_edge3, mean3) = summary[1], summary[3]
    # at the edge reuse 3 wins by several dB (far co-band stations), in the sample and the integral
    assert int_edge3 > int_edge1 + 5.0 and edge3 > edge1 + 5.0
    assert mean3 > mean1


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("keys, expected", [
    ({"links__medium": "cell", "links__cells": {"positions_m": [[0, 0], [0, 0]]}},
     "links.cells.positions_m = [[0.0, 0.0], [0.0, 0.0]]: has two base stations at one position"),
    ({"links__medium": "cell", "links__cells": {"positions_m": [[0, 0], [1, 0]], "reuse": 3}},
     "links.cells.reuse = 3: exceeds the number of cells (2); allowed: 1 to 2"),
    ({"links__medium": "cell", "links__cells": {"positions_m": [[0, 0], [1, 0]], "reuse": 2, "bands": [0, 2]}},
     "links.cells.bands = [0, 2]: needs bands in [0, reuse = 2)"),
    ({"links__medium": "cell", "links__cells": {"positions_m": [[0, 0, 1]]}}, "links.cells.positions_m"),
    ({"links__cells": {"positions_m": [[0, 0]]}}, "links.cells = "),
    ({"links__medium": "cell", "links__snr_db": None,
      "links__interference": {"model": "sinr"}, "links__cells": {"positions_m": [[0, 0], [1, 0]]}},
     "links.scheduler = None: shares the band in sub-bands or slots whose interference is not modelled"),
    ({"links__medium": "cell", "links__cells": {"positions_m": [[0, 0], [1, 0]]}},
     "links.snr_db = 10.0: fixes every SNR, but links.cells attaches users by path loss"),
    ({"links__medium": "cell", "links__snr_db": None, "links__cells": {"positions_m": [[0, 0], [1, 0]]},
      "topology__mobility": {"model": "random_waypoint"}},
     "links.cells: several base stations on a channel over time are not modelled"),
])
def test_bad_cells_keys_are_one_line(keys, expected, tmp_path, capsys):
    with pytest.raises(ScenarioError) as info:
        spec = validate(_with(**keys))
        build_network(spec.topology, spec.links, spec.seed)
    assert expected in str(info.value)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(_with(**keys)))
    assert main(["validate", str(path)]) == EXIT_USER_ERROR
    [line] = capsys.readouterr().err.splitlines()
    assert expected in line


def test_a_layout_puts_each_cells_links_in_its_bands():
    layout = CellLayout(positions_m=((0, 0), (1, 0), (2, 0)), bands=(0, 1, 0), reuse=2, serving={5: 1, 6: 2})
    air = layout.air([5, 6], AGGREGATOR, first_band=3)
    assert air[(5, AGGREGATOR)] == (5, "bs1", 4) and air[(AGGREGATOR, 5)] == ("bs1", 5, 6)
    assert air[(6, AGGREGATOR)] == (6, "bs2", 3) and air[(AGGREGATOR, 6)] == ("bs2", 6, 5)


def test_one_station_away_from_the_aggregator_serves_a_moving_channel_from_its_position():
    """On a channel over time the users' links to the aggregator are their links to the one station."""
    keys = {"links__medium": "cell", "links__snr_db": None, "links__channel": {"shadowing_std_db": 4.0},
            "topology__aggregator_position_m": [50.0, 50.0]}
    at = {"links__cells": {"positions_m": [[90.0, 10.0]]}}
    moved = validate(_with(**keys, **at))
    net = build_network(moved.topology, moved.links, moved.seed)
    plain = validate(_with(**{**keys, "topology__aggregator_position_m": [90.0, 10.0]}))
    reference = build_network(plain.topology, plain.links, plain.seed)  # the aggregator itself at the station
    for u in net.users:
        assert net.link(u, AGGREGATOR).snr_db == reference.link(u, AGGREGATOR).snr_db
