"""A topology sweep over several graph kinds draws one line per (method, kind)."""

import json

import yaml

from conftest import complete_summary

from semnet.analysis.runs import load_runs
from semnet.analysis.topology_sweep import topology_series


def _run(tmp_path, kind, users, psnr):
    path = tmp_path / f"{kind}-{users}"
    path.mkdir()
    (path / "scenario.yaml").write_text(yaml.safe_dump(
        {"name": "t", "seed": 0, "method": {"name": "fedavg"}, "topology": {"kind": kind, "num_users": users}}))
    summary = {"name": "t", "method": "fedavg", "seed": 0, "psnr_db": psnr, "ssim": 0.5,
               "worst_link_psnr_db": psnr, "bytes_total": 1, "sim_time_s": 1.0, "wall_time_s": 1.0,
               "local_steps": 1, "phases": [{"name": "pretrain_fedavg", "psnr_db": psnr, "ssim": 0.5,
               "worst_link_psnr_db": psnr, "bytes": 1, "bytes_cumulative": 1, "sim_time_s": 1.0,
               "sim_time_end_s": 1.0, "local_steps": 1, "rounds": 1, "wall_time_s": 1.0}],
               "links": [], "controls": [], "network": {"users": users}}
    (path / "summary.json").write_text(json.dumps(complete_summary(summary)))
    (path / "metrics.jsonl").write_text("")


def test_kinds_are_not_averaged_together(tmp_path):
    for kind, base in (("ring", 10.0), ("star", 20.0)):
        for users in (4, 6):
            _run(tmp_path, kind, users, base + users)
    _, series = topology_series(load_runs([tmp_path]))
    assert set(series) == {"fedavg [ring]", "fedavg [star]"}
    assert [p.y for p in series["fedavg [ring]"]] == [14.0, 16.0]
    assert [p.y for p in series["fedavg [star]"]] == [24.0, 26.0]
