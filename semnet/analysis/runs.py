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


from semnet.outcomes import ENERGIES, IMAGES, OPTIONAL, branch_outcomes, phase_outcomes
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
#: Energy measures (J, from the summary's ``energy`` section; NaN in runs without one),
#: counted from the start of the run like the costs.
ENERGY_KEYS = ENERGIES
#: What the users' live images met (``traffic:``; NaN in runs without one): the images of
#: the variant's own branch or phase (see :mod:`semnet.outcomes`).
IMAGE_KEYS = IMAGES

# Reading order of the rows: references first, then the personalised baselines,
# then each FineFed family as start -> controls -> FineFed.
_METHOD_ORDER = (
    "centralized", "fedavg", "fedprox", "scaffold", "federated", "local_finetune", "fedper", "ditto",
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
    group : str
        The group it was put in by ``--group-by`` (``links.medium=cell``; see
        :mod:`semnet.analysis.grouping`), empty otherwise; its variants' labels end
        with it, so groups never share a row or a line.
    """

    path: Path
    scenario: dict
    summary: dict
    metrics: list[dict] = field(default_factory=list)
    group: str = ""

    def label(self, base: str) -> str:
        """``base`` (``finefed/start``) with the run's group, if any: ``finefed/start [links.medium=cell]``."""
        return f"{base} [{self.group}]" if self.group else base

    @functools.cached_property
    def typed(self) -> RunSummary:
        """``summary`` as a :class:`~semnet.summary.RunSummary` (one line if it is not a
        complete one)."""
        try:
            return RunSummary.model_validate(self.summary)
        except ValueError as err:
            where = str(err).splitlines()[1:2]
            raise AnalysisError(f"{self.path / SUMMARY}: not a complete run summary ({where})") from None

    @property
    def method(self) -> str:
        """The method name; ``<name>@<algorithm>`` when its global model came from a
        federated algorithm other than FedAvg (``finefed@scaffold``), and ``+<codec>``
        when its model messages were not raw float32 (``fedavg+int8``,
        ``finefed+updates=topk1``), so that runs on different starts or codecs never
        pool into one row."""
        spec = self.scenario.get("method") or {}
        name = self.typed.method or str(spec.get("name", "unknown"))
        algorithm = (spec.get("federated") or {}).get("algorithm")
        base = name if algorithm in (None, "fedavg", name) else f"{name}@{algorithm}"
        codec = codec_label(spec.get("codec"))
        return base if codec is None else f"{base}+{codec}"

    @property
    def seed(self) -> int | None:
        return self.typed.seed

    @property
    def name(self) -> str:
        return self.typed.name or str(self.scenario.get("name", self.path.name))

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
        (:data:`ENERGY_KEYS`, J), all counted from the start of the run, and the live
        images' outcomes (:data:`IMAGE_KEYS`) of the variant's own branch or phase; NaN
        where the run has no value (e.g. ``exchange``, a run without energy or traffic).
        Every key is named in :data:`semnet.outcomes.OUTCOMES`.
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
    run = Run(path=path, scenario=scenario, summary=summary, metrics=metrics)
    if run.typed.status != "complete":  # also: one line now if it is not a complete summary
        log.warning("run %s has status %r", path, run.typed.status)
    return run


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


def _quality(record) -> dict:
    out = {k: _num(getattr(record, k)) for k in QUALITY_KEYS}
    for key in OPTIONAL:  # evaluation.task: classify; images of 161 px and up
        value = getattr(record, key, None)
        if value is not None:
            out[key] = _num(value)
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


def _links(records) -> list[dict]:
    return [link.model_dump(mode="json", exclude_unset=True) for link in records]


def _run_variants(run: Run) -> list[Variant]:
    s = run.typed
    phases = s.phases
    method = run.method
    wall_phases = sum(p.wall_time_s for p in phases) if phases else s.wall_time_s
    final = Variant(
        label=run.label(method),
        method=method,
        kind="final",
        run=run,
        values={
            **_quality(s),
            "bytes": float(s.bytes_total),
            "sim_time_s": s.sim_time_s,
            "wall_time_s": wall_phases,
            "local_steps": float(s.local_steps),
            **branch_outcomes(s, MAIN_BRANCH),
        },
        links=_links(s.links),
        branch=MAIN_BRANCH,
        phase=phases[-1].name if phases else "",
    )
    if not (is_finefed(method) and phases):
        return [final]
    first = phases[0]
    start_cost = {
        "bytes": float(first.bytes_cumulative),
        "sim_time_s": first.sim_time_end_s,
        "wall_time_s": first.wall_time_s,
        "local_steps": float(first.local_steps),
        **phase_outcomes(s, first.name),
    }
    start = Variant(
        label=run.label(f"{method}/{START}"), method=method, kind=START, run=run,
        values={**_quality(first), **start_cost}, links=_links(first.links), branch=MAIN_BRANCH,
        phase=first.name,
    )
    controls = []
    for c in s.controls:
        branch = f"{CONTROL_BRANCH_PREFIX}{c.name}"
        own = {  # the control branch's own cost, whatever clock or counter it started from
            "bytes": float(c.bytes),
            "sim_time_s": c.sim_time_s,
            "wall_time_s": c.wall_time_s,
            "local_steps": float(c.local_steps),
        }
        outcomes = branch_outcomes(s, branch)  # its own images; energy counted from the start below
        from_start = {k: start_cost[k] + own[k] for k in COST_KEYS}
        from_start.update({k: start_cost[k] + outcomes[k] for k in ENERGY_KEYS})
        controls.append(Variant(
            label=run.label(f"{method}/{c.name}"), method=method, kind="control", run=run,
            values={**_quality(c), **outcomes, **from_start},
            links=_links(c.links), branch=branch, phase=c.name,
        ))
    return [start, *controls, final]


# ---------------------------------------------------------------------- grouping


def label_order(label: str) -> tuple:
    """Sort key giving the table's reading order (see the module docstring); labels of one
    group (``--group-by``) sit together."""
    label, _, group = label.partition(" [")
    method, _, part = label.partition("/")
    base = method.partition("+")[0]  # runs of one method with different codecs sit together
    m = _METHOD_ORDER.index(base) if base in _METHOD_ORDER else len(_METHOD_ORDER)
    if part == START:
        p = 0
    elif part == "":
        p = 2 + len(_CONTROL_ORDER)
    else:
        p = 1 + (_CONTROL_ORDER.index(part) if part in _CONTROL_ORDER else len(_CONTROL_ORDER))
    return (group, m, method, p, part)


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
