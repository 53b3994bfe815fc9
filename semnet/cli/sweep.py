"""``semnet sweep FILE``: a progress bar over points, then a table of every point.

Exit status: 0 when every point is finished, 1 when any point failed (the others
still ran); user errors (a bad sweep file or point) raise ``SemnetError`` for the
CLI to print as one line.
"""

from __future__ import annotations

import math
import sys

from tqdm.auto import tqdm

from semnet.cli.signals import sigterm_as_interrupt

from semnet.sweep.driver import PointResult, run_sweep
from semnet.sweep.spec import load_sweep

EXIT_POINT_FAILED = 1


class SweepBar:
    """A tqdm bar over the points left to run (its time estimate is for those only)."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.bar = None
        self.failed = 0

    def start(self, total: int, todo: int) -> None:
        done_before = total - todo
        desc = f"sweep ({done_before} of {total} done before)" if done_before else "sweep"
        interactive = sys.stderr.isatty()  # no carriage-return debris in logs and pipes
        self.bar = tqdm(total=todo, unit="point", desc=desc, disable=not self.enabled or todo == 0 or not interactive,
                        file=sys.stderr, dynamic_ncols=True)

    def point_done(self, result: PointResult) -> None:
        if result.status == "failed":
            self.failed += 1
        if self.bar is not None:
            postfix = f"last: {result.name} {result.status}"
            if self.failed:
                postfix += f", {self.failed} failed"
            self.bar.set_postfix_str(postfix, refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


#: Columns shown when some point has them: (outcome, header, scale, format).
_OPTIONAL = (
    ("energy_j", "energy_j", 1.0, ".3f"),
    ("users_energy_j", "users_j", 1.0, ".3f"),
    ("image_loss_share", "lost_%", 100.0, ".1f"),
    ("delivered_psnr_db", "delivered_db", 1.0, ".2f"),
    ("latency_p99_s", "p99_ms", 1e3, ".1f"),
)


def format_table(results: list[PointResult]) -> str:
    """One row per point: its overrides, status and headline numbers (with energy and the
    live images' loss, delivered PSNR and 99th-percentile latency when some point has
    them); then the errors."""
    outcomes = [r.outcomes() for r in results]
    shown = [c for c in _OPTIONAL if any(math.isfinite(o[c[0]]) for o in outcomes)]
    rows = [("point", "status", "psnr_db", "bytes_total", "sim_time_s", *(c[1] for c in shown))]
    for r, o in zip(results, outcomes):
        rows.append((
            r.label or r.name,
            r.status,
            _fmt(r.metric("psnr_db"), ".2f"),
            _fmt(r.metric("bytes_total"), "d"),
            _fmt(r.metric("sim_time_s"), ".3f"),
            *(_fmt(o[key] * scale if math.isfinite(o[key]) else None, spec) for key, _, scale, spec in shown),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        for row in rows
    ]
    for r in results:
        if r.status == "failed":
            lines.append(f"point {r.index + 1} ({r.name}) failed: {r.error}")
    return "\n".join(lines)


def _fmt(value, spec: str) -> str:
    if value is None:
        return "-"
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)


def run_sweep_cli(args) -> int:
    """Entry point of ``semnet sweep``: ``args`` has sweep_file, backend, workers, address, out
    and overrides (``--set``)."""
    spec = load_sweep(args.sweep_file, getattr(args, "overrides", ()))
    bar = SweepBar(enabled=not getattr(args, "quiet", False))
    try:
        with sigterm_as_interrupt():
            results = run_sweep(spec, backend=args.backend, workers=args.workers, address=args.address,
                                out=args.out, progress=bar)
    finally:
        bar.close()
    print(format_table(results))
    print(f"sweep directory: {spec.out_dir(args.out)}")
    return EXIT_POINT_FAILED if any(r.status == "failed" for r in results) else 0
