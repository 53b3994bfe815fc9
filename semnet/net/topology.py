"""Seeded graph builders for the users' network, and the directed transmit relation.

Every builder returns an undirected :class:`networkx.Graph` whose nodes are the
integers ``0..n-1``; each node carries ``pos_m``, an ``(x, y)`` tuple of floats in
metres, so link SNRs can be derived from distances (:mod:`semnet.net.pathloss`).
Deterministic layouts (complete, ring, star, small world) place nodes evenly on a
circle of diameter ``area_m`` centred at ``(area_m / 2, area_m / 2)``; random
layouts draw positions uniformly in the square ``[0, area_m]^2``.

:func:`transmit_graph` turns a topology into the directed relation of the system
model: an edge ``i -> j`` means *user i transmits images to user j*.

Bad arguments raise :class:`semnet.errors.ScenarioError` naming the value and the
allowed range.

Every kind, built in or not, is a *builder* registered in
:data:`semnet.registry.topologies`; :func:`build_graph` (used by
:func:`semnet.net.network.build_network`) and :func:`build_topology` look the kind up
there, so a plugin adds a graph family without editing semnet::

    import networkx as nx
    from pydantic import BaseModel
    from semnet.registry import topologies

    @topologies.register("clusters", "k dense clusters joined in a ring")
    def clusters(spec, rng):
        n, k = spec.num_users, spec.options.k
        graph = nx.Graph()
        graph.add_nodes_from(range(n))
        ...  # edges; positions drawn from rng only
        for node in graph:
            graph.nodes[node]["pos_m"] = tuple(rng.uniform(0.0, spec.area_m, size=2))
        return graph

    class ClusterOptions(BaseModel, extra="forbid"):
        k: int = 2

    clusters.Options = ClusterOptions  # optional: validates topology.options

and a scenario names it with ``topology: {kind: clusters, num_users: 12, options: {k: 3}}``.

The builder contract, ``builder(spec, rng) -> networkx.Graph``:

- ``spec`` is the validated ``topology:`` section. A plugin kind gets a
  :class:`semnet.scenario.topology.CustomTopologySpec` (or, from :func:`build_topology`,
  a :class:`GraphSpec`): the common keys
  (``num_users``, ``area_m``, ``seed``, ``transmit``...) and ``options``, which is the
  mapping from the scenario or, when the builder has an ``Options`` attribute (a
  pydantic model), that model's instance (also checked when the scenario is loaded:
  :func:`validate_options`). A built-in kind gets its own spec class
  (``RingTopologySpec``...), or an object with the same attributes.
- ``rng`` is a :class:`numpy.random.Generator` seeded from ``topology.seed``, else
  the run seed; all randomness must come from it, so a seed gives one graph.
- The result is an undirected :class:`networkx.Graph` whose nodes are exactly
  ``0..num_users-1``, each with ``pos_m``, an ``(x, y)`` in metres (converted to a
  tuple of floats), and no self-loops; isolated nodes are allowed. A broken contract
  is a ``ScenarioError`` naming the builder.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from types import SimpleNamespace
from typing import Any

import networkx as nx
import numpy as np
from pydantic import ValidationError

from semnet.errors import ScenarioError
from semnet.net._checks import check_int, check_real, make_rng, show
from semnet.registry import UnknownNameError, topologies

__all__ = [
    "TOPOLOGY_KINDS",
    "GraphSpec",
    "build_graph",
    "build_topology",
    "complete",
    "distance_m",
    "erdos_renyi",
    "from_edges",
    "grid",
    "random_geometric",
    "ring",
    "small_world",
    "star",
    "transmit_graph",
    "validate_options",
]

TOPOLOGY_KINDS = (
    "complete",
    "ring",
    "star",
    "grid",
    "erdos_renyi",
    "random_geometric",
    "small_world",
    "edges",
)
"""The built-in kinds (registered in :data:`semnet.registry.topologies` on import, with
whatever plugins add)."""


# --------------------------------------------------------------------------- helpers


def _check_n(n: object) -> int:
    return check_int("n", n, minimum=1)


def _check_area(area_m: object) -> float:
    return check_real("area_m", area_m, low=0.0, low_open=True)


def _circle_positions(n: int, area_m: float) -> list[tuple[float, float]]:
    """``n`` points evenly spaced on the circle of diameter ``area_m`` inside the square."""
    half = area_m / 2.0
    angles = 2.0 * math.pi * np.arange(n) / n
    return [(half + half * math.cos(a), half + half * math.sin(a)) for a in angles]


def _uniform_positions(n: int, area_m: float, rng: np.random.Generator) -> list[tuple[float, float]]:
    xy = rng.uniform(0.0, area_m, size=(n, 2))
    return [(float(x), float(y)) for x, y in xy]


def _with_positions(graph: nx.Graph, positions: Sequence[tuple[float, float]]) -> nx.Graph:
    """Return a plain ``nx.Graph`` on nodes ``0..n-1`` with edges of ``graph`` and ``pos_m`` set."""
    out = nx.Graph()
    out.add_nodes_from(range(len(positions)))
    out.add_edges_from(graph.edges())
    for node, pos in enumerate(positions):
        out.nodes[node]["pos_m"] = (float(pos[0]), float(pos[1]))
    return out


def _child_seed(rng: np.random.Generator) -> int:
    """An integer seed for networkx generators, drawn from ``rng`` (no global state)."""
    return int(rng.integers(0, 2**32 - 1))


# --------------------------------------------------------------------------- builders


def complete(n: int, *, area_m: float = 100.0) -> nx.Graph:
    """Every pair of users is linked.

    Parameters
    ----------
    n : int
        Number of users, ``>= 1``.
    area_m : float, optional
        Diameter in metres of the circle the users sit on (default 100 m).

    Returns
    -------
    networkx.Graph
        ``n`` nodes, ``n * (n - 1) / 2`` edges, ``pos_m`` on every node.

    Examples
    --------
    >>> complete(4).number_of_edges()
    6
    """
    n = _check_n(n)
    area_m = _check_area(area_m)
    return _with_positions(nx.complete_graph(n), _circle_positions(n, area_m))


def ring(n: int, *, area_m: float = 100.0) -> nx.Graph:
    """Users on a cycle, each linked to its two neighbours.

    Parameters
    ----------
    n : int
        Number of users, ``>= 1``. ``n = 1`` gives no edge, ``n = 2`` one edge,
        otherwise ``n`` edges.
    area_m : float, optional
        Diameter in metres of the circle the users sit on.

    Returns
    -------
    networkx.Graph
    """
    n = _check_n(n)
    area_m = _check_area(area_m)
    cycle = nx.cycle_graph(n)
    cycle.remove_edges_from(nx.selfloop_edges(cycle))  # networkx gives n = 1 a self-loop
    return _with_positions(cycle, _circle_positions(n, area_m))


def star(n: int, *, center: int = 0, area_m: float = 100.0) -> nx.Graph:
    """One hub linked to every other user (e.g. a base station).

    Parameters
    ----------
    n : int
        Number of users, ``>= 1``.
    center : int, optional
        Id of the hub, in ``0..n-1``; it sits at ``(area_m / 2, area_m / 2)``.
    area_m : float, optional
        Diameter in metres of the circle the other users sit on.

    Returns
    -------
    networkx.Graph
        ``n - 1`` edges, all incident to ``center``.
    """
    n = _check_n(n)
    area_m = _check_area(area_m)
    center = check_int("center", center, minimum=0)
    if center >= n:
        raise ScenarioError(f"center must be a node id in 0..{n - 1}, got {center}")
    leaves = [node for node in range(n) if node != center]
    graph = nx.Graph()
    graph.add_edges_from((center, leaf) for leaf in leaves)
    positions: list[tuple[float, float]] = [(0.0, 0.0)] * n
    positions[center] = (area_m / 2.0, area_m / 2.0)
    for leaf, pos in zip(leaves, _circle_positions(len(leaves), area_m)):
        positions[leaf] = pos
    return _with_positions(graph, positions)


def grid(rows: int, cols: int, *, spacing_m: float = 20.0) -> nx.Graph:
    """A ``rows x cols`` lattice, each user linked to its 4-neighbours.

    Parameters
    ----------
    rows, cols : int
        Lattice shape, both ``>= 1``. Node ``r * cols + c`` (row-major) sits at
        ``(c * spacing_m, r * spacing_m)``.
    spacing_m : float, optional
        Distance in metres between neighbours (default 20 m).

    Returns
    -------
    networkx.Graph
        ``rows * cols`` nodes and ``rows * (cols - 1) + cols * (rows - 1)`` edges.
    """
    rows = check_int("rows", rows, minimum=1)
    cols = check_int("cols", cols, minimum=1)
    spacing_m = check_real("spacing_m", spacing_m, low=0.0, low_open=True)
    graph = nx.Graph()
    for r in range(rows):
        for c in range(cols):
            node = r * cols + c
            if c + 1 < cols:
                graph.add_edge(node, node + 1)
            if r + 1 < rows:
                graph.add_edge(node, node + cols)
    positions = [(c * spacing_m, r * spacing_m) for r in range(rows) for c in range(cols)]
    return _with_positions(graph, positions)


def erdos_renyi(n: int, p: float, *, seed: int | np.random.Generator, area_m: float = 100.0) -> nx.Graph:
    """G(n, p) random graph: each pair is linked independently with probability ``p``.

    Parameters
    ----------
    n : int
        Number of users, ``>= 1``.
    p : float
        Edge probability in ``[0, 1]``.
    seed : int or numpy.random.Generator
        Seed for edges and positions; the same seed gives the same graph.
    area_m : float, optional
        Side in metres of the square the positions are drawn uniformly from.

    Returns
    -------
    networkx.Graph

    References
    ----------
    .. [1] P. Erdős and A. Rényi, "On random graphs I", Publ. Math. Debrecen, 1959.
    """
    n = _check_n(n)
    p = check_real("p", p, low=0.0, high=1.0)
    area_m = _check_area(area_m)
    rng = make_rng(seed)
    edges = nx.gnp_random_graph(n, p, seed=_child_seed(rng))
    return _with_positions(edges, _uniform_positions(n, area_m, rng))


def random_geometric(
    n: int, radius_m: float, *, seed: int | np.random.Generator, area_m: float = 100.0
) -> nx.Graph:
    """Users dropped uniformly in a square, linked when within ``radius_m`` of each other.

    Parameters
    ----------
    n : int
        Number of users, ``>= 1``.
    radius_m : float
        Link range in metres, ``> 0``; an edge exists when distance ``<= radius_m``.
    seed : int or numpy.random.Generator
        Seed for the positions.
    area_m : float, optional
        Side in metres of the square ``[0, area_m]^2``.

    Returns
    -------
    networkx.Graph

    References
    ----------
    .. [1] M. Penrose, *Random Geometric Graphs*, Oxford University Press, 2003.
    """
    n = _check_n(n)
    radius_m = check_real("radius_m", radius_m, low=0.0, low_open=True)
    area_m = _check_area(area_m)
    positions = _uniform_positions(n, area_m, make_rng(seed))
    xy = np.asarray(positions, dtype=float)
    dist = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    src, dst = np.nonzero(np.triu(dist <= radius_m, k=1))
    graph = nx.Graph()
    graph.add_edges_from(zip(src.tolist(), dst.tolist()))
    return _with_positions(graph, positions)


def small_world(
    n: int, k: int, p_rewire: float, *, seed: int | np.random.Generator, area_m: float = 100.0
) -> nx.Graph:
    """Watts–Strogatz small-world graph: a ring lattice with randomly rewired edges.

    Parameters
    ----------
    n : int
        Number of users, ``>= 3``.
    k : int
        Each user starts linked to its ``k`` nearest ring neighbours (``k / 2`` per
        side); even, ``2 <= k < n``.
    p_rewire : float
        Probability in ``[0, 1]`` of rewiring each edge.
    seed : int or numpy.random.Generator
        Seed for the rewiring.
    area_m : float, optional
        Diameter in metres of the circle the users sit on.

    Returns
    -------
    networkx.Graph
        ``n * k / 2`` edges (rewiring keeps the count).

    References
    ----------
    .. [1] D. J. Watts and S. H. Strogatz, "Collective dynamics of 'small-world'
       networks", Nature 393, 1998.
    """
    n = check_int("n", n, minimum=3)
    k = check_int("k", k, minimum=2)
    if k >= n:
        raise ScenarioError(f"k must be < n = {n}, got {k}")
    if k % 2:
        raise ScenarioError(f"k must be even (k / 2 neighbours per side), got {k}")
    p_rewire = check_real("p_rewire", p_rewire, low=0.0, high=1.0)
    area_m = _check_area(area_m)
    rng = make_rng(seed)
    edges = nx.watts_strogatz_graph(n, k, p_rewire, seed=_child_seed(rng))
    return _with_positions(edges, _circle_positions(n, area_m))


def from_edges(n: int, edges: Iterable[Sequence[int]], *, area_m: float = 100.0) -> nx.Graph:
    """A graph from an explicit list of undirected ``(u, v)`` pairs.

    Parameters
    ----------
    n : int
        Number of users, ``>= 1``; every id must be in ``0..n-1``.
    edges : iterable of (int, int)
        Undirected links; duplicates collapse, self-loops are rejected.
    area_m : float, optional
        Diameter in metres of the circle the users sit on.

    Returns
    -------
    networkx.Graph
    """
    n = _check_n(n)
    area_m = _check_area(area_m)
    graph = nx.Graph()
    for u, v in _check_pairs(edges, n, what="edge"):
        graph.add_edge(u, v)
    return _with_positions(graph, _circle_positions(n, area_m))


def _check_pairs(pairs: object, n: int, *, what: str) -> list[tuple[int, int]]:
    """Validate ``(u, v)`` pairs of node ids in ``0..n-1`` without self-loops."""
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Iterable):
        raise ScenarioError(f"{what}s must be a list of (u, v) pairs, got {pairs!r}")
    checked = []
    for pair in pairs:
        if isinstance(pair, np.ndarray):
            pair = tuple(pair.tolist())
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise ScenarioError(f"{what} {pair!r} must be a pair (u, v) of node ids")
        u, v = pair
        shown = f"({show(u)}, {show(v)})"
        for node in (u, v):
            if isinstance(node, bool) or not isinstance(node, (int, np.integer)) or not 0 <= node < n:
                raise ScenarioError(
                    f"{what} {shown} has node id {show(node)}; allowed ids are 0..{n - 1}"
                )
        if u == v:
            raise ScenarioError(f"{what} {shown} is a self-loop; u and v must differ")
        checked.append((int(u), int(v)))
    return checked


# --------------------------------------------------------------------------- dispatch


def _grid_from_n(n: int, *, rows: int | None = None, cols: int | None = None, spacing_m: float = 20.0) -> nx.Graph:
    """``grid`` for :func:`build_topology`: one of rows/cols may be left out if it divides ``n``."""
    if rows is None and cols is None:
        raise ScenarioError(f"grid topology needs rows and cols with rows * cols = n = {n}")
    if rows is None or cols is None:
        given_name, given = ("rows", rows) if rows is not None else ("cols", cols)
        given = check_int(given_name, given, minimum=1)
        if n % given:
            raise ScenarioError(f"grid {given_name} = {given} does not divide n = {n}")
        rows, cols = (given, n // given) if given_name == "rows" else (n // given, given)
    rows = check_int("rows", rows, minimum=1)
    cols = check_int("cols", cols, minimum=1)
    if rows * cols != n:
        raise ScenarioError(f"grid rows * cols = {rows} * {cols} = {rows * cols} must equal n = {n}")
    return grid(rows, cols, spacing_m=spacing_m)


class _BuiltinBuilder:
    """The registered builder of a built-in kind: reads the keys that ``direct`` (the
    builder function above, ``n`` first) takes from the kind's spec and calls it."""

    def __init__(self, kind: str, direct: Callable[..., nx.Graph]):
        signature = inspect.signature(direct)
        self.kind = kind
        self.direct = direct
        self.takes_seed = "seed" in signature.parameters
        self.params = {name: p.default for name, p in signature.parameters.items() if name not in ("n", "seed")}
        self.__doc__ = direct.__doc__
        self.__module__ = __name__
        self.__qualname__ = f"{type(self).__qualname__}[{kind}]"

    def __call__(self, spec: Any, rng: np.random.Generator) -> nx.Graph:
        params = {name: getattr(spec, name) for name in self.params}
        if self.takes_seed:
            return self.direct(spec.num_users, seed=rng, **params)
        return self.direct(spec.num_users, **params)

    def __repr__(self) -> str:
        return f"<built-in topology builder {self.kind!r}: {self.direct.__name__}>"


for _kind, _direct, _description in (
    ("complete", complete, "every pair of users linked; users on a circle"),
    ("ring", ring, "a cycle; users on a circle"),
    ("star", star, "hub center linked to every other user"),
    ("grid", _grid_from_n, "rows x cols lattice, 4-neighbours, spacing_m apart"),
    ("erdos_renyi", erdos_renyi, "G(n, p): each pair linked with probability p; users uniform in the square"),
    ("random_geometric", random_geometric, "users uniform in the square, linked within radius_m"),
    ("small_world", small_world, "Watts-Strogatz: a ring lattice of k neighbours, rewired with p_rewire"),
    ("edges", from_edges, "exactly the listed undirected edges; users on a circle"),
):
    topologies.add(_kind, _BuiltinBuilder(_kind, _direct), _description)
del _kind, _direct, _description


def _builder(kind: object) -> Callable[..., nx.Graph]:
    try:
        return topologies.get(kind)
    except UnknownNameError:
        raise ScenarioError(f"unknown topology kind {kind!r}; valid kinds: {', '.join(topologies.names())}") from None


def validate_options(kind: str, options: Mapping[str, Any]) -> Any:
    """``topology.options`` as the builder of ``kind`` reads them.

    A plugin builder with an ``Options`` attribute (a pydantic model) gets them
    validated into an ``Options`` instance; one without gets the mapping as given.

    Raises
    ------
    ScenarioError
        ``kind`` is not registered, or is built in and ``options`` is not empty
        (built-in kinds take their settings as keys of ``topology:``).
    pydantic.ValidationError
        ``options`` do not fit the builder's ``Options``.
    """
    builder = _builder(kind)
    if isinstance(builder, _BuiltinBuilder):
        if options:
            raise ScenarioError(
                f"topology kind {kind!r} is built in and takes no options (got {', '.join(map(str, options))}); "
                f"its settings are keys of topology: {', '.join(builder.params) or '(none)'}"
            )
        return {}
    model = getattr(builder, "Options", None)
    if model is not None:
        return model.model_validate(dict(options))
    return dict(options)


@dataclass(frozen=True)
class GraphSpec:
    """What a plugin builder gets from :func:`build_topology` (outside a scenario): the
    common keys of ``topology:`` and the builder's ``options``. The network layer's own
    type, so that it never imports the scenario's spec classes."""

    kind: str
    num_users: int
    area_m: float = 100.0
    seed: int | None = None
    transmit: str = "both"
    transmit_edges: tuple | None = None
    traffic: tuple | None = None
    aggregator_position_m: tuple[float, float] | None = None
    options: Any = field(default_factory=dict)


def build_graph(spec: Any, *, seed: int | np.random.Generator) -> nx.Graph:
    """Build the graph of a ``topology:`` spec through its registered builder.

    Parameters
    ----------
    spec : semnet.scenario.topology.BaseTopologySpec
        A built-in kind's spec, or a :class:`~semnet.scenario.topology.CustomTopologySpec`
        naming a registered plugin builder (any object with ``kind``, ``num_users``
        and the kind's keys will do).
    seed : int or numpy.random.Generator
        Seed of the generator handed to the builder (the scenario's
        ``topology.seed``, else the run seed).

    Returns
    -------
    networkx.Graph
        Nodes ``0..num_users-1``, each with a float ``pos_m``.

    Raises
    ------
    ScenarioError
        Unknown kind, bad options, or a builder that broke the contract.
    """
    builder = _builder(spec.kind)
    rng = make_rng(seed)
    if not isinstance(builder, _BuiltinBuilder):
        options = getattr(spec, "options", None)
        if options is not None and getattr(builder, "Options", None) is not None:
            try:
                validated = validate_options(spec.kind, options)
                spec = (replace(spec, options=validated) if isinstance(spec, GraphSpec)
                        else spec.model_copy(update={"options": validated}))
            except ValidationError as err:
                first = err.errors(include_url=False)[0]
                key = ".".join(["topology.options", *map(str, first["loc"])])
                raise ScenarioError(f"{key}: {first['msg']}") from None
    if isinstance(builder, _BuiltinBuilder):
        graph = builder(spec, rng)
    else:
        try:
            graph = builder(spec, rng)
        except ScenarioError:
            raise
        except Exception as err:  # a plugin's builder failing: one line naming it, not a traceback
            raise ScenarioError(f"topology builder {spec.kind!r} failed: {type(err).__name__}: {err}") from None
    return _check_built(spec.kind, graph, spec.num_users)


def _check_built(kind: str, graph: object, n: int) -> nx.Graph:
    """A builder's graph, checked against the contract (plain float ``pos_m`` tuples)."""
    where = f"topology builder {kind!r}"
    if not isinstance(graph, nx.Graph) or graph.is_directed() or graph.is_multigraph():
        raise ScenarioError(f"{where} returned {type(graph).__name__}; it must return an undirected networkx.Graph")
    if set(graph.nodes) != set(range(n)):
        raise ScenarioError(f"{where} returned nodes other than 0..{n - 1} (num_users = {n})")
    if any(u == v for u, v in graph.edges):
        raise ScenarioError(f"{where} returned a self-loop")
    for node in range(n):
        pos = graph.nodes[node].get("pos_m")
        try:
            x, y = (float(c) for c in pos)
        except (TypeError, ValueError):
            raise ScenarioError(f"{where}: node {node} has pos_m = {pos!r}; every node needs an (x, y) in metres") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ScenarioError(f"{where}: node {node} has pos_m = {pos!r}; coordinates must be finite")
        graph.nodes[node]["pos_m"] = (x, y)
    return graph


def build_topology(kind: str, n: int, *, seed: int | np.random.Generator, **params: object) -> nx.Graph:
    """Build a topology by name and keyword arguments (the scenario path is :func:`build_graph`).

    Parameters
    ----------
    kind : str
        A registered topology: one of :data:`TOPOLOGY_KINDS` or a plugin's.
    n : int
        Number of users.
    seed : int or numpy.random.Generator
        Seed of the generator handed to the builder; random kinds draw from it.
    **params
        A built-in builder's other arguments: ``p`` (erdos_renyi), ``radius_m``
        (random_geometric), ``k`` and ``p_rewire`` (small_world), ``center``
        (star), ``rows``/``cols``/``spacing_m`` (grid, ``rows * cols == n``; one of
        them may be omitted when it follows from ``n``), ``edges`` (edges), and
        ``area_m`` for all but grid. For a plugin kind, ``area_m`` and the other
        common keys of ``topology:``, the rest being its ``options``.

    Returns
    -------
    networkx.Graph

    Raises
    ------
    ScenarioError
        Unknown ``kind`` (the message lists the valid kinds), unknown or missing
        parameters, or out-of-range values.

    Examples
    --------
    >>> build_topology("grid", 6, seed=0, rows=2, cols=3).number_of_edges()
    7
    """
    builder = _builder(kind)
    if not isinstance(builder, _BuiltinBuilder):
        common = {f.name: params.pop(f.name) for f in fields(GraphSpec) if f.name in params and f.name != "options"}
        spec = GraphSpec(**{**common, "kind": kind, "num_users": check_int("num_users", n, minimum=1),
                            "options": params})
        spec = replace(spec, area_m=check_real("area_m", spec.area_m, low=0.0, low_open=True))
        return build_graph(spec, seed=seed)
    allowed = list(builder.params)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ScenarioError(
            f"unknown parameter(s) {', '.join(unknown)} for topology {kind!r}; "
            f"allowed: {', '.join(allowed) or 'none'}"
        )
    missing = [name for name, default in builder.params.items()
               if default is inspect.Parameter.empty and name not in params]
    if missing:
        raise ScenarioError(f"topology {kind!r} needs parameter(s): {', '.join(missing)}")
    spec = SimpleNamespace(kind=kind, num_users=n, **{**builder.params, **params})
    return build_graph(spec, seed=seed)


# --------------------------------------------------------------------------- directed relation


def _node_count(graph: nx.Graph) -> int:
    n = graph.number_of_nodes()
    if set(graph.nodes) != set(range(n)):
        raise ScenarioError("graph nodes must be the integers 0..n-1")
    return n


def transmit_graph(
    graph: nx.Graph,
    *,
    directed_edges: Iterable[Sequence[int]] | None = None,
    traffic: Sequence[Sequence[float]] | np.ndarray | None = None,
) -> nx.DiGraph:
    """The directed relation *i transmits images to j*, with a traffic weight per edge.

    Parameters
    ----------
    graph : networkx.Graph
        Topology with nodes ``0..n-1`` (as built by this module).
    directed_edges : iterable of (int, int), optional
        Explicit ``(src, dst)`` pairs, weight 1.0 each. Ids must be nodes of
        ``graph``; the pair need not be a graph edge (traffic may be relayed).
    traffic : (n, n) array_like of float, optional
        Non-negative weights; ``traffic[i][j] > 0`` creates ``i -> j`` with that
        weight. The diagonal must be 0.

    Returns
    -------
    networkx.DiGraph
        All nodes of ``graph`` (isolated ones too) with their attributes
        (``pos_m``) copied; each edge has a float ``weight``. With neither
        option given, both directions of every undirected edge, weight 1.0.

    Raises
    ------
    ScenarioError
        Both options given, unknown node ids, self-loops, a wrong traffic shape,
        negative or non-finite weights, or a non-zero diagonal.
    """
    if directed_edges is not None and traffic is not None:
        raise ScenarioError("give either directed_edges or traffic, not both")
    n = _node_count(graph)
    out = nx.DiGraph()
    out.add_nodes_from((node, dict(attrs)) for node, attrs in graph.nodes(data=True))
    if directed_edges is not None:
        for src, dst in _check_pairs(directed_edges, n, what="directed edge"):
            out.add_edge(src, dst, weight=1.0)
    elif traffic is not None:
        try:
            matrix = np.asarray(traffic, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ScenarioError(f"traffic must be an n x n matrix of numbers ({exc})") from None
        if matrix.shape != (n, n):
            raise ScenarioError(f"traffic must be {n} x {n} (one row per user), got shape {matrix.shape}")
        if not np.all(np.isfinite(matrix)) or np.any(matrix < 0):
            i, j = np.argwhere(~(np.isfinite(matrix) & (matrix >= 0)))[0]
            raise ScenarioError(
                f"traffic[{i}][{j}] = {float(matrix[i, j])!r}; weights must be finite and >= 0"
            )
        diagonal = np.flatnonzero(np.diag(matrix))
        if diagonal.size:
            i = int(diagonal[0])
            raise ScenarioError(f"traffic[{i}][{i}] = {float(matrix[i, i])!r}; the diagonal must be 0")
        for src, dst in np.argwhere(matrix > 0):
            out.add_edge(int(src), int(dst), weight=float(matrix[src, dst]))
    else:
        for u, v in graph.edges():
            out.add_edge(u, v, weight=1.0)
            out.add_edge(v, u, weight=1.0)
    return out


def distance_m(graph: nx.Graph, u: int, v: int) -> float:
    """Euclidean distance in metres between the ``pos_m`` of nodes ``u`` and ``v``.

    Raises
    ------
    ScenarioError
        ``u`` or ``v`` is not a node, or has no ``pos_m``.
    """
    points = []
    for node in (u, v):
        if node not in graph:
            raise ScenarioError(f"node {show(node)} is not in the graph (nodes 0..{graph.number_of_nodes() - 1})")
        pos = graph.nodes[node].get("pos_m")
        if pos is None:
            raise ScenarioError(f"node {node!r} has no pos_m attribute")
        points.append(pos)
    (x0, y0), (x1, y1) = points
    return math.hypot(float(x1) - float(x0), float(y1) - float(y0))
