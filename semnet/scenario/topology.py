"""``topology:`` — who is connected to whom, and who sends images to whom.

One spec class per graph family, told apart by ``kind`` (a discriminated union):
every class has the common keys of :class:`BaseTopologySpec` and only the keys of its
own family, so ``{kind: ring, p: 0.9}`` is an unknown-key error rather than a setting
that is silently ignored. A ``kind`` that is not built in validates as
:class:`CustomTopologySpec` (the common keys plus ``options``), for graph builders that
plugins register in :data:`semnet.registry.topologies`; whether such a name is
registered, and whether its ``options`` fit, is checked when the scenario is loaded
(after its plugins are imported), not here.

:data:`TopologySpec` is the union, for annotations (``Scenario.topology``); build a
spec from a mapping with :func:`topology_spec`, or call a class directly
(``RingTopologySpec(num_users=4)``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, Tag, TypeAdapter, field_validator, model_validator

from semnet.scenario.base import SpecValueError, _Spec

__all__ = [
    "BUILTIN_KINDS",
    "DEFAULT_KIND",
    "TOPOLOGY_SPECS",
    "BaseTopologySpec",
    "CompleteTopologySpec",
    "CustomTopologySpec",
    "EdgesTopologySpec",
    "ErdosRenyiTopologySpec",
    "GridTopologySpec",
    "MobilitySpec",
    "RandomGeometricTopologySpec",
    "RingTopologySpec",
    "SmallWorldTopologySpec",
    "StarTopologySpec",
    "TopologySpec",
    "drop_legacy_keys",
    "inherit",
    "topology_spec",
]

BUILTIN_KINDS = ("complete", "ring", "star", "grid", "erdos_renyi", "random_geometric", "small_world", "edges")
"""The built-in graph families, in the order ``semnet list topologies`` shows them."""

DEFAULT_KIND = "ring"
"""The kind of a ``topology:`` section that does not give one."""


def _check_pairs(key: str, pairs: tuple[tuple[int, int], ...] | None, n: int) -> None:
    for index, (u, v) in enumerate(pairs or ()):
        if not (0 <= u < n and 0 <= v < n):
            raise SpecValueError(f"{key}[{index}]", (u, v), f"not a pair of nodes; allowed 0..{n - 1}")
        if u == v:
            raise SpecValueError(f"{key}[{index}]", (u, v), "a self-loop; u and v must differ")


class MobilitySpec(_Spec):
    """How users move inside ``[0, area_m]^2``; the aggregator stays put."""

    model: str = Field("static", description="static | random_waypoint | gauss_markov, or a plugin's "
                       "(semnet list mobilities)")
    speed_mps: tuple[float, float] = Field((0.5, 1.5), description="speed range [min, max]")
    pause_s: tuple[float, float] = Field((0.0, 0.0), description="random_waypoint: pause range [min, max]")
    alpha: float = Field(0.75, ge=0, le=1, description="gauss_markov: memory")
    direction_std_rad: float = Field(0.5, ge=0, description="gauss_markov: direction spread around its mean")
    step_s: float = Field(1.0, gt=0, description="positions (and large-scale SNR) update step")

    @model_validator(mode="after")
    def _check(self) -> "MobilitySpec":
        for key in ("speed_mps", "pause_s"):
            low, high = getattr(self, key)
            if low < 0 or high < low:
                raise SpecValueError(key, [low, high], "must be [min, max] with 0 <= min <= max")
        if self.model == "random_waypoint" and self.speed_mps[0] <= 0:
            raise SpecValueError(
                "speed_mps", list(self.speed_mps),
                "random_waypoint needs a minimum speed > 0 (with 0 the mean speed decays to 0)",
            )
        return self


class BaseTopologySpec(_Spec):
    """The keys every topology kind has: size, area, who transmits to whom, the aggregator."""

    kind: str
    num_users: int = Field(6, ge=1, le=100_000)
    area_m: float = Field(100.0, gt=0)
    transmit: Literal["both", "explicit", "traffic"] = "both"
    transmit_edges: tuple[tuple[int, int], ...] | None = None
    traffic: tuple[tuple[float, ...], ...] | None = None
    aggregator_position_m: tuple[float, float] | None = None
    seed: int | None = Field(None, ge=0, description="fixes the random graph apart from the run seed")
    mobility: MobilitySpec = MobilitySpec()

    @model_validator(mode="after")
    def _check(self) -> "BaseTopologySpec":
        n = self.num_users
        self._check_kind()
        _check_pairs("transmit_edges", self.transmit_edges, n)
        if self.transmit == "explicit" and not self.transmit_edges:
            raise SpecValueError(
                "transmit_edges", self.transmit_edges, "transmit 'explicit' needs a non-empty list of [i, j] pairs"
            )
        if self.transmit == "traffic":
            if self.traffic is None:
                raise SpecValueError("traffic", None, f"transmit 'traffic' needs a {n}x{n} matrix")
            if len(self.traffic) != n:
                raise SpecValueError("traffic", self.traffic, f"has {len(self.traffic)} rows; must be a {n}x{n} matrix")
            for i, row in enumerate(self.traffic):
                if len(row) != n:
                    raise SpecValueError(f"traffic[{i}]", row, f"has {len(row)} entries; must be a {n}x{n} matrix")
                for j, weight in enumerate(row):
                    if weight < 0:
                        raise SpecValueError(f"traffic[{i}][{j}]", weight, "traffic weights must be >= 0")
                if row[i] != 0:
                    raise SpecValueError(
                        f"traffic[{i}][{i}]", row[i], "the diagonal must be 0 (a user does not send to itself)"
                    )
        return self

    def _check_kind(self) -> None:
        """Checks spanning this kind's own keys (run before the common ones)."""


class CompleteTopologySpec(BaseTopologySpec):
    """Every pair of users linked; users on a circle of diameter ``area_m``."""

    kind: Literal["complete"] = "complete"


class RingTopologySpec(BaseTopologySpec):
    """A cycle; users on a circle of diameter ``area_m``."""

    kind: Literal["ring"] = "ring"


class StarTopologySpec(BaseTopologySpec):
    """Hub ``center`` linked to every other user."""

    kind: Literal["star"] = "star"
    center: int = Field(0, ge=0, description="star: the hub node")

    def _check_kind(self) -> None:
        n = self.num_users
        if self.center >= n:
            raise SpecValueError("center", self.center, f"star center is not a node; allowed 0..{n - 1}")


class GridTopologySpec(BaseTopologySpec):
    """A ``rows x cols`` lattice (``rows * cols = num_users``)."""

    kind: Literal["grid"] = "grid"
    rows: int | None = Field(None, ge=1, description="grid: rows (num_users = rows*cols)")
    cols: int | None = Field(None, ge=1, description="grid: columns")
    spacing_m: float = Field(20.0, gt=0, description="grid: distance between neighbours")

    def _check_kind(self) -> None:
        n = self.num_users
        for key in ("rows", "cols"):
            if getattr(self, key) is None:
                raise SpecValueError(key, None, "kind 'grid' needs both 'rows' and 'cols' (rows*cols = num_users)")
        if self.rows * self.cols != n:
            raise SpecValueError(
                "rows", self.rows, f"grid rows*cols = {self.rows}*{self.cols} = {self.rows * self.cols} "
                f"must equal num_users = {n}"
            )


class ErdosRenyiTopologySpec(BaseTopologySpec):
    """G(n, p), seeded."""

    kind: Literal["erdos_renyi"] = "erdos_renyi"
    p: float = Field(0.3, ge=0, le=1, description="erdos_renyi: edge probability")


class RandomGeometricTopologySpec(BaseTopologySpec):
    """Users uniform in the square, linked within ``radius_m``, seeded."""

    kind: Literal["random_geometric"] = "random_geometric"
    radius_m: float = Field(50.0, gt=0, description="random_geometric: connection radius")


class SmallWorldTopologySpec(BaseTopologySpec):
    """Watts–Strogatz small world, seeded."""

    kind: Literal["small_world"] = "small_world"
    k: int = Field(2, ge=1, description="small_world: each node joins its k nearest ring neighbours")
    p_rewire: float = Field(0.1, ge=0, le=1, description="small_world: rewiring probability")

    def _check_kind(self) -> None:
        n = self.num_users
        if n < 3:
            raise SpecValueError("num_users", n, "kind 'small_world' needs at least 3 users")
        if self.k < 2 or self.k >= n or self.k % 2:
            raise SpecValueError("k", self.k, f"small_world needs an even k with 2 <= k < num_users = {n}")


class EdgesTopologySpec(BaseTopologySpec):
    """Exactly the listed undirected edges."""

    kind: Literal["edges"] = "edges"
    edges: tuple[tuple[int, int], ...] | None = Field(None, description="edges: explicit undirected edges")

    def _check_kind(self) -> None:
        if not self.edges:
            raise SpecValueError("edges", self.edges, "kind 'edges' needs a non-empty list of [u, v] pairs")
        _check_pairs("edges", self.edges, self.num_users)


class CustomTopologySpec(BaseTopologySpec):
    """A topology kind that is not built in: a graph builder a plugin registered in
    :data:`semnet.registry.topologies`, with its own settings in ``options``."""

    kind: str = Field(min_length=1, description="the name the builder is registered under")
    options: dict[str, Any] = Field(default_factory=dict, description="the plugin builder's own settings")

    @model_validator(mode="before")
    @classmethod
    def _settings_go_in_options(cls, data: Any) -> Any:
        # A key of no kind here is most often a misspelt built-in kind (`kind: erdos_reny`
        # with `p:`), or a plugin setting written outside `options`: say so, at `kind`.
        if isinstance(data, dict) and isinstance(data.get("kind"), str):
            stray = [key for key in data if key not in cls.model_fields]
            if stray:
                kind = data["kind"]
                close = difflib.get_close_matches(kind, BUILTIN_KINDS, n=1, cutoff=0.6)
                guess = f" (did you mean '{close[0]}'?)" if close else ""
                raise SpecValueError(
                    "kind", kind,
                    f"not a built-in topology kind{guess}, so '{stray[0]}' is not a key here; built-in kinds: "
                    f"{', '.join(BUILTIN_KINDS)}; a plugin topology takes its own settings under 'options'",
                )
        return data

    @field_validator("kind")
    @classmethod
    def _not_builtin(cls, kind: str) -> str:
        if kind in BUILTIN_KINDS:  # only reachable by calling this class directly
            raise ValueError(f"'{kind}' is a built-in kind; use {TOPOLOGY_SPECS[kind].__name__}")
        return kind


TOPOLOGY_SPECS: dict[str, type[BaseTopologySpec]] = {
    "complete": CompleteTopologySpec,
    "ring": RingTopologySpec,
    "star": StarTopologySpec,
    "grid": GridTopologySpec,
    "erdos_renyi": ErdosRenyiTopologySpec,
    "random_geometric": RandomGeometricTopologySpec,
    "small_world": SmallWorldTopologySpec,
    "edges": EdgesTopologySpec,
}
"""The spec class of each built-in kind."""

_CUSTOM_TAG = "kind=custom"


def _tag(kind: str) -> str:
    # The union member's tag appears in pydantic's error locations; the 'kind=' form
    # lets the loader drop it (a bare 'edges' would be mistaken for the key 'edges').
    return f"kind={kind}"


def _topology_tag(data: Any) -> str:
    """The union member for ``data``: the built-in kind's class, else the custom one."""
    if isinstance(data, dict):
        kind = data.get("kind", DEFAULT_KIND)
    elif isinstance(data, BaseTopologySpec):
        kind = data.kind
    else:  # not a mapping: reported as 'must be a section'
        kind = DEFAULT_KIND
    return _tag(kind) if isinstance(kind, str) and kind in BUILTIN_KINDS else _CUSTOM_TAG


# The default kind first: the loader's key hints read the first member's keys.
_MEMBERS = (RingTopologySpec,) + tuple(cls for cls in TOPOLOGY_SPECS.values() if cls is not RingTopologySpec)

TopologySpec = Annotated[
    Union[  # noqa: UP007  (a tuple of Annotated members)
        tuple(Annotated[cls, Tag(_tag(cls.model_fields["kind"].default))] for cls in _MEMBERS)
        + (Annotated[CustomTopologySpec, Tag(_CUSTOM_TAG)],)
    ],
    Discriminator(_topology_tag),
]
"""Any topology spec: one class per built-in ``kind``, else :class:`CustomTopologySpec`."""

_ADAPTER: TypeAdapter = TypeAdapter(TopologySpec)


def topology_spec(data: Any = None, /, **keys: Any) -> BaseTopologySpec:
    """The spec of the right class for a ``topology:`` mapping (or keyword arguments).

    Raises
    ------
    pydantic.ValidationError
        As validating a scenario would.

    Examples
    --------
    >>> topology_spec(kind="star", num_users=4).center
    0
    >>> type(topology_spec({"kind": "my_plugin_kind", "options": {"hubs": 2}})).__name__
    'CustomTopologySpec'
    """
    return _ADAPTER.validate_python({**(data or {}), **keys})


# Before kinds had their own classes, a resolved scenario (a run's scenario.yaml) held
# every kind's keys at these defaults.
_LEGACY_DEFAULTS = {
    "radius_m": 50.0, "p": 0.3, "k": 2, "p_rewire": 0.1, "rows": None, "cols": None,
    "spacing_m": 20.0, "center": 0, "edges": None,
}


def is_resolved_legacy(section: Any) -> bool:
    """Whether a ``topology:`` mapping is a resolved one of the flat, all-kinds format:
    it holds every kind-specific key, as only a stored run's scenario.yaml does."""
    return isinstance(section, Mapping) and all(key in section for key in _LEGACY_DEFAULTS)


def drop_legacy_keys(section: dict) -> dict:
    """A ``topology:`` mapping written before kinds had their own keys (a stored run's
    resolved scenario), without the other kinds' keys it carried at their defaults.

    Only for reading old resolved scenarios: a key of another kind set to anything but
    its old default stays, and is reported as an unknown key.
    """
    if not isinstance(section, dict):
        return section
    cls = TOPOLOGY_SPECS.get(section.get("kind", DEFAULT_KIND))
    if cls is None:
        return dict(section)
    return {
        key: value for key, value in section.items()
        if key in cls.model_fields or key not in _LEGACY_DEFAULTS or value != _LEGACY_DEFAULTS[key]
    }


def inherit(before: Any, after: Any, keep: Iterable[str] = ()) -> Any:
    """``after``, a ``topology:`` mapping derived from ``before`` (by ``extends:`` or
    ``--set``), without the keys it inherited that set up ``before``'s kind, when it
    names another kind: a variant ``{kind: ring}`` of a ``random_geometric`` scenario
    does not inherit ``radius_m``. The common keys (``num_users``, ``seed``...), keys
    that ``before`` does not have and keys in ``keep`` (set by the derivation itself)
    stay; anything else, not before, is returned unchanged.
    """
    if not isinstance(before, Mapping) or not isinstance(after, dict):
        return after
    if before.get("kind", DEFAULT_KIND) == after.get("kind", DEFAULT_KIND):
        return after
    keep = set(keep)
    return {
        key: value for key, value in after.items()
        if key in BaseTopologySpec.model_fields or key in keep or key not in before
    }
