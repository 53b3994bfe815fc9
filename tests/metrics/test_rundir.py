"""The run directory: one writer at a time, never a silent truncation of an earlier
run, strict JSON (NaN -> null), and a readable state of what a folder holds."""

import json
import math

import numpy as np
import pytest

from semnet.errors import SemnetError
from semnet.metrics.rundir import LOCK, STATUS, RunDirectory, check_target, dumps, run_state, write_json


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path):
    first = RunDirectory(tmp_path / "run")
    with pytest.raises(SemnetError, match=r"being written by another semnet process \(pid \d+\)"):
        RunDirectory(tmp_path / "run")
    with pytest.raises(SemnetError, match="being written"):
        check_target(tmp_path / "run", overwrite=True)  # --overwrite does not break a lock
    first.metrics.write({"x": 1})
    first.finish({"status": "complete"})
    assert (tmp_path / "run" / "metrics.jsonl").read_text() == '{"x": 1}\n'  # untouched by the refused writer


def test_the_lock_goes_with_the_writer(tmp_path):
    run = RunDirectory(tmp_path / "run")
    run.abort()
    check_target(tmp_path / "run", overwrite=True)  # no longer busy
    assert (tmp_path / "run" / LOCK).is_file()


def test_an_unfinished_run_is_refused_and_overwrite_starts_it_afresh(tmp_path):
    path = tmp_path / "run"
    run = RunDirectory(path)
    run.metrics.write({"old": True})
    run.save_checkpoint("interim.pt", {})
    run.abort()  # killed: *.part files, no summary
    (path / "notes.txt").write_text("mine")
    assert run_state(path) == {"status": "unfinished"}
    for attempt in (lambda: check_target(path), lambda: RunDirectory(path)):
        with pytest.raises(SemnetError, match="holds an unfinished run.*--resume.*--overwrite"):
            attempt()
    assert (path / "metrics.jsonl.part").read_text() == '{"old": true}\n'  # nothing truncated

    fresh = RunDirectory(path, overwrite=True)
    assert not (path / "checkpoints").exists() and (path / "notes.txt").read_text() == "mine"
    fresh.metrics.write({"new": True})
    fresh.finish({"status": "complete"})
    assert (path / "metrics.jsonl").read_text() == '{"new": true}\n'
    with pytest.raises(SemnetError, match="already holds a finished run.*--overwrite"):
        RunDirectory(path)
    RunDirectory(path, overwrite=True).abort()
    assert not (path / "summary.json").exists()


def test_a_failed_run_says_why(tmp_path):
    path = tmp_path / "run"
    run = RunDirectory(path)
    run.metrics.write({"psnr_db": float("nan")})
    run.fail({"status": "failed", "error": "run diverged: x", "phase": "p", "round": 3, "user": 1})
    assert run_state(path)["error"] == "run diverged: x"
    assert json.loads((path / STATUS).read_text())["round"] == 3
    assert (path / "metrics.jsonl.part").read_text() == '{"psnr_db": null}\n'
    with pytest.raises(SemnetError, match=r"holds a failed run \(run diverged: x\)"):
        check_target(path)


def test_an_empty_or_foreign_folder_is_no_run(tmp_path):
    assert run_state(tmp_path / "absent") is None
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "data.csv").write_text("1")
    assert run_state(tmp_path / "mine") is None
    RunDirectory(tmp_path / "mine").abort()  # usable, and its file stays
    assert (tmp_path / "mine" / "data.csv").is_file()
    (tmp_path / "file").write_text("")
    with pytest.raises(SemnetError, match="not a directory"):
        check_target(tmp_path / "file")


def test_json_is_strict():
    record = {"a": float("nan"), "b": [float("inf"), 1.5], "c": np.float32("nan"), "d": np.float64(2.0)}
    text = dumps(record)
    assert text == '{"a": null, "b": [null, 1.5], "c": null, "d": 2.0}'
    assert dumps({"b": 1, "a": 0.5}) == '{"a": 0.5, "b": 1}'  # finite records: as before, sorted keys
    json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name}"))


def test_write_json_is_strict(tmp_path):
    write_json(tmp_path / "x.json", {"v": -math.inf, "w": np.float32(1.0)})
    assert json.loads((tmp_path / "x.json").read_text(), parse_constant=lambda n: pytest.fail(n)) == {"v": None, "w": 1.0}
