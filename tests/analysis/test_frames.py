"""runs_frame, phases_frame and links_frame on synthetic run directories (conftest.write_run)."""

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from semnet.analysis import links_frame, phases_frame, runs_frame
from semnet.analysis.frames import LINKS_COLUMNS, PHASES_COLUMNS, RUNS_COLUMNS
from semnet.analysis.runs import AnalysisError, load_runs, variants_of


def _one(frame: pd.DataFrame, **where) -> pd.Series:
    rows = frame
    for key, value in where.items():
        rows = rows[rows[key] == value]
    assert len(rows) == 1, where
    return rows.iloc[0]


# ---------------------------------------------------------------------- runs_frame


def test_runs_frame_one_row_per_finished_run(main_runs):
    frame = runs_frame(main_runs)
    assert list(frame.columns[: len(RUNS_COLUMNS)]) == list(RUNS_COLUMNS)
    # the folder with only metrics.jsonl.part is not a run
    assert [Path(d).name for d in frame.run_dir] == ["fedavg-seed1", "fedavg-seed2", "finefed-seed1", "finefed-seed2"]
    assert frame.seed.dtype == "Int64" and list(frame.seed) == [1, 2, 1, 2]

    finefed = _one(frame, method="finefed", seed=1)
    assert finefed["psnr_db"] == pytest.approx(21.0)  # start 20 dB + 1 dB fine-tuning gain
    assert finefed["worst_link_psnr_db"] == pytest.approx(19.0)
    assert finefed["bytes_total"] == 1_400_000
    assert finefed["sim_time_s"] == pytest.approx(14.0)  # 10 + seed, + 3 s fine-tuning
    assert finefed["wall_time_s"] == pytest.approx(16.0)  # the summary's: phases 5 + 2 s, + 9 s set-up
    assert finefed["local_steps"] == 140
    assert (finefed["n_phases"], finefed["n_controls"], finefed["n_links"]) == (2, 1, 6)
    assert finefed["name"] == "synthetic" and finefed["status"] == "complete"
    # the summary's other scalars and its sections' scalars follow
    assert finefed["messages_total"] == 10 and finefed["device"] == "cpu"
    assert finefed["network.users"] == 3 and finefed["network.snr_db_min"] == 0.0
    assert finefed["finetune_budget.bytes"] == 400_000
    assert "network.positions_m" not in frame.columns and "links" not in frame.columns

    fedavg = _one(frame, method="fedavg", seed=2)
    assert (fedavg["psnr_db"], fedavg["bytes_total"], fedavg["n_controls"]) == (22.0, 1_000_000, 0)
    assert math.isnan(fedavg["finetune_budget.bytes"])


def test_runs_frame_scenario_keys_become_columns(snr_runs):
    frame = runs_frame(snr_runs, scenario_keys=["links.snr_db", "topology.num_users", "no.such_key"])
    assert list(frame.columns[-3:]) == ["links.snr_db", "topology.num_users", "no.such_key"]
    assert sorted(frame["links.snr_db"].unique()) == [0.0, 10.0]
    assert frame["no.such_key"].isna().all()
    # start PSNR 15 + snr/2 + seed: the columns line up with the runs they came from
    fedavg = frame[frame.method == "fedavg"]
    expected = 15.0 + fedavg["links.snr_db"] / 2 + fedavg["seed"].astype(float)
    assert list(fedavg["psnr_db"]) == pytest.approx(list(expected))


def test_missing_values_are_nan(make_run, tmp_path):
    path = make_run(tmp_path / "exchange", method="exchange")
    summary = json.loads((path / "summary.json").read_text())
    summary.update(psnr_db=None, ssim=None)  # the runner writes NaN as null
    (path / "summary.json").write_text(json.dumps(summary))
    (path / "scenario.yaml").write_text("name: synthetic\n")
    row = runs_frame(path).iloc[0]
    assert math.isnan(row["psnr_db"]) and math.isnan(row["ssim"]) and row["worst_link_psnr_db"] == 18.0
    assert row["seed"] == 1
    # no traffic: section and no energy accounting: those outcomes are NaN, not 0
    assert math.isnan(row["image_loss_share"]) and math.isnan(row["energy_j"])


# ---------------------------------------------------------------------- phases_frame


def test_phases_frame_phases_then_controls(main_runs):
    frame = phases_frame(main_runs)
    assert list(frame.columns[: len(PHASES_COLUMNS)]) == list(PHASES_COLUMNS)
    # fedavg: one phase; finefed: two phases and the compute_matched control; two seeds each
    assert len(frame) == 2 * 1 + 2 * 3
    assert (frame.kind == "control").sum() == 2

    run = frame[(frame.method == "finefed") & (frame.seed == 1)]
    assert list(run.order) == [0, 1, 2]
    assert list(run.phase) == ["pretrain_fedavg", "finefed_1_decoder", "compute_matched"]
    assert list(run.kind) == ["phase", "phase", "control"]
    assert list(run.branch) == ["main", "main", "control_compute_matched"]
    assert list(run.psnr_db) == pytest.approx([20.0, 21.0, 20.5])
    assert list(run.bytes) == [1_000_000, 400_000, 600_000]
    # costs from the start of the run; a control's are the start's plus its own
    assert list(run.bytes_cumulative) == [1_000_000, 1_400_000, 1_600_000]
    assert list(run.sim_time_end_s) == pytest.approx([11.0, 14.0, 15.0])
    assert list(run.wall_time_s) == pytest.approx([5.0, 2.0, 1.5])
    assert set(run.name) == {"synthetic"}  # the run's name, not the phase's


def test_phases_frame_controls_match_the_methods_table(main_runs):
    """The control rows' costs from the start are the methods table's (the same variants)."""
    frame = phases_frame(main_runs)
    for variant in variants_of(load_runs([main_runs])):
        if variant.kind == "control":
            row = _one(frame, run_dir=str(variant.run.path), phase=variant.phase)
            assert row["bytes_cumulative"] == variant.values["bytes"]
            assert row["sim_time_end_s"] == pytest.approx(variant.values["sim_time_s"])


def test_phases_frame_without_controls(main_runs):
    frame = phases_frame(main_runs, controls=False)
    assert len(frame) == 6 and set(frame.kind) == {"phase"}


# ---------------------------------------------------------------------- links_frame


def test_links_frame_one_row_per_link_per_run(main_runs):
    frame = links_frame(main_runs)
    assert list(frame.columns[: len(LINKS_COLUMNS)]) == list(LINKS_COLUMNS)
    assert len(frame) == 4 * 6  # four runs, three users on a complete graph
    assert set(frame.kind) == {"final"} and not frame.duplicated(["run_dir", "src", "dst"]).any()

    run = frame[(frame.method == "finefed") & (frame.seed == 2)]
    weak = _one(run, src=0, dst=1)
    assert weak["snr_db"] == 0.0 and weak["psnr_db"] == pytest.approx(22.0)  # 23 dB final, 1 dB worse
    assert _one(run, src=2, dst=0)["psnr_db"] == pytest.approx(23.2)
    assert set(run.label) == {"finefed"} and set(run.phase) == {"finefed_1_decoder"}
    assert set(run.images) == {8.0}


def test_links_frame_with_controls(main_runs):
    frame = links_frame(main_runs, controls=True)
    assert len(frame) == 4 * 6 + 2 * 6
    controls = frame[frame.kind == "control"]
    assert set(controls.label) == {"finefed/compute_matched"} and set(controls.phase) == {"compute_matched"}
    seed1 = controls[controls.seed == 1]
    assert _one(seed1, src=1, dst=0)["psnr_db"] == pytest.approx(20.6)  # control 20.5 dB + 0.1 * src


def test_links_frame_with_phases(main_runs):
    """Every phase keeps its links: the start of each FineFed run adds its own rows
    (the last phase's are the final rows; a one-phase run adds none)."""
    frame = links_frame(main_runs, phases=True)
    assert len(frame) == 4 * 6 + 2 * 6
    phases = frame[frame.kind == "phase"]
    assert set(phases.label) == {"finefed/pretrain_fedavg"} and set(phases.method) == {"finefed"}
    seed2 = phases[phases.seed == 2]
    assert _one(seed2, src=0, dst=1)["psnr_db"] == pytest.approx(21.0)  # start 22 dB, the weak link 1 dB worse
    assert "links" not in phases_frame(main_runs).columns  # the phases frame stays scalar


# ---------------------------------------------------------------------- finding runs


def test_incomplete_runs_are_skipped(make_run, tmp_path):
    make_run(tmp_path / "done", method="finefed")
    unfinished = make_run(tmp_path / "interrupted", method="finefed")
    (unfinished / "summary.json").unlink()  # as a run stopped before its last write
    assert [Path(d).name for d in runs_frame(tmp_path).run_dir] == ["done"]
    assert set(Path(d).name for d in phases_frame(tmp_path).run_dir) == {"done"}
    assert set(Path(d).name for d in links_frame(tmp_path).run_dir) == {"done"}
    # on its own: an empty frame that still has the columns
    for frame, columns in ((runs_frame(unfinished), RUNS_COLUMNS), (phases_frame(unfinished), PHASES_COLUMNS),
                           (links_frame(unfinished), LINKS_COLUMNS)):
        assert frame.empty and list(frame.columns) == list(columns)


def test_folders_are_searched_recursively(make_run, tmp_path):
    deep = make_run(tmp_path / "sweep" / "a_snr" / "offset-5" / "seed3", seed=3)
    make_run(tmp_path / "sweep" / "seed4", seed=4)
    frame = runs_frame(tmp_path)
    assert list(frame.seed) == [3, 4] and frame.run_dir.iloc[0] == str(deep.resolve())
    # one folder as str, a list mixing a run directory and a loaded run: the same runs
    assert list(runs_frame(str(tmp_path / "sweep")).seed) == [3, 4]
    mixed = runs_frame([deep, *load_runs([tmp_path / "sweep" / "seed4"])])
    assert list(mixed.seed) == [3, 4]


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(AnalysisError, match="does not exist"):
        runs_frame(tmp_path / "nowhere")
