"""``evaluation.digital`` end to end: validated in one line, off by default, scored on
the run's links and written to summary.json as a typed section."""

import json
import math

import pytest
import yaml

from semnet.cli.main import EXIT_USER_ERROR, main
from semnet.cli.report import format_summary
from semnet.runner import run_scenario
from semnet.scenario import validate
from semnet.summary import load_summary
from tests.fl.conftest import tiny_scenario_dict


def _with_digital(digital, **top):
    raw = tiny_scenario_dict()
    raw["evaluation"] = {"digital": digital}
    raw.update(top)
    return raw


@pytest.mark.parametrize("digital, top, expected", [
    ({"codecs": ["png"]}, {}, ["evaluation.digital.codecs[0]", "'png'", "unknown image codec", "jpeg", "webp"]),
    ({"codecs": ["webp", "webp"]}, {}, ["evaluation.digital.codecs", "distinct"]),
    ({"rates": ["shannon"]}, {}, ["evaluation.digital.rates", "'shannon'", "'capacity'", "'mcs'"]),
    ({"fallback": "black"}, {}, ["evaluation.digital.fallback", "'black'", "'previous'", "'mean'"]),
    ({"mcs_margin_db": -1}, {}, ["evaluation.digital.mcs_margin_db", "-1"]),
    ({"codecs": []}, {}, ["evaluation.digital.codecs"]),
    ({}, {"method": {"name": "exchange"}}, ["evaluation.digital", "'exchange'", "a method that learns"]),
])
def test_bad_digital_options_are_one_line(tmp_path, capsys, digital, top, expected):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(_with_digital(digital, **top)))
    rc = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert rc == EXIT_USER_ERROR and len(err.splitlines()) == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in err, (text, err)


def test_digital_baselines_are_off_by_default(tmp_path):
    scenario = validate(tiny_scenario_dict())
    assert scenario.evaluation.digital is None
    result = run_scenario(scenario, out_dir=tmp_path / "r")
    assert "digital" not in result.summary
    assert "digital" not in json.loads((tmp_path / "r" / "summary.json").read_text())


def test_a_run_scores_every_baseline_on_every_link(tmp_path):
    scenario = validate(_with_digital({"codecs": ["jpeg", "webp"], "rates": ["capacity", "mcs"]}))
    result = run_scenario(scenario, out_dir=tmp_path / "r")
    summary = load_summary(tmp_path / "r")  # typed, read back from the file
    digital = summary.digital
    k = summary.model.channel_uses_per_image
    assert digital.channel_uses_per_image == k and digital.fallback == "previous"
    assert [b.name for b in digital.baselines] == ["jpeg_capacity", "jpeg_mcs", "webp_capacity", "webp_mcs"]
    links = {(q.src, q.dst): q for q in summary.links}
    for baseline in digital.baselines:
        assert {(r.src, r.dst) for r in baseline.links} == set(links)
        for row in baseline.links:
            assert row.images == links[(row.src, row.dst)].images and row.snr_db == links[(row.src, row.dst)].snr_db
            assert row.lost + row.unfit <= row.sends
            if baseline.rate == "capacity":
                assert row.lost == 0  # a static AWGN link at capacity loses nothing
                assert row.budget_bits_mean == math.floor(k * math.log2(1 + 10 ** (row.snr_db / 10)))
        assert baseline.psnr_db == pytest.approx(sum(r.psnr_db for r in baseline.links) / len(baseline.links),
                                                 abs=1e-3)
    # the 0 dB link of the tiny scenario fits no JPEG file at all (about 300 bytes at least)
    jpeg = digital.baseline("jpeg_capacity")
    weak = next(r for r in jpeg.links if (r.src, r.dst) == (0, 1))
    assert weak.unfit == weak.sends and weak.sent_bytes_mean is None
    text = format_summary(result.summary)
    header = next(line for line in text.splitlines() if line.startswith("link "))
    assert "digital webp_capacity" in text and header.split()[-4:] == [b.name for b in digital.baselines]


def test_baselines_scored_beside_a_finished_run_equal_those_of_a_run_with_them(tmp_path):
    # the baselines depend on the links, images and comparison states, not on the method:
    # scored afterwards beside a run made without them, they are the same numbers
    from semnet.digital_beside import digital_beside

    raw = tiny_scenario_dict()
    raw["links"]["fading"] = "rayleigh"
    raw["model"]["latent_channels"] = 16
    raw["output"]["eval_realisations"] = 2
    with_digital = run_scenario(validate({**raw, "evaluation": {"digital": {"codecs": ["webp"]}}}),
                                out_dir=tmp_path / "with")
    run_scenario(validate(raw), out_dir=tmp_path / "without")
    later = digital_beside(tmp_path / "without", ("webp",), ("capacity", "mcs"))
    assert later == with_digital.summary["digital"]
    mcs = later["baselines"][1]
    assert mcs["lost_share"] > 0  # block fading with stale CSI loses images
