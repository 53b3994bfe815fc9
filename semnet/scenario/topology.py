"""``topology:`` — who is connected to whom, and who sends images to whom."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from semnet.scenario.base import SpecValueError, _Spec


class TopologySpec(_Spec):
    """Who is connected to whom, and who sends images to whom."""

    kind: Literal[
        "complete", "ring", "star", "grid", "erdos_renyi", "random_geometric", "small_world", "edges"
    ] = "ring"
    num_users: int = Field(6, ge=1, le=100_000)
    area_m: float = Field(100.0, gt=0)
    radius_m: float = Field(50.0, gt=0, description="random_geometric: connection radius")
    p: float = Field(0.3, ge=0, le=1, description="erdos_renyi: edge probability")
    k: int = Field(2, ge=1, description="small_world: each node joins its k nearest ring neighbours")
    p_rewire: float = Field(0.1, ge=0, le=1, description="small_world: rewiring probability")
    rows: int | None = Field(None, ge=1, description="grid: rows (num_users = rows*cols)")
    cols: int | None = Field(None, ge=1, description="grid: columns")
    spacing_m: float = Field(20.0, gt=0, description="grid: distance between neighbours")
    center: int = Field(0, ge=0, description="star: the hub node")
    edges: tuple[tuple[int, int], ...] | None = Field(None, description="edges: explicit undirected edges")
    transmit: Literal["both", "explicit", "traffic"] = "both"
    transmit_edges: tuple[tuple[int, int], ...] | None = None
    traffic: tuple[tuple[float, ...], ...] | None = None
    aggregator_position_m: tuple[float, float] | None = None
    seed: int | None = Field(None, ge=0, description="fixes the random graph apart from the run seed")

    @model_validator(mode="after")
    def _check(self) -> "TopologySpec":
        n = self.num_users
        if self.kind == "grid":
            for key in ("rows", "cols"):
                if getattr(self, key) is None:
                    raise SpecValueError(key, None, "kind 'grid' needs both 'rows' and 'cols' (rows*cols = num_users)")
            if self.rows * self.cols != n:
                raise SpecValueError(
                    "rows", self.rows, f"grid rows*cols = {self.rows}*{self.cols} = {self.rows * self.cols} "
                    f"must equal num_users = {n}"
                )
        if self.kind == "edges" and not self.edges:
            raise SpecValueError("edges", self.edges, "kind 'edges' needs a non-empty list of [u, v] pairs")
        if self.kind == "star" and self.center >= n:
            raise SpecValueError("center", self.center, f"star center is not a node; allowed 0..{n - 1}")
        if self.kind == "small_world":
            if n < 3:
                raise SpecValueError("num_users", n, "kind 'small_world' needs at least 3 users")
            if self.k < 2 or self.k >= n or self.k % 2:
                raise SpecValueError("k", self.k, f"small_world needs an even k with 2 <= k < num_users = {n}")
        for key, pairs in (("edges", self.edges), ("transmit_edges", self.transmit_edges)):
            for index, (u, v) in enumerate(pairs or ()):
                if not (0 <= u < n and 0 <= v < n):
                    raise SpecValueError(f"{key}[{index}]", (u, v), f"not a pair of nodes; allowed 0..{n - 1}")
                if u == v:
                    raise SpecValueError(f"{key}[{index}]", (u, v), "a self-loop; u and v must differ")
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
