"""The heterogeneity map's points read from run records: one :class:`MapPoint` per seed
of a cell, the further controls of companion runs joined to it.

A *companion* is a run of a map scenario that ran further controls (IFCA, FedRep, the
SNR-conditioned model ...) but not the three every point needs. It joins the point of its
row, data split and seed. Each further control is paired with the FineFed of the run it
ran in: the point's own FineFed when the companion reproduced the point's start and
FineFed, else the companion's own FineFed (*another run of the seed*, e.g. on a CPU whose
last bits differ, so its FedAvg start stopped in another round). A lead is always a
difference within one run, from one start, on one set of links.

:mod:`.heterogeneity_map` groups the points into cells, judges them and writes the map.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .runs import AnalysisError, Run, is_finefed

log = logging.getLogger(__name__)

#: Controls a map point must have.
NEEDED = ("compute_matched", "bytes_matched", "oracle")


@dataclass(frozen=True)
class FurtherControl:
    """A matched control beyond compute/bytes-matched, and the FineFed it is paired with:
    the one of the run it ran in."""

    record: Any  # its entry in that run's summary.json (name, psnr_db, ssim, local_passes, lr ...)
    finefed_psnr_db: float
    finefed_ssim: float
    run_dir: str
    same_start: bool  # the run reproduced the point's start and FineFed (False: another run of the seed)
    start_psnr_db: float  # that run's start
    finefed_passes: int | None = None  # that run's FineFed passes, the control's budget

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def psnr_db(self) -> float:
        return float(self.record.psnr_db)

    @property
    def lead_db(self) -> float:
        """FineFed minus the control, both of one run (dB)."""
        return self.finefed_psnr_db - self.psnr_db

    @property
    def lead_ssim(self) -> float:
        return self.finefed_ssim - _num(self.record.ssim)


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
    companion_dirs: tuple = ()  # runs whose further controls joined this point (its start's or another run's)
    other_controls: tuple = ()  # FurtherControl each, the matched controls beyond compute/bytes (map_controls.md)
    finefed_passes: int | None = None  # FineFed's fine-tuning passes, the controls' budget
    start_converged: bool | None = None  # the start met the plateau rule (False: it hit the round cap)

    @property
    def vs_others_db(self) -> tuple:
        """(name, FineFed minus it in dB, within the run it ran in) for each of :attr:`other_controls`."""
        return tuple((c.name, c.lead_db) for c in self.other_controls)

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


def shown_path(path: Path) -> str:
    """A run directory relative to the working directory where it lies below it (records stay portable)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def point_key(run: Run) -> tuple:
    """Which point of the map a FineFed run is: row, data split, seed, and the start's and
    FineFed's PSNR (two runs share a point only if they share its start and FineFed)."""
    s = run.typed
    column, _ = partition_label((run.scenario.get("data") or {}).get("partition"))
    start = s.phases[0].psnr_db if s.phases else None
    return _row_name(run, s.method), column, run.seed, start, s.psnr_db


@dataclass
class _Joined:
    """One point while its companions join: its run, the controls of its start (its own and
    same-start companions'), the further controls of other runs of its seed, the companions."""

    run: Run
    controls: dict  # name -> control record, of the point's start
    elsewhere: dict  # name -> (control record, its run), of other starts of the seed
    companions: list  # runs of the point's start


def is_further(control) -> bool:
    """A scored control beyond the three every point needs (IFCA, FedRep, SNR-conditioned ...)."""
    return control.name not in NEEDED and _finite(control.psnr_db)


def further_controls(run: Run) -> list:
    """``run``'s further controls (:func:`is_further`)."""
    return [c for c in run.typed.controls if is_further(c)]


def _join_points(runs: list[Run]) -> list[_Joined]:
    """Each point's run with the controls every point needs, its companions joined to it.

    A companion of the same start and FineFed (same :func:`point_key`) adds its controls
    as the point's own; a control in two runs of one start must agree, or the records are
    not of one point. A companion of another start joins by row, data split and seed; its
    further controls are paired with its own FineFed. Two such runs of one seed with the
    same control are refused: which one counts would be a silent choice.
    """
    primary: dict[tuple, _Joined] = {}
    by_seed: dict[tuple, _Joined] = {}
    companions = []
    for run in runs:
        names = {c.name for c in run.typed.controls}
        key = point_key(run)
        if all(name in names for name in NEEDED) and key not in primary:
            other = by_seed.get(key[:3])
            if other is not None:
                raise AnalysisError(f"{run.path} and {other.run.path}: two runs of seed {run.seed} of one map cell "
                                    "with the needed controls from different starts; keep one of them")
            primary[key] = by_seed[key[:3]] = _Joined(run, {c.name: c for c in run.typed.controls}, {}, [])
        else:  # a run of further controls, or a second record of the same point (checked alike)
            companions.append(run)
    for run in companions:
        key = point_key(run)
        entry = primary.get(key)
        if entry is not None:
            for c in run.typed.controls:
                known = entry.controls.setdefault(c.name, c)
                if known.psnr_db != c.psnr_db:
                    raise AnalysisError(f"{run.path} and {entry.run.path}: control {c.name} at {c.psnr_db} and "
                                        f"{known.psnr_db} dB from one start and FineFed; not records of one point")
            entry.companions.append(run)
            continue
        extra = further_controls(run)
        if not extra:  # another start with nothing to add (e.g. FineFed alone at another rate)
            continue
        if not (_finite(run.typed.psnr_db) and _finite(run.typed.phases[0].psnr_db)):
            log.warning("%s: no start or FineFed PSNR to pair its controls with; it joins no map point", run.path)
            continue
        entry = by_seed.get(key[:3])
        if entry is None:  # it meant to add controls to a point, but the map has no run of its seed
            log.warning("%s: its controls (%s) join no map point: no run of its scenario, data split and "
                        "seed has the oracle and both matched controls", run.path,
                        ", ".join(sorted(c.name for c in extra)))
            continue
        for c in extra:
            if c.name in entry.elsewhere:
                raise AnalysisError(f"{run.path} and {entry.elsewhere[c.name][1].path}: two runs of seed {run.seed} "
                                    f"from starts other than the map point's both ran control {c.name}; keep one")
            entry.elsewhere[c.name] = (c, run)
    return list(primary.values())


def _budget(run: Run) -> dict:
    return run.typed.finetune_budget or {}


def _own_budget(entry: _Joined) -> dict:
    """FineFed's fine-tuning budget of the point's start: older records lack it, and a
    companion of the same start and FineFed may have it."""
    return next((_budget(r) for r in (entry.run, *entry.companions) if _budget(r)), {})


def _paired(control, run: Run, same_start: bool, passes: int | None) -> FurtherControl:
    """``control`` with the FineFed and start of ``run``, the run it ran in."""
    s = run.typed
    return FurtherControl(control, float(s.psnr_db), _num(s.ssim), shown_path(run.path), same_start,
                          float(s.phases[0].psnr_db), passes)


def _further(entry: _Joined, passes: int | None) -> tuple[FurtherControl, ...]:
    """The point's further controls by name: its start's own, else another run's of its seed."""
    out = {name: _paired(c, entry.run, True, passes) for name, c in entry.controls.items() if is_further(c)}
    for name, (c, other) in entry.elsewhere.items():
        if name not in out:
            out[name] = _paired(c, other, False, _budget(other).get("local_passes"))
    return tuple(out[name] for name in sorted(out))


def map_points(runs: Iterable[Run]) -> list[MapPoint]:
    """One point per FineFed run that has the oracle and both matched controls, with the
    further controls of its companion runs (see :func:`_join_points`)."""
    points = []
    finefed = [run for run in runs if is_finefed(run.typed.method) and run.typed.phases]
    for entry in _join_points(finefed):
        run, controls, s = entry.run, entry.controls, entry.run.typed
        values = [s.phases[0].psnr_db, s.psnr_db] + [controls[n].psnr_db for n in NEEDED]
        if not all(_finite(v) for v in values):
            continue
        column, order = partition_label((run.scenario.get("data") or {}).get("partition"))
        start, finefed_db, compute, bytes_, oracle = (float(v) for v in values)
        ssim = (_num(s.ssim), _num(controls["compute_matched"].ssim))
        budget = _own_budget(entry)
        further = _further(entry, budget.get("local_passes"))
        accuracy = {"finefed_accuracy": _num(s.accuracy), "compute_accuracy": _num(controls["compute_matched"].accuracy)}
        used = [c.run_dir for c in further if not c.same_start]
        companion_dirs = tuple(dict.fromkeys([shown_path(r.path) for r in entry.companions] + used))
        points.append(MapPoint(_row_name(run, s.method), column, order, shown_path(run.path), run.seed, start, finefed_db,
                               compute, bytes_, oracle, *ssim, **accuracy,
                               companion_dirs=companion_dirs, other_controls=further,
                               finefed_passes=budget.get("local_passes"), start_converged=s.phases[0].converged))
    return points


def _finite(value) -> bool:
    return value is not None and math.isfinite(float(value))


def _num(value) -> float:
    return math.nan if value is None else float(value)
