"""events.jsonl carries each message's realised SNR on a channel over time, and the
analysis plots it with the phases marked."""

import json

import pytest

from semnet.analysis.channel_over_time import plot_realised_snr, realised_snr
from semnet.analysis.runs import AnalysisError
from semnet.net.network import build_network
from semnet.scenario.schema import ChannelSpec, LinksSpec, MobilitySpec, RateSpec
from semnet.scenario.topology import topology_spec
from semnet.sim import Message, Simulator, Task


def _write_run(tmp_path, mobile: bool):
    top = topology_spec(kind="ring", num_users=4,
                        mobility=MobilitySpec(model="gauss_markov" if mobile else "static", speed_mps=(1, 2)))
    channel = ChannelSpec(time_correlation="gauss_markov") if mobile else ChannelSpec()
    net = build_network(top, LinksSpec(fading="rayleigh", rate=RateSpec(mode="shannon"), channel=channel), seed=0)
    lines = []
    sim = Simulator(net, seed=0, compute_speed={n: 100.0 for n in [*net.users, net.aggregator]}, sink=lines.append)
    tasks = [Task(key=(i, j), node=i, uploads=(Message(i, j, "model", 40_000),)) for i, j in net.image_links()]
    for phase in ("a", "b"):
        for r in range(3):
            sim.label = {"branch": "main", "phase": phase, "round": r + 1}
            sim.play_round(tasks)
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(rec) + "\n" for rec in lines))
    return sim, lines


def test_realised_snr_is_recorded_and_plotted(tmp_path):
    sim, lines = _write_run(tmp_path, mobile=True)
    assert all("snr_db" in rec for rec in lines)
    series, phases = realised_snr(tmp_path)
    assert [name for name, _, _ in phases] == ["a", "b"]
    assert sum(len(v) for v in series.values()) == len(lines)
    assert sorted(sim.realised) == sorted(series)
    paths = plot_realised_snr(tmp_path, tmp_path / "plots", links=2)
    assert all(p.stat().st_size > 0 for p in paths)


def test_channel_time_command_lines(tmp_path, capsys):
    """``semnet analyse channel-time`` draws the figure; the older
    ``python -m semnet.analysis.channel_time`` does the same after exactly one notice line."""
    import subprocess
    import sys
    from pathlib import Path

    from semnet.cli.main import main

    _write_run(tmp_path, mobile=True)
    assert main(["analyse", "channel-time", str(tmp_path), "--out", str(tmp_path / "new"), "--links", "2"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(tmp_path / "new" / "realised_snr.png"), str(tmp_path / "new" / "realised_snr.svg")]
    out = subprocess.run([sys.executable, "-m", "semnet.analysis.channel_time", str(tmp_path), "--links", "2"],
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(tmp_path / "analysis" / "realised_snr.png"),
                                  str(tmp_path / "analysis" / "realised_snr.svg")]
    assert out.stderr.splitlines() == [
        "note: `python -m semnet.analysis.channel_time` is now `semnet analyse channel-time`"]


def test_a_static_run_has_nothing_to_plot(tmp_path):
    _, lines = _write_run(tmp_path, mobile=False)
    assert not any("snr_db" in rec for rec in lines)
    with pytest.raises(AnalysisError, match="does not vary in time"):
        realised_snr(tmp_path)


def test_link_psnr_is_plotted_against_the_snr_its_messages_met(tmp_path):
    """A mobile run: each link's point is its final PSNR at the mean (bar: 5th percentile)
    of the realised SNR its messages met, as the summary records them; a run whose
    channel does not vary in time has no such points."""
    from semnet.analysis.realised_snr import realised_points, write_realised_snr
    from semnet.analysis.runs import load_runs
    from semnet.runner import run_scenario
    from semnet.scenario import validate
    from tests.fl.conftest import tiny_scenario_dict

    raw = tiny_scenario_dict()  # FineFed: decoders travel over the image links
    raw["topology"]["mobility"] = {"model": "random_waypoint", "speed_mps": [1.0, 2.0]}
    raw["links"].update(fading="rayleigh", channel={"time_correlation": "gauss_markov"})
    summary = run_scenario(validate(raw), out_dir=tmp_path / "mobile").summary
    by_label = realised_points(load_runs([tmp_path / "mobile"]))
    points = by_label["finefed"]
    realised = {(q["src"], q["dst"]): q for q in summary["channel_over_time"]["links"]}
    expected = sorted((realised[(q["src"], q["dst"])]["realised_snr_db_mean"],
                       realised[(q["src"], q["dst"])]["realised_snr_db_p5"], q["psnr_db"]) for q in summary["links"])
    assert sorted(points) == expected and len(points) == 6  # the summary's own rounded numbers
    assert "finefed/start" in by_label  # the start is scored on the same links
    assert all(p5 <= mean for mean, p5, _ in points)
    assert all(p.stat().st_size > 0 for p in write_realised_snr(load_runs([tmp_path / "mobile"]), tmp_path / "fig"))

    del raw["topology"]["mobility"], raw["links"]["channel"]
    run_scenario(validate(raw), out_dir=tmp_path / "static")
    assert realised_points(load_runs([tmp_path / "static"])) == {}
    with pytest.raises(AnalysisError, match="channel over time"):
        write_realised_snr(load_runs([tmp_path / "static"]), tmp_path / "fig2")
