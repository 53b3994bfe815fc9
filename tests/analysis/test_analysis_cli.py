import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from semnet.analysis.__main__ import main
from semnet.analysis.runs import load_runs
from semnet.analysis.table import methods_table
from semnet.analysis.tradeoff import tradeoff_curves

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "semnet" / "analysis"


def _printed(capsys) -> list[str]:
    return capsys.readouterr().out.split()


def _semnet_analyse(argv: list[str]) -> int:
    """``semnet analyse ...`` through the package's own command line."""
    from semnet.cli.main import main as semnet_main

    return semnet_main(["analyse", *argv])


SPELLINGS = pytest.mark.parametrize("run_cli", [main, _semnet_analyse], ids=["semnet.analysis", "semnet analyse"])


@SPELLINGS
def test_table_command(run_cli, main_runs, tmp_path, capsys):
    assert run_cli(["table", str(main_runs), "--out", str(tmp_path)]) == 0
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


@SPELLINGS
def test_bad_input_is_one_line(run_cli, tmp_path, capsys):
    assert run_cli(["table", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("analysis: error:") and "nowhere" in err[0]


def test_no_print_in_the_library():
    for module in PACKAGE.glob("*.py"):
        if module.name == "__main__.py":
            continue
        calls = [n for n in ast.walk(ast.parse(module.read_text()))
                 if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print"]
        assert not calls, f"print() in {module.name}"


# the records' own format (torch-free) is what the analysis reads them through
RECORD_FORMAT = ("semnet.summary", "semnet.outcomes", "semnet.errors")


def _imports_simulator(name: str) -> bool:
    return name.startswith("semnet") and not name.startswith(("semnet.analysis", *RECORD_FORMAT))


def test_library_does_not_import_the_simulator():
    for module in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom):
                # relative imports (level > 0) stay inside semnet.analysis
                assert node.level > 0 or not _imports_simulator(node.module or ""), module.name
            elif isinstance(node, ast.Import):
                assert not any(_imports_simulator(a.name) for a in node.names), module.name


def test_package_import_leaves_the_simulator_out():
    """semnet.analysis adds no simulator module, torch or SimPy to what ``import semnet`` loads
    (only the records' format, semnet.summary and semnet.outcomes)."""
    code = ("import sys, semnet; before = set(sys.modules); import semnet.analysis; "
            "print(sorted(m for m in set(sys.modules) - before if m.startswith(('semnet.', 'torch', 'simpy')) "
            "and not m.startswith(('semnet.analysis', 'semnet.summary', 'semnet.outcomes', 'semnet.errors'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_semnet_analyse_command_line():
    """``semnet analyse`` is the one entry point: its usage, every command, no notice."""
    out = subprocess.run([sys.executable, "-m", "semnet.cli.main", "analyse", "--help"], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: semnet analyse ") and "testsnr" in out.stdout and "channel-time" in out.stdout
    assert out.stderr == ""


@pytest.mark.parametrize("module, prog, new", [
    ("analysis", "python -m analysis", "semnet analyse"),
    ("semnet.analysis", "python -m semnet.analysis", "semnet analyse"),
])
def test_old_module_command_lines(module, prog, new):
    """``python -m analysis`` from the repository root and ``python -m semnet.analysis`` still work,
    after exactly one notice line naming ``semnet analyse``."""
    out = subprocess.run([sys.executable, "-m", module, "--help"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"usage: {prog} ") and "testsnr" in out.stdout
    assert out.stderr.splitlines() == [f"note: `{prog}` is now `{new}`"]


def test_old_module_notice_once_on_a_real_command(main_runs, tmp_path):
    """A real command through the old spelling: the same files, and the notice exactly once."""
    out = subprocess.run([sys.executable, "-m", "analysis", "table", str(main_runs), "--out", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(tmp_path / "methods.md"), str(tmp_path / "methods.csv")]
    assert out.stderr.count("is now `semnet analyse`") == 1
    assert out.stderr.splitlines() == ["note: `python -m analysis` is now `semnet analyse`"]


def test_old_module_paths_are_the_moved_modules():
    import analysis
    import analysis.runs
    from analysis.table import methods_table as old_methods_table
    import semnet.analysis.runs

    assert analysis.runs is semnet.analysis.runs
    assert analysis.AnalysisError is semnet.analysis.runs.AnalysisError
    assert old_methods_table is methods_table


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
    # never back; FineFed's first encoder step sends nothing (every user holds the decoders)
    assert np.all(np.diff(curves["finefed"].x) >= 0) and curves["finefed"].x[-1] > curves["finefed"].x[0]
    assert curves["finefed/compute_matched"].x[0] == pytest.approx(start_mb)
    assert curves["finefed/compute_matched"].x[-1] == pytest.approx(start_mb + control["bytes"] / 1e6)
    assert curves["finefed/compute_matched"].y[-1] == pytest.approx(control["psnr_db"])
    time_curves = {c.label: c for c in tradeoff_curves(runs, "sim_time_s")}
    end = summary["phases"][0]["sim_time_end_s"] + control["sim_time_s"]
    assert time_curves["finefed/compute_matched"].x[-1] == pytest.approx(end)

    assert main(["all", str(real_runs), "--out", str(tmp_path)]) == 0
    names = {Path(p).name for p in capsys.readouterr().out.split()}
    assert {"methods.md", "methods.csv", "tradeoff_bytes.png", "tradeoff_time.svg", "link_psnr_vs_snr.png",
            "topology_finefed_seed3.png", "topology_finefed_compute_matched_seed3.svg", "link_pairs.md"} <= names
    # a real run keeps every phase's per-link quality, so the start pairs link by link too
    assert all(len(p["links"]) == len(summary["links"]) for p in summary["phases"])
    assert "`finefed/start`" in (tmp_path / "link_pairs.md").read_text()
