"""What a sweep worker does with one point: validate, run, report — never raise.

Both backends call ``run_point`` in a separate process with a plain ``PointTask``
(a raw scenario mapping, not a ``Scenario``), so what crosses the process boundary
always pickles; the scenario is validated again on the worker's side.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from semnet.errors import SemnetError

SUMMARY = "summary.json"
ERROR_FILE = "error.txt"
# files that mark a directory as a (possibly unfinished) run, safe to delete and redo
RUN_MARKERS = {"scenario.yaml", "events.jsonl", "events.jsonl.part", "metrics.jsonl.part", "status.json", ".lock",
               ERROR_FILE}


@dataclass(frozen=True)
class PointTask:
    """One point to run.

    ``out_dir`` is absolute; ``threads`` is the core budget of the point (``$SEMNET_CPUS``:
    it caps ``simulation.threads``/``workers: auto``; explicit values win); ``cwd`` is the driver's
    working directory, against which relative data/checkpoint paths are read.
    """

    index: int
    name: str
    raw: dict
    out_dir: str
    threads: int
    cwd: str
    search: tuple[str, ...] = ()  # folders for the scenario's plugin modules


def run_point(task: PointTask) -> dict:
    """Run ``task``; return ``{"status", "summary", "error", "wall_s"}``.

    ``status`` is ``"complete"`` with the run's summary, or ``"failed"`` with a one-line
    ``error``; the traceback of an unexpected exception goes to ``error.txt`` in the
    point directory. Interrupts (``KeyboardInterrupt``) are not caught.
    """
    import torch

    from semnet.runner import run_scenario
    from semnet.scenario import validate

    start = time.perf_counter()
    if os.path.isdir(task.cwd) and os.getcwd() != task.cwd:
        os.chdir(task.cwd)  # a Ray worker starts elsewhere; relative data paths mean the driver's
    torch.set_num_threads(max(1, task.threads))
    os.environ["SEMNET_CPUS"] = str(max(1, task.threads))  # caps the point's auto threads and workers
    out_dir = Path(task.out_dir)
    try:
        if (out_dir / SUMMARY).is_file():  # finished meanwhile (a retried task): keep it
            summary = json.loads((out_dir / SUMMARY).read_text())
            return {"status": "complete", "summary": summary, "error": None, "wall_s": time.perf_counter() - start}
        scenario = validate(task.raw, f"sweep point {task.index + 1} ({task.name})", search=task.search)
        checkpoint = resumable(out_dir, scenario) if out_dir.exists() else None
        if checkpoint is None and out_dir.exists():  # a partial run with nothing to resume from: start afresh
            clear_partial_run(out_dir)
        result = run_scenario(scenario, out_dir=task.out_dir, progress=None, resume=checkpoint)
        summary = result.summary
        # the file is the record (NaN written as null); report exactly what it holds
        summary_path = Path(task.out_dir) / SUMMARY
        if summary_path.is_file():
            summary = json.loads(summary_path.read_text())
        return {"status": "complete", "summary": summary, "error": None, "wall_s": time.perf_counter() - start}
    except Exception as err:  # noqa: BLE001 - a failed point is data, the sweep goes on
        _write_traceback(out_dir, err)
        return {"status": "failed", "summary": None, "error": one_line(err), "wall_s": time.perf_counter() - start}


def resumable(path: Path, scenario) -> dict | None:
    """The checkpoint to continue ``path``'s interrupted run of ``scenario`` from, or None
    (no checkpoint, a failed run, another scenario, another semnet version)."""
    from semnet.fl.loop.resume import scenario_digest
    from semnet.resume_run import load_resume_point
    from semnet.scenario import resolved_yaml

    try:
        _, checkpoint = load_resume_point(path)
    except SemnetError:
        return None
    return checkpoint if checkpoint["scenario_sha256"] == scenario_digest(resolved_yaml(scenario)) else None


def clear_partial_run(path: Path) -> None:
    """Delete an unfinished run directory, refusing anything that is not one."""
    if not path.is_dir():
        raise SemnetError(f"'{path}' exists and is not a directory; remove it or choose another sweep directory")
    names = {p.name for p in path.iterdir()}
    if names and not names & RUN_MARKERS:
        raise SemnetError(
            f"'{path}' exists and is not an unfinished semnet run (holds {', '.join(sorted(names)[:3])}); "
            "remove it or choose another sweep directory"
        )
    shutil.rmtree(path)


def one_line(err: BaseException) -> str:
    """``err`` as one line: a user error's own text, otherwise ``Type: first line``."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    if isinstance(err, SemnetError):
        return text or type(err).__name__
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _write_traceback(out_dir: Path, err: BaseException) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / ERROR_FILE).write_text("".join(traceback.format_exception(err)))
    except OSError:
        pass
