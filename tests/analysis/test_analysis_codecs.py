"""Runs that differ in codec are rows of their own, and the end-point trade-off plot
marks the Pareto front of (method, codec) pairs."""

import json

import pytest
import yaml

from semnet.analysis.runs import codec_label, load_runs
from semnet.analysis.tradeoff import final_points, plot_final_tradeoff, write_tradeoff


def _codec_run(make_run, path, method, codec, psnr_db, megabytes, seed=1):
    make_run(path, method=method, seed=seed, psnr_db=psnr_db, controls=())
    scenario = yaml.safe_load((path / "scenario.yaml").read_text())
    if codec is not None:
        scenario["method"]["codec"] = codec
    (path / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    summary = json.loads((path / "summary.json").read_text())
    summary["bytes_total"] = int(megabytes * 1e6)
    (path / "summary.json").write_text(json.dumps(summary))


@pytest.fixture
def codec_runs(make_run, tmp_path):
    # (codec, final PSNR, MB): float16 dominates float32; int8 trades 0.5 dB for bytes;
    # topk1 is cheapest; qsgd4 costs more than int8 for less quality (off the front)
    for codec, psnr, mb in ((None, 20.0, 4.0), ("float16", 20.0, 2.0), ("int8", 19.5, 1.0),
                            ({"updates": "topk1"}, 17.0, 0.2), ("qsgd4", 18.0, 1.5)):
        name = codec if isinstance(codec, str) else ("float32" if codec is None else "topk1")
        _codec_run(make_run, tmp_path / name, "fedavg", codec, psnr, mb)
    return load_runs([tmp_path])


def test_codec_labels():
    assert codec_label(None) is None and codec_label("float32") is None
    assert codec_label("int8") == "int8"
    assert codec_label({"global_model": "float32", "updates": "topk1"}) == "updates=topk1"
    assert codec_label(dict.fromkeys(("global_model", "decoders", "updates", "control_variates"), "int8")) == "int8"
    assert codec_label(dict.fromkeys(("global_model", "decoders", "updates", "control_variates"), "float32")) is None


def test_each_codec_is_its_own_row_and_the_front_is_the_undominated_ones(codec_runs):
    points = {p.label: p for p in final_points(codec_runs, "bytes")}
    assert set(points) == {"fedavg", "fedavg+float16", "fedavg+int8", "fedavg+updates=topk1", "fedavg+qsgd4"}
    assert points["fedavg+int8"].x == pytest.approx(1.0) and points["fedavg+int8"].y == pytest.approx(19.5)
    fig, _, front = plot_final_tradeoff(codec_runs, "bytes")
    assert front == ["fedavg+updates=topk1", "fedavg+int8", "fedavg+float16"]


def test_final_plots_are_written_on_request(codec_runs, tmp_path):
    names = sorted(p.name for p in write_tradeoff(codec_runs, tmp_path / "out", final=True))
    assert "tradeoff_final_bytes.png" in names and "tradeoff_final_time.svg" in names
    assert len(names) == 8
