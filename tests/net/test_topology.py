"""Topology builders: sizes, positions, seeding, dispatch and argument errors."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import pytest

from semnet.errors import ScenarioError
from semnet.net import topology as topo


def assert_positions(graph: nx.Graph, n: int) -> None:
    assert sorted(graph.nodes) == list(range(n))
    for node in graph.nodes:
        pos = graph.nodes[node]["pos_m"]
        assert isinstance(pos, tuple) and len(pos) == 2
        assert all(isinstance(c, float) and math.isfinite(c) for c in pos)


BUILT = {
    "complete": lambda: topo.complete(6),
    "ring": lambda: topo.ring(6),
    "star": lambda: topo.star(6),
    "grid": lambda: topo.grid(2, 3),
    "erdos_renyi": lambda: topo.erdos_renyi(6, 0.5, seed=1),
    "random_geometric": lambda: topo.random_geometric(6, 40.0, seed=1),
    "small_world": lambda: topo.small_world(6, 2, 0.3, seed=1),
    "edges": lambda: topo.from_edges(6, [(0, 1), (4, 5)]),
}


@pytest.mark.parametrize("kind", sorted(BUILT))
def test_every_builder_gives_integer_nodes_with_positions(kind):
    graph = BUILT[kind]()
    assert type(graph) is nx.Graph
    assert_positions(graph, 6)


def test_registry_covers_every_kind():
    assert set(BUILT) == set(topo.TOPOLOGY_KINDS)


@pytest.mark.parametrize(
    ("graph", "edges"),
    [
        (topo.complete(1), 0),
        (topo.complete(5), 10),
        (topo.ring(1), 0),
        (topo.ring(2), 1),
        (topo.ring(7), 7),
        (topo.star(5), 4),
        (topo.grid(3, 4), 3 * 3 + 4 * 2),
        (topo.grid(1, 1), 0),
        (topo.small_world(10, 4, 0.5, seed=3), 20),
        (topo.erdos_renyi(8, 0.0, seed=0), 0),
        (topo.erdos_renyi(8, 1.0, seed=0), 28),
        (topo.from_edges(4, [(0, 1), (1, 0), (2, 3)]), 2),
    ],
)
def test_deterministic_edge_counts(graph, edges):
    assert graph.number_of_edges() == edges


@pytest.mark.parametrize("builder", [topo.complete, topo.ring])
def test_circle_layout_has_diameter_area(builder):
    graph = builder(8, area_m=60.0)
    for node in graph.nodes:
        x, y = graph.nodes[node]["pos_m"]
        assert math.hypot(x - 30.0, y - 30.0) == pytest.approx(30.0)
    # evenly spaced: opposite nodes are a diameter apart
    assert topo.distance_m(graph, 0, 4) == pytest.approx(60.0)


def test_star_center_is_hub_in_the_middle():
    graph = topo.star(6, center=2, area_m=80.0)
    assert set(graph.neighbors(2)) == {0, 1, 3, 4, 5}
    assert all(2 in edge for edge in graph.edges)
    assert graph.nodes[2]["pos_m"] == (40.0, 40.0)
    assert topo.distance_m(graph, 2, 5) == pytest.approx(40.0)


def test_grid_is_row_major_with_spacing():
    graph = topo.grid(3, 4, spacing_m=10.0)
    assert graph.nodes[5]["pos_m"] == (10.0, 10.0)  # row 1, col 1
    assert graph.nodes[11]["pos_m"] == (30.0, 20.0)
    assert set(graph.neighbors(5)) == {1, 4, 6, 9}
    assert not graph.has_edge(3, 4)  # end of row 0 does not wrap to row 1
    for u, v in graph.edges:
        assert topo.distance_m(graph, u, v) == pytest.approx(10.0)


def test_random_geometric_links_exactly_the_close_pairs():
    radius = 30.0
    graph = topo.random_geometric(25, radius, seed=7, area_m=100.0)
    for node in graph.nodes:
        x, y = graph.nodes[node]["pos_m"]
        assert 0.0 <= x <= 100.0 and 0.0 <= y <= 100.0
    for u, v in itertools.combinations(range(25), 2):
        assert graph.has_edge(u, v) == (topo.distance_m(graph, u, v) <= radius)
    assert 0 < graph.number_of_edges() < 300


@pytest.mark.parametrize(
    "build",
    [
        lambda seed: topo.erdos_renyi(12, 0.4, seed=seed),
        lambda seed: topo.random_geometric(12, 35.0, seed=seed),
        lambda seed: topo.small_world(12, 4, 0.5, seed=seed),
    ],
)
def test_random_builders_are_reproducible_and_seed_sensitive(build):
    def snapshot(graph):
        return sorted(graph.edges), [graph.nodes[i]["pos_m"] for i in sorted(graph.nodes)]

    assert snapshot(build(5)) == snapshot(build(5))
    assert snapshot(build(5)) != snapshot(build(6))


def test_erdos_renyi_positions_inside_square():
    graph = topo.erdos_renyi(30, 0.1, seed=2, area_m=10.0)
    xs = [graph.nodes[i]["pos_m"][0] for i in graph]
    assert min(xs) >= 0.0 and max(xs) <= 10.0
    assert max(xs) - min(xs) > 5.0  # spread over the square, not clumped


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: topo.complete(0), r"n must be >= 1, got 0"),
        (lambda: topo.ring(2.5), r"n must be an integer, got 2.5"),
        (lambda: topo.ring(True), r"n must be an integer"),
        (lambda: topo.complete(3, area_m=-1.0), r"area_m must be > 0, got -1"),
        (lambda: topo.star(4, center=4), r"center must be a node id in 0..3, got 4"),
        (lambda: topo.grid(0, 3), r"rows must be >= 1, got 0"),
        (lambda: topo.grid(2, 3, spacing_m=0.0), r"spacing_m must be > 0"),
        (lambda: topo.erdos_renyi(5, 1.5, seed=0), r"p must be <= 1, got 1.5"),
        (lambda: topo.erdos_renyi(5, -0.1, seed=0), r"p must be >= 0"),
        (lambda: topo.erdos_renyi(5, 0.5, seed=-3), r"seed must be a non-negative integer"),
        (lambda: topo.random_geometric(5, 0.0, seed=0), r"radius_m must be > 0, got 0"),
        (lambda: topo.small_world(6, 6, 0.1, seed=0), r"k must be < n = 6, got 6"),
        (lambda: topo.small_world(6, 3, 0.1, seed=0), r"k must be even"),
        (lambda: topo.small_world(6, 2, 2.0, seed=0), r"p_rewire must be <= 1"),
        (lambda: topo.from_edges(3, [(0, 1), (1, 3)]), r"edge \(1, 3\) has node id 3; allowed ids are 0..2"),
        (lambda: topo.from_edges(3, [(-1, 1)]), r"allowed ids are 0..2"),
        (lambda: topo.from_edges(3, [(1, 1)]), r"self-loop"),
        (lambda: topo.from_edges(3, [(0, 1, 2)]), r"must be a pair"),
    ],
)
def test_bad_arguments_raise_scenario_error(call, match):
    with pytest.raises(ScenarioError, match=match):
        call()


@pytest.mark.parametrize(
    ("kind", "params", "direct"),
    [
        ("complete", {}, lambda: topo.complete(6)),
        ("ring", {"area_m": 50.0}, lambda: topo.ring(6, area_m=50.0)),
        ("star", {"center": 3}, lambda: topo.star(6, center=3)),
        ("grid", {"rows": 2, "cols": 3}, lambda: topo.grid(2, 3)),
        ("grid", {"rows": 3}, lambda: topo.grid(3, 2)),
        ("erdos_renyi", {"p": 0.5}, lambda: topo.erdos_renyi(6, 0.5, seed=9)),
        ("random_geometric", {"radius_m": 50.0}, lambda: topo.random_geometric(6, 50.0, seed=9)),
        ("small_world", {"k": 2, "p_rewire": 0.5}, lambda: topo.small_world(6, 2, 0.5, seed=9)),
        ("edges", {"edges": [(0, 5), (1, 2)]}, lambda: topo.from_edges(6, [(0, 5), (1, 2)])),
    ],
)
def test_build_topology_matches_direct_builders(kind, params, direct):
    built = topo.build_topology(kind, 6, seed=9, **params)
    expected = direct()
    assert sorted(built.edges) == sorted(expected.edges)
    assert dict(built.nodes(data="pos_m")) == dict(expected.nodes(data="pos_m"))


@pytest.mark.parametrize(
    ("kind", "params", "match"),
    [
        ("mesh", {}, r"unknown topology kind 'mesh'; valid kinds: complete, ring, star, grid, erdos_renyi"),
        ("grid", {"rows": 2, "cols": 2}, r"rows \* cols = 2 \* 2 = 4 must equal n = 6"),
        ("grid", {"rows": 4}, r"rows = 4 does not divide n = 6"),
        ("grid", {}, r"needs rows and cols"),
        ("ring", {"radius_m": 3.0}, r"unknown parameter\(s\) radius_m for topology 'ring'; allowed: area_m"),
        ("erdos_renyi", {}, r"topology 'erdos_renyi' needs parameter\(s\): p"),
        ("small_world", {"k": 2}, r"needs parameter\(s\): p_rewire"),
    ],
)
def test_build_topology_errors(kind, params, match):
    with pytest.raises(ScenarioError, match=match):
        topo.build_topology(kind, 6, seed=0, **params)


def test_distance_m_is_euclidean_and_checks_nodes():
    graph = topo.from_edges(2, [(0, 1)])
    graph.nodes[0]["pos_m"] = (0.0, 0.0)
    graph.nodes[1]["pos_m"] = (3.0, 4.0)
    assert topo.distance_m(graph, 0, 1) == 5.0
    assert topo.distance_m(graph, 1, 0) == 5.0
    with pytest.raises(ScenarioError, match=r"node 7 is not in the graph"):
        topo.distance_m(graph, 0, 7)
