"""The run directory: every file is written so that an interrupted run never leaves a
partial file that looks complete, and one writer at a time.

JSONL streams are written to ``NAME.part`` and renamed when the run finishes; JSON
and checkpoint files are written to a temporary name and ``os.replace``d. A run is
complete exactly when ``summary.json`` exists. A run that stops early (diverged,
interrupted, crashed) keeps its ``*.part`` streams and checkpoints and says why in
``status.json``.

The writer holds an exclusive ``flock`` on ``.lock`` for the whole run, so a second
``semnet run`` into the same directory gets one line instead of interleaved files;
the kernel drops the lock when the process dies, even by ``kill -9``.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from semnet.errors import SemnetError, StorageError, cannot_write

SUMMARY = "summary.json"
STATUS = "status.json"
LOCK = ".lock"
# everything a run writes (``--overwrite`` removes exactly these; other files stay)
RUN_FILES = ("scenario.yaml", "events.jsonl", "events.jsonl.part", "metrics.jsonl", "metrics.jsonl.part",
             "images.jsonl", "images.jsonl.part", SUMMARY, STATUS, "error.txt", "checkpoints")


def _json_default(value: Any):
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(obj: Any) -> str:
    """Deterministic compact JSON (sorted keys) used for every record; NaN and
    infinities are written as ``null`` (strict JSON readers reject bare ``NaN``)."""
    return _strict_json(obj)


def _strict_json(obj: Any, indent: int | None = None) -> str:
    try:
        return json.dumps(obj, sort_keys=True, indent=indent, default=_json_default, allow_nan=False)
    except ValueError:  # rare (a metric of no images, a diverged model): clean, then write
        plain = json.loads(json.dumps(obj, default=_json_default, allow_nan=True))
        return json.dumps(finite(plain), sort_keys=True, indent=indent, allow_nan=False)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """``data`` to ``path`` through ``PATH.tmp`` and ``os.replace``: ``path`` is the old
    file or the new one, never a part. A write that fails (a full disk, a read-only
    folder, a file over the size limit) removes the temporary file and raises
    :class:`StorageError` (one line)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as err:
        _remove_quietly(tmp)
        raise cannot_write(path, err) from None


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def write_json(path: Path, obj: Any) -> None:
    """``obj`` as indented strict JSON (NaN -> null), replacing ``path`` atomically."""
    text = _strict_json(obj, indent=2)
    atomic_write_bytes(Path(path), (text + "\n").encode())


class JsonlWriter:
    """Append-only JSON lines, written under ``NAME.part`` until ``close(complete=True)``."""

    def __init__(self, path: Path, *, flush_each: bool = False, resume_at: int | None = None):
        self.path = Path(path)
        self._part = self.path.with_name(self.path.name + ".part")
        try:
            if resume_at is None:
                self._handle = open(self._part, "w", buffering=1 << 16)
            else:  # a resumed run: cut the stream back to its checkpoint, then append
                self._handle = open(self._part, "r+", buffering=1 << 16)
                self._handle.truncate(resume_at)
                self._handle.seek(resume_at)
        except OSError as err:
            raise cannot_write(self._part, err) from None
        self._flush_each = flush_each  # rare, precious records (metrics) show up at once
        self.count = 0
        self.muted = False  # a resumed run replaying up to its checkpoint writes nothing

    def offset(self) -> int:
        """Bytes written so far, flushed and synced (what a checkpoint records)."""
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            return self._handle.tell()
        except OSError as err:
            raise cannot_write(self._part, err) from None

    def write(self, record: dict) -> None:
        if self.muted:
            return
        try:
            self._handle.write(dumps(record) + "\n")
            if self._flush_each:
                self._handle.flush()
        except OSError as err:  # a full disk, a file over the size limit: what is lost is after the checkpoint
            raise cannot_write(self._part, err) from None
        self.count += 1

    def close(self, complete: bool = True) -> None:
        """Close the stream; ``complete``: rename it to its final name."""
        if not self._handle.closed:
            try:
                self._handle.close()
            except OSError as err:
                raise cannot_write(self._part, err) from None
        if complete:
            self.publish()

    def close_quietly(self) -> None:
        """Close the stream, keeping it as ``NAME.part``, whatever the disk says (a run
        that stops: what did not reach the disk lies after its last checkpoint)."""
        if self._handle.closed:
            return
        try:
            self._handle.close()
        except OSError:
            try:
                self._handle.close()  # the buffer could not be written: close the file anyway
            except OSError:
                pass

    def publish(self) -> None:
        """``NAME.part`` -> ``NAME`` (a closed, complete stream)."""
        try:
            os.replace(self._part, self.path)
        except OSError as err:
            raise cannot_write(self.path, err) from None

    def unpublish(self) -> None:
        """``NAME`` -> ``NAME.part`` again (the run could not be marked complete)."""
        try:
            os.replace(self.path, self._part)
        except OSError:
            pass


def run_state(path: str | Path) -> dict | None:
    """What ``path`` holds: ``None`` (nothing of a run: absent or no run files),
    ``{"status": "complete"}``, the ``status.json`` of a run that stopped early, or
    ``{"status": "unfinished"}`` (files of a run that never said why it stopped:
    killed, or still running)."""
    path = Path(path)
    if (path / SUMMARY).is_file():
        return {"status": "complete"}
    if not path.is_dir() or not any((path / name).exists() for name in RUN_FILES):
        return None
    try:
        status = json.loads((path / STATUS).read_text())
        if isinstance(status, dict) and "status" in status:
            return status
    except (OSError, ValueError):
        pass
    return {"status": "unfinished"}


def describe_state(state: dict) -> str:
    """A few words on an unfinished run for error lines: 'failed (...)', 'interrupted ...'."""
    kind = state.get("status", "unfinished")
    if kind == "unfinished":
        return "an unfinished run (no summary.json: killed, or still running)"
    error = state.get("error")
    article = "an" if str(kind)[:1] in "aeiou" else "a"
    return f"{article} {kind} run ({error})" if error else f"{article} {kind} run"


def check_target(path: str | Path, *, overwrite: bool = False) -> None:
    """Refuse, before anything is loaded or written, a run directory that another
    process is writing, or that holds a run ``--overwrite`` was not given for."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise SemnetError(f"run directory '{path}' exists and is not a directory; choose another --out")
    if (path / LOCK).is_file():
        try:
            handle = open(path / LOCK)  # read only: a read-only folder is reported when it is written
        except OSError as err:
            raise SemnetError(f"run directory '{path}': cannot read its {LOCK}: "
                              f"{err.strerror or type(err).__name__}") from None
        with handle:
            _lock(handle, path)
    if not overwrite:
        _refuse_existing(path)


def _refuse_existing(path: Path) -> None:
    state = run_state(path)
    if state is None:
        return
    if state["status"] == "complete":
        raise SemnetError(f"run directory '{path}' already holds a finished run; choose another --out, "
                          "or pass --overwrite to replace it")
    raise SemnetError(f"run directory '{path}' holds {describe_state(state)}; continue it with 'semnet run "
                      f"--resume {path}', pass --overwrite to start it afresh, or choose another --out")


def _lock(handle, path: Path) -> None:
    """Take the exclusive lock on ``handle`` (the directory's ``.lock``) or raise one line."""
    import fcntl

    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip()
        who = f" (pid {holder})" if holder.isdigit() else ""
        raise SemnetError(f"run directory '{path}' is being written by another semnet process{who}; "
                          "wait for it to finish or choose another --out") from None


class RunDirectory:
    """A folder holding one run's scenario, events, metrics, summary and checkpoints,
    locked for its writer until ``finish``, ``fail`` or ``abort``.

    A folder that holds a run already is refused (one line) unless ``overwrite``,
    which removes that run's files first (never other files). With ``images`` the run
    also writes ``images.jsonl`` (one record per live image, ``self.images``).
    """

    def __init__(self, path: str | Path, *, overwrite: bool = False, resume_offsets: dict | None = None,
                 images: bool = False):
        self.path = Path(path)
        self._stopped = False
        if self.path.exists() and not self.path.is_dir():
            raise SemnetError(f"run directory '{self.path}' exists and is not a directory; choose another --out")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._lock_handle = open(self.path / LOCK, "a+")
        except OSError as err:  # a read-only folder, a full disk: nothing was written
            raise cannot_write(self.path, err) from None
        streams: list[JsonlWriter] = []
        try:
            _lock(self._lock_handle, self.path)
            try:
                if resume_offsets is not None:
                    (self.path / STATUS).unlink(missing_ok=True)  # live again
                elif overwrite:
                    _remove_run_files(self.path)
                else:
                    _refuse_existing(self.path)
                self._lock_handle.truncate(0)
                self._lock_handle.write(str(os.getpid()))
                self._lock_handle.flush()
            except OSError as err:
                raise cannot_write(self.path, err) from None
            offsets = resume_offsets or {}
            self.events = JsonlWriter(self.path / "events.jsonl", resume_at=offsets.get("events"))
            streams.append(self.events)
            self.metrics = JsonlWriter(self.path / "metrics.jsonl", flush_each=True, resume_at=offsets.get("metrics"))
            streams.append(self.metrics)
            self.images = JsonlWriter(self.path / "images.jsonl", resume_at=offsets.get("images")) if images else None
        except BaseException:
            for stream in streams:
                stream.close_quietly()
            self._lock_handle.close()
            raise

    def write_text(self, name: str, text: str) -> None:
        atomic_write_bytes(self.path / name, text.encode())

    def write_json(self, name: str, obj: Any) -> None:
        write_json(self.path / name, obj)

    def save_checkpoint(self, name: str, state: dict) -> Path:
        target = self.path / "checkpoints" / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise cannot_write(target.parent, err) from None
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(target, buffer.getvalue())
        return target

    @property
    def _streams(self) -> list[JsonlWriter]:
        return [self.events, self.metrics] + ([self.images] if self.images is not None else [])

    def stream_offsets(self) -> dict:
        """Where ``events.jsonl``, ``metrics.jsonl`` (and ``images.jsonl``) end now (flushed to disk)."""
        offsets = {"events": self.events.offset(), "metrics": self.metrics.offset()}
        if self.images is not None:
            offsets["images"] = self.images.offset()
        return offsets

    def mute(self, muted: bool) -> None:
        """Drop (or stop dropping) every record written to the streams."""
        for stream in self._streams:
            stream.muted = muted

    def discard_checkpoint(self, name: str) -> None:
        """Remove ``checkpoints/name`` (a file or a folder) if it is there: interim files
        a finished run no longer needs."""
        target = self.path / "checkpoints" / name
        try:
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
        except OSError as err:
            raise cannot_write(target, err) from None

    def finish(self, summary: dict, discard: tuple[str, ...] | set[str] = ()) -> None:
        """Close the streams, then write ``summary.json`` last (the completion mark). If
        that cannot be written the streams are ``*.part`` again and the checkpoints stay:
        the run is not complete, and resumes. Then the checkpoints named in ``discard``
        (interim files a finished run no longer needs) are removed."""
        for stream in self._streams:
            stream.close(complete=False)
        published: list[JsonlWriter] = []
        try:
            for stream in self._streams:
                stream.publish()
                published.append(stream)
            self.write_json(SUMMARY, summary)
        except StorageError:
            for stream in published:
                stream.unpublish()
            raise
        self._stopped = True
        for name in sorted(discard):
            try:
                self.discard_checkpoint(name)
            except StorageError:  # the run is complete; a leftover interim file is harmless
                pass
        self._unlock()

    def fail(self, status: dict) -> None:
        """Stop early and say why: the streams stay ``*.part`` (nothing lost, visibly
        incomplete), checkpoints stay, ``status.json`` holds ``status``. Once only (a
        second call does nothing); a ``status.json`` that cannot be written (the disk is
        full) is left out: the run then reads as unfinished, which resumes too."""
        if self._stopped:
            return
        self._stopped = True
        for stream in self._streams:
            stream.close_quietly()
        try:
            self.write_json(STATUS, status)
        except StorageError:
            pass
        self._unlock()

    def abort(self) -> None:
        """Leave ``*.part`` files behind: visibly incomplete, nothing lost."""
        self._stopped = True
        for stream in self._streams:
            stream.close_quietly()
        self._unlock()

    def _unlock(self) -> None:
        if not self._lock_handle.closed:
            self._lock_handle.close()  # closing the file releases the flock


def _remove_run_files(path: Path) -> None:
    for name in RUN_FILES:
        target = path / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)


def finite(obj: Any) -> Any:
    """Replace NaN/inf by None so that JSON is strict."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj
