"""The heterogeneity map: where does personalisation pay?

Each FineFed run with the headroom oracle and both matched controls is one seed of one
*cell*: a row (the scenario's name, i.e. its channel structure: one SNR for all
links, mixed SNRs, two clusters, a fading variant ...; a FineFed variant such as
``finefed_joint`` gets rows of its own, ``same_snr [finefed_joint]``) and a column (the data split:
IID, Dirichlet alpha, disjoint sources or classes per user). Per run, all on the same
test images and links:

* ``headroom_db``: the oracle's mean link PSNR minus the start's (the most any
  personalisation reached from that start);
* ``gain_pct``: FineFed's mean link PSNR over the start's, in percent;
* ``vs_compute_db`` / ``vs_bytes_db``: FineFed minus the compute-matched and the
  bytes-matched control (paired: same run, same start, same links);
* ``captured``: FineFed's gain over the start as a fraction of the headroom.

A cell is the mean ± sample std of these over its seeds, with paired 95 % intervals
of the differences and FineFed minus compute-matched in SSIM beside PSNR. Whether it
*pays* is decided by the one rule of :mod:`semnet.analysis.verdict` (per seed, then
over seeds with a Holm-corrected test; at least five seeds for a verdict).
``--verify README.md`` recomputes the grid the README shows between the markers
``<!-- map-grid:start -->`` and ``<!-- map-grid:end -->`` and fails where it differs.

Examples
--------
>>> cells = map_cells(load_runs(["results/map"]))      # doctest: +SKIP
>>> write_map(cells, "docs/results/map")                 # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .map_controls import controls_markdown
from .map_points import NEEDED, MapPoint, map_points, partition_label  # noqa: F401  (part of this module's API)
from .runs import AnalysisError, Run
from .stats import MeanStd, mean_std, paired_interval
from .style import DPI, save, styled
from .verdict import RULE, Verdict, seed_passes, verdicts

#: The README's copy of the grid sits between these lines (``--verify`` compares it).
GRID_START, GRID_END = "<!-- map-grid:start -->", "<!-- map-grid:end -->"
#: Rows in reading order where present (a scenario name's ``map_`` prefix dropped); others follow sorted.
ROW_ORDER = ("same_snr", "mixed_snr", "two_clusters", "fading_half")
MEASURES = {
    "headroom_db": "oracle headroom over the start (dB)",
    "vs_compute_db": "FineFed - compute-matched (dB)",
    "vs_bytes_db": "FineFed - bytes-matched (dB)",
    "captured": "share of the headroom FineFed captures",
}


@dataclass(frozen=True)
class MapCell:
    row: str
    column: str
    column_order: tuple
    points: tuple[MapPoint, ...]

    def stat(self, measure: str) -> MeanStd:
        return mean_std(getattr(p, measure) for p in self.points)

    def wins(self, measure: str) -> int:
        return sum(getattr(p, measure) > 0 for p in self.points)

    def interval(self, measure: str) -> tuple[float, float]:
        """Paired 95 % interval of a difference's mean over the seeds."""
        return paired_interval(getattr(p, measure) for p in self.points)


def map_cells(runs: Iterable[Run]) -> list[MapCell]:
    """The cells of the map, rows in :data:`ROW_ORDER` then by name, columns by split."""
    points = map_points(runs)
    if not points:
        raise AnalysisError("no FineFed run with the oracle and the compute- and bytes-matched controls "
                            f"(method.controls: {', '.join(NEEDED)})")
    groups: dict[tuple[str, str], list[MapPoint]] = defaultdict(list)
    for p in points:
        groups[(p.row, p.column)].append(p)
    cells = [MapCell(row, column, ps[0].column_order, tuple(sorted(ps, key=lambda p: (p.seed is None, p.seed))))
             for (row, column), ps in groups.items()]
    return sorted(cells, key=lambda c: (_row_key(c.row), c.column_order))


def _row_key(row: str) -> tuple:
    base, _, method = row.partition(" [")
    return (ROW_ORDER.index(base) if base in ROW_ORDER else len(ROW_ORDER), base, method)


def _axes(cells: list[MapCell]) -> tuple[list[str], list[str]]:
    rows = sorted({c.row for c in cells}, key=_row_key)
    order = {c.column: c.column_order for c in cells}
    columns = sorted(order, key=order.get)
    return rows, columns


def _diff(cell: MapCell, measure: str, digits: int = 2) -> str:
    low, high = cell.interval(measure)
    ci = "" if math.isnan(low) else f" [{low:+.{digits}f}, {high:+.{digits}f}]"
    return f"{cell.stat(measure).format(digits)}{ci} ({cell.wins(measure)}/{len(cell.points)})"


def _accuracy(cell: MapCell) -> str:
    """FineFed minus compute-matched in accuracy over the seeds that scored it: ``–`` for
    none, else mean ± std [paired interval] (seeds ahead / seeds scored)."""
    scored = [p.vs_compute_accuracy_points for p in cell.points if math.isfinite(p.vs_compute_accuracy_points)]
    if not scored:
        return "–"
    low, high = paired_interval(scored)
    ci = "" if math.isnan(low) else f" [{low:+.1f}, {high:+.1f}]"
    return f"{mean_std(scored).format(1)}{ci} ({sum(d > 0 for d in scored)}/{len(scored)})"


def _plateaus(cell: MapCell) -> str:
    """How many of the cell's starts met the plateau rule (the rest hit the round cap); ``–``
    where no start says (a start from a checkpoint, or records older than the rule)."""
    said = [p.start_converged for p in cell.points if p.start_converged is not None]
    return f"{sum(said)}/{len(said)}" if said else "–"


def _p(value: float) -> str:
    if math.isnan(value):
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def map_markdown(cells: list[MapCell]) -> str:
    """The table: one line per cell, its verdict by the rule of :mod:`.verdict`."""
    judged = verdicts(cells)
    lines = [
        "| channel structure | data split | seeds | start PSNR (dB) | starts on a plateau | FineFed gain (%) "
        "| oracle headroom (dB) "
        "| FineFed - compute-matched (dB) | FineFed - bytes-matched (dB) | FineFed - compute-matched (SSIM) "
        "| FineFed - compute-matched (accuracy, points) | headroom captured | seeds passing | p (Holm) | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        v = judged[(c.row, c.column)]
        lines.append(
            f"| {c.row} | {c.column} | {v.n} | {c.stat('start_psnr_db').format()} | {_plateaus(c)} "
            f"| {c.stat('gain_pct').format()} "
            f"| {c.stat('headroom_db').format()} | {_diff(c, 'vs_compute_db')} | {_diff(c, 'vs_bytes_db')} "
            f"| {_diff(c, 'vs_compute_ssim', 4)} | {_accuracy(c)} | {c.stat('captured').format()} | {v.passing}/{v.n} "
            f"| {_p(v.p_holm)} | {v.label} |"
        )
    others = [line for c in cells for line in _other_controls(c)]
    if others:
        lines += ["", "FineFed minus the other matched controls of the runs (dB):", "", *others]
    lines.append("")
    lines.append("mean ± sample std over seeds [paired 95 % interval] (seeds where FineFed is ahead). Starts on a "
                 "plateau: the seeds whose FedAvg start met the plateau rule at a constant rate; the others hit "
                 "the round cap (`converged: false` in their summary). " + RULE)
    return "\n".join(lines) + "\n"


def _other_controls(cell: MapCell) -> list[str]:
    """One bullet per control beyond compute- and bytes-matched that some seed of ``cell`` ran."""
    names = sorted({name for p in cell.points for name, _ in p.vs_others_db})
    out = []
    for name in names:
        leads = [dict(p.vs_others_db)[name] for p in cell.points if name in dict(p.vs_others_db)]
        low, high = paired_interval(leads)
        ci = "" if math.isnan(low) else f" [{low:+.2f}, {high:+.2f}]"
        out.append(f"- {cell.row}, {cell.column}, `{name}`: {mean_std(leads).format()}{ci} "
                   f"({sum(v > 0 for v in leads)}/{len(leads)} seeds ahead)")
    return out


def map_grid(cells: list[MapCell]) -> str:
    """The README's grid: FineFed minus compute-matched FedAvg (dB) per channel structure
    (FineFed's own rows) and data split, with the seeds that pass and the verdict."""
    judged = verdicts(cells)
    own = [c for c in cells if " [" not in c.row]
    rows, columns = _axes(own)
    by_key = {(c.row, c.column): c for c in own}
    lines = ["| channel structure | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for row in rows:
        parts = []
        for column in columns:
            cell = by_key.get((row, column))
            if cell is None:
                parts.append("")
                continue
            v: Verdict = judged[(row, column)]
            verdict = f"**{v.label}**" if v.label == "pays" else v.label
            parts.append(f"{cell.stat('vs_compute_db').format()} ({v.passing}/{v.n} pass) {verdict}")
        lines.append(f"| `{row}` | " + " | ".join(parts) + " |")
    return "\n".join(lines) + "\n"


def verify_grid(cells: list[MapCell], document: str | Path, out_dir: str | Path) -> None:
    """Raise one :class:`AnalysisError` line unless ``document`` shows :func:`map_grid`
    between :data:`GRID_START` and :data:`GRID_END`; on a mismatch the grid the records
    give is written to ``out_dir/map_grid.md``, to paste (the README is its one home)."""
    try:
        text = Path(document).read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise AnalysisError(f"--verify {document}: cannot read it ({getattr(err, 'strerror', None) or err})") from None
    if GRID_START not in text or GRID_END not in text:
        raise AnalysisError(f"{document}: no map grid between '{GRID_START}' and '{GRID_END}'")
    shown = text.split(GRID_START, 1)[1].split(GRID_END, 1)[0].strip()
    want = map_grid(cells).strip()
    if shown != want:
        bad = next((a for a, b in zip(shown.splitlines(), want.splitlines()) if a != b), "(a row more or less)")
        grid = Path(out_dir) / "map_grid.md"
        grid.parent.mkdir(parents=True, exist_ok=True)
        grid.write_text(want + "\n")
        raise AnalysisError(f"{document}: the map grid disagrees with the records at: {bad}; the records' grid is "
                            f"in {grid}")


_CSV_FIELDS = ("row", "column", "seed", "run_dir", "start_psnr_db", "finefed_psnr_db", "compute_psnr_db",
               "bytes_psnr_db", "oracle_psnr_db", "gain_pct", "headroom_db", "vs_compute_db", "vs_bytes_db",
               "captured", "vs_compute_ssim", "vs_compute_accuracy_points", "vs_others_db", "passes", "companion_dirs", "start_converged")


def map_csv(cells: list[MapCell]) -> str:
    """Every run of every cell, so each number of the table traces to a run directory."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(_CSV_FIELDS)
    for c in cells:
        for p in c.points:
            others = ";".join(f"{name}={lead:+.4f}" for name, lead in p.vs_others_db)
            writer.writerow([c.row, c.column, p.seed, p.run_dir] + [f"{getattr(p, f):.4f}" for f in _CSV_FIELDS[4:-4]]
                            + [others, int(seed_passes(p)), ";".join(p.companion_dirs),
                               "" if p.start_converged is None else int(p.start_converged)])
    return buf.getvalue()


@styled
def map_figure(cells: list[MapCell]) -> Figure:
    """One heat-map panel per measure (rows: channel structure, columns: data split),
    each cell annotated with mean ± std and its number of seeds."""
    rows, columns = _axes(cells)
    by_key = {(c.row, c.column): c for c in cells}
    fig = Figure(figsize=(4.2 * len(MEASURES) / 2 + 2.0, 1.0 + 0.75 * len(rows) * 2), dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2).ravel()
    for ax, (measure, title) in zip(axes, MEASURES.items()):
        grid = np.full((len(rows), len(columns)), np.nan)
        for i, row in enumerate(rows):
            for j, column in enumerate(columns):
                cell = by_key.get((row, column))
                if cell is not None:
                    grid[i, j] = cell.stat(measure).mean
        finite = grid[np.isfinite(grid)]
        if measure == "captured":
            cmap, vmin, vmax = "viridis", 0.0, max(1.0, float(finite.max()) if finite.size else 1.0)
        elif measure == "headroom_db":
            cmap, vmin, vmax = "viridis", 0.0, float(finite.max()) if finite.size else 1.0
        else:  # a difference: white at zero, red where FineFed loses, blue where it wins
            bound = float(np.abs(finite).max()) if finite.size else 1.0
            cmap, vmin, vmax = "RdBu", -bound, bound
        image = ax.imshow(grid, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
        fig.colorbar(image, ax=ax, shrink=0.85)
        for i, row in enumerate(rows):
            for j, column in enumerate(columns):
                cell = by_key.get((row, column))
                if cell is None:
                    continue
                stat = cell.stat(measure)
                text = stat.format(2).replace(" ± ", "\n± ") + f"\nn={stat.n}"
                ax.text(j, i, text, ha="center", va="center", fontsize=7, color="black",
                        bbox={"facecolor": "white", "alpha": 0.6, "linewidth": 0, "pad": 1})
        ax.set_xticks(range(len(columns)), columns, rotation=20)
        ax.set_yticks(range(len(rows)), rows)
        ax.set_title(title)
    fig.tight_layout()
    return fig


def write_map(cells: list[MapCell], out_dir: str | Path) -> list[Path]:
    """``map.md``, ``map.csv`` (every run), ``map.png``/``.svg`` and, where points have
    further controls, ``map_controls.md`` (:mod:`.map_controls`) under ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "map.md").write_text(map_markdown(cells))
    (out / "map.csv").write_text(map_csv(cells))
    written = [out / "map.md", out / "map.csv"]
    controls = controls_markdown(cells)
    if controls is not None:
        (out / "map_controls.md").write_text(controls)
        written.append(out / "map_controls.md")
    return written + save(map_figure(cells), out, "map")
