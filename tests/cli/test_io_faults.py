"""I/O faults are one line and resumable (issue 25, point 3).

A write that fails — a full disk (ENOSPC), a read-only folder (EROFS), a file over the
size limit (EFBIG) — at any file the run directory holds gives one line ``cannot write
PATH: <the system's words>``, exit status 2, no ``*.tmp`` left behind, ``status.json``
saying ``interrupted``; ``semnet run --resume`` then continues the run to outputs equal
to those of a run that was never stopped. The faults are injected into the files the
run directory opens (``semnet.metrics.rundir.open``), and one for real: ``ulimit -f``.
"""

import errno
import json
import os
import resource
import subprocess
import sys

import pytest
import yaml

import semnet.metrics.rundir as rundir
from semnet.cli.main import EXIT_USER_ERROR, main
from tests.cli.test_resume import REPO, _raw, assert_same_run

REAL_OPEN = open


class Fault:
    """Fail the ``nth`` write (counted from 1) to files named ``name`` with ``code``;
    ``persist``: every later write to any file of the run fails too (a disk that stays full)."""

    def __init__(self, name: str, code: int, nth: int = 1, persist: bool = False):
        self.name, self.code, self.nth, self.persist = name, code, nth, persist
        self.writes = 0
        self.fired = False

    def check(self, path: str) -> None:
        if self.fired and self.persist:
            self.raise_(path)
        if os.path.basename(path) == self.name and not self.fired:
            self.writes += 1
            if self.writes == self.nth:
                self.fired = True
                self.raise_(path)

    def raise_(self, path: str):
        raise OSError(self.code, os.strerror(self.code), path)


class FaultyFile:
    """A file object whose writes go through ``fault`` first."""

    def __init__(self, handle, path: str, fault: Fault):
        self._handle, self._path, self._fault = handle, path, fault

    def write(self, data):
        self._fault.check(self._path)
        return self._handle.write(data)

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()


@pytest.fixture
def inject(monkeypatch):
    def arm(fault: Fault) -> Fault:
        def faulty_open(path, mode="r", *args, **kwargs):
            if any(flag in mode for flag in "wa+") and fault.persist and fault.fired:
                fault.raise_(str(path))
            return FaultyFile(REAL_OPEN(path, mode, *args, **kwargs), str(path), fault)

        monkeypatch.setattr(rundir, "open", faulty_open, raising=False)
        return fault

    return arm


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    from semnet.runner import run_scenario
    from semnet.scenario import validate

    out = tmp_path_factory.mktemp("io") / "whole"
    run_scenario(validate(_raw()), out_dir=out)
    return out


def _scenario(tmp_path) -> str:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(_raw(), sort_keys=False))
    return str(path)


def _one_line(capsys, rc) -> str:
    err = capsys.readouterr().err
    assert rc == EXIT_USER_ERROR, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def _no_temporary_files(path) -> None:
    left = [str(p) for p in path.rglob("*.tmp")]
    assert left == []


WORDS = {errno.ENOSPC: "No space left on device", errno.EROFS: "Read-only file system",
         errno.EFBIG: "File too large"}


@pytest.mark.parametrize("name, code, nth", [
    ("events.jsonl.part", errno.ENOSPC, 40),  # a record mid-run
    ("metrics.jsonl.part", errno.EFBIG, 3),
    ("resume.pt.tmp", errno.ENOSPC, 6),  # a checkpoint mid-run: the previous one stays
    ("call00001.pt.tmp", errno.EROFS, 1),  # a completed call's own file
    ("last_phase.pt.tmp", errno.EFBIG, 2),  # an interim model checkpoint
    ("personal.pt.tmp", errno.ENOSPC, 1),  # a final model checkpoint, after the last round
    ("summary.json.tmp", errno.ENOSPC, 1),  # the completion mark itself
    ("summary.json.tmp", errno.EROFS, 1),
], ids=lambda v: v if isinstance(v, str) else errno.errorcode.get(v, v) if v in WORDS else str(v))
def test_a_write_fault_stops_the_run_in_one_line_and_it_resumes(tmp_path, capsys, monkeypatch, inject, uninterrupted,
                                                                name, code, nth):
    out = tmp_path / "run"
    fault = inject(Fault(name, code, nth))
    rc = main(["run", _scenario(tmp_path), "--out", str(out), "--quiet"])
    assert fault.fired
    err = _one_line(capsys, rc)
    assert f"cannot write {out}" in err and WORDS[code] in err, err
    assert f"semnet run --resume {out}" in err
    _no_temporary_files(out)
    assert json.loads((out / "status.json").read_text())["status"] == "interrupted"
    assert not (out / "summary.json").exists() and (out / "events.jsonl.part").exists()
    monkeypatch.delattr(rundir, "open")  # there is room again
    assert main(["run", "--resume", str(out), "--quiet"]) == 0
    assert_same_run(uninterrupted, out)


def test_a_disk_that_stays_full_leaves_a_run_that_resumes(tmp_path, capsys, monkeypatch, inject, uninterrupted):
    # status.json cannot be written either: the run reads as unfinished, which resumes too
    out = tmp_path / "run"
    inject(Fault("events.jsonl.part", errno.ENOSPC, 60, persist=True))
    err = _one_line(capsys, main(["run", _scenario(tmp_path), "--out", str(out), "--quiet"]))
    assert "No space left on device" in err
    _no_temporary_files(out)
    assert not (out / "status.json").exists()
    monkeypatch.delattr(rundir, "open")
    assert main(["run", "--resume", str(out), "--quiet"]) == 0
    assert_same_run(uninterrupted, out)


def test_a_read_only_out_folder_is_one_line_and_nothing_is_written(tmp_path, capsys, monkeypatch):
    out = tmp_path / "readonly"
    out.mkdir()

    def read_only(path, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return REAL_OPEN(path, mode, *args, **kwargs)

    monkeypatch.setattr(rundir, "open", read_only, raising=False)
    err = _one_line(capsys, main(["run", _scenario(tmp_path), "--out", str(out), "--quiet"]))
    assert f"cannot write {out}: Read-only file system" in err
    assert "--resume" not in err  # nothing to resume: nothing was written
    assert list(out.iterdir()) == []


def test_an_out_folder_that_cannot_be_made_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    err = _one_line(capsys, main(["run", _scenario(tmp_path), "--out", str(blocker / "run"), "--quiet"]))
    assert f"cannot write {blocker / 'run'}: Not a directory" in err


def _limit_file_size(limit: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_file_over_ulimit_f_stops_the_run_and_it_resumes(tmp_path, uninterrupted):
    # for real: the kernel refuses the write past RLIMIT_FSIZE (EFBIG; Python ignores SIGXFSZ)
    out = tmp_path / "run"
    scenario = _scenario(tmp_path)
    env = {**os.environ, "PYTHONPATH": REPO, "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, "-m", "semnet.cli.main", "run", scenario, "--out", str(out), "--quiet"]
    # 120 kB: the first checkpoints (about 90 kB) are written, a later one (about 190 kB) is not
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
                          preexec_fn=_limit_file_size(120_000))
    assert proc.returncode == EXIT_USER_ERROR, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "File too large" in proc.stderr, proc.stderr
    _no_temporary_files(out)
    assert json.loads((out / "status.json").read_text())["status"] == "interrupted"
    resumed = subprocess.run([sys.executable, "-m", "semnet.cli.main", "run", "--resume", str(out), "--quiet"],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_run(uninterrupted, out)


def test_a_sweep_directory_that_cannot_be_made_is_one_line(tmp_path, capsys):
    from tests.cli.conftest import exchange_scenario

    blocker = tmp_path / "file"
    blocker.write_text("x")
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({"base": exchange_scenario(), "seeds": [0], "out": str(blocker / "sweep")}))
    err = _one_line(capsys, main(["sweep", str(sweep)]))
    assert f"cannot write {blocker / 'sweep'}: Not a directory" in err


def test_a_fault_before_the_first_checkpoint_is_one_line_and_the_run_starts_afresh(tmp_path, capsys, monkeypatch,
                                                                                     inject, uninterrupted):
    out = tmp_path / "run"
    inject(Fault("scenario.yaml.tmp", errno.ENOSPC, 1))
    err = _one_line(capsys, main(["run", _scenario(tmp_path), "--out", str(out), "--quiet"]))
    assert f"cannot write {out / 'scenario.yaml'}: No space left on device" in err
    _no_temporary_files(out)
    assert json.loads((out / "status.json").read_text())["status"] == "interrupted"
    monkeypatch.delattr(rundir, "open")
    # nothing to resume from: one line that says so, then the run starts afresh
    assert "no resume checkpoint" in _one_line(capsys, main(["run", "--resume", str(out), "--quiet"]))
    assert main(["run", _scenario(tmp_path), "--out", str(out), "--overwrite", "--quiet"]) == 0
    assert_same_run(uninterrupted, out)
