"""Keep finished runs as records: copy them from a scratch folder (``runs/``) into a
committed one (``results/``), small enough to commit.

For every finished run directory (``summary.json`` present) under a source folder,
the copy at the same relative path under the destination holds ``summary.json``,
``scenario.yaml``, ``metrics.jsonl`` and ``events.jsonl.gz`` (the event log
compressed); checkpoints are left behind unless asked for. Runs still in progress
(no ``summary.json``) are skipped, and a run already kept with an equal summary is not
copied again, so the command can be repeated while a sweep goes on.

Examples
--------
>>> keep_runs(["runs/map"], "results/map")    # doctest: +SKIP
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import Iterable

from .runs import SCENARIO, SUMMARY, AnalysisError, find_run_dirs

KEPT = (SCENARIO, "metrics.jsonl", "images.jsonl")  # then the event log, checkpoints, and the summary last


def keep_runs(sources: Iterable[str | Path], dest: str | Path, *, checkpoints: tuple[str, ...] = ()) -> list[Path]:
    """Copy every finished run under ``sources`` to ``dest`` (relative paths kept);
    return the run directories written. ``checkpoints`` names files of the runs'
    ``checkpoints/`` folders to keep too (e.g. ``global.pt``, a start's model)."""
    dest = Path(dest)
    written = []
    for source in sources:
        source = Path(source)
        if not source.is_dir():
            raise AnalysisError(f"'{source}' is not a folder of runs")
        for run_dir in find_run_dirs([source]):
            target = dest / run_dir.relative_to(source.resolve())
            if (target / SUMMARY).is_file() and (target / SUMMARY).read_bytes() == (run_dir / SUMMARY).read_bytes():
                continue
            target.mkdir(parents=True, exist_ok=True)
            for name in KEPT:
                if (run_dir / name).is_file():
                    shutil.copyfile(run_dir / name, target / name)
            events = run_dir / "events.jsonl"
            if events.is_file():
                with events.open("rb") as src, gzip.GzipFile(target / "events.jsonl.gz", "wb", mtime=0) as dst:
                    shutil.copyfileobj(src, dst)
            for name in checkpoints:
                if (run_dir / "checkpoints" / name).is_file():
                    shutil.copyfile(run_dir / "checkpoints" / name, target / name)
            shutil.copyfile(run_dir / SUMMARY, target / SUMMARY)  # last: a half-kept run is not a finished one
            written.append(target)
    return written
