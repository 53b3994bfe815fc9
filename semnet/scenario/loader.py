"""Read a scenario file, apply ``--set`` overrides and validate it into a ``Scenario``.

Every user mistake becomes one ``ScenarioError`` line naming the file, the key path,
the bad value and what is allowed.
"""

from __future__ import annotations

import copy
import re
import difflib
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from semnet.errors import ScenarioError
from semnet.scenario.extends import read_yaml
from semnet.scenario.yaml_text import MAX_FILE_BYTES, YamlLimitError, clip, parse_yaml
from semnet.scenario.yaml_text import short_repr as _short
from semnet.scenario.topology import inherit as inherit_topology
from semnet.scenario.components import ComponentError, check_components
from semnet.scenario.schema import Scenario, SpecValueError
from semnet.scenario.topology import drop_legacy_keys, is_resolved_legacy


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``"a.b.c=VALUE"`` into (["a", "b", "c"], value); VALUE is read as YAML
    (within the limits of a scenario file; text that is not YAML stays a string)."""
    if "=" not in text:
        raise ScenarioError(f"--set {_short(text)}: expected KEY.PATH=VALUE, e.g. links.snr_db=10")
    key, raw = text.split("=", 1)
    parts = [p.strip() for p in key.strip().split(".")]
    if not key.strip() or any(not p for p in parts):
        raise ScenarioError(f"--set {_short(text)}: empty key path; expected KEY.PATH=VALUE, e.g. links.snr_db=10")
    if len(raw) > MAX_FILE_BYTES:
        raise YamlLimitError(f"--set {_short(text)}: a value of {len(raw):,} characters; at most "
                             f"{MAX_FILE_BYTES:,}")
    try:
        value = parse_yaml(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    except YamlLimitError as err:
        raise YamlLimitError(f"--set {_short(text)}: {err}") from None
    except (ValueError, RecursionError) as err:  # an integer of more than 4300 digits, ...
        raise ScenarioError(f"--set {_short(text)}: the value cannot be read: "
                            f"{clip(str(err).splitlines()[0] if str(err) else type(err).__name__)}") from None
    return parts, value


def apply_overrides(raw: dict, overrides: list[str] | tuple[str, ...]) -> dict:
    """Return a copy of ``raw`` with each ``KEY.PATH=VALUE`` override set.

    A missing section is created; an integer part indexes an existing list
    (``links.overrides.0.snr_db=3``).
    """
    data = copy.deepcopy(raw)
    set_in_topology: set = set()
    for text in overrides:
        path, value = parse_override(text)
        if path[0] == "topology":
            set_in_topology.update(path[1:2] or (value if isinstance(value, dict) else ()))
        node: Any = data
        for depth, part in enumerate(path):
            last = depth == len(path) - 1
            if isinstance(node, list):
                here = ".".join(path[:depth])
                if not part.isdigit() or int(part) >= len(node):
                    raise ScenarioError(
                        f"--set {_short(text)}: '{here}' is a list of {len(node)} items; "
                        f"index it with 0..{len(node) - 1}, e.g. {here}.0"
                    )
                part = int(part)
            if last:
                node[part] = value
                break
            child = node[part] if isinstance(node, list) else node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, (dict, list)):
                where = ".".join(path[: depth + 1])
                raise ScenarioError(f"--set {_short(text)}: '{where}' is a value, not a section")
            node = child
    if isinstance(data.get("topology"), dict):  # --set topology.kind=ring drops the old kind's keys
        data["topology"] = inherit_topology(raw.get("topology"), data["topology"], set_in_topology)
    return data


def validate(raw: dict, source: str = "<scenario>", *, search: tuple[str, ...] = ()) -> Scenario:
    """Validate a raw mapping into a frozen ``Scenario``; ``search``: folders where its
    ``plugins`` modules may lie besides ``sys.path`` (a file's own folder is added by
    :func:`load_scenario`)."""
    return _validate(raw, source, (), search)


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Read, override and validate the scenario at ``path``."""
    raw = read_yaml(path)
    if "base" in raw:  # not a scenario key: the file is most likely a sweep
        raise ScenarioError(
            f"{path}: a sweep file (top-level 'base'), not a scenario; run it with 'semnet sweep {path}'"
        )
    raw = apply_overrides(raw, overrides)
    return _validate(raw, str(path), tuple(overrides), (str(Path(path).resolve().parent),))


def _validate(raw: dict, source: str, overrides: tuple[str, ...], search: tuple[str, ...] = ()) -> Scenario:
    if isinstance(raw, dict) and is_resolved_legacy(raw.get("topology")):
        # a run directory's scenario.yaml from before topology kinds had their own keys
        raw = {**raw, "topology": drop_legacy_keys(raw["topology"])}
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as err:
        first = _first_error(err)
        origin = _override_origin(_error_path(first), overrides)
        line = f"{source}: {describe_error(err)}{origin}"
        raise ScenarioError(" ".join(line.splitlines())) from None
    try:
        check_components(scenario, source, search)  # registered names and options, after the plugins are imported
    except ComponentError as err:
        path = [int(p) if p.isdigit() else p for p in err.key.replace("]", "").replace("[", ".").split(".")]
        raise ScenarioError(f"{err}{_override_origin(path, overrides)}") from None
    return scenario


def describe_error(err: ValidationError) -> str:
    """The first validation error as one line: key path, bad value, what is allowed."""
    first = _first_error(err)
    path = _error_path(first)
    key = format_key(path) or "(top level)"
    kind = first["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(path[:-1], _tags(first["loc"]))
        close = _closest(str(path[-1]), allowed)
        guess = f" (did you mean '{close}'?)" if close else ""
        hint = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return f"unknown key '{key}'{guess}{hint}"
    if kind == "missing":
        return f"{key}: required key is missing"
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, SpecValueError):
        return f"{key} = {_short(cause.value)}: {cause}"
    message = first["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    value = first.get("input")
    if "[key]" in first["loc"] or kind == "invalid_key":
        return f"{key}: bad key {_short(value)}: {message}"
    if kind in ("tuple_type", "list_type"):
        message = "must be a list"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        allowed = _allowed_keys(path, _tags(first["loc"]))
        hint = f" with keys: {', '.join(allowed)}" if allowed else ""
        message = f"must be a section (a mapping of keys){hint}"
    return f"{key} = {_short(value)}: {message}"


def _closest(word: str, allowed: list[str]) -> str | None:
    """The allowed key a misspelt ``word`` most likely meant (a unit suffix left off counts first)."""
    for key in allowed:
        if key.startswith(word + "_") or word.startswith(key + "_"):
            return key
    close = difflib.get_close_matches(word, allowed, n=1, cutoff=0.7)
    return close[0] if close else None


def _first_error(err: ValidationError) -> dict:
    # a misspelt key also makes the key it was meant to be 'missing': report the cause
    errors = err.errors(include_url=False)
    return next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])


def format_key(path: list[str | int]) -> str:
    """``['links', 'overrides', 0, 'dst']`` -> ``'links.overrides[0].dst'``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _error_path(error: dict) -> list[str | int]:
    """The key path of a pydantic error, union-member tags dropped and a cross-key
    check's own key (``SpecValueError.key``) appended."""
    loc = list(error["loc"])
    if "[key]" in loc:  # a bad mapping key: point at the mapping, the key is shown as the value
        loc = loc[: loc.index("[key]") - 1]
    elif error["type"] == "invalid_key":
        loc = loc[:-1]
    path: list[str | int] = [p for p in loc if not _is_union_tag(p)]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, SpecValueError):
        for part in cause.key.replace("]", "").replace("[", ".").split("."):
            path.append(int(part) if part.isdigit() else part)
    return path


def _override_origin(path: list[str | int], overrides: tuple[str, ...]) -> str:
    """' (from --set TEXT)' when the failing key was set, or is inside a value set, on the command line."""
    if not path:
        return ""
    parts = [str(p) for p in path]
    for text in reversed(overrides):
        keys = [k.strip() for k in text.split("=", 1)[0].strip().split(".")]
        if parts[: len(keys)] == keys or keys[: len(parts)] == parts:
            return f" (from --set {clip(text, 80) if text.isprintable() else _short(text)})"
    return ""


def _is_union_tag(part: Any) -> bool:
    # pydantic inserts the union member's schema name (e.g. 'float', 'str') into loc, and
    # a tagged union's tag ('kind=ring': the topology kinds' classes) likewise
    return isinstance(part, str) and (
        part in {"float", "str", "int", "bool"}
        or part.startswith(("tuple[", "list[", "dict[", "function-"))
        or re.match(r"[a-z_][a-z0-9_]*=", part) is not None
    )


def _tags(loc: tuple) -> set[str]:
    """The tagged-union tags in a pydantic location ('kind=grid' -> 'grid')."""
    return {p.split("=", 1)[1] for p in loc if isinstance(p, str) and re.match(r"kind=", p)}


def _allowed_keys(path: list[str | int], tags: set[str] = frozenset()) -> list[str]:
    """The field names of the section at ``path`` (for 'unknown key' hints); in a tagged
    union (the topology kinds) the member the error's tag names."""
    model: type[BaseModel] | None = Scenario
    for part in path:
        if isinstance(part, int):  # an item of a list of sections: same model
            continue
        if model is None or part not in model.model_fields:
            return []
        model = _model_of(model.model_fields[part].annotation, tags)
    return list(model.model_fields) if model else []


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _model_of(annotation: Any, tags: set[str] = frozenset()) -> type[BaseModel] | None:
    models = _models_in(annotation)
    for model in models:  # the union member whose literal kind the error's tag names
        kind = model.model_fields.get("kind")
        literal = typing.get_args(kind.annotation) if kind is not None else ()
        if (literal and literal[0] in tags) or ("custom" in tags and kind is not None and kind.annotation is str):
            return model
    return models[0] if models else None


def resolved_yaml(scenario: Scenario) -> str:
    """The run directory's ``scenario.yaml``: every key, defaults written out."""
    return yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False)
