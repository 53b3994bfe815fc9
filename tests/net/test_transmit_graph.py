"""The directed 'who sends images to whom' relation in its three modes."""

from __future__ import annotations

import numpy as np
import pytest

from semnet.errors import ScenarioError
from semnet.net.topology import complete, grid, ring, star, transmit_graph


def test_default_is_both_directions_of_every_edge():
    graph = ring(5)
    directed = transmit_graph(graph)
    assert directed.is_directed()
    assert directed.number_of_edges() == 2 * graph.number_of_edges()
    for u, v in graph.edges:
        assert directed.has_edge(u, v) and directed.has_edge(v, u)
    assert not directed.has_edge(0, 2)
    assert all(w == 1.0 and isinstance(w, float) for _, _, w in directed.edges(data="weight"))


def test_positions_and_isolated_nodes_are_copied():
    graph = star(4)
    graph.remove_edge(0, 3)
    directed = transmit_graph(graph)
    assert sorted(directed.nodes) == [0, 1, 2, 3]
    assert directed.degree(3) == 0
    for node in graph:
        assert directed.nodes[node]["pos_m"] == graph.nodes[node]["pos_m"]
    directed.nodes[1]["pos_m"] = (0.0, 0.0)  # a copy: the topology is untouched
    assert graph.nodes[1]["pos_m"] != (0.0, 0.0)


def test_directed_edges_are_taken_as_given():
    directed = transmit_graph(star(4), directed_edges=[(1, 0), (2, 0), (0, 3), (1, 2)])
    assert sorted(directed.edges) == [(0, 3), (1, 0), (1, 2), (2, 0)]
    assert not directed.has_edge(0, 1)
    assert directed.edges[1, 0]["weight"] == 1.0
    assert sorted(directed.predecessors(0)) == [1, 2]


def test_traffic_matrix_sets_edges_and_weights():
    traffic = [
        [0.0, 2.0, 0.0],
        [0.5, 0.0, 0.0],
        [1.0, 0.0, 0.0],
    ]
    directed = transmit_graph(complete(3), traffic=traffic)
    assert sorted(directed.edges) == [(0, 1), (1, 0), (2, 0)]
    assert directed.edges[0, 1]["weight"] == 2.0
    assert directed.edges[1, 0]["weight"] == 0.5
    # numpy arrays work too
    same = transmit_graph(complete(3), traffic=np.asarray(traffic))
    assert dict(same.edges) == dict(directed.edges)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"directed_edges": [(0, 4)]}, r"directed edge \(0, 4\) has node id 4; allowed ids are 0..3"),
        ({"directed_edges": [(2, 2)]}, r"self-loop"),
        ({"traffic": [[0, 1], [1, 0]]}, r"traffic must be 4 x 4.*got shape \(2, 2\)"),
        ({"traffic": np.eye(4)}, r"traffic\[0\]\[0\] = 1.0; the diagonal must be 0"),
        ({"traffic": -np.ones((4, 4)) + np.eye(4)}, r"traffic\[0\]\[1\] = -1.0; weights must be finite and >= 0"),
        ({"traffic": np.full((4, 4), np.nan)}, r"weights must be finite"),
        ({"traffic": np.zeros((4, 4)), "directed_edges": [(0, 1)]}, r"either directed_edges or traffic"),
    ],
)
def test_bad_relations_raise_scenario_error(kwargs, match):
    with pytest.raises(ScenarioError, match=match):
        transmit_graph(grid(2, 2), **kwargs)
