"""FineFed at several fine-tuning rates from one start: ``finefed_rates.md`` beside ``map.md``.

The map's further controls each keep the best of ``method.controls_lr_grid`` on
validation images of their point, while FineFed runs at its scenario's one rate. Runs
of FineFed alone at other rates from the same start (same scenario, data split, seed and
start PSNR; e.g. ``scenarios/sweeps/map_finefed_rate_two_clusters.yaml``) let FineFed
choose the same way. This page shows, per start with FineFed at two or more rates: each
rate's validation and test PSNR, the rate FineFed keeps by the controls' rule (the
highest validation PSNR, the first rate on a tie) and that FineFed minus each further
control of the same start (test images, dB). The map's verdict stays at FineFed's own
rate; this page says what the controls' extra tuning is worth.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .map_points import further_controls, point_key, shown_path
from .runs import Run, is_finefed


@dataclass(frozen=True)
class RateRun:
    lr: float
    validation_psnr_db: float
    test_psnr_db: float
    run_dir: str


@dataclass(frozen=True)
class RateStart:
    """FineFed at each rate tried from one start, and the further controls of that start."""

    row: str
    column: str
    seed: int | None
    start_psnr_db: float
    rates: tuple[RateRun, ...]  # by rate
    controls: tuple[tuple[str, float], ...]  # (name, test PSNR) of the further controls of this start

    @property
    def chosen(self) -> RateRun:
        """The rate FineFed keeps by the controls' rule: highest validation PSNR, first rate on a tie."""
        return max(self.rates, key=lambda r: (r.validation_psnr_db, -r.lr))


def _finetune_lr(run: Run) -> float | None:
    """FineFed's fine-tuning rate: the encoder's and the decoder's, when they are one."""
    finetune = (run.scenario.get("method") or {}).get("finetune") or {}
    rates = {(finetune.get(part) or {}).get("lr") for part in ("encoder", "decoder")}
    return float(rates.pop()) if len(rates) == 1 and None not in rates else None


def rate_starts(runs: Iterable[Run]) -> list[RateStart]:
    """Every start with FineFed at two or more fine-tuning rates, by row, column and seed."""
    groups: dict[tuple, list[Run]] = defaultdict(list)
    for run in runs:
        s = run.typed
        if is_finefed(s.method) and s.phases and s.psnr_db is not None:
            row, column, seed, start, _ = point_key(run)
            groups[(row, column, seed, start)].append(run)
    out = []
    for (row, column, seed, start), members in groups.items():
        by_rate: dict[float, RateRun] = {}
        controls: dict[str, float] = {}
        for run in members:
            lr, last = _finetune_lr(run), run.typed.phases[-1]
            if lr is not None and last.validation_psnr_db is not None:
                by_rate.setdefault(lr, RateRun(lr, float(last.validation_psnr_db), float(run.typed.psnr_db),
                                               shown_path(run.path)))
            for c in further_controls(run):
                controls.setdefault(c.name, float(c.psnr_db))
        if len(by_rate) >= 2:
            out.append(RateStart(row, column, seed, float(start), tuple(by_rate[lr] for lr in sorted(by_rate)),
                                 tuple(sorted(controls.items()))))
    return sorted(out, key=lambda r: (r.row, r.column, r.seed is None, r.seed))


def rates_markdown(starts: list[RateStart]) -> str | None:
    """The page, or ``None`` when no start has FineFed at two or more rates."""
    if not starts:
        return None
    lines = ["FineFed at each fine-tuning rate from one start: test PSNR (validation PSNR), dB; the rate it keeps "
             "by the controls' rule (highest validation PSNR); that FineFed minus each further control of the same "
             "start on the test images (dB).", "",
             "| channel structure | data split | seed | start (dB) | FineFed by rate | kept | kept − controls (dB) |",
             "|---|---|---:|---:|---|---:|---|"]
    for s in starts:
        by_rate = ", ".join(f"{r.lr:g}: {r.test_psnr_db:.2f} ({r.validation_psnr_db:.2f})" for r in s.rates)
        chosen = s.chosen
        leads = ", ".join(f"`{name}` {chosen.test_psnr_db - db:+.3f}" for name, db in s.controls) or "–"
        lines.append(f"| {s.row} | {s.column} | {s.seed} | {s.start_psnr_db:.2f} | {by_rate} | {chosen.lr:g} "
                     f"| {leads} |")
    runs = sorted({r.run_dir for s in starts for r in s.rates})
    lines += ["", "Runs: " + ", ".join(f"`{d}`" for d in runs)]
    return "\n".join(lines) + "\n"


def write_rates(runs: Iterable[Run], out_dir: str | Path) -> list[Path]:
    """``finefed_rates.md`` under ``out_dir`` where some start has FineFed at two or more rates."""
    page = rates_markdown(rate_starts(runs))
    if page is None:
        return []
    path = Path(out_dir) / "finefed_rates.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return [path]
