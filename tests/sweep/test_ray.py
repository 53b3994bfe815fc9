"""The Ray backend: the same points give the same numbers as the local pool, and a
failed point is reported, not raised. Skipped when Ray is not installed."""

import json

import pytest

from semnet.cli.main import main
from semnet.sweep import load_sweep, run_sweep
from tests.sweep.conftest import finefed_dict

ray = pytest.importorskip("ray")

NUMBERS = ("psnr_db", "ssim", "worst_link_psnr_db", "bytes_total", "sim_time_s", "local_steps")


def test_cli_ray_backend_starts_its_own_ray_and_reports_a_failed_point(sweep_file, tmp_path, capsys):
    path = sweep_file({"points": [
        {"topology.kind": "star"},
        {"topology.kind": "star", "links.overrides": [{"src": 1, "dst": 2, "snr_db": 0.0}]},
    ]})
    assert main(["sweep", path, "--backend", "ray", "--workers", "2"]) == 1
    assert not ray.is_initialized()  # started here, so shut down here
    record = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert record["backend"] == "ray"
    assert [p["status"] for p in record["points"]] == ["complete", "failed"]
    assert record["points"][1]["error"] == "links.overrides: 1 -> 2 is not a link of the topology"
    assert "failed: links.overrides: 1 -> 2" in capsys.readouterr().out


@pytest.fixture
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


def test_local_and_ray_backends_give_identical_numbers(sweep_file, tmp_path, local_ray):
    spec = load_sweep(sweep_file({"grid": {"links.snr_offset_db": [-3, 3]}, "seeds": [1]}, base=finefed_dict()))
    local = run_sweep(spec, backend="local", workers=2, out=tmp_path / "local")
    remote = run_sweep(spec, backend="ray", workers=2, out=tmp_path / "ray")
    assert ray.is_initialized()  # the caller's Ray is left running
    assert [r.status for r in local] == [r.status for r in remote] == ["complete", "complete"]
    for a, b in zip(local, remote):
        assert a.name == b.name
        assert {k: a.summary[k] for k in NUMBERS} == {k: b.summary[k] for k in NUMBERS}
        assert a.summary["links"] == b.summary["links"]
    assert local[0].summary["psnr_db"] != local[1].summary["psnr_db"]  # the points do differ
    on_disk = json.loads((tmp_path / "ray" / local[1].name / "summary.json").read_text())
    assert on_disk["psnr_db"] == local[1].summary["psnr_db"]
