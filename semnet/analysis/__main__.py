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
map        map.md/.csv/.png: the heterogeneity map, per channel structure and data split: oracle headroom,
           FineFed minus the compute- and bytes-matched controls (paired, over seeds), headroom captured
keep       copy finished runs (summary, scenario, metrics, compressed events) from a scratch folder into
           --out at the same relative paths, to commit them as records (--checkpoint global.pt: that too)
all        every one of the above but keep that the runs support (others are skipped with a reason)
timeline   RUN_DIR --out FIG.png: one run's live images (traffic:) over simulated time: delivered
           PSNR and latency, phases shaded, model deployments marked
channel-time  RUN_DIR [--out DIR] [--links 4]: realised_snr: the realised SNR of a few links of one run
           over simulated time, phases shaded (a channel over time; default --out RUN_DIR/analysis)
snr-curve  RECORDS_DIR --out DIR [--codec webp]: snr_curve.png/.svg/.md/.csv: PSNR vs test SNR of deep JSCC
           and the digital baselines, per fading and bandwidth ratio, from the records that
           `python -m semnet.digital.snr_curve` writes

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

from .at_test_snr import write_at_test_snr
from .budget import budget_points, write_budget
from .heterogeneity_map import map_cells, write_map
from .keep import keep_runs
from .link_pairs import link_differences, write_link_pairs
from .links import write_links
from .realised_snr import realised_points, write_realised_snr
from .runs import AnalysisError, Run, as_variants, group_by_label, load_runs
from .snr import X_CHOICES, snr_series, write_snr
from .snr_curve import write_snr_curve
from .style import colours
from .table import methods_table, paired_differences, write_table
from .topology_sweep import PARAMS, swept_param, write_topology_sweep
from .timeline import write_timeline
from .tradeoff import write_energy_tradeoff, write_tradeoff

log = logging.getLogger("semnet.analysis")

METRICS = ("psnr_db", "worst_link_psnr_db", "ssim")
COMMANDS = ("table", "tradeoff", "snr", "links", "linkpairs", "realised", "budget", "topology", "testsnr", "energy",
            "map", "keep", "all")


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
        if name not in ("table", "links", "linkpairs", "realised", "budget", "testsnr", "map", "keep"):
            p.add_argument("--metric", choices=METRICS, default="psnr_db", help="quality measure (default psnr_db)")
        if name in ("snr", "all"):
            p.add_argument("--x", dest="snr_x", choices=X_CHOICES, default="snr_db_mean",
                           help="SNR axis: the runs' mean link SNR, or the swept links.snr_offset_db / links.snr_db")
        if name in ("topology", "all"):
            p.add_argument("--param", choices=("auto",) + PARAMS, default="auto",
                           help="topology parameter on the x axis (default: the one that varies)")
    p = sub.add_parser("timeline", help="one run's live images over simulated time: PSNR and latency, phases "
                       "shaded, deployments marked", description="delivered-image PSNR and image latency of a run "
                       "made with traffic: against simulated time")
    p.add_argument("run", metavar="RUN_DIR", help="a run directory written with a traffic: section")
    p.add_argument("--out", required=True, help="figure file (.png, .svg, .pdf) or a folder (timeline.png/.svg)")
    p.add_argument("--branch", default="main", help="the branch to draw (main, or control_<name>)")
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
        return write_timeline(args.run, args.out, args.branch)
    if args.command == "channel-time":
        from .channel_over_time import plot_realised_snr

        return plot_realised_snr(args.run, args.out or Path(args.run) / "analysis", links=args.links)
    if args.command == "snr-curve":
        return write_snr_curve(args.records, args.out, args.codec)
    if args.command == "keep":
        return keep_runs(args.runs, args.out, checkpoints=tuple(args.checkpoint))
    runs = load_runs(args.runs)
    out = Path(args.out)
    colour_of = colours(group_by_label(as_variants(runs)))
    metric = getattr(args, "metric", "psnr_db")
    written: list[Path] = []
    cmd = args.command
    if cmd in ("table", "all"):
        written += write_table(methods_table(runs), out, paired=paired_differences(runs))
    if cmd in ("tradeoff", "all"):
        written += write_tradeoff(runs, out, metric, colour_of, final=getattr(args, "final", False))
    if cmd in ("links", "all"):
        written += write_links(runs, out, colour_of)
    if cmd == "linkpairs":
        written += write_link_pairs(link_differences(runs), out)
    if cmd == "realised":
        written += write_realised_snr(runs, out, colour_of)
    if cmd == "budget":
        written += write_budget(budget_points(runs), out)
    if cmd == "map":
        written += write_map(map_cells(runs), out)
    if cmd == "snr":
        written += write_snr(runs, out, args.snr_x, metric, colour_of)
    if cmd == "topology":
        written += write_topology_sweep(runs, out, args.param, metric, colour_of)
    if cmd == "testsnr":
        written += write_at_test_snr(runs, out)
    if cmd == "energy":
        why = _energy_applies(runs)
        if why is not None:
            raise AnalysisError(why)
        written += write_energy_tradeoff(runs, out, metric, colour_of)
    if cmd == "all":
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
            written += write_snr(runs, out, args.snr_x, metric, colour_of)
        else:
            log.warning("skipped snr: %s", why)
        why = None if args.param != "auto" else _topology_applies(runs)
        if why is None:
            written += write_topology_sweep(runs, out, args.param, metric, colour_of)
        else:
            log.warning("skipped topology: %s", why)
        why = _energy_applies(runs)
        if why is None:
            written += write_energy_tradeoff(runs, out, metric, colour_of)
        else:
            log.warning("skipped energy: %s", why)
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
