"""The Python API: load and validate scenarios, run them, read their results.

Everything here is also reachable as ``semnet.<name>``::

    import semnet

    scenario = semnet.load_scenario("scenarios/quickstart.yaml", overrides=["seed=1"])
    result = semnet.run(scenario, out_dir="runs/qs-seed1")
    print(result.summary["psnr_db"], result.path)
    links = semnet.links_frame("runs/")          # one row per image link per run

A scenario can also be a plain mapping (``semnet.scenario_from_dict``), with the same
checks and the same one-line :class:`~semnet.errors.ScenarioError` as a file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from semnet.scenario import loader
from semnet.scenario.schema import Scenario


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Read the scenario file at ``path`` (``extends`` followed), apply ``KEY.PATH=VALUE``
    overrides as ``--set`` does, and validate it (plugins imported, names checked).

    Raises
    ------
    ScenarioError
        One line naming the file, the key path, the value and what is allowed.
    """
    return loader.load_scenario(path, tuple(overrides))


def scenario_from_dict(mapping: Mapping[str, Any], overrides: Sequence[str] = (), *,
                       source: str = "<dict>") -> Scenario:
    """Validate a scenario given as a mapping (the YAML's structure); ``overrides`` as in
    :func:`load_scenario`. ``source`` names it in error messages."""
    raw = loader.apply_overrides(dict(mapping), tuple(overrides))
    return loader._validate(raw, source, tuple(overrides))


def validate_scenario(scenario: str | Path | Mapping[str, Any] | Scenario, overrides: Sequence[str] = ()) -> Scenario:
    """A validated :class:`Scenario` from a file path, a mapping or a scenario (re-checked
    with ``overrides`` applied)."""
    if isinstance(scenario, Scenario):
        return scenario_from_dict(scenario.model_dump(mode="json"), overrides, source=f"<scenario {scenario.name}>")
    if isinstance(scenario, Mapping):
        return scenario_from_dict(scenario, overrides)
    return load_scenario(scenario, overrides)


def run(scenario: str | Path | Mapping[str, Any] | Scenario, *, out_dir: str | Path | None = None,
        overrides: Sequence[str] = (), progress: Callable[[dict], None] | None = None, overwrite: bool = False):
    """Run a scenario (file, mapping or :class:`Scenario`) and return its
    :class:`~semnet.runner.RunResult`: ``.path`` (the run directory) and ``.summary``
    (the contents of ``summary.json``). ``progress`` receives each progress record.

    ``out_dir`` must not hold a run unless ``overwrite``. A run that diverges raises
    :class:`~semnet.errors.RunDiverged` (``.where``: branch, phase, round, user); its
    directory keeps the records and says why in ``status.json``."""
    from semnet.runner import run_scenario  # torch loads here, not on `import semnet`

    scenario = validate_scenario(scenario, overrides)  # a Scenario too: its plugins load, its names are checked
    return run_scenario(scenario, out_dir=out_dir, progress=progress, overwrite=overwrite)


def resume(run_dir: str | Path, *, progress: Callable[[dict], None] | None = None):
    """Continue the interrupted or killed run in ``run_dir`` from its last checkpoint
    (``checkpoints/resume.pt``) and return its :class:`~semnet.runner.RunResult`; its
    files end equal to those of a run never stopped (wall times aside). Raises
    :class:`~semnet.errors.SemnetError` (one line) for a finished or failed run, a
    changed ``scenario.yaml`` or a checkpoint of another semnet version."""
    from semnet.resume_run import resume_run

    return resume_run(run_dir, progress=progress)
