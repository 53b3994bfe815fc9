"""The table of docs/results/map/controls.md from the records: FineFed minus each control
of issue 29 (IFCA, FedRep, the SNR-conditioned model), paired by point, beside the map's
own compute- and bytes-matched controls of the same points.

    python docs/results/map/make_controls.py results/map_controls/two_clusters results/map/two_clusters

A point of results/map_controls is paired with the point of results/map of the same
name only if FineFed's PSNR is the same in both (the start and FineFed reproduce).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from semnet.analysis.stats import paired_interval

NEW = ("ifca", "fedrep", "snr_conditioned")
MAP = ("compute_matched", "bytes_matched")
SPLITS = {"_kind_source_": "disjoint photos", "_kind_iid_": "IID"}


def _summary(path: Path) -> dict:
    return json.loads((path / "summary.json").read_text())


def _cell(name: str) -> str:
    return next(label for key, label in SPLITS.items() if key in name)


def rows(controls_dir: Path, map_dir: Path) -> tuple[list[str], dict]:
    lines, diffs = [], {}
    for point in sorted(p for p in controls_dir.iterdir() if (p / "summary.json").exists()):
        mine, theirs = _summary(point), _summary(map_dir / point.name)
        if mine["psnr_db"] != theirs["psnr_db"]:
            raise SystemExit(f"{point.name}: FineFed {mine['psnr_db']} here, {theirs['psnr_db']} in {map_dir}: not one start")
        controls = {c["name"]: c for c in mine["controls"]} | {c["name"]: c for c in theirs["controls"]}
        cell = _cell(point.name)
        for name in NEW + MAP:
            c = controls[name]
            d_psnr = mine["psnr_db"] - c["psnr_db"]
            d_ssim = mine["ssim"] - c["ssim"]
            diffs.setdefault((cell, name), []).append((d_psnr, d_ssim))
            extra = f"lr {c['lr']:g}" if "lr" in c else ""
            if name == "snr_conditioned" and "snr_start" in c:
                s = c["snr_start"]
                extra += f"; own start {s['rounds']} rounds, converged {s['converged']}, {s['psnr_db']:.2f} dB"
            if name == "ifca":
                extra += "; clusters " + "".join(str(x["cluster"]) for x in c["clusters"])
            lines.append(f"| {cell} | {mine['seed']} | `{name}` | {c['psnr_db']:.2f} | {d_psnr:+.3f} | {d_ssim:+.4f} | "
                         f"{c['local_passes']} / {mine['finetune_budget']['local_passes']} | {extra} |")
    return lines, diffs


def main(argv: list[str]) -> None:
    lines, diffs = rows(Path(argv[0]), Path(argv[1]))
    print("| data | seed | control | control PSNR (dB) | FineFed − control, PSNR (dB) | FineFed − control, SSIM "
          "| passes (control / FineFed) | notes |")
    print("|---|---:|---|---:|---:|---:|---:|---|")
    print("\n".join(lines))
    print()
    print("| data | control | seeds | FineFed − control, PSNR (dB), mean [95 % CI] | FineFed ahead on |")
    print("|---|---|---:|---|---:|")
    for (cell, name), values in diffs.items():
        psnr = [d for d, _ in values]
        low, high = paired_interval(psnr)
        ci = "n/a (one seed)" if math.isnan(low) else f"[{low:+.3f}, {high:+.3f}]"
        mean = sum(psnr) / len(psnr)
        print(f"| {cell} | `{name}` | {len(psnr)} | {mean:+.3f} {ci} | {sum(d > 0 for d in psnr)}/{len(psnr)} |")


if __name__ == "__main__":
    main(sys.argv[1:])
