"""Run a sweep: expand and validate every point, skip the finished ones, run the rest
on a backend, and keep ``sweep.json`` up to date as points finish.

The sweep directory holds one ordinary run directory per point (named by
``points.point_name``) and ``sweep.json``. A point is finished exactly when its
``summary.json`` exists; an interrupted sweep therefore resumes by running again,
and a finished sweep run again does no work.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Protocol


from semnet.errors import ScenarioError, SemnetError, cannot_write
from semnet.metrics.rundir import write_json
from semnet.scenario import read_yaml, validate
from semnet.outcomes import ENERGIES, IMAGES, branch_outcomes
from semnet.summary import RunSummary
from semnet.sweep.backends import check_backend, open_backend
from semnet.sweep.points import Point, expand
from semnet.sweep.spec import SweepSpec, load_sweep
from semnet.sweep.worker import SUMMARY, PointTask

log = logging.getLogger(__name__)

SWEEP_RECORD = "sweep.json"
LOCK_FILE = ".sweep.lock"
# the numbers sweep.json and the CLI table carry for each point
KEY_METRICS = ("psnr_db", "worst_link_psnr_db", "ssim", "bytes_total", "sim_time_s")


@dataclass
class PointResult:
    """The outcome of one point.

    ``status`` is ``"complete"`` (ran now), ``"skipped"`` (finished before; its
    summary read from disk), ``"failed"`` (``error`` is one line; the traceback, if
    any, is in ``path/error.txt``) or ``"pending"`` (not run: the sweep stopped).
    """

    index: int
    name: str
    overrides: dict[str, Any]
    path: Path
    status: str = "pending"
    summary: dict | None = None
    error: str | None = None
    wall_s: float = 0.0
    label: str = field(default="", repr=False)

    @property
    def ok(self) -> bool:
        return self.status in ("complete", "skipped")

    def metric(self, key: str) -> Any:
        return None if self.summary is None else self.summary.get(key)

    def outcomes(self) -> dict[str, float]:
        """The point's energies and live-image outcomes (:mod:`semnet.outcomes`; NaN when
        its run had no energy accounting or no ``traffic:``, or did not finish)."""
        if self.summary is None:
            return dict.fromkeys(ENERGIES + IMAGES, math.nan)
        try:
            return branch_outcomes(RunSummary.model_validate(self.summary))
        except ValueError:  # a summary from an older, partial record: nothing to add
            return dict.fromkeys(ENERGIES + IMAGES, math.nan)

    def as_record(self) -> dict:
        return {
            "index": self.index,
            "name": self.name,
            "overrides": self.overrides,
            "path": str(self.path),
            "status": self.status,
            "error": self.error,
            "wall_s": round(self.wall_s, 3),
            **{key: self.metric(key) for key in KEY_METRICS},
            # energy and live images only where the run had them: older records keep their shape
            **{key: value for key, value in self.outcomes().items() if math.isfinite(value)},
        }


class SweepProgress(Protocol):
    """What ``run_sweep`` reports while it runs (the CLI draws a progress bar)."""

    def start(self, total: int, todo: int) -> None: ...

    def point_done(self, result: PointResult) -> None: ...


def run_sweep(
    spec: SweepSpec | str | Path,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    out: str | Path | None = None,
    progress: SweepProgress | None = None,
) -> list[PointResult]:
    """Run every unfinished point of ``spec``; return all points' results in point order.

    ``spec`` is a ``SweepSpec`` or a sweep file path. ``backend`` is ``"local"``
    (process pool of ``workers``, default one per core) or ``"ray"`` (cluster at
    ``address``, else ``RAY_ADDRESS``, else a Ray instance started here with
    ``workers`` CPUs). ``out`` overrides the sweep directory.

    Raises ``ScenarioError`` before anything runs if a point is invalid, or if a
    point's directory holds a finished run of a different scenario. A point that
    fails while running does not raise: its result says ``failed``.
    """
    check_backend(backend, workers)
    if not isinstance(spec, SweepSpec):
        spec = load_sweep(spec)
    points = expand(spec)
    sweep_dir = spec.out_dir(out)
    results = [
        PointResult(p.index, p.name, p.overrides, sweep_dir / p.name, label=p.label) for p in points
    ]
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # a read-only folder, a file in the way: one line
        raise cannot_write(sweep_dir, err) from None
    with _sweep_lock(sweep_dir):
        finished = {p.index: _finished_summary(p, sweep_dir / p.name) for p in points}
        todo = [p for p in points if finished[p.index] is None]
        for p in points:
            if finished[p.index] is not None:
                results[p.index].status = "skipped"
                results[p.index].summary = finished[p.index]
        record = _SweepRecord(sweep_dir / SWEEP_RECORD, spec, backend, results)
        if progress is not None:
            progress.start(len(points), len(todo))
        if not todo:
            record.write("finished")
            return results
        engine = open_backend(backend, len(todo), workers, address)
        record.workers, record.threads = engine.workers, engine.threads
        log.info("sweep %s: %d point(s) to run, %d finished before; %s backend, %d worker(s) x %d thread(s)",
                 sweep_dir, len(todo), len(points) - len(todo), backend, engine.workers, engine.threads)
        tasks = [
            PointTask(p.index, p.name, p.raw, str((sweep_dir / p.name).resolve()), engine.threads, os.getcwd(),
                      p.search)
            for p in todo
        ]
        record.write("running")

        def on_done(task: PointTask, outcome: dict) -> None:
            result = results[task.index]
            result.status = outcome["status"]
            result.summary = outcome["summary"]
            result.error = outcome["error"]
            result.wall_s = float(outcome.get("wall_s") or 0.0)
            if result.status == "failed":
                log.warning("sweep point %d (%s) failed: %s", task.index + 1, task.name, result.error)
            record.write("running")
            if progress is not None:
                progress.point_done(result)

        try:
            engine.run(tasks, on_done)
        except BaseException:
            record.write("interrupted")
            raise
        finally:
            engine.close()
        record.write("finished")
    return results


def _finished_summary(point: Point, path: Path) -> dict | None:
    """The summary of a finished run of ``point`` at ``path``, or ``None`` if unfinished.

    A finished run of another scenario (the sweep or its base changed since) is an
    error rather than a silent skip: its numbers would be attributed to this point.
    """
    summary_path = path / SUMMARY
    if not summary_path.is_file():
        return None
    try:
        summary = json.loads(summary_path.read_text())
    except (OSError, ValueError):
        return None  # unreadable: treat as unfinished, the point runs again
    stored_path = path / "scenario.yaml"
    if stored_path.is_file():
        where = f"sweep point {point.index + 1} ({point.name})"
        try:
            stored = validate(read_yaml(stored_path), str(stored_path), search=point.search).model_dump(mode="json")
        except ScenarioError as err:
            stored, invalid = None, f"its scenario.yaml no longer validates: {err}"
        wanted = point.scenario.model_dump(mode="json")
        if stored != wanted:
            diff = _first_difference(stored, wanted) if stored is not None else invalid
            raise ScenarioError(
                f"{where}: '{path}' holds a finished run of a different scenario ({diff}); "
                "delete that directory to run the point again, or choose another sweep directory (--out)"
            )
    return summary


def _first_difference(old: Any, new: Any, prefix: str = "") -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(new) + [k for k in old if k not in new]:
            if old.get(key) != new.get(key):
                return _first_difference(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else str(key))
    return f"{prefix or 'scenario'}: {old!r} there, {new!r} here"


class _SweepRecord:
    """``sweep.json``: the spec, the backend, and every point's status and numbers,
    rewritten atomically whenever a point finishes."""

    def __init__(self, path: Path, spec: SweepSpec, backend: str, results: list[PointResult]):
        self.path = path
        self.spec = spec
        self.backend = backend
        self.results = results
        self.workers: int | None = None
        self.threads: int | None = None
        self.started = _now()

    def write(self, state: str) -> None:
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        write_json(self.path, {
            "state": state,
            "sweep_file": self.spec.source,
            "spec": self.spec.model_dump(mode="json"),
            "backend": self.backend,
            "workers": self.workers,
            "threads_per_point": self.threads,
            "started": self.started,
            "updated": _now(),
            "counts": counts,
            "points": [r.as_record() for r in self.results],
        })


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


@contextlib.contextmanager
def _sweep_lock(sweep_dir: Path) -> Iterator[None]:
    """Refuse a second sweep into the same directory while one runs (same host)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    try:
        handle = open(sweep_dir / LOCK_FILE, "a+")
    except OSError as err:
        raise cannot_write(sweep_dir, err) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise SemnetError(f"another sweep is running in '{sweep_dir}'; wait for it or choose another --out") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
