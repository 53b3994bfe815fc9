"""Sweep points: the scenario variations a sweep file describes, each validated and named.

``expand`` turns a ``SweepSpec`` into an ordered list of ``Point``\\ s. Every point's
scenario is validated here, before anything runs, so a typo in a key stops the sweep
with one line instead of failing N runs later.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from semnet.errors import ScenarioError
from semnet.scenario import Scenario, apply_overrides, read_yaml, validate
from semnet.sweep.spec import SweepSpec

MAX_NAME_CHARS = 96
_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]+")


@dataclass(frozen=True, eq=False)
class Point:
    """One scenario of a sweep.

    ``index`` is the 0-based position in expansion order; ``name`` is the point's
    directory name inside the sweep directory; ``overrides`` are the point's own
    ``KEY.PATH -> value`` settings (what distinguishes it); ``raw`` is the whole
    scenario mapping (base + ``set`` + overrides), plain data that pickles;
    ``scenario`` is ``raw`` validated.
    """

    index: int
    name: str
    overrides: dict[str, Any]
    raw: dict = field(repr=False)
    scenario: Scenario = field(repr=False)
    # folders a `plugins:` module is looked for in besides sys.path (the base scenario's)
    search: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``KEY=VALUE`` pairs for messages and tables (``(base)`` when there are none)."""
        return " ".join(f"{k}={format_value(v)}" for k, v in self.overrides.items()) or "(base)"


def point_overrides(spec: SweepSpec) -> list[dict[str, Any]]:
    """The points' own settings in a stable order: grid keys in file order, first key
    outermost, seeds innermost (or each explicit point, then each seed)."""
    if spec.grid is not None:
        keys = list(spec.grid)
        combos = [dict(zip(keys, values)) for values in itertools.product(*(spec.grid[k] for k in keys))]
    elif spec.points is not None:
        combos = [dict(p) for p in spec.points]
    else:
        combos = [{}]
    if spec.seeds is not None:
        combos = [{**c, "seed": s} for c in combos for s in spec.seeds]
    return combos


def expand(spec: SweepSpec) -> list[Point]:
    """All points of ``spec``, each with its scenario validated.

    Raises :class:`InvalidPoints` (a ``ScenarioError``) naming the sweep file, and for
    every invalid point the point and the key, or two points that would be the same run.
    """
    points, errors = check_points(spec)
    if errors:
        where = spec.source or "sweep"
        raise InvalidPoints([line if line.startswith(where) else f"{where}: {line}" for line in errors])
    return points


class InvalidPoints(ScenarioError):
    """Every invalid point of a sweep: ``lines``, one per point (the CLI prints each);
    as a string, the first and how many more."""

    def __init__(self, lines: list[str]):
        more = f" (and {len(lines) - 1} more invalid point{'s' if len(lines) > 2 else ''})" if len(lines) > 1 else ""
        super().__init__(lines[0] + more)
        self.lines = list(lines)


def check_points(spec: SweepSpec) -> tuple[list[Point], list[str]]:
    """Validate every point of ``spec``, not only up to the first bad one: the valid
    points, and one error line per invalid point (or for the sweep's base or ``set``,
    which spoil every point; or for two points that would be the same run)."""
    base = _base_mapping(spec)
    where = spec.source or "sweep"
    try:
        common = apply_overrides(base, list(spec.set))
    except ScenarioError as err:
        return [], [f"{where}: set: {err}"]
    combos = point_overrides(spec)
    names = _unique_names(combos)
    search = () if isinstance(spec.base, dict) else (str(Path(spec.base).resolve().parent),)
    points, errors = [], []
    for index, (overrides, name) in enumerate(zip(combos, names)):
        source = f"sweep point {index + 1}/{len(combos)} ({name})"
        try:
            raw = apply_overrides(common, [f"{key}={_yaml_value(value)}" for key, value in overrides.items()])
            points.append(Point(index, name, overrides, raw, validate(raw, source, search=search), search))
        except ScenarioError as err:
            text = str(err)
            errors.append(text if text.startswith(source) else f"{source}: {text}")
    if not errors:
        try:
            _refuse_duplicates(points)
        except ScenarioError as err:
            errors.append(str(err))
    return points, errors


def point_name(overrides: dict[str, Any]) -> str:
    """Readable, deterministic directory name, e.g. ``links.snr_offset_db=-3__seed=1``.

    Characters outside ``[A-Za-z0-9._=+-]`` become ``_``; a name longer than
    ``MAX_NAME_CHARS`` is cut and ends in a hash of the full overrides.
    """
    if not overrides:
        return "base"
    text = "__".join(f"{key}={format_value(value)}" for key, value in overrides.items())
    name = _UNSAFE.sub("_", text).strip("._") or "point"
    if len(name) > MAX_NAME_CHARS:
        name = name[: MAX_NAME_CHARS - 9].rstrip("._") + "-" + _digest(overrides)
    return name


def format_value(value: Any) -> str:
    """A value as it reads in a name or a table: ``3``, ``-6``, ``0.5``, ``ring``, ``[1,2]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, (int, float, str)):
        return str(value)
    if value is None:
        return "null"
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def _base_mapping(spec: SweepSpec) -> dict:
    if isinstance(spec.base, dict):
        return spec.base
    path = Path(spec.base)
    try:
        return read_yaml(path)
    except ScenarioError as err:
        raise ScenarioError(f"{spec.source or 'sweep'}: base: {err}") from None


def _yaml_value(value: Any) -> str:
    # apply_overrides reads VALUE as YAML: dumping it keeps its type ('3' stays a string)
    return yaml.safe_dump(value, default_flow_style=True, width=math.inf).strip()


def _digest(overrides: dict[str, Any]) -> str:
    text = json.dumps(overrides, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def _unique_names(combos: list[dict[str, Any]]) -> list[str]:
    names = [point_name(c) for c in combos]
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    # two different overrides sanitised to one name (e.g. 'a b' and 'a_b'): tell them apart
    return [
        name if seen[name] == 1 or not c else f"{name[: MAX_NAME_CHARS - 9]}-{_digest(c)}"
        for name, c in zip(names, combos)
    ]


def _refuse_duplicates(points: list[Point]) -> None:
    first: dict[str, Point] = {}
    for point in points:
        key = json.dumps(point.scenario.model_dump(mode="json"), sort_keys=True)
        if key in first:
            other = first[key]
            raise ScenarioError(
                f"sweep points {other.index + 1} ({other.name}) and {point.index + 1} ({point.name}) "
                "are the same scenario; remove one"
            )
        first[key] = point
