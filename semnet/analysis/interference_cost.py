"""What interference costs the images: runs paired image by image with a noise-only run.

``semnet analyse interference REFERENCE RUN... --out DIR`` reads ``images.jsonl`` (or
``images.jsonl.gz``) of a run made with ``links.interference.model: none`` and of runs of
the same scenario with ``sinr`` (one band, several bands). Where links run at a fixed bit
rate the schedule does not depend on the SINR, so each image (branch, link, number) was
sent at the same time with the same encoder and decoder in every run: the difference of
its PSNR is what the interference it met cost it. Images whose start or model versions
differ between the runs are not paired (counted apart).

Per run the table gives the decoded images paired, their mean PSNR with and without
interference, and the paired difference (mean and 95% interval, normal approximation)
over all images and by what they met: a model message (``interfered_by`` holds
``model``), images only, nothing. It is written as ``interference.md`` and ``.csv``.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np

from .runs import AnalysisError

GROUPS = ("all", "met a model message", "met images only", "met nothing")


def read_images(run_dir: str | Path) -> dict[tuple, dict]:
    """A run's decoded images by (branch, src, dst, n)."""
    path = Path(run_dir)
    plain, packed = path / "images.jsonl", path / "images.jsonl.gz"
    if not (plain.exists() or packed.exists()):
        raise AnalysisError(f"'{path}' has no images.jsonl (run it with traffic.image_records: true)")
    out = {}
    with (open(plain, encoding="utf-8") if plain.exists() else gzip.open(packed, "rt", encoding="utf-8")) as handle:
        for line in handle:
            record = json.loads(line)
            if record.get("psnr_db") is not None:
                out[(record["branch"], record["src"], record["dst"], record["n"])] = record
    return out


def _group(record: dict) -> str:
    kinds = record.get("interfered_by") or []
    if "model" in kinds:
        return "met a model message"
    return "met images only" if kinds else "met nothing"


def _interval(values: np.ndarray) -> tuple[float, float]:
    if values.size < 2:
        return (math.nan, math.nan)
    half = 1.96 * float(values.std(ddof=1)) / math.sqrt(values.size)
    return (float(values.mean()) - half, float(values.mean()) + half)


def cost_rows(reference: dict, run: dict, label: str) -> tuple[list[dict], int]:
    """The table's rows for one run against the reference, and how many images did not pair."""
    pairs: dict[str, list[tuple[float, float, float]]] = {group: [] for group in GROUPS}
    unpaired = 0
    for key, record in run.items():
        base = reference.get(key)
        if base is None:
            continue
        if (base["t_start_s"], base["encoder"], base["decoder"]) != (record["t_start_s"], record["encoder"],
                                                                     record["decoder"]):
            unpaired += 1
            continue
        row = (base["psnr_db"], record["psnr_db"], record.get("sinr_db", record["snr_db"]))
        pairs["all"].append(row)
        pairs[_group(record)].append(row)
    rows = []
    for group in GROUPS:
        values = np.asarray(pairs[group], dtype=float).reshape(-1, 3)
        diff = values[:, 1] - values[:, 0]
        low, high = _interval(diff)
        rows.append({"run": label, "images": group, "count": int(values.shape[0]),
                     "psnr_db_without": _r(values[:, 0].mean()) if values.size else None,
                     "psnr_db_with": _r(values[:, 1].mean()) if values.size else None,
                     "cost_db": _r(diff.mean()) if values.size else None,
                     "cost_db_low": _r(low), "cost_db_high": _r(high),
                     "sinr_db_mean": _r(values[:, 2].mean()) if values.size else None})
    return rows, unpaired


def _r(value) -> float | None:
    value = float(value)
    return round(value, 3) if math.isfinite(value) else None


def write_interference_cost(reference_dir: str | Path, run_dirs: list, out: str | Path) -> list[Path]:
    reference = read_images(reference_dir)
    if any(r.get("sinr_db") is not None for r in reference.values()):
        raise AnalysisError(f"'{reference_dir}' met interference; the reference must be a run with "
                            "links.interference.model: none")
    rows, notes = [], []
    for run_dir in run_dirs:
        run_rows, unpaired = cost_rows(reference, read_images(run_dir), Path(run_dir).name)
        rows += run_rows
        if unpaired:
            notes.append(f"{Path(run_dir).name}: {unpaired} images sent at another time or with other models "
                         "than in the reference, left out")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    columns = list(rows[0]) if rows else []
    csv = out / "interference.csv"
    csv.write_text(",".join(columns) + "\n" + "".join(
        ",".join("" if row[c] is None else str(row[c]) for c in columns) + "\n" for row in rows))
    md = out / "interference.md"
    lines = [(f"Images paired with `{Path(reference_dir).name}` (noise only): PSNR in dB, cost = with - without "
              "(95% interval)."), "",
             "| run | images | count | PSNR without | PSNR with | cost (dB) | 95% interval | mean SINR (dB) |",
             "|---|---|---:|---:|---:|---:|---|---:|"]
    for row in rows:
        interval = "" if row["cost_db_low"] is None else f"[{row['cost_db_low']}, {row['cost_db_high']}]"
        lines.append(f"| {row['run']} | {row['images']} | {row['count']} | {row['psnr_db_without']} | "
                     f"{row['psnr_db_with']} | {row['cost_db']} | {interval} | {row['sinr_db_mean']} |")
    lines += [""] + notes
    md.write_text("\n".join(lines) + "\n")
    return [md, csv]
