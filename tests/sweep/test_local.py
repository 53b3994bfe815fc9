"""Sweeps on the local process pool: skip what is finished, resume what is not, isolate
failures, and the ``semnet sweep`` command end to end."""

import fcntl
import json

import pytest
import yaml

from semnet.cli.main import main
from semnet.errors import ScenarioError, SemnetError
from semnet.sweep import driver, load_sweep, run_sweep
from semnet.sweep.backends import LocalBackend
from semnet.sweep.driver import LOCK_FILE, SWEEP_RECORD
from tests.sweep.conftest import finefed_dict
from tests.sweep.crashing import crash_on_second_point

SNR_GRID = {"grid": {"links.snr_offset_db": [-3, 3]}, "seeds": [0]}


def _mtimes(paths):
    return {p.name: (p / "summary.json").stat().st_mtime_ns for p in paths}


def test_finished_points_are_skipped_and_a_killed_point_reruns_alone(sweep_file, tmp_path):
    spec = load_sweep(sweep_file(SNR_GRID))
    first = run_sweep(spec, workers=2)
    assert [r.status for r in first] == ["complete", "complete"]
    assert all(r.error is None and r.summary["bytes_total"] > 0 for r in first)
    dirs = [r.path for r in first]
    assert {p.name for p in dirs} == {"links.snr_offset_db=-3__seed=0", "links.snr_offset_db=3__seed=0"}
    assert all((p / "scenario.yaml").is_file() and (p / "events.jsonl").is_file() for p in dirs)
    stored = yaml.safe_load((dirs[1] / "scenario.yaml").read_text())
    assert stored["links"]["snr_offset_db"] == 3.0  # each point keeps its resolved scenario
    before = _mtimes(dirs)

    # run again: no work, the same numbers read back from disk
    again = run_sweep(spec, workers=2)
    assert [r.status for r in again] == ["skipped", "skipped"]
    assert _mtimes(dirs) == before
    assert [r.summary["sim_time_s"] for r in again] == [r.summary["sim_time_s"] for r in first]

    # simulate a sweep killed during point 2: no summary, a stale partial stream left behind
    (dirs[1] / "summary.json").unlink()
    (dirs[1] / "events.jsonl").rename(dirs[1] / "events.jsonl.part")
    resumed = run_sweep(spec, workers=2)
    assert [r.status for r in resumed] == ["skipped", "complete"]
    assert _mtimes(dirs[:1]) == {dirs[0].name: before[dirs[0].name]}
    assert not (dirs[1] / "events.jsonl.part").exists()  # the partial run was cleared, then rerun
    assert resumed[1].summary["bytes_total"] == first[1].summary["bytes_total"]

    record = json.loads((tmp_path / "out" / SWEEP_RECORD).read_text())
    assert record["state"] == "finished"
    assert [p["status"] for p in record["points"]] == ["skipped", "complete"]
    assert record["points"][1]["overrides"] == {"links.snr_offset_db": 3, "seed": 0}
    assert record["points"][1]["bytes_total"] == first[1].summary["bytes_total"]

    # the sweep changed since: a finished run of another scenario is an error, not a silent skip
    changed = sweep_file({**SNR_GRID, "set": ["method.exchange.rounds=3"]})
    with pytest.raises(ScenarioError, match=r"holds a finished run of a different scenario "
                                            r"\(method.exchange.rounds: 2 there, 3 here\)"):
        run_sweep(changed)


def test_a_failed_point_is_recorded_and_the_others_complete(sweep_file, tmp_path, capsys):
    path = sweep_file({"points": [
        {"topology.kind": "star"},
        # valid scenario, fails at run time: 1 -> 2 is no link of a star around 0
        {"topology.kind": "star", "links.overrides": [{"src": 1, "dst": 2, "snr_db": 0.0}]},
        # a learning method whose data folder does not exist
        {"method.name": "finefed", "data.source": "folder", "data.path": str(tmp_path / "no-such-images")},
        # its directory holds someone's files: never deleted, the point fails instead
        {"topology.kind": "ring"},
    ]})
    keep = tmp_path / "out" / "topology.kind=ring"
    keep.mkdir(parents=True)
    (keep / "notes.txt").write_text("mine")
    status = main(["sweep", path, "--workers", "2"])
    assert status == 1
    out = capsys.readouterr().out
    record = json.loads((tmp_path / "out" / SWEEP_RECORD).read_text())
    points = record["points"]
    assert [p["status"] for p in points] == ["complete", "failed", "failed", "failed"]
    assert "is not an unfinished semnet run" in points[3]["error"]
    assert (keep / "notes.txt").read_text() == "mine"
    assert points[1]["error"] == "links.overrides: 1 -> 2 is not a link of the topology"
    assert points[2]["error"].startswith("data.path ") and "no-such-images" in points[2]["error"]
    assert all("\n" not in p["error"] for p in points[1:])
    assert record["state"] == "finished" and record["counts"] == {"complete": 1, "failed": 3}
    assert (tmp_path / "out" / points[1]["name"] / "error.txt").is_file()
    assert "point 2 (topology.kind=star__links.overrides=" in out and "failed: links.overrides: 1 -> 2" in out
    assert "complete" in out


def test_a_point_that_kills_its_worker_fails_alone(sweep_file, tmp_path, monkeypatch):
    class CrashingBackend(LocalBackend):
        target = staticmethod(crash_on_second_point)

    monkeypatch.setattr(driver, "open_backend", lambda name, n, workers, address: CrashingBackend(n, workers))
    results = run_sweep(load_sweep(sweep_file({"seeds": [0, 1, 2]})), workers=2)
    assert [r.status for r in results] == ["complete", "failed", "complete"]
    assert "worker process died" in results[1].error


def test_a_second_sweep_into_the_same_directory_is_refused(sweep_file, tmp_path):
    path = sweep_file({"seeds": [0]})
    (tmp_path / "out").mkdir()
    with open(tmp_path / "out" / LOCK_FILE, "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(SemnetError, match="another sweep is running"):
            run_sweep(path)
    assert not (tmp_path / "out" / "seed=0").exists()


def test_cli_sweep_end_to_end(sweep_file, tmp_path, capsys):
    path = sweep_file({"grid": {"links.snr_offset_db": [-3, 3]}, "seeds": [1]}, base=finefed_dict())
    out = tmp_path / "cli-out"
    assert main(["sweep", path, "--workers", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    header, *rows = text.splitlines()[:3]
    assert header.split() == ["point", "status", "psnr_db", "bytes_total", "sim_time_s"]
    assert rows[0].split()[:2] == ["links.snr_offset_db=-3", "seed=1"] and "complete" in rows[0]
    summary = json.loads((out / "links.snr_offset_db=3__seed=1" / "summary.json").read_text())
    assert f"{summary['psnr_db']:.2f}" in rows[1] and str(summary["bytes_total"]) in rows[1]
    assert f"sweep directory: {out}" in text
    assert not (tmp_path / "out").exists()  # --out wins over the file's out

    assert main(["sweep", path, "--out", str(out)]) == 0
    assert capsys.readouterr().out.count("skipped") == 2


def test_cli_bad_point_is_one_line_exit_2(sweep_file, capsys):
    path = sweep_file({"grid": {"links.snr": [1]}})
    assert main(["sweep", path]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown key 'links.snr'" in err


def test_cli_set_reaches_every_point(sweep_file, tmp_path, capsys):
    path = sweep_file({"grid": {"links.snr_offset_db": [-3, 3]}, "set": ["links.snr_db=5"]})
    out = tmp_path / "set"
    assert main(["sweep", path, "--workers", "1", "--out", str(out), "--set", "links.snr_db=7",
                 "--set", "method.exchange.rounds=1"]) == 0
    capsys.readouterr()
    for offset in (-3, 3):
        stored = yaml.safe_load((out / f"links.snr_offset_db={offset}" / "scenario.yaml").read_text())
        # --set comes after the file's set and before each point's own keys
        assert (stored["links"]["snr_db"], stored["links"]["snr_offset_db"]) == (7.0, offset)
        assert stored["method"]["exchange"]["rounds"] == 1
    assert json.loads((out / SWEEP_RECORD).read_text())["spec"]["set"] == [
        "links.snr_db=5", "links.snr_db=7", "method.exchange.rounds=1"]


@pytest.mark.parametrize("text, expected", [
    ("links.snr", "--set 'links.snr': expected KEY.PATH=VALUE"),
    ("links.bandwidth_hz=-1", "links.bandwidth_hz = -1"),
])
def test_cli_bad_set_is_one_line_exit_2(sweep_file, tmp_path, capsys, text, expected):
    path = sweep_file({"seeds": [0]})
    assert main(["sweep", path, "--set", text, "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err
    assert not (tmp_path / "bad").exists()
