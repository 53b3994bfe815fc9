"""summary.json as a typed RunSummary: every committed run directory loads and
round-trips unchanged, and a file that is not a summary is one line."""

import json
from pathlib import Path

import pytest

from semnet.cli.main import main
from semnet.summary import RunSummary, SummaryError, load_summary

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = sorted((ROOT / "results").rglob("summary.json"))


def test_there_are_committed_runs_to_check():
    assert len(COMMITTED) > 100


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(ROOT / "results")))
def test_committed_summaries_load_and_round_trip(path):
    raw = json.loads(path.read_text())
    summary = load_summary(path)
    assert summary.as_json() == raw  # nothing lost, nothing added
    assert summary.phases and summary.phases[-1].psnr_db is not None
    assert summary.bytes_total >= summary.phases[-1].bytes


def test_typed_fields_hold_their_types():
    summary = load_summary(COMMITTED[0])
    assert isinstance(summary.seed, int) and isinstance(summary.sim_time_s, float)
    assert all(isinstance(link.src, int) for link in summary.links)
    named = {c.name for c in summary.controls}
    assert all(summary.control(name).name == name for name in named)


@pytest.mark.parametrize("content,needle", [
    (b'{"status": "complete", "name": ', "not strict JSON"),
    (b"[1, 2]", "a JSON list, not an object"),
    (b"{}", "status"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not strict JSON"),
    (b'{"psnr_db": NaN}', "NaN is not strict JSON"),
])
def test_a_file_that_is_not_a_summary_is_one_line(tmp_path, content, needle):
    path = tmp_path / "summary.json"
    path.write_bytes(content)
    with pytest.raises(SummaryError) as info:
        load_summary(tmp_path)
    message = str(info.value)
    assert needle in message and str(path) in message and "\n" not in message


def test_report_on_a_corrupt_summary_says_so_in_one_line(tmp_path, capsys):
    (tmp_path / "summary.json").write_text("[]")
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a run summary" in err


def test_a_summary_missing_a_core_key_is_refused():
    raw = json.loads(COMMITTED[0].read_text())
    del raw["bytes_total"]
    with pytest.raises(Exception, match="bytes_total"):
        RunSummary.model_validate(raw)
