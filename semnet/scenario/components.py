"""Names and options that refer to registered components, checked at the edge.

The schema knows only that ``method.name`` or ``links.fading`` is a string; whether
such a component exists depends on what is registered, built in or added by the
scenario's ``plugins``. This module imports the plugins, then checks every name
against its registry and every ``options`` section against the component that reads
it, so that a mistake still gets one line with its key path before anything runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from semnet import registry
from semnet.channels import make_fading
from semnet.data.partition import validate_options as validate_partition_options
from semnet.errors import SemnetError
from semnet.net.topology import validate_options as validate_topology_options
from semnet.errors import ScenarioError
from semnet.registry import PluginError, UnknownNameError


class ComponentError(ScenarioError):
    """A component name or option that is wrong; ``key`` is its dotted key path."""

    def __init__(self, message: str, key: str):
        super().__init__(message)
        self.key = key


def check_components(scenario: Any, source: str) -> None:
    """Import ``scenario.plugins``, then check its component names and options.

    Raises
    ------
    ScenarioError
        ``"<source>: <key path> = <value>: unknown ...; allowed: ..."`` and the like.
    """
    folder = Path(source).parent if Path(source).is_file() else Path.cwd()
    try:
        registry.load_plugins(scenario.plugins, search=(folder, Path.cwd()))
    except PluginError as err:
        raise ScenarioError(f"{source}: {err}") from None
    method = scenario.method
    names: list[tuple[str, registry.Registry, str | None]] = [
        ("method.name", registry.methods, method.name),
        ("method.federated.algorithm", registry.algorithms, method.federated.algorithm),
        ("model.name", registry.models, scenario.model.name),
        ("links.fading", registry.channels, scenario.links.fading),
        ("topology.kind", registry.topologies, scenario.topology.kind),
        ("data.partition.kind", registry.partitioners, scenario.data.partition.kind),
    ]
    names += [(f"method.controls[{i}]", registry.controls, name) for i, name in enumerate(method.controls)]
    names += _codec_names(method.codec)
    for key, reg, name in names:
        if name is None:
            continue
        try:
            reg.get(name)
        except UnknownNameError:
            raise ComponentError(f"{source}: {key} = {name!r}: unknown {reg.kind}; {reg.allowed()}", key) from None
    _check_codec_kinds(method.codec, source)
    _check_method_options(scenario, source)
    _check_model_options(scenario, source)
    _check_options("topology.options", validate_topology_options, scenario.topology.kind,
                   getattr(scenario.topology, "options", {}), source)
    _check_options("data.partition.options", validate_partition_options, scenario.data.partition.kind,
                   scenario.data.partition.options, source)
    try:
        make_fading(scenario.links)  # links.channel_options against the channel's constructor
    except ScenarioError as err:
        raise ComponentError(f"{source}: {err}", "links.channel_options") from None


def _codec_names(codec: Any) -> list[tuple[str, registry.Registry, str]]:
    """(key path, registry, name) of ``method.codec``: one name, or one per message kind."""
    if isinstance(codec, str):
        return [("method.codec", registry.codecs, codec)]
    return [(f"method.codec.{kind}", registry.codecs, name) for kind, name in codec.model_dump().items()]


# message kinds that carry a whole model, never a difference
_STATE_KINDS = ("global_model", "decoders")


def _check_codec_kinds(codec: Any, source: str) -> None:
    """A codec for differences only (top-k) named for a kind that carries whole models."""
    if isinstance(codec, str):
        return  # one name for every kind: whole models fall back to float32, as documented
    for kind in _STATE_KINDS:
        name = getattr(codec, kind)
        if getattr(registry.codecs.get(name), "differences_only", False):
            allowed = [n for n in registry.codecs.names() if not getattr(registry.codecs.get(n), "differences_only", False)]
            key = f"method.codec.{kind}"
            raise ComponentError(f"{source}: {key} = {name!r}: sparsifies differences only, and {kind} carries whole "
                                 f"models; allowed: {', '.join(allowed)}", key)


def _check_method_options(scenario: Any, source: str) -> None:
    cls = registry.methods.get(scenario.method.name)
    try:
        cls.validate_options(scenario.method.options)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        key = ".".join(["method.options", *(str(p) for p in first["loc"])])
        allowed = ", ".join(cls.Options.model_fields) if cls.Options else "(none)"
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = f"not an option of method '{scenario.method.name}'; allowed: {allowed}"
        raise ComponentError(f"{source}: {key} = {_short(first.get('input'))}: {message}", key) from None
    except ValueError as err:
        raise ComponentError(f"{source}: method.options: method '{scenario.method.name}' {err}", "method.options") from None


# set by semnet from other keys: an option may not set them a second time
_MODEL_ARGUMENTS_FROM_KEYS = {"latent_channels": "model.latent_channels or model.bandwidth_ratio",
                              "width": "model.width", "generator": "seed"}


def _check_model_options(scenario: Any, source: str) -> None:
    spec = scenario.model
    allowed, accepts_any = registry.accepted_arguments(registry.models.get(spec.name))
    free = [a for a in allowed if a not in _MODEL_ARGUMENTS_FROM_KEYS]
    for key in spec.options:
        if key in _MODEL_ARGUMENTS_FROM_KEYS:
            raise ComponentError(f"{source}: model.options.{key}: set by {_MODEL_ARGUMENTS_FROM_KEYS[key]}, not here",
                                 f"model.options.{key}")
        if key not in allowed and not accepts_any:
            raise ComponentError(
                f"{source}: model.options.{key}: not an argument of model '{spec.name}'; "
                f"allowed: {', '.join(free) or '(none)'}", f"model.options.{key}"
            )


def _check_options(key: str, validate, kind: str, options: dict, source: str) -> None:
    """A plugin topology's or partitioner's ``options`` against its ``Options`` model."""
    try:
        validate(kind, options)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        where = ".".join([key, *(str(p) for p in first["loc"])])
        message = first["msg"].removeprefix("Value error, ")
        raise ComponentError(f"{source}: {where} = {_short(first.get('input'))}: {message}", where) from None
    except SemnetError as err:
        text = str(err)
        raise ComponentError(f"{source}: {text if text.startswith(key) else key + ': ' + text}", key) from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
