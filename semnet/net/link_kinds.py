"""Which channel kind (fading model and CSI) each directed link has.

``links.fading`` and ``links.csi`` give every link its kind; an entry of
``links.overrides`` may give one user-to-user link its own ``fading`` and/or ``csi``
(the aggregator's links always keep the default). :func:`channel_kinds` turns the
``links`` section into the default kind and the links that differ from it, once: the
network builder gives each link's packets its fading model
(:class:`~semnet.net.link_params.LinkParams`), and the run builds the JSCC channel of each
image link from the same kinds (:class:`~semnet.channels.layer.link_channels.LinkChannels`).

Models are built once per name and options and shared by every link that names them
(a plugin's Monte-Carlo tables are built once). An override naming ``links.fading``'s
channel without options of its own shares its model, ``channel_options`` included;
another name is built from the override's own ``channel_options`` (none if it gives
none) and ``links.k_factor`` (for a constructor that takes one, as ``rician``'s does).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from semnet.channels import FadingModel, make_fading
from semnet.errors import ScenarioError
from semnet.registry import PluginError, UnknownNameError, channels

__all__ = ["ChannelKind", "channel_kinds"]


@dataclass(frozen=True)
class ChannelKind:
    """A link's channel kind: ``fading`` as the scenario names it, its built ``model``,
    and ``csi`` (the receiver knows ``h`` and equalises)."""

    fading: str
    model: FadingModel
    csi: bool


class _OverrideError(ScenarioError):
    """An override's channel that cannot be built; ``key`` is its key path."""

    def __init__(self, message: str, key: str):
        super().__init__(message)
        self.key = key


def channel_kinds(links) -> tuple[ChannelKind, dict[tuple[int, int], ChannelKind]]:
    """The default kind of a scenario's ``links`` section and the kind of every link whose
    overrides make it differ (keyed ``(src, dst)``; later entries for one link win field by
    field, as ``snr_db`` always did).

    Raises
    ------
    ScenarioError
        One line naming ``links.overrides[k].fading``: an unknown channel (listing the
        registered ones), or one that cannot be built without options.
    """
    default_model = make_fading(links)
    default = ChannelKind(links.fading, default_model, bool(links.csi))
    models = {(channels.canonical(links.fading), None): default_model}
    fading: dict[tuple[int, int], tuple[str, FadingModel]] = {}
    csi: dict[tuple[int, int], bool] = {}
    for k, override in enumerate(links.overrides):
        link = (override.src, override.dst)
        if override.fading is not None:
            fading[link] = (override.fading, _model(override, links, models, f"links.overrides[{k}]"))
        if override.csi is not None:
            csi[link] = bool(override.csi)
    kinds = {}
    for link in sorted(set(fading) | set(csi)):
        name, model = fading.get(link, (default.fading, default.model))
        kind = ChannelKind(name, model, csi.get(link, default.csi))
        if kind.model is not default.model or kind.csi != default.csi:  # an override that repeats the default is none
            kinds[link] = kind
    return default, kinds


def _model(override, links, models: dict, section: str) -> FadingModel:
    """The fading model of ``override`` (its ``fading`` and ``channel_options``), built
    once per name and options; ``section`` is the override's key path."""
    name, options = override.fading, override.channel_options
    key = f"{section}.fading"
    try:
        canonical = channels.canonical(name)
    except UnknownNameError:  # the registry's one line, under the override's key
        raise _OverrideError(f"{key} = {name!r}: unknown channel; {channels.allowed()}", key) from None
    except PluginError as err:  # registered, but not a fading model
        raise _OverrideError(f"{key} = {name!r}: {err}", key) from None
    cache_key = (canonical, None if options is None else repr(sorted(options.items())))
    model = models.get(cache_key)
    if model is None:
        spec = SimpleNamespace(fading=canonical, channel_options=dict(options or {}), k_factor=links.k_factor)
        try:
            model = make_fading(spec, section=section)
        except ScenarioError as err:
            hint = "" if options is not None else f" (give {section}.channel_options; links.channel_options are links.fading's)"
            raise _OverrideError(f"{err}{hint}", key) from None
        models[cache_key] = model
    return model
