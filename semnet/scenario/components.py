"""Names and options that refer to registered components, checked at the edge.

The schema knows only that ``method.name`` or ``links.fading`` is a string; whether
such a component exists depends on what is registered, built in or added by the
scenario's ``plugins``. This module imports the plugins, then checks every name
against its registry (which also checks that a plugin registered the right kind of
object) and every ``options`` section against the component that reads it, so that a
mistake gets one line with its key path before anything runs. The component modules
are imported only here, when a scenario is checked, not when the loader is imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from semnet import registry
from semnet.errors import ScenarioError, SemnetError
from semnet.registry import PluginError, UnknownNameError


class ComponentError(ScenarioError):
    """A component name or option that is wrong; ``key`` is its dotted key path."""

    def __init__(self, message: str, key: str):
        super().__init__(message)
        self.key = key


def check_components(scenario: Any, source: str, search: tuple[str, ...] = ()) -> None:
    """Import ``scenario.plugins`` (looked for on ``sys.path``, then in ``search`` and the
    working directory), then check its component names and options.

    Raises
    ------
    ComponentError
        ``"<source>: <key path> = <value>: unknown ...; allowed: ..."`` and the like.
    """
    try:
        registry.load_plugins(scenario.plugins, search=(*search, str(Path.cwd())))
    except PluginError as err:
        raise ComponentError(f"{source}: {err}", "plugins") from None
    method = scenario.method
    names: list[tuple[str, registry.Registry, str | None]] = [
        ("method.name", registry.methods, method.name),
        ("method.federated.algorithm", registry.algorithms, method.federated.algorithm),
        ("model.name", registry.models, scenario.model.name),
        ("links.fading", registry.channels, scenario.links.fading),
        ("topology.kind", registry.topologies, scenario.topology.kind),
        ("data.partition.kind", registry.partitioners, scenario.data.partition.kind),
        ("topology.mobility.model", registry.mobilities, scenario.topology.mobility.model),
        ("links.path_loss.model", registry.path_losses, scenario.links.path_loss.model),
        ("links.channel.time_correlation", registry.time_correlations, scenario.links.channel.time_correlation),
        ("links.medium", registry.media, scenario.links.medium),
        ("links.scheduler", registry.schedulers, scenario.links.scheduler),
        ("simulation.trainer", registry.trainers, scenario.simulation.trainer),
        ("method.federated.aggregation.rule", registry.aggregators, method.federated.aggregation.rule),
        ("method.finetune.decoder_aggregation.rule", registry.aggregators, method.finetune.decoder_aggregation.rule),
        ("method.finetune.decoder_server.algorithm", registry.algorithms, method.finetune.decoder_server.algorithm),
    ]
    names += [(f"method.controls[{i}]", registry.controls, name) for i, name in enumerate(method.controls)]
    names.append(("method.snr_control.model", registry.models, method.snr_control.model))
    names += [(f"links.overrides[{i}].fading", registry.channels, o.fading) for i, o in enumerate(scenario.links.overrides)]
    names += _codec_names(method.codec)
    digital = scenario.evaluation.digital
    if digital is not None:
        names += [(f"evaluation.digital.codecs[{i}]", registry.image_codecs, n) for i, n in enumerate(digital.codecs)]
    traffic_digital = scenario.traffic.digital if scenario.traffic is not None else None
    if traffic_digital is not None:
        names.append(("traffic.digital.codec", registry.image_codecs, traffic_digital.codec))
    for key, reg, name in names:
        if name is None:
            continue
        try:
            reg.get(name)
        except UnknownNameError:
            raise ComponentError(f"{source}: {key} = {name!r}: unknown {reg.kind}; {reg.allowed()}", key) from None
        except PluginError as err:  # registered, but not the kind of object this registry holds
            raise ComponentError(f"{source}: {key} = {name!r}: {err}", key) from None
    _check_codec_kinds(method.codec, source)
    _check_digital(scenario, source)
    _check_traffic_digital(scenario, source)
    _check_method(scenario, source)
    _check_model_options(scenario, source)
    _check_plugin_options(scenario, source)


def _check_digital(scenario: Any, source: str) -> None:
    """``evaluation.digital`` needs test images (a method that learns) and codecs this Pillow has."""
    digital = scenario.evaluation.digital
    if scenario.evaluation.task != "none" and not getattr(registry.methods.get(scenario.method.name), "learns", True):
        raise ComponentError(f"{source}: evaluation.task: method {scenario.method.name!r} decodes no images; "
                             "allowed: a method that learns (or evaluation.task: none)", "evaluation.task")
    if digital is None:
        return
    if not getattr(registry.methods.get(scenario.method.name), "learns", True):
        raise ComponentError(f"{source}: evaluation.digital: method {scenario.method.name!r} loads no images to "
                             "send; allowed: a method that learns (or evaluation.digital: null)", "evaluation.digital")
    for i, name in enumerate(digital.codecs):
        _check_codec_available(name, f"evaluation.digital.codecs[{i}]", source)


def _check_traffic_digital(scenario: Any, source: str) -> None:
    """``traffic.digital`` sends test images (a method that learns) with a codec this Pillow has."""
    digital = scenario.traffic.digital if scenario.traffic is not None else None
    if digital is None:
        return
    if not getattr(registry.methods.get(scenario.method.name), "learns", True):
        raise ComponentError(f"{source}: traffic.digital: method {scenario.method.name!r} loads no images to send; "
                             "allowed: a method that learns (or traffic.digital: null)", "traffic.digital")
    _check_codec_available(digital.codec, "traffic.digital.codec", source)


def _check_codec_available(name: str, key: str, source: str) -> None:
    if not registry.image_codecs.get(name).available():
        raise ComponentError(f"{source}: {key} = {name!r}: this Pillow cannot write it (JPEG 2000 needs Pillow "
                             "built with OpenJPEG); allowed: " + ", ".join(
                                 n for n in registry.image_codecs.names() if registry.image_codecs.get(n).available()),
                             key)


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


def _check_method(scenario: Any, source: str) -> None:
    spec = scenario.method
    cls = registry.methods.get(spec.name)
    fixed = getattr(cls, "fixed_algorithm", None)
    if fixed is not None and spec.federated.algorithm not in (None, fixed):
        raise ComponentError(
            f"{source}: method.federated.algorithm = {spec.federated.algorithm!r}: contradicts method name "
            f"'{spec.name}'; leave it out or make them equal", "method.federated.algorithm")
    if spec.controls and not getattr(cls, "runs_controls", False):
        runners = [n for n in registry.methods.names() if getattr(registry.methods.get(n), "runs_controls", False)]
        raise ComponentError(
            f"{source}: method.controls = {list(spec.controls)!r}: method '{spec.name}' runs no controls; "
            f"methods that do: {', '.join(runners)}", "method.controls")
    per_link = [n for n in spec.controls if getattr(registry.controls.get(n), "pairs_per_link", False)]
    if per_link and scenario.traffic is not None:
        live = [n for n in registry.controls.names() if not getattr(registry.controls.get(n), "pairs_per_link", False)]
        raise ComponentError(
            f"{source}: method.controls = {list(spec.controls)!r}: under {', '.join(per_link)} each link uses a pair "
            f"of its own, which live images (traffic) cannot be sent with; with traffic, allowed: {', '.join(live)}",
            "method.controls")
    _check_options_model(cls, spec.options, "method.options", f"method '{spec.name}'", source)
    algorithm = spec.federated.algorithm or getattr(cls, "default_algorithm", "fedavg")
    _check_options_model(registry.algorithms.get(algorithm), spec.federated.options, "method.federated.options",
                         f"algorithm '{algorithm}'", source)
    _check_aggregation(scenario, algorithm, source)


def _check_aggregation(scenario: Any, algorithm: str, source: str) -> None:
    """Aggregation rules and their options, FineFed's decoder server, and faults that an
    algorithm would not see."""
    spec = scenario.method
    for where, section in (("method.federated.aggregation", spec.federated.aggregation),
                           ("method.finetune.decoder_aggregation", spec.finetune.decoder_aggregation)):
        _check_options_model(registry.aggregators.get(section.rule), section.options, f"{where}.options",
                             f"rule '{section.rule}'", source)
    cls = registry.algorithms.get(algorithm)
    rule = spec.federated.aggregation.rule
    global_faults = scenario.faults is not None and "global" in scenario.faults.steps
    if not getattr(cls, "takes_rules", True) and (rule != "mean" or global_faults):
        key = "method.federated.aggregation.rule" if rule != "mean" else "faults.steps"
        takers = [n for n in registry.algorithms.names() if getattr(registry.algorithms.get(n), "takes_rules", True)]
        raise ComponentError(f"{source}: {key}: algorithm '{algorithm}' averages its updates itself, so no rule "
                             f"or fault reaches them; algorithms that take them: {', '.join(takers)}", key)
    participants = max(1, round(spec.federated.client_fraction * scenario.topology.num_users))
    why = registry.aggregators.get(rule)(spec.federated.aggregation.options).check_clients(participants)
    if why:
        key = "method.federated.aggregation.options"
        raise ComponentError(f"{source}: {key}: {participants} clients per round: rule '{rule}' {why}", key)
    server = spec.finetune.decoder_server
    server_cls = registry.algorithms.get(server.algorithm)
    if not getattr(server_cls, "server_only", False):
        key = "method.finetune.decoder_server.algorithm"
        allowed = [n for n in registry.algorithms.names() if getattr(registry.algorithms.get(n), "server_only", False)]
        raise ComponentError(f"{source}: {key} = {server.algorithm!r}: its clients train differently, not just its "
                             f"server; allowed: {', '.join(allowed)}", key)
    _check_options_model(server_cls, server.options, "method.finetune.decoder_server.options",
                         f"algorithm '{server.algorithm}'", source)


def _check_options_model(cls: Any, options: dict, where: str, what: str, source: str) -> None:
    """``options`` (at key ``where``) against ``cls``'s ``Options`` model (a method's or a
    federated algorithm's): one line naming the key and what is allowed."""
    options_model = getattr(cls, "Options", None)
    if options_model is not None and not (isinstance(options_model, type) and issubclass(options_model, BaseModel)):
        raise ComponentError(f"{source}: {where}: {what}: its Options ({options_model!r}) is not a "
                             "pydantic model; see docs/plugins.md", where)
    try:
        cls.validate_options(options)
    except ValidationError as err:
        key, line = _first_error(where, err)
        if err.errors(include_url=False)[0]["type"] == "extra_forbidden":
            allowed = ", ".join(options_model.model_fields) if options_model else "(none)"
            line = f"{key}: not an option of {what}; allowed: {allowed}"
        raise ComponentError(f"{source}: {line}", key) from None
    except ValueError as err:
        raise ComponentError(f"{source}: {where}: {what} {err}", where) from None


# set by semnet from other keys: an option may not set them a second time
_MODEL_ARGUMENTS_FROM_KEYS = {"latent_channels": "model.latent_channels or model.bandwidth_ratio",
                              "width": "model.width", "generator": "seed"}


def _check_model_options(scenario: Any, source: str) -> None:
    spec = scenario.model
    signature = registry.signature_of(registry.models.get(spec.name))
    free = [a for a in signature.accepted if a not in _MODEL_ARGUMENTS_FROM_KEYS]
    for key in spec.options:
        where = f"model.options.{key}"
        if key in _MODEL_ARGUMENTS_FROM_KEYS:
            raise ComponentError(f"{source}: {where}: set by {_MODEL_ARGUMENTS_FROM_KEYS[key]}, not here", where)
        if key not in signature.accepted and not signature.var_keyword:
            raise ComponentError(f"{source}: {where}: not an argument of model '{spec.name}'; "
                                 f"allowed: {', '.join(free) or '(none)'}", where)
    missing = [a for a in signature.required if a not in spec.options and a not in _MODEL_ARGUMENTS_FROM_KEYS]
    if missing:
        raise ComponentError(f"{source}: model.options: model '{spec.name}' needs {', '.join(missing)}",
                             "model.options")


def _check_plugin_options(scenario: Any, source: str) -> None:
    """Options of the channel, the topology and the partitioner, against their readers."""
    from semnet.channels import make_fading  # component modules load here, not with the loader
    from semnet.data.partition import validate_options as partition_options
    from semnet.net.topology import validate_options as topology_options

    from semnet.net.link_kinds import channel_kinds

    try:
        make_fading(scenario.links)  # links.channel_options against the channel's constructor
    except ScenarioError as err:
        raise ComponentError(f"{source}: {err}", "links.channel_options") from None
    try:
        channel_kinds(scenario.links)  # an override's channel built as the network will build it
    except ScenarioError as err:
        raise ComponentError(f"{source}: {err}", getattr(err, "key", "links.overrides")) from None
    _check_options("topology.options", topology_options, scenario.topology.kind,
                   getattr(scenario.topology, "options", {}), source)
    _check_options("data.partition.options", partition_options, scenario.data.partition.kind,
                   scenario.data.partition.options, source)


def _check_options(key: str, validate, kind: str, options: dict, source: str) -> None:
    """A plugin topology's or partitioner's ``options`` against its ``Options`` model."""
    try:
        validate(kind, options)
    except ValidationError as err:
        where, line = _first_error(key, err)
        raise ComponentError(f"{source}: {line}", where) from None
    except SemnetError as err:
        text = str(err)
        raise ComponentError(f"{source}: {text if text.startswith(key) else key + ': ' + text}", key) from None


def _first_error(prefix: str, err: ValidationError) -> tuple[str, str]:
    """(key path, one line) of a pydantic error in the section at ``prefix``."""
    first = err.errors(include_url=False)[0]
    key = ".".join([prefix, *(str(p) for p in first["loc"])])
    message = first["msg"].removeprefix("Value error, ")
    return key, f"{key} = {_short(first.get('input'))}: {message}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
