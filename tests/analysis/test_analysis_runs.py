import math

import pytest
import yaml

from semnet.outcomes import OPTIONAL, OUTCOMES
from semnet.analysis.runs import (
    AnalysisError,
    find_run_dirs,
    group_by_label,
    group_by_method,
    group_by_seed,
    load_run,
    load_runs,
    scenario_value,
    variants_of,
)


def test_finds_runs_recursively_and_skips_unfinished(main_runs):
    dirs = find_run_dirs([main_runs])
    assert [d.name for d in dirs] == ["fedavg-seed1", "fedavg-seed2", "finefed-seed1", "finefed-seed2"]
    # a run directory given directly, and its summary.json, find the same run once
    one = main_runs / "nested" / "fedavg-seed1"
    assert find_run_dirs([one, one / "summary.json"]) == [one.resolve()]


def test_load_reads_all_three_files(main_runs):
    run = load_run(main_runs / "nested" / "finefed-seed2")
    assert run.method == "finefed" and run.seed == 2
    assert run.scenario["topology"]["num_users"] == 3
    assert scenario_value(run, "links.snr_db") == 10.0
    assert scenario_value(run, "links.nope") is None
    # validation points are not test points; branches are kept apart
    assert [p["bytes_cumulative"] for p in run.test_points()] == [500_000, 1_000_000, 1_400_000]
    assert len(run.test_points("control_compute_matched")) == 2


def test_load_reads_gzipped_metrics(main_runs, tmp_path):
    """Records kept compressed (metrics.jsonl.gz) read the same as the plain file."""
    import gzip
    import shutil

    plain = main_runs / "nested" / "finefed-seed1"
    packed = tmp_path / "finefed-seed1"
    shutil.copytree(plain, packed)
    (packed / "metrics.jsonl.gz").write_bytes(gzip.compress((packed / "metrics.jsonl").read_bytes()))
    (packed / "metrics.jsonl").unlink()
    assert len(load_run(packed).metrics) == 6
    assert load_run(packed).metrics == load_run(plain).metrics


@pytest.mark.parametrize("bad", ["missing", "empty"])
def test_no_runs_is_one_clear_error(tmp_path, bad):
    target = tmp_path / "missing" if bad == "missing" else tmp_path
    with pytest.raises(AnalysisError, match="does not exist|no run directories"):
        load_runs([target])


def test_finefed_expands_into_start_controls_and_final(main_runs):
    run = load_run(main_runs / "nested" / "finefed-seed1")
    variants = {v.label: v for v in variants_of(run)}
    assert list(variants) == ["finefed/start", "finefed/compute_matched", "finefed"]
    start, control, final = variants.values()
    measured = {k: v for k, v in start.values.items() if not math.isnan(v)}
    assert measured == {"psnr_db": 20.0, "worst_link_psnr_db": 18.0, "ssim": pytest.approx(0.81),
                        "bytes": 1e6, "sim_time_s": 11.0, "wall_time_s": 5.0, "local_steps": 100}
    # without energy or traffic, those outcomes are NaN; without a task or large images, the optional ones are absent
    assert set(start.values) == set(OUTCOMES) - set(OPTIONAL)
    assert start.links == run.summary["phases"][0]["links"] and len(start.links) == 6
    # a control costs the start plus its own branch
    assert control.values["bytes"] == 1e6 + 6e5
    assert control.values["sim_time_s"] == 11.0 + 4.0
    assert control.values["local_steps"] == 140
    assert control.values["wall_time_s"] == 6.5
    assert control.values["psnr_db"] == 20.5 and control.branch == "control_compute_matched"
    assert len(control.links) == 6
    assert final.values["psnr_db"] == 21.0 and final.values["bytes"] == 1.4e6
    assert final.values["wall_time_s"] == 7.0  # phases only, not the run's set-up overhead
    assert final.links == run.summary["links"]


def test_plain_method_is_one_row(main_runs):
    (v,) = variants_of(load_run(main_runs / "nested" / "fedavg-seed2"))
    assert (v.label, v.kind, v.values["psnr_db"], v.values["bytes"]) == ("fedavg", "final", 22.0, 1e6)


def test_grouping(main_runs):
    runs = load_runs([main_runs])
    groups = group_by_label(variants_of(runs))
    assert list(groups) == ["fedavg", "finefed/start", "finefed/compute_matched", "finefed"]
    assert [v.seed for v in groups["finefed"]] == [1, 2]
    assert {m: [r.seed for r in rs] for m, rs in group_by_method(runs).items()} == {"fedavg": [1, 2], "finefed": [1, 2]}
    assert {s: sorted(r.method for r in rs) for s, rs in group_by_seed(runs).items()} == {
        1: ["fedavg", "finefed"], 2: ["fedavg", "finefed"]}


def test_missing_values_become_nan(make_run, tmp_path):
    path = make_run(tmp_path / "r", method="fedavg")
    import json

    summary = json.loads((path / "summary.json").read_text())
    summary["psnr_db"] = None  # e.g. the exchange method, or NaN made strict JSON
    (path / "summary.json").write_text(json.dumps(summary))
    (v,) = variants_of(load_run(path))
    assert math.isnan(v.values["psnr_db"])


def test_finefed_on_other_algorithms_keeps_its_own_rows(tmp_path, make_run):
    """FineFed on a SCAFFOLD start is not a second seed of FineFed on FedAvg."""
    make_run(tmp_path / "on_fedavg", method="finefed", seed=0)
    scaffold = make_run(tmp_path / "on_scaffold", method="finefed", seed=0)
    scenario = yaml.safe_load((scaffold / "scenario.yaml").read_text())
    scenario["method"]["federated"] = {"algorithm": "scaffold"}
    (scaffold / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    groups = group_by_label(variants_of(load_runs([tmp_path])))
    assert [len(groups[k]) for k in ("finefed", "finefed@scaffold", "finefed@scaffold/start")] == [1, 1, 1]
    assert "finefed@scaffold/compute_matched" in groups
