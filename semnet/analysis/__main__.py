"""``semnet analyse COMMAND RUN_DIRS... --out DIR``: tables and figures from run directories.

``semnet analyse`` is the one entry point. The older spellings ``python -m analysis`` (from
the repository root), ``python -m semnet.analysis`` and ``python -m semnet.analysis.channel_time``
still run the same code, after one notice line on stderr.

Commands
--------
table      methods.md and methods.csv: quality and cost per method, mean ± std over seeds
tradeoff   tradeoff_bytes and tradeoff_time: PSNR vs cumulative bytes / simulated time
           (--final: also each method's end point with the Pareto front, e.g. over codecs)
snr        psnr_vs_snr: PSNR vs link SNR from an SNR sweep
links      link_psnr_vs_snr and topology_<method>_seed<s>: per-link views
linkpairs  link_pairs.md/.csv: FineFed minus its start and each control, per link, with the link's SNR
realised   link_psnr_vs_realised_snr: per-link PSNR vs the SNR its messages met (channel over time)
budget     budget_curves and budget.md/.csv: PSNR vs extra bytes and extra passes over FineFed budgets and
           controls; FineFed minus each control at equal bytes / passes (paired by seed, interpolated)
topology   psnr_vs_<param>: PSNR vs a topology parameter from a topology sweep
testsnr    test_snr.md/.csv: centralised models at each test SNR, SNR-aware vs per-SNR models
energy     tradeoff_energy: each method's final quality vs its total energy, Pareto front joined
map        map.md/.csv/.png: the heterogeneity map, per channel structure and data split: oracle
           headroom, FineFed minus the compute- and bytes-matched controls (paired, over seeds), headroom
           captured, the verdict by one rule (semnet.analysis.verdict); runs of further controls from a
           point's seed (e.g. results/map_controls) join it (map_controls.md); FineFed at other rates from a
           start (finefed_rates.md); --verify README.md: check its grid
robust     robust.md: receivers' PSNR per decoder aggregation rule with and without faults, paired by seed
           against honest and faulty FedAvg (a faults: sweep, docs/results/robust)
keep       copy finished runs (summary, scenario, metrics, compressed events) from a scratch folder into
           --out at the same relative paths, to commit them as records (--checkpoint global.pt: that too)
all        every one of the above but keep and robust that the runs support (others are skipped with a reason)
plot       --y OUTCOME --x KEY: any outcome (quality, bytes, times, energies, live images' loss, delivered
           PSNR, latency) against any scenario key a sweep varied, one line per method (and --group-by group)
timeline   RUN_DIR... --out FIG.png: one run's live images (traffic:) over simulated time: delivered
           PSNR and latency, phases shaded, model deployments marked
interference-map  RUN_DIR --out FIG.png: the nodes (initial positions) with each link an arrow coloured by
           its interference cost (mean SNR - mean SINR, dB), wider the more of its airtime was interfered
channel-time  RUN_DIR [--out DIR] [--links 4]: realised_snr: the realised SNR of a few links of one run
           over simulated time, phases shaded (a channel over time; default --out RUN_DIR/analysis)
snr-curve  RECORDS_DIR --out DIR [--codec webp]: snr_curve.png/.svg/.md/.csv: PSNR vs test SNR of deep JSCC
           and the digital baselines, per fading and bandwidth ratio, from the records that
           `python -m semnet.digital.snr_curve` writes
time-to-quality  RUN_DIRS... --reference RUN_DIR --out DIR [--target-db X] [--phase NAME]:
           time_to_quality.md/.csv: wall time, bytes and simulated time each run needed to first reach
           the reference's final validation PSNR (or X), and the ratios to the reference's whole phase

Like with like: table, tradeoff, energy, snr and plot average runs over seeds only. Runs of one
method that differ in any other scenario setting are refused with one line naming what differed;
--group-by KEY (the scenario's name, or any dotted key such as links.medium; repeatable) separates
them into rows and lines of their own, and --pool averages them anyway and says what it pooled.
map --group-by writes one map per group, in a folder each.

RUN_DIRS are run directories or folders searched recursively for them. Figures are
written as PNG and SVG (timeline: the file --out names, or timeline.png/.svg in a
folder). Every path written is printed, one per line.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path

from semnet.outcomes import OUTCOMES

from .at_test_snr import write_at_test_snr
from .budget import budget_points, write_budget
from .grouping import check_pooling, with_groups
from .heterogeneity_map import map_cells, verify_grid, write_map
from .map_rates import write_rates
from .keep import keep_runs
from .link_pairs import link_differences, write_link_pairs
from .links import write_links
from .plot import write_plot
from .robust import write_robust
from .realised_snr import realised_points, write_realised_snr
from .runs import AnalysisError, Run, as_variants, group_by_label, load_runs
from .snr import X_CHOICES, snr_buckets, snr_series, write_snr
from .snr_curve import write_snr_curve
from .style import colours, file_stem
from .table import methods_table, paired_differences, write_table
from .topology_sweep import PARAMS, swept_param, write_topology_sweep
from .time_to_quality import time_to_quality, write_time_to_quality
from .timeline import write_timeline
from .tradeoff import write_energy_tradeoff, write_tradeoff

log = logging.getLogger("semnet.analysis")

METRICS = ("psnr_db", "worst_link_psnr_db", "ssim")
COMMANDS = ("table", "tradeoff", "snr", "links", "linkpairs", "realised", "budget", "topology", "testsnr", "energy",
            "map", "plot", "robust", "keep", "all")
#: Commands that take --group-by and --pool.
GROUPED = ("table", "tradeoff", "snr", "energy", "map", "plot", "all")


#: The program name in usage lines when none is given.
PROG = "semnet analyse"

#: What the older entry points print first, once, on stderr.
NOTICE = "note: `{old}` is now `{new}`"


def notice(old: str, new: str = PROG) -> None:
    """Print the one-line notice of an old entry point ``old`` on stderr."""
    print(NOTICE.format(old=old, new=new), file=sys.stderr)


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Tables and figures from semnet run directories (reads the files only).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    helps = {
        "table": "methods table (Markdown + CSV), mean ± std over seeds",
        "tradeoff": "quality vs cumulative bytes and vs simulated time, Pareto front marked",
        "snr": "quality vs SNR from an SNR sweep",
        "links": "per-link PSNR vs SNR, and the topology coloured by link PSNR",
        "linkpairs": "per-link paired differences: FineFed minus its start and each control, with the link's SNR",
        "realised": "per-link PSNR vs the realised SNR of the link's messages (runs with a channel over time)",
        "budget": "PSNR vs extra bytes and extra passes (FineFed budgets, controls); comparisons at equal budget",
        "topology": "quality vs a topology parameter from a topology sweep",
        "testsnr": "centralised models at each test SNR; an SNR-aware model vs per-SNR models",
        "energy": "final quality vs total energy (runs that account energy), Pareto front marked",
        "map": "heterogeneity map: oracle headroom and FineFed minus the matched controls per channel structure "
               "and data split",
        "plot": "any outcome (--y) against any scenario key (--x), one line per method and group",
        "robust": "receivers' PSNR per decoder aggregation rule under faults, paired by seed (Student-t intervals)",
        "keep": "copy finished runs into --out (a results folder) at the same relative paths, events compressed",
        "all": "every output the runs support",
    }
    for name in COMMANDS:
        p = sub.add_parser(name, help=helps[name], description=helps[name])
        p.add_argument("runs", nargs="+", metavar="RUN_DIRS", help="run directories or folders holding them")
        p.add_argument("--out", required=True, help="output folder (created if needed)")
        if name == "tradeoff":
            p.add_argument("--final", action="store_true",
                           help="also tradeoff_final_bytes/_time: each method's end point, Pareto front joined")
        if name == "keep":
            p.add_argument("--checkpoint", action="append", default=[], metavar="FILE",
                           help="also keep this file of each run's checkpoints/ folder (repeatable), e.g. global.pt")
        if name in GROUPED:
            p.add_argument("--group-by", action="append", default=[], metavar="KEY",
                           help="separate runs by this scenario key (dotted, e.g. links.medium) or by name; "
                                "repeatable")
            p.add_argument("--pool", action="store_true",
                           help="average runs that differ in more than the seed anyway (the output says what differed)")
        if name == "map":
            p.add_argument("--verify", metavar="FILE", default=None,
                           help="also check that FILE (e.g. README.md) shows the map grid these runs give, between "
                                "<!-- map-grid:start --> and <!-- map-grid:end -->; exit 2 naming the row if not")
        if name == "plot":
            p.add_argument("--y", required=True, choices=tuple(OUTCOMES), metavar="OUTCOME",
                           help="the outcome on the y axis: " + ", ".join(OUTCOMES))
            p.add_argument("--x", required=True, metavar="KEY",
                           help="a dotted scenario key on the x axis, e.g. links.snr_offset_db or links.medium")
            p.add_argument("--final-only", action="store_true",
                           help="only each method's result (no FineFed start or controls)")
        if name in ("snr", "topology"):  # points from the summaries: any outcome
            p.add_argument("--metric", choices=tuple(OUTCOMES), default="psnr_db", metavar="OUTCOME",
                           help="the outcome on the y axis (default psnr_db): " + ", ".join(OUTCOMES))
        elif name not in ("table", "links", "linkpairs", "realised", "budget", "testsnr", "map", "robust", "keep", "plot"):
            p.add_argument("--metric", choices=METRICS, default="psnr_db",
                           help="quality measure of the test points over time (default psnr_db)")
        if name in ("snr", "all"):
            p.add_argument("--x", dest="snr_x", choices=X_CHOICES, default="snr_db_mean",
                           help="SNR axis: the runs' mean link SNR, or the swept links.snr_offset_db / links.snr_db")
        if name in ("topology", "all"):
            p.add_argument("--param", choices=("auto",) + PARAMS, default="auto",
                           help="topology parameter on the x axis (default: the one that varies)")
    p = sub.add_parser("timeline", help="one run's live images over simulated time: PSNR and latency, phases "
                       "shaded, deployments marked", description="delivered-image PSNR and image latency of a run "
                       "made with traffic: against simulated time")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR",
                   help="run directories written with a traffic: section (several: overlaid)")
    p.add_argument("--out", required=True, help="figure file (.png, .svg, .pdf) or a folder (timeline.png/.svg)")
    p.add_argument("--branch", action="append", default=[], dest="branches",
                   help="a branch to draw (main, or control_<name>; default main); repeat to overlay several")
    p = sub.add_parser("interference", help="what interference cost the images: runs paired image by image with "
                       "a noise-only run", description="interference.md/.csv: each run's images paired with the "
                       "reference's (same scenario, links.interference.model none), PSNR cost by what they met")
    p.add_argument("reference", metavar="REFERENCE_RUN", help="the run without interference")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="runs of the same scenario with interference")
    p.add_argument("--out", required=True, help="output folder (created if needed)")
    p = sub.add_parser("interference-map", help="a run's nodes with each link's interference cost (mean SNR - "
                       "mean SINR) and interfered airtime", description="the nodes at their initial positions, each "
                       "link an arrow coloured by what interference cost it, wider the more of its airtime was "
                       "interfered (summary.json's interference section)")
    p.add_argument("run", metavar="RUN_DIR", help="a run made with links.interference.model: sinr")
    p.add_argument("--out", required=True, help="figure file (.png, .svg, .pdf) or a folder (interference_map.png/.svg)")
    p = sub.add_parser("channel-time", help="one run's realised SNR of a few links over simulated time, phases "
                       "shaded (a channel over time)", description="realised_snr.png/.svg: the SNR each message of "
                       "a few links met at its start against simulated time, the main branch's phases shaded")
    p.add_argument("run", metavar="RUN_DIR", help="a run directory whose channel varies in time")
    p.add_argument("--out", default=None, help="output folder (default: RUN_DIR/analysis)")
    p.add_argument("--links", type=int, default=4,
                   help="how many links to draw (default 4: the user-to-user links with the most messages)")
    p = sub.add_parser("snr-curve", help="PSNR vs test SNR of deep JSCC and the digital baselines (AWGN, Rayleigh, "
                       "two bandwidth ratios) from snr-curve records", description="snr_curve.png/.svg/.md/.csv "
                       "from the records.csv that `python -m semnet.digital.snr_curve` writes")
    p.add_argument("records", metavar="RECORDS_DIR", help="a folder holding records.csv (and meta.json)")
    p.add_argument("--out", required=True, help="output folder (created if needed)")
    p.add_argument("--codec", default="webp", help="the codec whose digital curves are drawn (the table has all)")
    p = sub.add_parser("digital", help="deep JSCC (start, final) against the digital baselines of the same runs, "
                       "paired by seed", description="digital.md/.csv: PSNR, SSIM and task accuracy of each scheme, "
                       "the method's lead over each paired by seed (Student-t 95 %% interval), links ahead")
    p.add_argument("runs", nargs="+", metavar="RUN_DIRS", help="runs with evaluation.digital, or folders of them")
    p.add_argument("--group-by", action="append", default=[], metavar="KEY",
                   help="a scenario key that separates groups (repeatable), e.g. links.fading")
    p.add_argument("--out", required=True, help="output folder (created if needed)")
    p = sub.add_parser("time-to-quality", help="wall time, bytes and simulated time to first reach a validation "
                       "PSNR, against a reference run", description="time_to_quality.md/.csv: each run's first "
                       "validation point at or above the target, and its ratios to the reference's whole phase")
    p.add_argument("runs", nargs="+", metavar="RUN_DIRS", help="run directories or folders holding them")
    p.add_argument("--reference", required=True, metavar="RUN_DIR",
                   help="the run (or a folder of runs, one per seed) whose last validation PSNR is the target and "
                        "whose phase costs are the unit; each run is paired with the reference of its seed")
    p.add_argument("--target-db", type=float, default=None, help="a validation PSNR target instead (dB)")
    p.add_argument("--phase", default=None, help="the phase whose validation points count (default: the first)")
    p.add_argument("--out", required=True, help="output folder (created if needed)")
    return parser


def _snr_applies(runs: list[Run], x: str) -> str | None:
    """None if an SNR plot makes sense, else why not."""
    if any(len(pts) > 1 for pts in snr_series(runs, x).values()):
        return None
    return "every method has runs at one SNR setting only"


def _budget_applies(runs: list[Run]) -> str | None:
    """None if budget curves make sense (FineFed runs at two budgets or more), else why not."""
    try:
        points = budget_points(runs)
    except AnalysisError as err:
        return str(err)
    if len({p.budget for p in points}) < 2:
        return "the FineFed runs share one budget (a point, not a curve)"
    return None


def _topology_applies(runs: list[Run]) -> str | None:
    try:
        swept_param(runs)
    except AnalysisError as err:
        return str(err)
    return None


def _energy_applies(runs: list[Run]) -> str | None:
    if any(math.isfinite(v.values.get("energy_j", math.nan)) for v in as_variants(runs)):
        return None
    return "no run accounts energy (simulation.energy or simulation.compute.joules_per_sample)"


def run(args: argparse.Namespace) -> list[Path]:
    """Do one command; return the paths written (also used by the tests)."""
    if args.command == "timeline":
        return write_timeline(args.runs, args.out, args.branches or ["main"])
    if args.command == "interference":
        from .interference_cost import write_interference_cost

        return write_interference_cost(args.reference, args.runs, args.out)
    if args.command == "interference-map":
        from .interference_map import write_interference_map

        return write_interference_map(args.run, args.out)[0]
    if args.command == "channel-time":
        from .channel_over_time import plot_realised_snr

        return plot_realised_snr(args.run, args.out or Path(args.run) / "analysis", links=args.links)
    if args.command == "snr-curve":
        return write_snr_curve(args.records, args.out, args.codec)
    if args.command == "digital":
        from .digital_versus import write_digital_versus

        return write_digital_versus(args.runs, args.out, args.group_by)
    if args.command == "time-to-quality":
        reaches = time_to_quality(load_runs(args.runs), load_runs([args.reference]), args.target_db, args.phase)
        return write_time_to_quality(reaches, args.out)
    if args.command == "keep":
        return keep_runs(args.runs, args.out, checkpoints=tuple(args.checkpoint))
    if args.command == "robust":
        return write_robust(args.runs, args.out)
    runs = with_groups(load_runs(args.runs), getattr(args, "group_by", ()))
    out = Path(args.out)
    cmd = args.command
    pool = getattr(args, "pool", False)
    if cmd == "map" and args.group_by:
        return _map_per_group(runs, out)
    if cmd == "plot":
        return write_plot(runs, out, args.y, args.x, pool=pool, final_only=args.final_only)
    if cmd == "all":
        return _write_all(args, runs, out, pool)
    colour_of = colours(group_by_label(as_variants(runs)))
    metric = getattr(args, "metric", "psnr_db")
    if cmd == "table":
        notes = _like_with_like(runs, pool, "table")
        return write_table(methods_table(runs), out, paired=paired_differences(runs), pooled=notes)
    if cmd == "tradeoff":
        _like_with_like(runs, pool, "tradeoff")
        return write_tradeoff(runs, out, metric, colour_of, final=getattr(args, "final", False))
    if cmd == "energy":
        why = _energy_applies(runs)
        if why is not None:
            raise AnalysisError(why)
        _like_with_like(runs, pool, "energy")
        return write_energy_tradeoff(runs, out, metric, colour_of)
    if cmd == "snr":
        _snr_like_with_like(runs, args.snr_x, pool)
        return write_snr(runs, out, args.snr_x, metric, colour_of)
    writers = {
        "links": lambda: write_links(runs, out, colour_of),
        "linkpairs": lambda: write_link_pairs(link_differences(runs), out),
        "realised": lambda: write_realised_snr(runs, out, colour_of),
        "budget": lambda: write_budget(budget_points(runs), out),
        "map": lambda: _write_and_verify_map(runs, out, args.verify),
        "topology": lambda: write_topology_sweep(runs, out, args.param, metric, colour_of),
        "testsnr": lambda: write_at_test_snr(runs, out),
    }
    return writers[cmd]()


def _like_with_like(runs: list[Run], pool: bool, what: str) -> list[str]:
    """Refuse rows that would average different settings (see :mod:`.grouping`); with
    ``pool``, log and return what each pooled row mixes."""
    buckets: dict[str, list[Run]] = {}
    for v in as_variants(runs):
        buckets.setdefault(v.label, []).append(v.run)
    notes = check_pooling(buckets, pool=pool, what=what)
    for note in notes:
        log.warning("%s: %s", what, note)
    return notes


def _snr_like_with_like(runs: list[Run], x: str, pool: bool) -> None:
    """One point of an SNR line holds runs of one links and topology setting: refuse
    points whose runs differ elsewhere too (``--pool``: log what they mix)."""
    for note in check_pooling(snr_buckets(runs, x), pool=pool, allowed=("links", "topology"), what="snr"):
        log.warning("snr: %s", note)


def _write_and_verify_map(runs: list[Run], out: Path, document: str | None) -> list[Path]:
    cells = map_cells(runs)
    written = write_map(cells, out) + write_rates(runs, out)
    if document is not None:
        verify_grid(cells, document, out)
    return written


def _map_per_group(runs: list[Run], out: Path) -> list[Path]:
    """``map --group-by``: one map per group, each in a folder named after the group."""
    groups: dict[str, list[Run]] = {}
    for r in runs:
        groups.setdefault(r.group, []).append(r)
    written: list[Path] = []
    for group, members in sorted(groups.items()):
        written += write_map(map_cells(members), out / file_stem(group))
    return written


def _write_all(args: argparse.Namespace, runs: list[Run], out: Path, pool: bool) -> list[Path]:
    """Every output the runs support; each one left out is named with its reason."""
    colour_of = colours(group_by_label(as_variants(runs)))
    metric = args.metric
    written: list[Path] = []
    try:
        notes = _like_with_like(runs, pool, "all")
    except AnalysisError as err:  # several settings and no --group-by: no pooled rows or curves
        log.warning("skipped table, tradeoff, links and energy: %s", err)
    else:
        written += write_table(methods_table(runs), out, paired=paired_differences(runs), pooled=notes)
        written += write_tradeoff(runs, out, metric, colour_of, final=getattr(args, "final", False))
        written += write_links(runs, out, colour_of)
        why = _energy_applies(runs)
        if why is None:
            written += write_energy_tradeoff(runs, out, metric, colour_of)
        else:
            log.warning("skipped energy: %s", why)
    pairs = link_differences(runs)
    if pairs:
        written += write_link_pairs(pairs, out)
    else:
        log.warning("skipped linkpairs: no FineFed run keeps per-link results for its start or controls")
    if realised_points(runs):
        written += write_realised_snr(runs, out, colour_of)
    else:
        log.warning("skipped realised: no run has a channel over time")
    why = _budget_applies(runs)
    if why is None:
        written += write_budget(budget_points(runs), out)
    else:
        log.warning("skipped budget: %s", why)
    why = _snr_applies(runs, args.snr_x)
    if why is None:
        try:
            _snr_like_with_like(runs, args.snr_x, pool)
            written += write_snr(runs, out, args.snr_x, metric, colour_of)
        except AnalysisError as err:
            log.warning("skipped snr: %s", err)
    else:
        log.warning("skipped snr: %s", why)
    why = None if args.param != "auto" else _topology_applies(runs)
    if why is None:
        written += write_topology_sweep(runs, out, args.param, metric, colour_of)
    else:
        log.warning("skipped topology: %s", why)
    try:
        written += write_map(map_cells(runs), out)
    except AnalysisError as err:
        log.warning("skipped map: %s", err)
    return written


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    logging.basicConfig(level=logging.WARNING, format="analysis: %(message)s")
    args = build_parser(prog).parse_args(argv)
    try:
        written = run(args)
    except AnalysisError as err:
        print(f"analysis: error: {err}", file=sys.stderr)
        return 2
    try:
        for path in written:
            print(path)
    except BrokenPipeError:  # e.g. piped into head
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    notice("python -m semnet.analysis")
    sys.exit(main(prog="python -m semnet.analysis"))
