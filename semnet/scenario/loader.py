"""Read a scenario file, apply ``--set`` overrides and validate it into a ``Scenario``.

Every user mistake becomes one ``ScenarioError`` line naming the file, the key path,
the bad value and what is allowed.
"""

from __future__ import annotations

import copy
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from semnet.errors import ScenarioError
from semnet.scenario.schema import Scenario


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``"a.b.c=VALUE"`` into (["a", "b", "c"], value); VALUE is read as YAML."""
    if "=" not in text:
        raise ScenarioError(f"--set {text!r}: expected KEY.PATH=VALUE, e.g. links.snr_db=10")
    key, raw = text.split("=", 1)
    parts = [p for p in key.strip().split(".")]
    if not key.strip() or any(not p for p in parts):
        raise ScenarioError(f"--set {text!r}: empty key path")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return parts, value


def apply_overrides(raw: dict, overrides: list[str] | tuple[str, ...]) -> dict:
    """Return a copy of ``raw`` with each ``KEY.PATH=VALUE`` override set."""
    data = copy.deepcopy(raw)
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for depth, part in enumerate(path[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                where = ".".join(path[: depth + 1])
                raise ScenarioError(f"--set {text!r}: '{where}' is a value, not a section")
            node = child
        node[path[-1]] = value
    return data


def read_yaml(path: str | Path) -> dict:
    """Load a YAML mapping with the safe loader; one-line errors for missing or bad files."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"{path}: scenario file does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ScenarioError(f"{path}:{where}: YAML syntax error: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: the top level must be a mapping of sections, got {type(data).__name__}")
    return data


def validate(raw: dict, source: str = "<scenario>") -> Scenario:
    """Validate a raw mapping into a frozen ``Scenario``."""
    try:
        return Scenario.model_validate(raw)
    except ValidationError as err:
        raise ScenarioError(f"{source}: {describe_error(err)}") from None


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Read, override and validate the scenario at ``path``."""
    raw = apply_overrides(read_yaml(path), overrides)
    return validate(raw, str(path))


def describe_error(err: ValidationError) -> str:
    """The first validation error as one line: key path, bad value, what is allowed."""
    first = err.errors(include_url=False)[0]
    loc = [str(p) for p in first["loc"] if not _is_union_tag(p)]
    key = ".".join(loc) or "(top level)"
    kind = first["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return f"unknown key '{key}'{hint}"
    message = first["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if kind == "missing":
        return f"{key}: required key is missing"
    value = first.get("input")
    if isinstance(value, dict) and not loc:
        return message
    shown = _short(value)
    if loc:
        return f"{key} = {shown}: {message}"
    return message


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_union_tag(part: Any) -> bool:
    # pydantic inserts the union member's type name (e.g. 'float', 'str') into loc
    return isinstance(part, str) and part in {"float", "str", "int", "tuple[float, float]", "function-after[_ratio(), union[str,float,none]]"}


def _allowed_keys(loc: list[str]) -> list[str]:
    """The field names of the section at ``loc`` (for 'unknown key' hints)."""
    model: type[BaseModel] | None = Scenario
    for part in loc:
        if model is None or part not in model.model_fields:
            return []
        model = _model_of(model.model_fields[part].annotation)
    return list(model.model_fields) if model else []


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None
