"""docs/tutorials/media-and-mobility.md runs as written, with the training cut short: its
commands in order, in a fresh folder, ending in its figure."""

from __future__ import annotations

import csv
import io
import math
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "tests" / "docs") not in sys.path:
    sys.path.insert(0, str(REPO / "tests" / "docs"))

from test_readme import semnet_commands  # noqa: E402  (the README test's reader of code blocks)

from semnet.cli.main import main  # noqa: E402

PAGE = REPO / "docs" / "tutorials" / "media-and-mobility.md"
# as in benchmarks/reproduce.py: a few rounds and steps, a few test images
SHORT = ["--set", "method.federated.rounds=2", "--set", "method.federated.converge=null",
         "--set", "method.federated.local.steps=2", "--set", "method.finetune.iterations=1",
         "--set", "method.finetune.encoder.steps=2", "--set", "method.finetune.decoder_rounds=1",
         "--set", "method.finetune.decoder.steps=2", "--set", "data.test_per_user=4",
         "--set", "method.controls=[compute_matched]", "--set", "simulation.threads=1"]


@pytest.fixture
def in_fresh_folder(tmp_path):
    (tmp_path / "scenarios").symlink_to(REPO / "scenarios")
    before = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(before)


def test_the_tutorial_runs_as_written_and_ends_in_its_figure(in_fresh_folder, capsys):
    commands = semnet_commands(PAGE.read_text(encoding="utf-8"))
    assert [c[0] for c in commands] == ["validate", "run", "run", "run", "report", "analyse", "analyse", "sweep",
                                        "analyse", "analyse"]
    for args in commands:
        cut = args + SHORT if args[0] in ("run", "sweep") else args
        if args[0] == "run":
            cut += ["--quiet"]
        assert main(cut) == 0, " ".join(args)
        out = capsys.readouterr().out
        if args[0] == "report":  # the live images' table of the cell run
            assert "live images" in out and "lost %" in out and "energy by the method" in out

    # the page says the table without --group-by refuses, naming what differs
    assert main(["analyse", "table", "runs/tutorial", "--out", "x"]) == 2
    err = capsys.readouterr().err
    assert "links.medium" in err and "--group-by" in err and len(err.strip().splitlines()) == 1

    table = (in_fresh_folder / "tutorial" / "tables" / "methods.csv").read_text()
    rows = {r["method"]: r for r in csv.DictReader(io.StringIO(table))}
    media = {"dedicated", "cell", "node_radio"}
    assert {f"finefed [links.medium={m}]" for m in media} <= set(rows)
    assert all(r["image_loss_pct_mean"] != "" for r in rows.values())  # the live images' columns are there
    assert (in_fresh_folder / "tutorial" / "timeline.png").stat().st_size > 10_000

    figures = in_fresh_folder / "tutorial" / "figures"
    assert (figures / "image_loss_share_vs_links.snr_offset_db.png").stat().st_size > 10_000
    points = list(csv.DictReader(io.StringIO((figures / "image_loss_share_vs_links.snr_offset_db.csv").read_text())))
    finefed = [p for p in points if p["label"] == "finefed"]
    assert [float(p["links.snr_offset_db"]) for p in finefed] == [-6.0, 0.0, 6.0]
    assert all(0.0 <= float(p["image_loss_share_mean"]) <= 1.0 for p in finefed)
    times = list(csv.DictReader(io.StringIO(
        (figures / "sim_time_s_vs_links.snr_offset_db.csv").read_text())))
    start = [float(p["sim_time_s_mean"]) for p in times if p["label"] == "finefed/start"]
    # rates follow the channel: a weaker channel makes the same learning take longer
    assert len(start) == 3 and start[0] > start[1] > start[2] and all(math.isfinite(t) for t in start)
