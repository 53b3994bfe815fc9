"""``semnet analyse interference``: images paired with a noise-only run, the cost by what
they met, from known records; a reference that met interference is one line."""

from __future__ import annotations

import gzip
import json

import pytest

from semnet.analysis.__main__ import main
from semnet.analysis.interference_cost import cost_rows, read_images


def _image(n, psnr, *, t=0.0, sinr=None, by=None, encoder=1):
    record = {"branch": "main", "src": 0, "dst": 1, "n": n, "t_start_s": t + n, "encoder": encoder, "decoder": 2,
              "psnr_db": psnr, "snr_db": 10.0}
    if sinr is not None:
        record.update(sinr_db=sinr, interfered_by=by)
    return record


def _write(path, records, packed=False):
    path.mkdir(parents=True)
    text = "".join(json.dumps(r) + "\n" for r in records)
    if packed:
        with gzip.open(path / "images.jsonl.gz", "wt") as handle:
            handle.write(text)
    else:
        (path / "images.jsonl").write_text(text)
    return path


def test_images_pair_and_group_by_what_they_met(tmp_path):
    ref = _write(tmp_path / "ref", [_image(0, 20.0), _image(1, 21.0), _image(2, 22.0), _image(3, 23.0),
                                    _image(4, None)])
    run = _write(tmp_path / "run", [_image(0, 19.0, sinr=5.0, by=["model"]), _image(1, 20.0, sinr=4.0,
                                                                                       by=["image", "model"]),
                                    _image(2, 21.5, sinr=7.0, by=["image"]), _image(3, 23.0, sinr=10.0, by=[]),
                                    _image(5, 20.0, sinr=1.0, by=["model"]), _image(6, 1.0, t=9.0, sinr=1.0, by=[])],
                 packed=True)
    rows, unpaired = cost_rows(read_images(ref), read_images(run), "run")
    by = {row["images"]: row for row in rows}
    assert by["all"]["count"] == 4 and by["all"]["cost_db"] == pytest.approx((-1 - 1 - 0.5 + 0) / 4, abs=1e-3)
    assert by["met a model message"]["count"] == 2 and by["met a model message"]["cost_db"] == -1.0
    assert by["met a model message"]["sinr_db_mean"] == 4.5
    assert by["met images only"]["cost_db"] == -0.5 and by["met nothing"]["cost_db"] == 0.0
    assert unpaired == 0  # image 6 is in the run only; image 4 was not decoded
    moved = _write(tmp_path / "moved", [_image(0, 19.0, t=0.5, sinr=5.0, by=["model"])])
    assert cost_rows(read_images(ref), read_images(moved), "moved")[1] == 1


def test_the_command_writes_the_table_and_refuses_a_reference_with_interference(tmp_path, capsys):
    ref = _write(tmp_path / "ref", [_image(0, 20.0), _image(1, 22.0)])
    run = _write(tmp_path / "run", [_image(0, 19.0, sinr=5.0, by=["model"]), _image(1, 21.0, sinr=5.0, by=[])])
    assert main(["interference", str(ref), str(run), "--out", str(tmp_path / "out")]) == 0
    assert "| run | all | 2 | 21.0 | 20.0 | -1.0 |" in (tmp_path / "out" / "interference.md").read_text()
    capsys.readouterr()
    assert main(["interference", str(run), str(ref), "--out", str(tmp_path / "out")]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "the reference must be a run with links.interference.model: none" in line
