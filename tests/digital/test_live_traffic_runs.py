"""``traffic.digital`` end to end: validated in one line, off by default (JSCC symbols),
and a run's images.jsonl, summary and outcomes describe the packets the network carried."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml

from semnet.cli.main import EXIT_USER_ERROR, main
from semnet.outcomes import branch_outcomes
from semnet.runner import run_scenario
from semnet.scenario import validate
from semnet.summary import load_summary
from tests.fl.conftest import tiny_scenario_dict


def _with_traffic(digital, **top):
    raw = tiny_scenario_dict()
    raw["traffic"] = {"images_per_s": 20.0, "digital": digital}
    raw.update(top)
    return raw


@pytest.mark.parametrize("digital, top, expected", [
    ({"codec": "png"}, {}, ["traffic.digital.codec", "'png'", "unknown image codec", "jpeg", "webp"]),
    ({"rate": "shannon"}, {}, ["traffic.digital.rate", "'shannon'", "'capacity'", "'mcs'"]),
    ({"fallback": "black"}, {}, ["traffic.digital.fallback", "'black'", "'previous'", "'mean'"]),
    ({"mcs_margin_db": 40}, {}, ["traffic.digital.mcs_margin_db", "40"]),
    ({"quality": 50}, {}, ["traffic.digital", "quality"]),
    ({}, {"method": {"name": "exchange"}}, ["traffic.digital", "'exchange'", "a method that learns"]),
])
def test_bad_digital_traffic_options_are_one_line(tmp_path, capsys, digital, top, expected):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(_with_traffic(digital, **top)))
    rc = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert rc == EXIT_USER_ERROR and len(err.splitlines()) == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in err, (text, err)


def test_images_travel_as_jscc_symbols_by_default():
    raw = tiny_scenario_dict()
    raw["traffic"] = {"images_per_s": 20.0}
    assert validate(raw).traffic.digital is None


def test_a_run_records_every_digital_image_and_its_outcomes(tmp_path, capsys):
    # Shannon links at backoff 1, no fading: the packets are never lost on the air, so an
    # image is lost only when nothing fits or it arrives after the deadline
    raw = _with_traffic({"codec": "webp", "rate": "capacity", "fallback": "mean"})
    raw["links"]["rate"] = {"mode": "shannon", "backoff": 1.0}
    raw["links"]["snr_db"] = 30.0  # k = 128: about 160 bytes, where WebP fits (link 0 -> 1 at 0 dB: nothing does)
    raw["traffic"]["deadline_s"] = 0.05
    run_scenario(validate(raw), out_dir=tmp_path / "r")
    images = [json.loads(line) for line in (tmp_path / "r" / "images.jsonl").read_text().splitlines()]
    summary = load_summary(tmp_path / "r")
    k = summary.traffic.channel_uses_per_image
    assert images and summary.traffic.digital == {"codec": "webp", "rate": "capacity", "fallback": "mean",
                                                  "mcs_margin_db": 0.0}
    for im in images:
        assert im["codec"] == "webp" and im["encoder"] is None and im["decoder"] is None
        assert im["budget_bits"] == math.floor(k * math.log2(1 + 10 ** (im["snr_db"] / 10)) + 1e-9)
        assert im["bits"] <= im["budget_bits"]
        # an unfit image is never sent: no latency, and none in the statistics
        assert (im["latency_s"] is None) == im["unfit"]
        late = not im["unfit"] and im["latency_s"] > 0.05
        assert im["lost"] == (im["unfit"] or late)
        assert (im["psnr_db"] is None) == im["lost"] and (im["fallback"] == "mean") == im["lost"]
        if not im["lost"]:
            assert im["shown_psnr_db"] == im["psnr_db"] and im["quality"] is not None
    main_branch = summary.traffic.branches["main"]
    assert main_branch.images == len(images) and main_branch.lost == sum(im["lost"] for im in images)
    delivered = [im["psnr_db"] for im in images if not im["lost"]]
    assert delivered and all(im["unfit"] for im in images if (im["src"], im["dst"]) == (0, 1))
    outcomes = branch_outcomes(summary)
    assert outcomes["image_loss_share"] == pytest.approx(main_branch.lost / len(images))
    assert outcomes["delivered_psnr_db"] == pytest.approx(sum(delivered) / len(delivered), abs=1e-3)
    sent = sorted(im["latency_s"] for im in images if not im["unfit"])
    assert main_branch.latency_s_p50 == pytest.approx(float(np.percentile(sent, 50)), abs=1e-6)
    shown = [im["shown_psnr_db"] for im in images]
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["traffic"]["branches"]["main"][
        "shown_psnr_db_mean"] == pytest.approx(sum(shown) / len(shown), abs=1e-3)
    # semnet report says how the images travelled and what counts as lost
    assert main(["report", str(tmp_path / "r")]) == 0
    text = capsys.readouterr().out
    assert "images as webp packets at rate capacity; lost: no file fits" in text
