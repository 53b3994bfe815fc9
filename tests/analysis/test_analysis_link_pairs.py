"""Per-link paired differences (FineFed minus its start and each control) on synthetic runs."""

import csv
import io
import json

import pytest

from semnet.analysis.__main__ import main
from semnet.analysis.link_pairs import link_differences, pair_summaries, to_csv
from semnet.analysis.runs import load_runs


def _set_links(summary: dict, where: list[dict], psnr_of) -> None:
    for q in where:
        q["psnr_db"] = psnr_of(q)


@pytest.fixture
def shaped(make_run, tmp_path):
    """One FineFed run, 3 users (6 links); link SNRs 0..5 dB made distinct. FineFed gains
    on weak links and loses on strong ones: final = 20 + 2 - 0.5 snr; control = 20.5 on
    every link; start = 20 on every link."""
    path = make_run(tmp_path / "ff", method="finefed", seed=4)
    summary = json.loads((path / "summary.json").read_text())
    snr_of = {}
    for k, q in enumerate(summary["links"]):
        snr_of[(q["src"], q["dst"])] = float(k)
    groups = [summary["links"], summary["phases"][-1]["links"], summary["phases"][0]["links"],
              summary["controls"][0]["links"]]
    for group in groups:
        for q in group:
            q["snr_db"] = snr_of[(q["src"], q["dst"])]
    _set_links(summary, summary["links"], lambda q: 22.0 - 0.5 * q["snr_db"])
    _set_links(summary, summary["phases"][0]["links"], lambda q: 20.0)
    _set_links(summary, summary["controls"][0]["links"], lambda q: 20.5)
    (path / "summary.json").write_text(json.dumps(summary))
    return path


def test_differences_are_per_link_and_carry_the_links_snr(shaped):
    rows = link_differences(load_runs([shaped]))
    assert [(r.method, r.other) for r in rows[::6]] == [("finefed", "finefed/start"),
                                                        ("finefed", "finefed/compute_matched")]
    assert len(rows) == 12 and all(r.seed == 4 for r in rows)
    for r in rows:
        other = 20.0 if r.other == "finefed/start" else 20.5
        assert r.diff_db == pytest.approx(22.0 - 0.5 * r.snr_db - other)
    assert [r.snr_db for r in rows[:6]] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]  # by SNR within a pair


def test_pair_summary_shows_where_the_method_gains(shaped):
    summary = {(s.method, s.other): s for s in pair_summaries(link_differences(load_runs([shaped])))}
    control = summary[("finefed", "finefed/compute_matched")]
    # differences 1.5, 1.0, 0.5, 0.0, -0.5, -1.0 over SNR 0..5
    assert control.links == 6 and control.wins == 3
    assert control.diff_db.mean == pytest.approx(0.25)
    assert control.slope_db_per_db == pytest.approx(-0.5)
    assert control.weakest_db == pytest.approx(1.25) and control.strongest_db == pytest.approx(-0.75)


def test_cli_writes_markdown_and_csv(shaped, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["linkpairs", str(shaped), "--out", str(out)]) == 0
    assert capsys.readouterr().out.split() == [str(out / "link_pairs.md"), str(out / "link_pairs.csv")]
    text = (out / "link_pairs.md").read_text()
    assert "| `finefed` | `finefed/compute_matched` | 6 | 0.25 ± " in text
    assert "| `finefed` | `finefed/compute_matched` | 4 | 0->1 | 0.00 | 22.00 | 20.50 | +1.50 |" in text
    table = list(csv.DictReader(io.StringIO((out / "link_pairs.csv").read_text())))
    assert len(table) == 12 and float(table[6]["diff_db"]) == pytest.approx(1.5)
    assert float(table[6]["snr_db"]) == 0.0 and table[6]["other"] == "finefed/compute_matched"


def test_old_runs_pair_with_their_controls_only(make_run, tmp_path):
    old = make_run(tmp_path / "old", method="finefed", phase_links=False)
    rows = link_differences(load_runs([old]))
    assert {r.other for r in rows} == {"finefed/compute_matched"} and len(rows) == 6
    assert to_csv(rows).count("\n") == 7


def test_no_finefed_run_is_one_clear_error(make_run, tmp_path, capsys):
    run = make_run(tmp_path / "fa", method="fedavg")
    assert main(["linkpairs", str(run), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no per-link pairs" in err[0]


def test_all_writes_link_pairs(main_runs, tmp_path, capsys):
    assert main(["all", str(main_runs), "--out", str(tmp_path)]) == 0
    assert str(tmp_path / "link_pairs.md") in capsys.readouterr().out.split()
