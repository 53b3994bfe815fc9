import ast
import json
from pathlib import Path

import numpy as np
import pytest

from analysis.__main__ import main
from analysis.runs import load_runs
from analysis.table import methods_table
from analysis.tradeoff import tradeoff_curves

PACKAGE = Path(__file__).resolve().parents[2] / "analysis"


def _printed(capsys) -> list[str]:
    return capsys.readouterr().out.split()


def test_table_command(main_runs, tmp_path, capsys):
    assert main(["table", str(main_runs), "--out", str(tmp_path)]) == 0
    assert _printed(capsys) == [str(tmp_path / "methods.md"), str(tmp_path / "methods.csv")]
    assert "`finefed/compute_matched`" in (tmp_path / "methods.md").read_text()


@pytest.mark.parametrize(
    "command, fixture, stems",
    [
        ("tradeoff", "main_runs", ["tradeoff_bytes", "tradeoff_time"]),
        ("snr", "snr_runs", ["psnr_vs_snr"]),
        ("topology", "topology_runs", ["psnr_vs_num_users"]),
        ("links", "main_runs", ["link_psnr_vs_snr", "topology_fedavg_seed1"]),
    ],
)
def test_figure_commands(command, fixture, stems, request, tmp_path, capsys):
    root = request.getfixturevalue(fixture)
    assert main([command, str(root), "--out", str(tmp_path)]) == 0
    printed = _printed(capsys)
    for stem in stems:
        for ext in ("png", "svg"):
            path = tmp_path / f"{stem}.{ext}"
            assert str(path) in printed and path.stat().st_size > 1000


def test_all_skips_what_does_not_apply(main_runs, tmp_path, capsys, caplog):
    assert main(["all", str(main_runs), "--out", str(tmp_path)]) == 0
    names = {Path(p).name for p in capsys.readouterr().out.split()}
    assert {"methods.md", "tradeoff_bytes.png", "link_psnr_vs_snr.svg"} <= names
    assert not any(n.startswith("psnr_vs_") for n in names)
    assert "skipped snr" in caplog.text and "skipped topology" in caplog.text


def test_bad_input_is_one_line(tmp_path, capsys):
    assert main(["table", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("analysis: error:") and "nowhere" in err[0]


def test_no_print_in_the_library():
    for module in PACKAGE.glob("*.py"):
        if module.name == "__main__.py":
            continue
        calls = [n for n in ast.walk(ast.parse(module.read_text()))
                 if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print"]
        assert not calls, f"print() in {module.name}"


def test_library_does_not_import_the_simulator():
    for module in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("semnet"), module.name
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("semnet") for a in node.names), module.name


def test_real_runs_read_and_draw(real_runs, tmp_path, capsys):
    """The runner's own files: every command works and shows the summaries' numbers."""
    runs = load_runs([real_runs])
    assert sorted(r.method for r in runs) == ["fedavg", "finefed"]
    finefed = next(r for r in runs if r.method == "finefed")
    summary = json.loads((finefed.path / "summary.json").read_text())
    rows = {r.label: r for r in methods_table(runs)}
    assert list(rows) == ["fedavg", "finefed/start", "finefed/compute_matched", "finefed"]
    assert rows["finefed"].cells["psnr_db"].mean == pytest.approx(summary["psnr_db"])
    assert rows["finefed"].cells["bytes"].mean == pytest.approx(summary["bytes_total"] / 1e6)
    assert rows["finefed/start"].cells["psnr_db"].mean == pytest.approx(summary["phases"][0]["psnr_db"])
    control = summary["controls"][0]
    start_mb = summary["phases"][0]["bytes_cumulative"] / 1e6
    assert rows["finefed/compute_matched"].cells["bytes"].mean == pytest.approx(start_mb + control["bytes"] / 1e6)

    curves = {c.label: c for c in tradeoff_curves(runs, "bytes")}
    assert curves["finefed"].x[-1] == pytest.approx(summary["bytes_total"] / 1e6)
    assert curves["finefed"].y[-1] == pytest.approx(summary["psnr_db"])
    assert len(curves["finefed"].x) >= 3  # eval_every_rounds=1: intermediate points
    assert np.all(np.diff(curves["finefed"].x) > 0)
    assert curves["finefed/compute_matched"].x[0] == pytest.approx(start_mb)
    assert curves["finefed/compute_matched"].x[-1] == pytest.approx(start_mb + control["bytes"] / 1e6)
    assert curves["finefed/compute_matched"].y[-1] == pytest.approx(control["psnr_db"])
    time_curves = {c.label: c for c in tradeoff_curves(runs, "sim_time_s")}
    end = summary["phases"][0]["sim_time_end_s"] + control["sim_time_s"]
    assert time_curves["finefed/compute_matched"].x[-1] == pytest.approx(end)

    assert main(["all", str(real_runs), "--out", str(tmp_path)]) == 0
    names = {Path(p).name for p in capsys.readouterr().out.split()}
    assert {"methods.md", "methods.csv", "tradeoff_bytes.png", "tradeoff_time.svg", "link_psnr_vs_snr.png",
            "topology_finefed_seed3.png", "topology_finefed_compute_matched_seed3.svg"} <= names
