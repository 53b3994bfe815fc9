"""The sweep file: a base scenario, overrides shared by every point, and the points.

A sweep file is YAML::

    base: ../quickstart.yaml          # scenario file, relative to this sweep file
    set: [method.federated.rounds=3]  # KEY.PATH=VALUE overrides applied to every point
    grid:                             # cartesian product, first key outermost ...
      links.snr_offset_db: [-3, 3]
    # points: [{topology.kind: ring}, {topology.kind: star, topology.num_users: 5}]
    seeds: [0, 1]                     # ... and the seed innermost (a grid over ``seed``)
    out: runs/sweeps/snr              # sweep directory, relative to the working directory

``grid`` and ``points`` exclude each other; ``seeds`` combines with either. It is
parsed once, here, into a frozen ``SweepSpec``; unknown keys are errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from semnet.errors import ScenarioError
from semnet.scenario import read_yaml
from semnet.scenario.loader import _is_union_tag, _short

DEFAULT_OUT_ROOT = Path("runs") / "sweeps"


class SweepSpec(BaseModel):
    """A validated sweep file.

    ``base`` is a scenario file path (resolved against the sweep file by ``load_sweep``;
    a relative path given in code is read from the working directory) or an inline
    scenario mapping. ``source`` is the sweep file the
    spec came from (``None`` when built in code); it names the default ``out``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: str | dict[str, Any] = Field(description="scenario file (relative to the sweep file) or inline mapping")
    set: tuple[str, ...] = Field((), description="KEY.PATH=VALUE overrides applied to every point")
    grid: dict[str, list[Any]] | None = Field(None, description="KEY.PATH -> values; cartesian product")
    points: tuple[dict[str, Any], ...] | None = Field(None, description="explicit list of {KEY.PATH: value}")
    seeds: tuple[int, ...] | None = Field(None, description="shorthand for a grid over 'seed' (innermost)")
    out: str | None = Field(None, description="sweep directory; default runs/sweeps/<sweep file name>")
    source: str | None = Field(None, exclude=True, description="the sweep file (set by load_sweep)")

    @field_validator("set", mode="before")
    @classmethod
    def _set_list(cls, value: Any) -> Any:
        if isinstance(value, str):  # a single override needs no list
            return (value,)
        return value

    @field_validator("set")
    @classmethod
    def _set_items(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            if "=" not in text or not text.split("=", 1)[0].strip():
                raise ValueError(f"{text!r} is not KEY.PATH=VALUE, e.g. method.federated.rounds=3")
        return value

    @field_validator("grid")
    @classmethod
    def _grid_axes(cls, value: dict[str, list[Any]] | None) -> dict[str, list[Any]] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("must map at least one KEY.PATH to a list of values")
        for key, values in value.items():
            _check_key(key)
            if not values:
                raise ValueError(f"'{key}' has an empty list of values")
            for a in range(len(values)):
                for b in range(a):
                    if values[a] == values[b]:
                        raise ValueError(f"'{key}' lists the value {values[a]!r} twice")
        return value

    @field_validator("points")
    @classmethod
    def _point_keys(cls, value: tuple[dict[str, Any], ...] | None) -> tuple[dict[str, Any], ...] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("must list at least one point")
        for point in value:
            for key in point:
                _check_key(key)
        return value

    @field_validator("seeds")
    @classmethod
    def _seed_values(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("must list at least one seed")
        if any(s < 0 for s in value):
            raise ValueError("seeds must be >= 0")
        if len(set(value)) != len(value):
            raise ValueError("lists a seed twice")
        return value

    @model_validator(mode="after")
    def _one_kind_of_points(self) -> "SweepSpec":
        if self.grid is not None and self.points is not None:
            raise ValueError("give 'grid' or 'points', not both")
        if self.grid is None and self.points is None and self.seeds is None:
            raise ValueError("give 'grid', 'points' or 'seeds' (what to vary)")
        if self.seeds is not None:
            axes = list(self.grid or {}) + [k for p in self.points or () for k in p]
            if "seed" in axes:
                raise ValueError("'seed' is varied both by 'seeds' and by grid/points; keep one")
        return self

    def out_dir(self, override: str | Path | None = None) -> Path:
        """The sweep directory: ``override``, else ``out``, else ``runs/sweeps/<file stem>``."""
        if override is not None:
            return Path(override)
        if self.out is not None:
            return Path(self.out)
        stem = Path(self.source).stem if self.source else "sweep"
        return DEFAULT_OUT_ROOT / stem


def _check_key(key: Any) -> None:
    if not isinstance(key, str) or not key.strip():
        raise ValueError(f"{key!r} is not a KEY.PATH such as links.snr_offset_db")
    parts = key.split(".")
    if any(not p.strip() for p in parts) or "=" in key:
        raise ValueError(f"{key!r} is not a KEY.PATH such as links.snr_offset_db")


def parse_sweep(raw: dict, source: str = "<sweep>", base_dir: str | Path | None = None) -> SweepSpec:
    """Validate a raw sweep mapping; a relative ``base`` path is resolved against ``base_dir``."""
    data = dict(raw)
    if isinstance(data.get("base"), str) and base_dir is not None:
        data["base"] = str((Path(base_dir) / data["base"]).resolve())
    if "source" in data:
        raise ScenarioError(f"{source}: unknown key 'source'; allowed: {', '.join(_file_keys())}")
    data["source"] = None if source == "<sweep>" else source
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(f"{source}: {_describe(err)}") from None


def load_sweep(path: str | Path, overrides: tuple[str, ...] | list[str] = ()) -> SweepSpec:
    """Read and validate the sweep file at ``path``; ``overrides`` (``KEY.PATH=VALUE``,
    e.g. from ``semnet sweep --set``) join its ``set``, after it, for every point."""
    path = Path(path)
    raw = read_yaml(path)
    spec = parse_sweep(raw, str(path), base_dir=path.parent)
    if overrides:
        for text in overrides:
            if "=" not in text or not text.split("=", 1)[0].strip():
                raise ScenarioError(f"--set {text!r}: expected KEY.PATH=VALUE, e.g. method.federated.rounds=3")
        spec = spec.model_copy(update={"set": spec.set + tuple(overrides)})
    return spec


def _file_keys() -> list[str]:
    return [name for name in SweepSpec.model_fields if name != "source"]


def _describe(err: ValidationError) -> str:
    errors = err.errors(include_url=False)
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    # pydantic names the union member it tried ('base.str', 'base.dict[str,any]'): the key is 'base'
    loc = [str(p) for p in first["loc"] if not _is_union_tag(p)]
    key = ".".join(loc) or "(top level)"
    if len(first["loc"]) == 2 and _is_union_tag(first["loc"][1]) and first["type"].endswith("_type"):
        # a value of no member's type (base: [1, 2]): say what the key takes
        field = SweepSpec.model_fields.get(str(first["loc"][0]))
        if field is not None and field.description:
            return f"{key} = {_short(first.get('input'))}: expected a {field.description}"
    if first["type"] == "extra_forbidden":
        return f"unknown key '{key}'; allowed: {', '.join(_file_keys())}"
    if first["type"] == "missing":
        return f"{key}: required key is missing"
    message = first["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if not loc:
        return message
    return f"{key} = {_short(first.get('input'))}: {message}"
