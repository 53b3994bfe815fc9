"""The run directory: every file is written so that an interrupted run never leaves a
partial file that looks complete.

JSONL streams are written to ``NAME.part`` and renamed when the run finishes; JSON
and checkpoint files are written to a temporary name and ``os.replace``d. A run is
complete exactly when ``summary.json`` exists.
"""

from __future__ import annotations

import io
import json
import math
import os
from pathlib import Path
from typing import Any

import torch

from semnet.errors import SemnetError

SUMMARY = "summary.json"


def _json_default(value: Any):
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(obj: Any) -> str:
    """Deterministic compact JSON (sorted keys) used for every record."""
    return json.dumps(obj, sort_keys=True, default=_json_default, allow_nan=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_json(path: Path, obj: Any) -> None:
    text = json.dumps(obj, sort_keys=True, indent=2, default=_json_default)
    atomic_write_bytes(Path(path), (text + "\n").encode())


class JsonlWriter:
    """Append-only JSON lines, written under ``NAME.part`` until ``close(complete=True)``."""

    def __init__(self, path: Path, *, flush_each: bool = False):
        self.path = Path(path)
        self._part = self.path.with_name(self.path.name + ".part")
        self._handle = open(self._part, "w", buffering=1 << 16)
        self._flush_each = flush_each  # rare, precious records (metrics) show up at once
        self.count = 0

    def write(self, record: dict) -> None:
        self._handle.write(dumps(record))
        self._handle.write("\n")
        self.count += 1
        if self._flush_each:
            self._handle.flush()

    def close(self, complete: bool = True) -> None:
        if self._handle.closed:
            return
        self._handle.close()
        if complete:
            os.replace(self._part, self.path)


class RunDirectory:
    """A new folder holding one run's scenario, events, metrics, summary and checkpoints."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if (self.path / SUMMARY).exists():
            raise SemnetError(f"run directory '{self.path}' already holds a finished run; choose another --out")
        self.path.mkdir(parents=True, exist_ok=True)
        self.events = JsonlWriter(self.path / "events.jsonl")
        self.metrics = JsonlWriter(self.path / "metrics.jsonl", flush_each=True)

    def write_text(self, name: str, text: str) -> None:
        atomic_write_bytes(self.path / name, text.encode())

    def write_json(self, name: str, obj: Any) -> None:
        write_json(self.path / name, obj)

    def save_checkpoint(self, name: str, state: dict) -> Path:
        target = self.path / "checkpoints" / name
        target.parent.mkdir(exist_ok=True)
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(target, buffer.getvalue())
        return target

    def discard_checkpoint(self, name: str) -> None:
        """Remove ``checkpoints/name`` if it is there (an interim file a finished run no longer needs)."""
        (self.path / "checkpoints" / name).unlink(missing_ok=True)

    def finish(self, summary: dict) -> None:
        """Close the streams, then write ``summary.json`` last (the completion mark)."""
        self.events.close(complete=True)
        self.metrics.close(complete=True)
        self.write_json(SUMMARY, _finite(summary))

    def abort(self) -> None:
        """Leave ``*.part`` files behind: visibly incomplete, nothing lost."""
        self.events.close(complete=False)
        self.metrics.close(complete=False)


def _finite(obj: Any) -> Any:
    """Replace NaN/inf by None so summary.json is strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
