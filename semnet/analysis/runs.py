"""Load finished run directories and turn each into comparable result rows.

A run directory is complete exactly when it holds ``summary.json`` (written last by
the runner); ``scenario.yaml`` (the resolved scenario) and ``metrics.jsonl`` (the
evaluation points, or ``metrics.jsonl.gz`` once compressed for keeping) sit beside
it. This module reads those files only; it never imports the simulator.

One run yields one or more *variants*, each a row of the methods table:

- every method: a variant labelled with the method name (``fedavg``, ``finefed``,
  ...; ``finefed@fedprox`` when the global model came from FedProx or SCAFFOLD)
  holding the run's final quality and its total cost;
- FineFed and its ablations (methods named ``finefed*``) also yield
  ``<method>/start``, the federated start (the first phase), and one
  ``<method>/<control>`` per fair-comparison control (``finefed/compute_matched``,
  ``finefed/bytes_matched``, ``finefed/local_finetune``, ``finefed/fedper``, ...).

Costs are always counted from the beginning of the run, so rows compare directly:
a control costs the federated start plus the control's own branch (its bytes,
simulated seconds, local steps and wall seconds), exactly the budget FineFed spent
on top of the same start. Wall time is the sum of the phases' wall seconds
(training and evaluation), leaving out set-up and, for FineFed, its controls.

Examples
--------
>>> runs = load_runs(["runs/"])                               # doctest: +SKIP
>>> table = group_by_label(variants_of(runs))                 # doctest: +SKIP
>>> sorted(table)                                             # doctest: +SKIP
['fedavg', 'finefed', 'finefed/compute_matched', 'finefed/start']
"""

from __future__ import annotations

import functools
import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable


from semnet.summary import RunSummary

from .run_files import METRICS, AnalysisError, read_metrics, read_scenario, read_summary  # noqa: F401  (METRICS: part of this module's API)

log = logging.getLogger(__name__)

SUMMARY = "summary.json"
SCENARIO = "scenario.yaml"

START = "start"
MAIN_BRANCH = "main"
CONTROL_BRANCH_PREFIX = "control_"

#: Quality measures every variant carries (higher is better).
QUALITY_KEYS = ("psnr_db", "worst_link_psnr_db", "ssim")
#: Cost measures every variant carries, counted from the start of the run.
COST_KEYS = ("bytes", "sim_time_s", "wall_time_s", "local_steps")
#: Energy measures (J, from the summary's ``energy`` section; absent from the values
#: of runs without one), counted from the start of the run like the costs.
ENERGY_KEYS = ("energy_j", "radio_energy_j")

# Reading order of the rows: references first, then the personalised baselines,
# then each FineFed family as start -> controls -> FineFed.
_METHOD_ORDER = (
    "centralized", "fedavg", "fedprox", "scaffold", "local_finetune", "fedper", "ditto",
    "finefed", "finefed_joint", "finefed_encoder_only", "finefed_decoder_only", "exchange",
)
_CONTROL_ORDER = ("compute_matched", "bytes_matched", "local_finetune", "fedper", "ditto", "oracle")


@dataclass(frozen=True)
class Run:
    """One finished run directory, read as plain data.

    Attributes
    ----------
    path : Path
        The run directory.
    scenario : dict
        The resolved scenario (``scenario.yaml``); empty if the file is missing.
    summary : dict
        ``summary.json`` as written by the runner.
    metrics : list of dict
        ``metrics.jsonl`` rows (every branch and split), in file order.
    """

    path: Path
    scenario: dict
    summary: dict
    metrics: list[dict] = field(default_factory=list)

    @functools.cached_property
    def typed(self) -> RunSummary:
        """``summary`` as a :class:`~semnet.summary.RunSummary` (one line if it is not a
        complete one)."""
        try:
            return RunSummary.model_validate(self.summary)
        except ValueError as err:
            raise AnalysisError(f"{self.path}: not a complete run summary ({str(err).splitlines()[1:2]})") from None

    @property
    def method(self) -> str:
        """The method name; ``<name>@<algorithm>`` when its global model came from a
        federated algorithm other than FedAvg (``finefed@scaffold``), and ``+<codec>``
        when its model messages were not raw float32 (``fedavg+int8``,
        ``finefed+updates=topk1``), so that runs on different starts or codecs never
        pool into one row."""
        spec = self.scenario.get("method") or {}
        name = str(self.summary.get("method") or spec.get("name", "unknown"))
        algorithm = (spec.get("federated") or {}).get("algorithm")
        base = name if algorithm in (None, "fedavg", name) else f"{name}@{algorithm}"
        codec = codec_label(spec.get("codec"))
        return base if codec is None else f"{base}+{codec}"

    @property
    def seed(self) -> int | None:
        seed = self.summary.get("seed", self.scenario.get("seed"))
        return None if seed is None else int(seed)

    @property
    def name(self) -> str:
        return str(self.summary.get("name") or self.scenario.get("name", self.path.name))

    def test_points(self, branch: str = MAIN_BRANCH) -> list[dict]:
        """Test-split evaluation points of one branch, in the order they were taken."""
        return [m for m in self.metrics if m.get("branch") == branch and m.get("split", "test") == "test"]


@dataclass(frozen=True)
class Variant:
    """One row-to-be of the methods table, taken from one run.

    Attributes
    ----------
    label : str
        ``<method>``, ``<method>/start`` or ``<method>/<control>``.
    method : str
        The run's method.
    kind : str
        ``"final"`` (the method's result), ``"start"`` or ``"control"``.
    run : Run
        The run it came from.
    values : dict
        ``psnr_db``, ``worst_link_psnr_db``, ``ssim`` (dB, dB, 0..1) and the costs
        ``bytes``, ``sim_time_s``, ``wall_time_s``, ``local_steps`` and the energies
        ``energy_j``, ``radio_energy_j`` (only in runs that account energy), all counted
        from the start of the run; NaN where the run has no value (e.g. ``exchange``).
    links : list of dict
        Per-link quality (``src``, ``dst``, ``snr_db``, ``psnr_db``, ``ssim``); empty
        for a federated start from a run written before phases kept their links.
    branch : str
        The metrics.jsonl branch whose test points trace this variant.
    phase : str
        The phase or control name the values come from.
    """

    label: str
    method: str
    kind: str
    run: Run
    values: dict
    links: list[dict]
    branch: str
    phase: str

    @property
    def seed(self) -> int | None:
        return self.run.seed


# ---------------------------------------------------------------------- loading


def find_run_dirs(paths: Iterable[str | Path]) -> list[Path]:
    """Every folder holding ``summary.json`` at or below ``paths``, sorted, unique."""
    found: set[Path] = set()
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise AnalysisError(f"run path '{p}' does not exist")
        if p.is_file():
            if p.name != SUMMARY:
                raise AnalysisError(f"run path '{p}' is a file; give a run directory or a folder of runs")
            found.add(p.parent.resolve())
            continue
        found.update(s.parent.resolve() for s in p.rglob(SUMMARY))
    return sorted(found)


def load_run(path: str | Path) -> Run:
    """Read one run directory (``summary.json`` required, the rest optional)."""
    path = Path(path)
    summary_file = path / SUMMARY
    if not summary_file.is_file():
        raise AnalysisError(f"'{path}' is not a finished run directory (no {SUMMARY})")
    summary = read_summary(summary_file)
    scenario = read_scenario(path / SCENARIO)
    metrics = read_metrics(path)
    if summary.get("status", "complete") != "complete":
        log.warning("run %s has status %r", path, summary.get("status"))
    return Run(path=path, scenario=scenario, summary=summary, metrics=metrics)


def load_runs(paths: Iterable[str | Path]) -> list[Run]:
    """Load every finished run found recursively under ``paths``.

    Raises
    ------
    AnalysisError
        If a path does not exist or no run directory is found.
    """
    paths = list(paths)
    dirs = find_run_dirs(paths)
    if not dirs:
        raise AnalysisError(f"no run directories (folders with {SUMMARY}) under {', '.join(map(str, paths))}")
    return [load_run(d) for d in dirs]


# ---------------------------------------------------------------------- variants


def _num(value) -> float:
    return math.nan if value is None else float(value)


def _quality(record: dict) -> dict:
    out = {k: _num(record.get(k)) for k in QUALITY_KEYS}
    if record.get("accuracy") is not None:  # evaluation.task: the task classifier's accuracy
        out["accuracy"] = _num(record["accuracy"])
    return out


def codec_label(codec) -> str | None:
    """``method.codec`` of a scenario as a label suffix; None for raw float32."""
    if codec is None or codec == "float32":
        return None
    if isinstance(codec, str):
        return codec
    chosen = {k: v for k, v in dict(codec).items() if v not in (None, "float32")}
    if not chosen:
        return None
    if len(set(chosen.values())) == 1 and len(chosen) == 4:
        return next(iter(chosen.values()))
    return ",".join(f"{k}={v}" for k, v in chosen.items())


def is_finefed(method: str) -> bool:
    return method.startswith("finefed")


def variants_of(runs: Run | Iterable[Run]) -> list[Variant]:
    """The table rows of each run: final result, and for FineFed its start and controls."""
    if isinstance(runs, Run):
        runs = [runs]
    out: list[Variant] = []
    for run in runs:
        out.extend(_run_variants(run))
    return out


def as_variants(items: Iterable[Run] | Iterable[Variant]) -> list[Variant]:
    """Runs expanded into their variants; variants passed through (to plot a subset)."""
    items = list(items)
    return [v for v in items if isinstance(v, Variant)] + variants_of(r for r in items if isinstance(r, Run))


def _energy(section: dict | None) -> dict:
    """``energy_j`` (everything) and ``radio_energy_j`` (all but compute) of one part of
    a summary's ``energy`` section; nothing without one."""
    if not section:
        return {}
    total = _num(section.get("total_j"))
    return {"energy_j": total, "radio_energy_j": total - _num(section.get("compute_j"))}


def _run_variants(run: Run) -> list[Variant]:
    s = run.summary
    energy = s.get("energy") or {}
    phases = s.get("phases") or []
    method = run.method
    wall_phases = sum(_num(p.get("wall_time_s")) for p in phases) if phases else _num(s.get("wall_time_s"))
    final = Variant(
        label=method,
        method=method,
        kind="final",
        run=run,
        values={
            **_quality(s),
            "bytes": _num(s.get("bytes_total")),
            "sim_time_s": _num(s.get("sim_time_s")),
            "wall_time_s": wall_phases,
            "local_steps": _num(s.get("local_steps")),
            **_energy(energy),
        },
        links=list(s.get("links") or []),
        branch=MAIN_BRANCH,
        phase=phases[-1]["name"] if phases else "",
    )
    if not (is_finefed(method) and phases):
        return [final]
    first = phases[0]
    start_cost = {
        "bytes": _num(first.get("bytes_cumulative")),
        "sim_time_s": _num(first.get("sim_time_end_s")),
        "wall_time_s": _num(first.get("wall_time_s")),
        "local_steps": _num(first.get("local_steps")),
        **_energy((energy.get("phases") or {}).get(first["name"]) if energy else None),
    }
    start = Variant(
        label=f"{method}/{START}", method=method, kind=START, run=run,
        values={**_quality(first), **start_cost}, links=list(first.get("links") or []), branch=MAIN_BRANCH,
        phase=first["name"],
    )
    controls = []
    for c in s.get("controls") or []:
        own = {  # the control branch's own cost, whatever clock or counter it started from
            "bytes": _num(c.get("bytes")),
            "sim_time_s": _num(c.get("sim_time_s")),
            "wall_time_s": _num(c.get("wall_time_s")),
            "local_steps": _num(c.get("local_steps")),
            **_energy((energy.get("branches") or {}).get(f"{CONTROL_BRANCH_PREFIX}{c['name']}") if energy else None),
        }
        controls.append(Variant(
            label=f"{method}/{c['name']}", method=method, kind="control", run=run,
            values={**_quality(c), **{k: start_cost[k] + own[k] for k in COST_KEYS + ENERGY_KEYS
                                          if k in own and k in start_cost}},
            links=list(c.get("links") or []),
            branch=f"{CONTROL_BRANCH_PREFIX}{c['name']}", phase=c["name"],
        ))
    return [start, *controls, final]


# ---------------------------------------------------------------------- grouping


def label_order(label: str) -> tuple:
    """Sort key giving the table's reading order (see the module docstring)."""
    method, _, part = label.partition("/")
    base = method.partition("+")[0]  # runs of one method with different codecs sit together
    m = _METHOD_ORDER.index(base) if base in _METHOD_ORDER else len(_METHOD_ORDER)
    if part == START:
        p = 0
    elif part == "":
        p = 2 + len(_CONTROL_ORDER)
    else:
        p = 1 + (_CONTROL_ORDER.index(part) if part in _CONTROL_ORDER else len(_CONTROL_ORDER))
    return (m, method, p, part)


def group_by_label(variants: Iterable[Variant]) -> dict[str, list[Variant]]:
    """Variants keyed by label, labels in reading order, each list sorted by seed."""
    groups: dict[str, list[Variant]] = defaultdict(list)
    for v in variants:
        groups[v.label].append(v)
    for vs in groups.values():
        vs.sort(key=lambda v: (v.seed is None, v.seed or 0, str(v.run.path)))
    return {k: groups[k] for k in sorted(groups, key=label_order)}


def warn_mixed(groups: dict[str, list[Variant]], what: str) -> list[str]:
    """Log one warning naming the labels that hold several runs with the same seed
    (runs of different scenarios averaged together, e.g. a whole sweep); return them."""
    mixed = [label for label, vs in groups.items() if len({v.seed for v in vs}) != len(vs)]
    if mixed:
        log.warning("%s: %s hold several runs with the same seed; different scenarios are averaged "
                    "together (give one scenario's runs)", what, ", ".join(mixed))
    return mixed


def group_by_method(runs: Iterable[Run]) -> dict[str, list[Run]]:
    """Runs keyed by method, methods in reading order, each list sorted by seed."""
    groups: dict[str, list[Run]] = defaultdict(list)
    for r in runs:
        groups[r.method].append(r)
    for rs in groups.values():
        rs.sort(key=lambda r: (r.seed is None, r.seed or 0, str(r.path)))
    return {k: groups[k] for k in sorted(groups, key=label_order)}


def group_by_seed(runs: Iterable[Run]) -> dict[int | None, list[Run]]:
    """Runs keyed by seed (sorted)."""
    groups: dict[int | None, list[Run]] = defaultdict(list)
    for r in runs:
        groups[r.seed].append(r)
    return {k: groups[k] for k in sorted(groups, key=lambda s: (s is None, s or 0))}


def scenario_value(run: Run, dotted: str):
    """A value of the resolved scenario by dotted key (``links.snr_offset_db``); None if absent."""
    node = run.scenario
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
