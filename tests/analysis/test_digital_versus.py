"""``semnet analyse digital``: the method's lead over the digital baselines, paired by seed, by hand."""

import json
import math

import pytest

from semnet.analysis.digital_versus import collect, lead, write_digital_versus
from semnet.analysis.run_files import AnalysisError
from semnet.analysis.runs import load_runs


def _with_digital(path, offsets_db, accuracy):
    """Add one digital baseline whose link PSNR is FineFed's link PSNR minus ``offsets_db[i]``
    on link i, and an accuracy per link; and FineFed's own accuracy 0.5 on every link."""
    summary = json.loads((path / "summary.json").read_text())
    links = []
    for link, off, acc in zip(summary["links"], offsets_db, accuracy):
        link["accuracy"] = 0.5
        links.append({"src": link["src"], "dst": link["dst"], "images": 8, "snr_db": link["snr_db"],
                      "psnr_db": link["psnr_db"] - off, "ssim": 0.5, "accuracy": acc, "sends": 8, "lost": 0,
                      "unfit": 0})
    summary["accuracy"] = 0.5
    mean = lambda key: sum(l[key] for l in links) / len(links)  # noqa: E731
    summary["digital"] = {"channel_uses_per_image": 256, "fallback": "mean", "baselines": [
        {"name": "webp_capacity", "codec": "webp", "rate": "capacity", "psnr_db": mean("psnr_db"), "ssim": 0.5,
         "accuracy": mean("accuracy"), "lost_share": 0.0, "unfit_share": 0.25, "links": links}]}
    (path / "summary.json").write_text(json.dumps(summary))


def test_leads_are_paired_by_seed_with_the_t_interval(tmp_path, make_run):
    # 3 users: 6 links. Seeds 1..3: the baseline trails by 2, 2.5, 3 dB on every link but the
    # last, where it leads by 0.5 dB; FineFed's accuracy 0.5, the baseline's 0.4 on every link.
    for seed, gap in zip((1, 2, 3), (2.0, 2.5, 3.0)):
        run = make_run(tmp_path / f"s{seed}", method="finefed", seed=seed)
        _with_digital(run, [gap] * 5 + [-0.5], [0.4] * 6)
    groups = collect(load_runs([tmp_path]))
    schemes = groups["all"]
    assert list(schemes) == ["pretrain_fedavg (start)", "finefed (final)", "digital webp_capacity"]
    result = lead(schemes["finefed (final)"], schemes["digital webp_capacity"], "psnr_db")
    diffs = [(5 * g - 0.5) / 6 for g in (2.0, 2.5, 3.0)]  # the per-seed leads of the link means
    mean = sum(diffs) / 3
    half = 4.302653 * math.sqrt(sum((d - mean) ** 2 for d in diffs) / 2) / math.sqrt(3)  # t(0.975, 2)
    assert result["mean"] == pytest.approx(mean)
    assert (result["high"] - result["low"]) / 2 == pytest.approx(half, rel=1e-6)
    assert (result["links_ahead"], result["links"], result["seeds"]) == (15, 18, 3)
    assert result["verdict"] == "method"
    acc = lead(schemes["finefed (final)"], schemes["digital webp_capacity"], "accuracy")
    assert acc["mean"] == pytest.approx(0.1) and acc["links_ahead"] == 18
    # the start (synthetic ft gain 1 dB on every link) trails FineFed by exactly 1 dB, zero spread
    start = lead(schemes["finefed (final)"], schemes["pretrain_fedavg (start)"], "psnr_db")
    assert start["mean"] == pytest.approx(1.0) and start["links_ahead"] == 18


def test_a_baseline_ahead_on_every_seed_wins_and_the_files_say_so(tmp_path, make_run):
    for seed, gap in zip((1, 2, 3), (-1.0, -1.5, -2.5)):
        _with_digital(make_run(tmp_path / f"s{seed}", method="finefed", seed=seed), [gap] * 6, [0.6] * 6)
    md, table = write_digital_versus([tmp_path], tmp_path / "out")
    row = [line for line in md.read_text().splitlines() if line.startswith("| digital webp_capacity")][0]
    assert "| -1.67 ± " in row and "| 0/18 |" in row and "| -10.0 ± 0.0 |" in row
    assert "verdict_psnr_db" in table.read_text() and ",other," in table.read_text()


def test_runs_without_digital_baselines_are_refused_in_one_line(tmp_path, make_run):
    make_run(tmp_path / "plain", method="finefed")
    with pytest.raises(AnalysisError, match="no digital baselines"):
        write_digital_versus([tmp_path], tmp_path / "out")


def test_two_settings_of_one_seed_must_be_grouped(tmp_path, make_run):
    for name in ("a", "b"):
        _with_digital(make_run(tmp_path / name, method="finefed", seed=1), [1.0] * 6, [0.4] * 6)
    with pytest.raises(AnalysisError, match="second run of seed 1"):
        collect(load_runs([tmp_path]))
