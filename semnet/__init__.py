"""semnet: personalized federated semantic communication on an emulated network.

The Python API (see ``docs/api.md``)::

    import semnet

    scenario = semnet.load_scenario("scenarios/quickstart.yaml", overrides=["seed=1"])
    result = semnet.run(scenario, out_dir="runs/qs-seed1")      # .path, .summary
    runs = semnet.runs_frame("runs/")      # pandas: one row per run
    phases = semnet.phases_frame("runs/")  # one row per phase (and per control)
    links = semnet.links_frame("runs/")    # one row per image link

Components are registered by name in :mod:`semnet.registry` (``semnet.registry.methods``,
``.channels``, ``.topologies`` ...); a plugin module registers its own and a scenario
names it in ``plugins:``. Names load lazily, so ``import semnet`` stays light.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "load_scenario": "semnet.api",
    "scenario_from_dict": "semnet.api",
    "validate_scenario": "semnet.api",
    "run": "semnet.api",
    "resume": "semnet.api",
    "Scenario": "semnet.scenario.schema",
    "RunResult": "semnet.runner",
    "runs_frame": "semnet.analysis",
    "phases_frame": "semnet.analysis",
    "links_frame": "semnet.analysis",
    "registry": "semnet",
    "SemnetError": "semnet.errors",
    "ScenarioError": "semnet.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'semnet' has no attribute {name!r}")
    module = _EXPORTS[name]
    if module == "semnet":
        return importlib.import_module(f"semnet.{name}")
    return getattr(importlib.import_module(module), name)


def __dir__():
    return sorted(list(globals()) + __all__)
