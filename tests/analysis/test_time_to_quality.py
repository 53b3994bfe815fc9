"""Time to quality (semnet.analysis.time_to_quality): the first validation point at or
above the reference's final PSNR, with costs and ratios worked out by hand here."""

import json
import math
from pathlib import Path

import pytest
from conftest import complete_summary

from semnet.analysis.__main__ import build_parser, run as run_command
from semnet.analysis.runs import AnalysisError, load_run
from semnet.analysis.time_to_quality import time_to_quality


def _write(path: Path, name: str, seed: int, curve: list[tuple[int, float, float, int]],
           phase: str = "pretrain_fedavg") -> Path:
    """A run whose validation curve is ``(round, psnr_db, wall_s, bytes)`` points; a
    test point and another phase's validation point are written too, to be ignored."""
    path.mkdir(parents=True)
    (path / "summary.json").write_text(json.dumps(complete_summary({"name": name, "seed": seed})))
    rows = [{"branch": "main", "split": "validation", "phase": phase, "round": r, "psnr_db": p,
             "wall_time_s": w, "bytes_cumulative": b, "sim_time_s": r * 2.0} for r, p, w, b in curve]
    rows.append({"branch": "main", "split": "test", "phase": phase, "round": 999, "psnr_db": 99.0,
                 "wall_time_s": 1.0, "bytes_cumulative": 1, "sim_time_s": 1.0})
    rows.append({"branch": "main", "split": "validation", "phase": "finefed", "round": 1, "psnr_db": 99.0,
                 "wall_time_s": 1.0, "bytes_cumulative": 1, "sim_time_s": 1.0})
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def recipes(tmp_path):
    ref = _write(tmp_path / "ref", "today", 0, [(0, 12.0, 5.0, 0), (200, 24.0, 1800.0, 2_000), (400, 25.0, 3600.0, 4_000)])
    fast = _write(tmp_path / "fast", "fedadam", 0,
                  [(0, 12.0, 5.0, 0), (50, 24.5, 500.0, 500), (100, 25.01, 1000.0, 1_000), (150, 25.4, 1500.0, 1_500)])
    slow = _write(tmp_path / "slow", "bigbatch", 0, [(0, 12.0, 5.0, 0), (100, 24.9, 900.0, 800)])
    return ref, fast, slow


def test_first_point_at_or_above_target_and_ratios_to_the_whole_reference_phase(recipes):
    ref, fast, slow = (load_run(p) for p in recipes)
    by_recipe = {r.recipe: r for r in time_to_quality([fast, slow], [ref])}
    assert by_recipe["today"].target_db == 25.0 and by_recipe["today"].round == 400
    f = by_recipe["fedadam"]
    # 24.5 < 25.0 <= 25.01: round 100, at 1000 s of 3600 and 1000 bytes of 4000
    assert (f.reached, f.round, f.wall_s, f.bytes, f.sim_time_s) == (True, 100, 1000.0, 1_000.0, 200.0)
    assert f.wall_ratio == pytest.approx(1000 / 3600) and f.bytes_ratio == pytest.approx(0.25)
    assert (f.final_db, f.best_db) == (25.4, 25.4)
    s = by_recipe["bigbatch"]
    assert not s.reached and s.round is None and math.isnan(s.wall_ratio) and s.best_db == 24.9


def test_an_explicit_target_replaces_the_references(recipes):
    ref, fast, _ = (load_run(p) for p in recipes)
    reaches = time_to_quality([fast], [ref], target_db=24.0)
    assert [(r.recipe, r.round) for r in reaches] == [("today", 200), ("fedadam", 50)]


def test_each_run_meets_the_reference_of_its_seed(tmp_path):
    refs = [_write(tmp_path / f"ref{s}", "today", s, [(0, 10.0, 1.0, 0), (10, 20.0 + s, 100.0, 10)]) for s in (0, 1)]
    run1 = _write(tmp_path / "run1", "new", 1, [(0, 10.0, 1.0, 0), (5, 20.5, 30.0, 5), (8, 21.0, 40.0, 8)])
    reaches = time_to_quality([load_run(run1)], [load_run(p) for p in refs])
    new = next(r for r in reaches if r.recipe == "new")
    assert (new.target_db, new.round, new.wall_ratio) == (21.0, 8, pytest.approx(0.4))
    lonely = _write(tmp_path / "run2", "new", 2, [(0, 10.0, 1.0, 0)])
    with pytest.raises(AnalysisError, match="seed 2 and no reference run has it"):
        time_to_quality([load_run(lonely)], [load_run(p) for p in refs])


def test_a_run_without_validation_points_is_one_line(tmp_path):
    ref = _write(tmp_path / "ref", "today", 0, [(0, 10.0, 1.0, 0)])
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "summary.json").write_text(json.dumps(complete_summary({"name": "x"})))
    with pytest.raises(AnalysisError, match="no validation points"):
        time_to_quality([load_run(bare)], [load_run(ref)])


def test_command_writes_both_tables(recipes, tmp_path):
    ref, fast, slow = recipes
    args = build_parser().parse_args(["time-to-quality", str(fast), str(slow), "--reference", str(ref),
                                      "--out", str(tmp_path / "out")])
    written = run_command(args)
    md = (tmp_path / "out" / "time_to_quality.md").read_text()
    assert {p.name for p in written} == {"time_to_quality.md", "time_to_quality.csv"}
    assert "| fedadam | 0 | 25.00 | 100 | 1000 | 0.28 |" in md
    assert "| bigbatch | 1 | 0 | - | - | 24.90 |" in md
