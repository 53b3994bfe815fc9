"""Topology kinds dispatch through ``semnet.registry.topologies``: built-in graphs are
exactly those of the if-chain they replaced, and a plugin builder builds a network."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict

from semnet.errors import ScenarioError
from semnet.net import topology as topo
from semnet.net.network import build_network
from semnet.registry import topologies
from semnet.scenario import validate
from semnet.scenario.schema import LinksSpec
from semnet.scenario.topology import BUILTIN_KINDS, CustomTopologySpec, topology_spec

# (kind, keys, run seed, edges, positions) computed with the code before the registry
# (build_network's if-chain over TopologySpec fields): graphs and node positions must
# not move for any kind or seed.
EXPECTED = [
    (
        'complete', {'num_users': 4, 'area_m': 60.0}, 0,
        [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)],
        [(60.0, 30.0), (30.000000000000004, 60.0), (0.0, 30.000000000000004), (29.999999999999993, 0.0)],
    ),
    (
        'ring', {'num_users': 5}, 0,
        [(0, 1), (0, 4), (1, 2), (2, 3), (3, 4)],
        [(100.0, 50.0),
         (65.45084971874738, 97.55282581475768),
         (9.549150281252636, 79.38926261462366),
         (9.549150281252622, 20.61073738537635),
         (65.45084971874736, 2.447174185242318)],
    ),
    (
        'star', {'num_users': 5, 'center': 2, 'area_m': 80.0}, 0,
        [(0, 2), (1, 2), (2, 3), (2, 4)],
        [(80.0, 40.0), (40.0, 80.0), (40.0, 40.0), (0.0, 40.00000000000001), (39.99999999999999, 0.0)],
    ),
    (
        'grid', {'num_users': 6, 'rows': 2, 'cols': 3, 'spacing_m': 10.0}, 0,
        [(0, 1), (0, 3), (1, 2), (1, 4), (2, 5), (3, 4), (4, 5)],
        [(0.0, 0.0), (10.0, 0.0), (20.0, 0.0), (0.0, 10.0), (10.0, 10.0), (20.0, 10.0)],
    ),
    (
        'erdos_renyi', {'num_users': 6, 'p': 0.5}, 3,
        [(0, 2), (0, 3), (0, 4), (0, 5), (2, 5), (3, 4), (3, 5), (4, 5)],
        [(23.68105065960997, 80.1274465206397),
         (58.21620360643678, 9.412864224039918),
         (43.31269402364738, 47.9051298140834),
         (15.973891463707856, 73.45771514092145),
         (11.367201992140341, 39.1228190495662),
         (51.674018262136364, 43.06280204141778)],
    ),
    (
        'erdos_renyi', {'num_users': 6, 'p': 0.5, 'seed': 11}, 3,
        [(0, 1), (0, 2), (0, 3), (0, 4), (1, 3), (1, 4), (2, 3), (3, 4), (4, 5)],
        [(49.92778624401149, 60.14983576233575),
         (2.8689008371944547, 14.792608457745594),
         (92.82110229603695, 7.042057615419683),
         (12.977394939929798, 94.8328453291775),
         (62.188359279638284, 36.8993123729791),
         (51.139002180326266, 66.28429525167992)],
    ),
    (
        'random_geometric', {'num_users': 6, 'radius_m': 45.0}, 7,
        [(0, 2), (1, 4), (2, 3)],
        [(62.5095466604667, 89.72138009695755),
         (77.56856902451935, 22.520718999059184),
         (30.016628491122542, 87.35534453962619),
         (0.5265304565574724, 82.12284183827663),
         (79.70694287520462, 46.79349528437208),
         (30.30324268193135, 27.84256121007733)],
    ),
    (
        'random_geometric', {'num_users': 6, 'radius_m': 45.0, 'area_m': 50.0}, 1,
        [(0, 1), (0, 2), (0, 3), (0, 5), (1, 2), (1, 3), (1, 5), (2, 3), (2, 4), (2, 5), (3, 4), (3, 5), (4, 5)],
        [(25.591081235012837, 47.52318481629676),
         (7.207980635981687, 47.43247235686219),
         (15.591572600524273, 21.166322448628783),
         (41.38512969102209, 20.459956818458064),
         (27.479684383652973, 1.3779556621534184),
         (37.67565543374033, 26.907165660963912)],
    ),
    (
        'small_world', {'num_users': 6, 'k': 2, 'p_rewire': 0.5}, 5,
        [(0, 2), (0, 5), (1, 2), (1, 3), (2, 3), (4, 5)],
        [(100.0, 50.0),
         (75.0, 93.30127018922192),
         (25.00000000000001, 93.30127018922194),
         (0.0, 50.00000000000001),
         (24.99999999999998, 6.698729810778083),
         (75.0, 6.698729810778069)],
    ),
    (
        'small_world', {'num_users': 8, 'k': 4, 'p_rewire': 0.3, 'seed': 2}, 0,
        [(0, 1),
         (0, 3),
         (0, 5),
         (0, 7),
         (1, 4),
         (1, 5),
         (1, 7),
         (2, 4),
         (2, 6),
         (3, 4),
         (3, 5),
         (3, 6),
         (3, 7),
         (4, 5),
         (5, 6),
         (6, 7)],
        [(100.0, 50.0),
         (85.35533905932738, 85.35533905932738),
         (50.0, 100.0),
         (14.64466094067263, 85.35533905932738),
         (0.0, 50.00000000000001),
         (14.644660940672615, 14.64466094067263),
         (49.99999999999999, 0.0),
         (85.35533905932738, 14.644660940672615)],
    ),
    (
        'edges', {'num_users': 5, 'edges': [[0, 1], [3, 1], [2, 4]]}, 0,
        [(0, 1), (1, 3), (2, 4)],
        [(100.0, 50.0),
         (65.45084971874738, 97.55282581475768),
         (9.549150281252636, 79.38926261462366),
         (9.549150281252622, 20.61073738537635),
         (65.45084971874736, 2.447174185242318)],
    ),
]


def _snapshot(graph: nx.Graph):
    return sorted(tuple(sorted(e)) for e in graph.edges), [graph.nodes[i]["pos_m"] for i in sorted(graph.nodes)]


@pytest.mark.parametrize(("kind", "keys", "seed", "edges", "positions"), EXPECTED,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(EXPECTED)])
def test_builtin_graphs_and_positions_are_unchanged(kind, keys, seed, edges, positions):
    spec = topology_spec(kind=kind, **keys)
    got_edges, got_positions = _snapshot(build_network(spec, LinksSpec(), seed).graph)
    assert got_edges == edges
    assert got_positions == positions  # exactly: the same RNG draws
    assert all(type(c) is float for pos in got_positions for c in pos)


@pytest.mark.parametrize(("kind", "keys", "seed", "edges", "positions"), EXPECTED,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(EXPECTED)])
def test_keyword_build_topology_gives_the_same_graphs(kind, keys, seed, edges, positions):
    keys = dict(keys)
    n = keys.pop("num_users")
    graph_seed = keys.pop("seed", seed)
    if "edges" in keys:
        keys["edges"] = [tuple(e) for e in keys["edges"]]
    assert _snapshot(topo.build_topology(kind, n, seed=graph_seed, **keys)) == (edges, positions)


def test_every_builtin_kind_is_registered_in_order():
    assert tuple(topo.TOPOLOGY_KINDS) == BUILTIN_KINDS
    assert topologies.names()[: len(BUILTIN_KINDS)] == list(BUILTIN_KINDS)
    assert all(topologies.describe()[kind] for kind in BUILTIN_KINDS)


def test_builtin_kinds_take_no_options():
    assert topo.validate_options("ring", {}) == {}
    with pytest.raises(ScenarioError, match=r"'star' is built in and takes no options.*center, area_m"):
        topo.validate_options("star", {"hub": 1})
    with pytest.raises(ScenarioError, match=r"unknown topology kind 'nope'"):
        topo.validate_options("nope", {})


# --------------------------------------------------------------------------- plugin builders


@pytest.fixture
def register():
    """Register builders for one test only (the registry is process-wide)."""
    added = []

    def add(name, builder, description="a test topology"):
        topologies.add(name, builder, description)
        added.append(name)
        return builder

    yield add
    for name in added:
        topologies._entries.pop(name, None)


def _line(spec, rng):
    """A path 0-1-...-n-1 along the x axis, spaced by options.get('step', 10) metres, with jitter."""
    graph = nx.path_graph(spec.num_users)
    step = spec.options.get("step", 10.0)
    jitter = rng.uniform(0.0, 1.0, size=spec.num_users)
    for node in graph:
        graph.nodes[node]["pos_m"] = (node * step, jitter[node])
    return graph


def test_a_registered_builder_builds_a_network(register):
    seen = {}

    def builder(spec, rng):
        seen["spec"], seen["rng"] = spec, rng
        return _line(spec, rng)

    register("test_line", builder)
    scenario = validate({"topology": {"kind": "test_line", "num_users": 4, "options": {"step": 30.0}}})
    assert isinstance(scenario.topology, CustomTopologySpec)
    net = build_network(scenario.topology, scenario.links, seed=3)
    assert isinstance(seen["spec"], CustomTopologySpec) and isinstance(seen["rng"], np.random.Generator)
    assert sorted(net.graph.edges) == [(0, 1), (1, 2), (2, 3)]
    assert net.receivers(1) == [0, 2]
    assert net.graph.nodes[3]["pos_m"][0] == 90.0
    assert net.link(0, 1).distance_m == pytest.approx(30.0, abs=1.0)
    assert ("server", 2) in net.links
    # the generator is seeded by topology.seed, else the run seed
    again = build_network(scenario.topology, scenario.links, seed=3).graph
    other = build_network(scenario.topology, scenario.links, seed=4).graph
    assert _snapshot(again) == _snapshot(net.graph) != _snapshot(other)
    fixed = topology_spec(kind="test_line", num_users=4, seed=9)
    first, second = (build_network(fixed, LinksSpec(), run_seed).graph for run_seed in (1, 2))
    assert _snapshot(first) == _snapshot(second)


def test_builder_options_model_is_checked_and_handed_over(register):
    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        step: float = 5.0

    def builder(spec, rng):
        assert isinstance(spec.options, Options)
        return _line(topology_spec(kind=spec.kind, num_users=spec.num_users, options={"step": spec.options.step}), rng)

    builder.Options = Options
    register("test_line_options", builder)
    graph = topo.build_graph(topology_spec(kind="test_line_options", num_users=3), seed=0)
    assert graph.nodes[2]["pos_m"][0] == 10.0
    assert topo.validate_options("test_line_options", {"step": 2}).step == 2.0
    with pytest.raises(ScenarioError, match=r"topology\.options\.stride: Extra inputs"):
        topo.build_graph(topology_spec(kind="test_line_options", num_users=3, options={"stride": 1}), seed=0)


def test_keyword_build_topology_reaches_a_plugin(register):
    register("test_line_kw", _line)
    graph = topo.build_topology("test_line_kw", 3, seed=0, area_m=50.0, step=7.0)
    assert graph.nodes[1]["pos_m"][0] == 7.0


@pytest.mark.parametrize(
    ("builder", "match"),
    [
        (lambda spec, rng: nx.DiGraph(), r"returned DiGraph; it must return an undirected networkx.Graph"),
        (lambda spec, rng: nx.path_graph(spec.num_users + 1), r"nodes other than 0..2"),
        (lambda spec, rng: nx.path_graph(spec.num_users), r"node 0 has pos_m = None"),
        (lambda spec, rng: nx.Graph([(0, 0), (1, 2)]), r"self-loop"),
    ],
)
def test_a_builder_breaking_the_contract_is_named(register, builder, match):
    register("test_broken", builder)
    with pytest.raises(ScenarioError, match=r"topology builder 'test_broken'.*" + match):
        topo.build_graph(topology_spec(kind="test_broken", num_users=3), seed=0)


def test_unregistered_kind_is_one_scenario_error():
    spec = topology_spec(kind="not_registered_anywhere", num_users=3)
    with pytest.raises(ScenarioError, match=r"unknown topology kind 'not_registered_anywhere'; valid kinds: complete"):
        build_network(spec, LinksSpec(), 0)
