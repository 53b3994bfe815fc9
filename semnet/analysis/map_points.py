"""The heterogeneity map's points read from run records: one :class:`MapPoint` per seed
of a cell, the controls of companion runs (same start and FineFed) joined to it.

:mod:`.heterogeneity_map` groups the points into cells, judges them and writes the map.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .runs import AnalysisError, Run, is_finefed

log = logging.getLogger(__name__)

#: Controls a map point must have.
NEEDED = ("compute_matched", "bytes_matched", "oracle")


@dataclass(frozen=True)
class MapPoint:
    """One run (one seed of one cell)."""

    row: str
    column: str
    column_order: tuple
    run_dir: str
    seed: int | None
    start_psnr_db: float
    finefed_psnr_db: float
    compute_psnr_db: float
    bytes_psnr_db: float
    oracle_psnr_db: float
    finefed_ssim: float = math.nan
    compute_ssim: float = math.nan
    finefed_accuracy: float = math.nan  # the task classifier's, on decoded images (evaluation.task)
    compute_accuracy: float = math.nan
    companion_dirs: tuple = ()  # runs of the same start and FineFed whose further controls joined this point
    other_controls: tuple = ()  # summaries of the matched controls beyond compute/bytes (map_controls.md)
    finefed_passes: int | None = None  # FineFed's fine-tuning passes, the controls' budget
    start_converged: bool | None = None  # the start met the plateau rule (False: it hit the round cap)

    @property
    def vs_others_db(self) -> tuple:
        """(name, FineFed minus it in dB) for each of :attr:`other_controls`."""
        return tuple((c.name, self.finefed_psnr_db - float(c.psnr_db)) for c in self.other_controls)

    @property
    def vs_compute_ssim(self) -> float:
        return self.finefed_ssim - self.compute_ssim

    @property
    def vs_compute_accuracy_points(self) -> float:
        """FineFed minus compute-matched in task accuracy, percentage points (NaN without a task)."""
        return 100.0 * (self.finefed_accuracy - self.compute_accuracy)

    @property
    def headroom_db(self) -> float:
        return self.oracle_psnr_db - self.start_psnr_db

    @property
    def gain_pct(self) -> float:
        return 100.0 * (self.finefed_psnr_db - self.start_psnr_db) / self.start_psnr_db

    @property
    def vs_compute_db(self) -> float:
        return self.finefed_psnr_db - self.compute_psnr_db

    @property
    def vs_bytes_db(self) -> float:
        return self.finefed_psnr_db - self.bytes_psnr_db

    @property
    def captured(self) -> float:
        head = self.headroom_db
        return (self.finefed_psnr_db - self.start_psnr_db) / head if head > 0 else math.nan


def partition_label(partition: dict | None) -> tuple[str, tuple]:
    """A data split's column label and its sort key (IID, Dirichlet by falling alpha, classes, sources)."""
    partition = partition or {"kind": "iid"}
    kind = partition.get("kind", "iid")
    if kind == "iid":
        return "IID", (0, 0.0)
    if kind == "dirichlet":
        alpha = float(partition.get("alpha", math.nan))
        return f"Dir({alpha:g})", (1, -alpha)
    if kind == "classes":
        k = partition.get("classes_per_user")
        return f"{k} classes/user", (2, float(k or 0))
    if kind == "source":
        return "disjoint sources", (3, 0.0)
    return str(kind), (4, 0.0)


def _row_name(run: Run, method: str) -> str:
    """The scenario's name without ``map_``; another method than FineFed's own gets its own row."""
    name = run.name[4:] if run.name.startswith("map_") else run.name
    return name if method == "finefed" else f"{name} [{method}]"


def _shown(path: Path) -> str:
    """A run directory relative to the working directory where it lies below it (records stay portable)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _point_key(run: Run) -> tuple:
    """Which point of the map a FineFed run is: row, data split, seed, and the start's and
    FineFed's PSNR (two runs share a point only if they share its start and FineFed)."""
    s = run.typed
    column, _ = partition_label((run.scenario.get("data") or {}).get("partition"))
    start = s.phases[0].psnr_db if s.phases else None
    return _row_name(run, s.method), column, run.seed, start, s.psnr_db


def _controls_by_point(runs: list[Run]) -> dict[tuple, tuple[Run, dict, list[Run]]]:
    """Each point's run with the controls every point needs, its controls joined with those
    of its *companions*: runs of the same start and FineFed that ran further controls only
    (e.g. ``results/map_controls`` beside ``results/map``). A control in two runs of one
    point must agree, or the records are not of one point."""
    primary, companions = {}, []
    for run in runs:
        names = {c.name for c in run.typed.controls}
        if all(name in names for name in NEEDED) and _point_key(run) not in primary:
            primary[_point_key(run)] = (run, {c.name: c for c in run.typed.controls}, [])
        else:  # a run of further controls, or a second record of the same point (checked alike)
            companions.append(run)
    for run in companions:
        entry = primary.get(_point_key(run))
        if entry is None:
            extra = sorted({c.name for c in run.typed.controls} - set(NEEDED))
            if extra:  # it meant to add controls to a point, but no point has its start and FineFed
                log.warning("%s: its controls (%s) join no map point: no run with the oracle and both matched "
                            "controls has its start's and FineFed's PSNR", run.path, ", ".join(extra))
            continue
        main, controls, joined = entry
        for c in run.typed.controls:
            known = controls.setdefault(c.name, c)
            if known.psnr_db != c.psnr_db:
                raise AnalysisError(f"{run.path} and {main.path}: control {c.name} at {c.psnr_db} and "
                                    f"{known.psnr_db} dB from one start and FineFed; not records of one point")
        joined.append(run)
    return primary


def map_points(runs: Iterable[Run]) -> list[MapPoint]:
    """One point per FineFed run that has the oracle and both matched controls, with the
    controls of its companion runs (same start and FineFed; see :func:`_controls_by_point`)."""
    points = []
    finefed = [run for run in runs if is_finefed(run.typed.method) and run.typed.phases]
    for run, controls, joined in _controls_by_point(finefed).values():
        s = run.typed
        values = [s.phases[0].psnr_db, s.psnr_db] + [controls[n].psnr_db for n in NEEDED]
        if any(v is None or not math.isfinite(float(v)) for v in values):
            continue
        column, order = partition_label((run.scenario.get("data") or {}).get("partition"))
        start, finefed_db, compute, bytes_, oracle = (float(v) for v in values)
        ssim = (_num(s.ssim), _num(controls["compute_matched"].ssim))
        other_controls = tuple(c for name, c in sorted(controls.items())
                               if name not in NEEDED and c.psnr_db is not None and math.isfinite(float(c.psnr_db)))
        budget = next((r.typed.finetune_budget for r in (run, *joined) if r.typed.finetune_budget),
                      {})  # older records lack it; a companion of the same FineFed may have it
        accuracy = {"finefed_accuracy": _num(s.accuracy), "compute_accuracy": _num(controls["compute_matched"].accuracy)}
        points.append(MapPoint(_row_name(run, s.method), column, order, _shown(run.path), run.seed, start, finefed_db,
                               compute, bytes_, oracle, *ssim, **accuracy,
                               companion_dirs=tuple(_shown(r.path) for r in joined), other_controls=other_controls,
                               finefed_passes=budget.get("local_passes"), start_converged=s.phases[0].converged))
    return points


def _num(value) -> float:
    return math.nan if value is None else float(value)
