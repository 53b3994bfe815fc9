"""`semnet analyse snr-curve`: the figure and table from snr-curve records."""

import csv
import json

import pytest

from semnet.analysis.__main__ import main

FIELDS = ("fading", "bandwidth_ratio", "k", "test_snr_db", "scheme", "kind", "codec", "rate", "psnr_db", "ssim",
          "lost_share", "unfit_share", "sends")


def _row(fading, ratio, snr, scheme, kind, codec, rate, psnr, lost=0.0, unfit=0.0):
    return {"fading": fading, "bandwidth_ratio": ratio, "k": 512, "test_snr_db": snr, "scheme": scheme, "kind": kind,
            "codec": codec, "rate": rate, "psnr_db": psnr, "ssim": 0.5, "lost_share": lost, "unfit_share": unfit,
            "sends": 10}


def _records(tmp_path, rows):
    folder = tmp_path / "rec"
    folder.mkdir()
    with open(folder / "records.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    (folder / "meta.json").write_text(json.dumps({"design_snr_db": 10.0, "commit": "abc1234", "date": "2026-12-06",
                                                  "data": "test images"}))
    return folder


ROWS = [
    _row(f, r, s, "deep_jscc @10 dB", "jscc", "", "", 20.0 + s / 2)
    for f in ("none", "rayleigh") for r in ("1/6", "1/12") for s in (0.0, 10.0)
] + [
    _row("none", "1/6", 0.0, "webp capacity", "digital", "webp", "capacity", 12.8, unfit=1.0),
    _row("none", "1/6", 10.0, "webp capacity", "digital", "webp", "capacity", 28.5),
    _row("none", "1/6", 0.0, "webp mcs_fixed", "digital", "webp", "mcs_fixed", 12.8, lost=0.25, unfit=0.5),
    _row("none", "1/6", 10.0, "jpeg capacity", "digital", "jpeg", "capacity", 12.8, unfit=1.0),
]


def test_snr_curve_writes_the_figure_and_a_table_of_every_scheme(tmp_path, capsys):
    folder = _records(tmp_path, ROWS)
    assert main(["snr-curve", str(folder), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out.split()
    names = sorted(p.rsplit("/", 1)[-1] for p in printed)
    assert names == ["snr_curve.csv", "snr_curve.md", "snr_curve.png", "snr_curve.svg"]
    table = (tmp_path / "out" / "snr_curve.md").read_text()
    assert "| AWGN | 1/6 | webp capacity | 12.80 (100% unfit) | 28.50 |" in table
    assert "| AWGN | 1/6 | webp mcs_fixed | 12.80 (25% lost, 50% unfit) |  |" in table
    assert "| Rayleigh block fading | 1/12 | deep_jscc @10 dB | 20.00 | 25.00 |" in table
    assert "commit abc1234, 2026-12-06" in table
    # panels in order: AWGN before Rayleigh, the wider ratio first
    lines = [line for line in table.splitlines() if "deep_jscc" in line]
    assert [line.split(" | ")[:2] for line in lines] == [["| AWGN", "1/6"], ["| AWGN", "1/12"],
                                                       ["| Rayleigh block fading", "1/6"],
                                                       ["| Rayleigh block fading", "1/12"]]


@pytest.mark.parametrize("rows, args, expected", [
    (ROWS, ["--codec", "bmp"], "--codec 'bmp': no digital records of it; allowed: jpeg, webp"),
    ([{**ROWS[0], "psnr_db": "high"}], [], "psnr_db = 'high' is not a number"),
])
def test_bad_records_or_options_are_one_line(tmp_path, capsys, rows, args, expected):
    folder = _records(tmp_path, rows)
    assert main(["snr-curve", str(folder), "--out", str(tmp_path / "out"), *args]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and expected in err, err


def test_a_folder_without_records_is_one_line(tmp_path, capsys):
    assert main(["snr-curve", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "cannot read snr-curve records" in err


def test_the_methods_table_gains_task_accuracy_only_where_runs_have_it(tmp_path):
    from conftest import write_run

    from semnet.analysis.runs import load_runs
    from semnet.analysis.table import methods_table, to_csv, to_markdown

    plain = [write_run(tmp_path / f"plain{s}", method="fedavg", seed=s) for s in (1, 2)]
    assert "task accuracy" not in to_markdown(methods_table(load_runs(plain)))
    assert "accuracy" not in to_csv(methods_table(load_runs(plain)))
    tasked = []
    for seed, acc in ((1, 0.8), (2, 0.6)):
        path = write_run(tmp_path / f"task{seed}", method="fedavg", seed=seed)
        summary = json.loads((path / "summary.json").read_text())
        summary["accuracy"] = acc
        (path / "summary.json").write_text(json.dumps(summary))
        tasked.append(path)
    rows = methods_table(load_runs(tasked))
    cell = rows[0].cells["accuracy"]
    assert cell.mean == pytest.approx(0.7) and cell.std == pytest.approx(0.1414, abs=1e-3)
    assert "task accuracy" in to_markdown(rows) and "accuracy_mean" in to_csv(rows)


def test_records_with_task_accuracy_get_its_figure_and_table(tmp_path, capsys):
    rows = [{**r, "accuracy": 0.5 + r["psnr_db"] / 100} for r in ROWS]
    folder = tmp_path / "rec"
    folder.mkdir()
    with open(folder / "records.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=(*FIELDS, "accuracy"))
        writer.writeheader()
        writer.writerows(rows)
    (folder / "meta.json").write_text(json.dumps({"design_snr_db": 10.0, "commit": "abc1234", "date": "2026-12-06",
                                                  "classifier": "models/c.pt", "clean_accuracy": 0.9}))
    assert main(["snr-curve", str(folder), "--out", str(tmp_path / "out")]) == 0
    names = sorted(p.rsplit("/", 1)[-1] for p in capsys.readouterr().out.split())
    assert names == ["snr_curve.csv", "snr_curve.md", "snr_curve.png", "snr_curve.svg", "snr_curve_accuracy.csv",
                     "snr_curve_accuracy.png", "snr_curve_accuracy.svg"]
    table = (tmp_path / "out" / "snr_curve.md").read_text()
    psnr_part, accuracy_part = table.split("Task accuracy (%)")
    assert "| AWGN | 1/6 | webp capacity | 12.80 (100% unfit) | 28.50 |" in psnr_part
    assert "classifier models/c.pt" in accuracy_part and "undistorted images: 90.0 %" in accuracy_part
    assert "| AWGN | 1/6 | webp capacity | 62.8 (100% unfit) | 78.5 |" in accuracy_part
    assert "| Rayleigh block fading | 1/12 | deep_jscc @10 dB | 70.0 | 75.0 |" in accuracy_part
    with open(tmp_path / "out" / "snr_curve_accuracy.csv") as f:
        assert ["AWGN", "1/6", "webp capacity", "62.8 (100% unfit)", "78.5"] in list(csv.reader(f))


def test_records_without_accuracy_write_no_accuracy_files(tmp_path):
    folder = _records(tmp_path, ROWS)
    assert main(["snr-curve", str(folder), "--out", str(tmp_path / "out")]) == 0
    assert not list((tmp_path / "out").glob("snr_curve_accuracy*"))
    assert "Task accuracy" not in (tmp_path / "out" / "snr_curve.md").read_text()
