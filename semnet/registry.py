"""Registries of named components: methods, controls, federated algorithms, channels,
topologies, partitioners, models, model-message codecs, the network's physical
parts (path loss, shadowing, mobility, time correlation, media, cell schedulers), and
the image codecs of the digital baseline.

A component registers itself with a decorator::

    from semnet.registry import methods

    @methods.register("my_method", "one line for `semnet list methods`")
    class MyMethod(Method): ...

Each registry knows which semnet modules hold its built-in entries and imports them
the first time it is asked for a name, so this module (and the scenario loader that
checks names through it) imports nothing heavy. User code registers components
without editing semnet in two ways: a scenario's ``plugins: [my_package.module]``
list (see :func:`load_plugins`) and the ``semnet.plugins`` entry-point group, whose
entries are modules imported (or callables called) once, on first lookup.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import logging
import sys
from pathlib import Path
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from semnet.errors import SemnetError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "semnet.plugins"

T = TypeVar("T")


class UnknownNameError(SemnetError):
    """A name that no registry entry has; the message lists the valid ones."""


class PluginError(SemnetError):
    """A plugin module that cannot be imported, or an entry point that fails to load."""


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    obj: T
    description: str
    module: str


class Registry(Generic[T]):
    """Named components of one kind.

    Parameters
    ----------
    kind : str
        What the entries are, in the singular ("method", "channel"): used in messages.
    builtins : iterable of str
        Modules whose import registers the built-in entries.
    aliases : dict, optional
        Other names accepted for an entry (``{"awgn": "none"}``); not listed.
    base : str, optional
        ``"module.Class"`` every entry must subclass; checked on lookup (imported then,
        not here), so a plugin that registers the wrong kind of object gets one line.
    """

    def __init__(self, kind: str, builtins: Iterable[str] = (), aliases: dict[str, str] | None = None,
                 base: str | None = None):
        self.kind = kind
        self._builtins = tuple(builtins)
        self._aliases = dict(aliases or {})
        self._base = base
        self._entries: dict[str, Entry[T]] = {}
        self._loaded = False
        self._checked: set[str] = set()

    def register(self, name: str, description: str = "") -> Callable[[T], T]:
        """Decorator registering ``obj`` under ``name`` (a second registration of the
        same name is an error, unless it is the same object re-imported)."""

        def decorator(obj: T) -> T:
            self.add(name, obj, description)
            return obj

        return decorator

    def add(self, name: str, obj: T, description: str = "") -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.kind} names are non-empty strings, got {name!r}")
        # a class or function names its module; another object (an instance) is the caller's
        module = (getattr(obj, "__module__", "") if hasattr(obj, "__qualname__") else "") or _caller_module()
        existing = self._entries.get(name)
        if existing is not None and existing.obj is not obj:
            same = getattr(existing.obj, "__qualname__", None) == getattr(obj, "__qualname__", None)
            if not (same and existing.module == module):  # a module reloaded re-registers itself
                raise ValueError(f"{self.kind} {name!r} is already registered by {existing.module}")
        if not description:
            doc = (getattr(obj, "__doc__", None) or "").strip()
            description = doc.splitlines()[0] if doc else ""
        self._entries[name] = Entry(name, obj, description, module)

    def remove(self, name: str) -> None:
        """Forget ``name`` (tests and notebooks that re-register a component)."""
        self._entries.pop(name, None)
        self._checked.discard(name)

    # ------------------------------------------------------------------ lookups

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        for module in self._builtins:
            importlib.import_module(module)
        load_entry_points()
        self._loaded = True  # only once everything imported: a failure is reported again next time

    def get(self, name: str) -> T:
        """The entry called ``name`` (or one of its aliases).

        Raises
        ------
        UnknownNameError
            If no entry has that name; the message lists the valid names.
        """
        self._ensure_loaded()
        key = self._aliases.get(name, name) if isinstance(name, str) else name
        if key not in self._entries:
            raise UnknownNameError(f"unknown {self.kind} {name!r}; {self.allowed()}")
        entry = self._entries[key]
        if self._base is not None and key not in self._checked:
            module, _, cls_name = self._base.rpartition(".")
            base = getattr(importlib.import_module(module), cls_name)
            if not (isinstance(entry.obj, type) and issubclass(entry.obj, base)):
                what = repr(entry.obj)
                what = what if len(what) <= 60 else what[:57] + "..."
                raise PluginError(f"the {self.kind} registered as {key!r} by {entry.module or 'an unknown module'} is "
                                  f"{what}, not a subclass of {self._base}")
            self._checked.add(key)
        return entry.obj

    def __contains__(self, name: object) -> bool:
        self._ensure_loaded()
        return isinstance(name, str) and self._aliases.get(name, name) in self._entries

    def canonical(self, name: str) -> str:
        """``name`` with aliases resolved (``awgn`` -> ``none``)."""
        self.get(name)
        return self._aliases.get(name, name)

    def names(self) -> list[str]:
        """Registered names: built-ins first, in the order of their modules in
        ``builtins`` and of registration within a module (whatever imported them first),
        then plugins in registration order."""
        self._ensure_loaded()
        def rank(module: str) -> int:  # a built-in package's modules rank with it
            return next((k for k, b in enumerate(self._builtins) if module == b or module.startswith(b + ".")),
                        len(self._builtins))

        ranked = sorted(enumerate(self._entries.values()), key=lambda item: (rank(item[1].module), item[0]))
        return [entry.name for _, entry in ranked]

    def describe(self) -> dict[str, str]:
        """Name -> one-line description, for ``semnet list`` (in :meth:`names` order)."""
        return {name: self._entries[name].description for name in self.names()}

    def entry(self, name: str) -> Entry[T]:
        self.get(name)
        return self._entries[self._aliases.get(name, name)]

    def allowed(self) -> str:
        """``"allowed: a, b, c"``: the tail of every unknown-name message."""
        return f"allowed: {', '.join(self.names()) or '(none registered)'}"

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._entries)} entries)"


@dataclass(frozen=True)
class Signature:
    """What a component's constructor takes: how YAML ``options`` are checked against it."""

    accepted: tuple[str, ...]  # keyword arguments it accepts
    required: tuple[str, ...]  # ... of which these have no default
    var_keyword: bool  # it also takes **kwargs


def validated_options(component: type, options: dict):
    """``options`` (a scenario's ``options`` mapping) as ``component``'s ``Options``
    pydantic model (pydantic raises on bad keys or values); None for a component without
    one, which takes no options (ValueError if some are given)."""
    model = getattr(component, "Options", None)
    if model is None:
        if options:
            raise ValueError(f"takes no options; got {', '.join(sorted(options))}")
        return None
    return model.model_validate(options)


def signature_of(cls: type) -> Signature:
    """The keyword arguments ``cls(...)`` takes (a class without its own ``__init__``
    takes none, whatever ``object.__init__`` says)."""
    init = cls.__init__
    if init is object.__init__:
        return Signature((), (), False)
    params = inspect.signature(init).parameters
    accepted, required = [], []
    for name, p in params.items():
        if name == "self" or p.kind not in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
            continue
        accepted.append(name)
        if p.default is p.empty:
            required.append(name)
    var_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return Signature(tuple(accepted), tuple(required), var_keyword)


# --------------------------------------------------------------------------- plugins

_entry_points_loaded = False


def load_entry_points() -> None:
    """Import every module (or call every function) in the ``semnet.plugins``
    entry-point group, once per process."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = point.load()
        except Exception as err:  # a broken installed plugin must say which one
            raise PluginError(f"entry point {point.name!r} ({point.value}) of group "
                              f"{ENTRY_POINT_GROUP!r} failed to load: {type(err).__name__}: {err}") from err
        if callable(loaded) and not isinstance(loaded, type):
            try:
                loaded()
            except Exception as err:
                raise PluginError(f"entry point {point.name!r} ({point.value}) of group {ENTRY_POINT_GROUP!r} "
                                  f"failed when called: {type(err).__name__}: {err}") from err
        log.debug("loaded semnet plugin %s", point.value)


def reset_entry_points() -> None:
    """Forget that entry points were loaded (tests that install a plugin on the fly)."""
    global _entry_points_loaded
    _entry_points_loaded = False
    for registry in ALL.values():
        registry._loaded = False


def load_plugins(modules: Iterable[str], key: str = "plugins", search: Iterable[str | Path] = ()) -> None:
    """Import the user's plugin modules (a scenario's ``plugins:`` list), so that they
    register their components before names are checked.

    A module is looked for on ``sys.path`` and then in the folders ``search`` (the
    scenario file's folder and the working directory, when the loader calls this), so
    a plugin file next to its scenario works without installing anything.

    Raises
    ------
    PluginError
        One line naming the list index, the module and why it failed to import.
    """
    search = tuple(dict.fromkeys(str(Path(p).resolve()) for p in search))  # in order, once each
    for index, module in enumerate(modules):
        try:
            _import_with(module, search)
        except ModuleNotFoundError as err:
            where = ", ".join(search)
            raise PluginError(
                f"{key}[{index}] = {module!r}: no such module ({err}); a plugin is an importable Python module: "
                f"installed, on PYTHONPATH{' or in ' + where if where else ''}"
            ) from None
        except Exception as err:
            raise PluginError(f"{key}[{index}] = {module!r}: importing it failed: {type(err).__name__}: {err}") from err


def _import_with(module: str, search: Iterable[str | Path]) -> None:
    if module in sys.modules:
        return
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if found:
        importlib.import_module(module)
        return
    # appended, not prepended, so a file in the scenario's folder never shadows an
    # installed package; kept, because a plugin may import its siblings later
    sys.path.extend(p for p in search if p not in sys.path)
    importlib.invalidate_caches()
    importlib.import_module(module)


# --------------------------------------------------------------------------- the registries

methods: Registry = Registry("method", builtins=("semnet.fl.methods.registered",), base="semnet.fl.loop.strategy.Method")
"""Top-level methods (``method.name``): classes of :class:`semnet.fl.loop.strategy.Method`."""

controls: Registry = Registry("control", builtins=("semnet.fl.methods.controls", "semnet.fl.methods.pfl_controls"), base="semnet.fl.methods.controls.Control")
"""Fair-comparison controls (``method.controls``), run on branches from a method's start."""

algorithms: Registry = Registry("federated algorithm", builtins=(
    "semnet.fl.algorithms.federated", "semnet.fl.algorithms.scaffold", "semnet.fl.algorithms.fedavgm",
    "semnet.fl.algorithms.feddyn", "semnet.fl.algorithms.adaptive"),
                                base="semnet.fl.algorithms.federated.FederatedStrategy")
"""Round strategies that train a global model (``method.federated.algorithm``)."""

aggregators: Registry = Registry("aggregation rule", builtins=("semnet.fl.algorithms.rules",),
                                base="semnet.fl.algorithms.rules.AggregationRule")
"""How a server combines client updates into one (``method.federated.aggregation.rule``,
``method.finetune.decoder_aggregation.rule``): mean, median, trimmed_mean, krum."""

channels: Registry = Registry("channel", builtins=("semnet.channels",), aliases={"awgn": "none"},
                              base="semnet.channels.laws.base.FadingModel")
"""Fading models (``links.fading``), shared by the network layer and the JSCC channel."""

topologies: Registry = Registry("topology", builtins=("semnet.net.topology",))
"""Graph builders (``topology.kind``)."""

partitioners: Registry = Registry("partitioner", builtins=("semnet.data.partition",))
"""Ways to split images among users (``data.partition.kind``)."""

models: Registry = Registry("model", builtins=("semnet.models",), base="semnet.models.base.JSCCModel")
"""JSCC model families (``model.name``)."""

codecs: Registry = Registry("codec", builtins=("semnet.codecs",))
"""Model-message codecs (``method.codec``): classes of :class:`semnet.codecs.Codec`."""

path_losses: Registry = Registry("path loss model", builtins=("semnet.net.pathloss", "semnet.net.umi"),
                                 base="semnet.net.pathloss.PathLoss")
"""Path-loss laws (``links.path_loss.model``): classes of :class:`semnet.net.pathloss.PathLoss`."""

shadowings: Registry = Registry("shadowing model", builtins=("semnet.net.shadowing",),
                                base="semnet.net.shadowing.Shadowing")
"""Shadowing processes (a path-loss model's ``shadowing``): classes of :class:`semnet.net.shadowing.Shadowing`."""

mobilities: Registry = Registry("mobility model", builtins=("semnet.net.mobility",),
                                base="semnet.net.mobility.Mobility")
"""User mobility (``topology.mobility.model``): classes of :class:`semnet.net.mobility.Mobility`."""

time_correlations: Registry = Registry("time correlation", builtins=("semnet.channels.processes.timevarying",),
                                       base="semnet.channels.processes.timevarying.TimeCorrelation")
"""How a link's fading evolves over time (``links.channel.time_correlation``)."""

media: Registry = Registry("medium", builtins=("semnet.sim.medium", "semnet.sim.radio", "semnet.sim.cell"),
                           base="semnet.sim.medium.Medium")
"""Who shares airtime (``links.medium``): classes of :class:`semnet.sim.medium.Medium`."""

schedulers: Registry = Registry("scheduler", builtins=("semnet.sim.band",), base="semnet.sim.band.SharedBand")
"""How a cell's band is shared (``links.scheduler``): classes of :class:`semnet.sim.band.SharedBand`."""

trainers: Registry = Registry("trainer", builtins=("semnet.fl.execution.trainer", "semnet.fl.execution.batched"),
                              base="semnet.fl.execution.trainer.Trainer")
"""Where a round's jobs train (``simulation.trainer``): classes of :class:`semnet.fl.execution.trainer.Trainer`;
``sequential`` is the one ``simulation.workers`` spreads over worker processes or Ray actors."""

image_codecs: Registry = Registry("image codec", builtins=("semnet.digital.image_codecs",),
                                  base="semnet.digital.image_codecs.ImageCodec")
"""Real image codecs of the digital baseline (``evaluation.digital.codecs``): classes of
:class:`semnet.digital.image_codecs.ImageCodec`."""

ALL: dict[str, Registry] = {
    "methods": methods,
    "controls": controls,
    "algorithms": algorithms,
    "aggregators": aggregators,
    "channels": channels,
    "topologies": topologies,
    "partitioners": partitioners,
    "models": models,
    "codecs": codecs,
    "path_losses": path_losses,
    "shadowings": shadowings,
    "mobilities": mobilities,
    "time_correlations": time_correlations,
    "media": media,
    "schedulers": schedulers,
    "trainers": trainers,
    "image_codecs": image_codecs,
}
"""Every registry by its plural name (``semnet list NAME``)."""


def _caller_module() -> str:
    """The module that called into this one (who registers an object that names no
    module of its own, e.g. an instance)."""
    import sys

    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    return frame.f_globals.get("__name__", "") if frame is not None else ""
