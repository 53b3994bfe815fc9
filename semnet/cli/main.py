"""``semnet`` command line: run, validate, sweep, report, list, analyse.

User mistakes (``SemnetError``) print one line and exit with status 2; a run that
stops by itself (it diverged) prints one line and exits with status 1; Ctrl-C or
SIGTERM prints one line and exits with status 130; internal errors keep their
traceback. A reader that closes the pipe early (``semnet report RUN | head``) ends
the output quietly.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from semnet.cli.pipes import EXIT_BROKEN_PIPE, silence_stdout
from semnet.errors import RunFailed, RunInterrupted, SemnetError, StorageError

EXIT_RUN_FAILED = 1
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="semnet", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="simulate one scenario and write its run directory")
    run.add_argument("scenario", nargs="?", help="scenario YAML file")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                     help="override a scenario key (repeatable), e.g. --set links.snr_db=5")
    run.add_argument("--out", help="run directory (default: <output.dir>/<name>-seed<seed>-<time>)")
    run.add_argument("--overwrite", action="store_true",
                     help="replace the run files in --out (a finished, failed or killed run) instead of refusing")
    run.add_argument("--resume", metavar="RUN_DIR",
                     help="continue an interrupted or killed run from its last checkpoint (no scenario argument)")
    run.add_argument("--quiet", action="store_true", help="no progress bar, no summary text")
    run.add_argument("--address", default=None,
                     help="simulation.backend ray: the cluster's address (default: $RAY_ADDRESS, else a local Ray)")

    val = sub.add_parser("validate", help="check scenario and sweep files without running them (every point of a "
                         "sweep); one line per bad file or point")
    val.add_argument("scenarios", nargs="+")
    val.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE")

    rep = sub.add_parser("report", help="print the summary of finished run directories")
    rep.add_argument("runs", nargs="+")

    lst = sub.add_parser("list", help="list registered components: methods, controls, algorithms, aggregators, "
                         "channels, topologies, partitioners, models, codecs, path_losses, shadowings, mobilities, "
                         "time_correlations, media, schedulers, trainers, image_codecs")
    lst.add_argument("what", choices=["methods", "controls", "algorithms", "aggregators", "channels", "topologies", "partitioners",
                                      "models", "codecs", "path_losses", "shadowings", "mobilities",
                                      "time_correlations", "media", "schedulers", "trainers", "image_codecs"])
    lst.add_argument("--plugin", dest="plugins", action="append", default=[], metavar="MODULE",
                     help="import a plugin module first (repeatable), so its components are listed too")

    sweep = sub.add_parser("sweep", help="run a grid or list of scenario variations")
    sweep.add_argument("sweep_file", help="sweep YAML file")
    sweep.add_argument("--backend", choices=["local", "ray"], default="local")
    sweep.add_argument("--workers", type=int, default=None, help="local backend: parallel processes")
    sweep.add_argument("--address", default=None, help="ray backend: cluster address (default: RAY_ADDRESS)")
    sweep.add_argument("--out", default=None, help="sweep directory (default: from the sweep file)")
    sweep.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                       help="override a scenario key of every point (repeatable; after the file's 'set', before "
                       "each point's own keys)")

    # ``semnet analyse ...`` is handed whole to semnet.analysis's own parser (see main); this
    # entry only lists it in ``semnet --help``.
    sub.add_parser("analyse", add_help=False, help="tables and figures from run directories "
                   "(semnet analyse --help lists the commands)")
    return parser


def _analyse_argv(argv: list[str]) -> list[str] | None:
    """The arguments after ``analyse`` when ``argv`` is an ``analyse`` command line
    (``semnet [-v] analyse ...``), else None."""
    for index, arg in enumerate(argv):
        if arg in ("-v", "--verbose"):
            continue
        return argv[index + 1:] if arg == "analyse" else None
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    analyse_argv = _analyse_argv(argv)
    if analyse_argv is not None:
        from semnet.cli.analyse import analyse

        return analyse(analyse_argv)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        try:
            return _dispatch(args)
        finally:
            sys.stdout.flush()  # a closed pipe shows here, inside the handler below
    except BrokenPipeError:
        silence_stdout()
        return EXIT_BROKEN_PIPE
    except SemnetError as err:
        for line in getattr(err, "lines", None) or [str(err)]:  # a sweep's invalid points: one line each
            print(f"semnet: error: {line}", file=sys.stderr)
        return EXIT_USER_ERROR
    except RunFailed as err:
        print(f"semnet: error: {err}", file=sys.stderr)
        return EXIT_RUN_FAILED
    except RunInterrupted as err:
        print(f"semnet: {err}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("semnet: interrupted; unfinished files are left as *.part", file=sys.stderr)
        return EXIT_INTERRUPTED



def _dispatch(args) -> int:
    if args.command == "list":
        return _list(args.what, args.plugins)
    if args.command == "validate":
        return _validate(args.scenarios, args.overrides)
    if args.command == "run":
        return _run(args)
    if args.command == "report":
        return _report(args.runs)
    if args.command == "sweep":
        from semnet.cli.sweep import run_sweep_cli

        return run_sweep_cli(args)
    raise AssertionError(args.command)


def _validate(paths: list[str], overrides: list[str]) -> int:
    """Check every file (a scenario, or a sweep and each of its points); one line per
    problem on stderr, so that one bad file does not hide the next."""
    from semnet.scenario import load_scenario, read_yaml

    bad = 0
    for path in paths:
        try:
            if _is_sweep(read_yaml, path):
                bad += _validate_sweep(path, overrides)
                continue
            scenario = load_scenario(path, overrides)
            _check_network(scenario, path)
        except SemnetError as err:
            print(f"semnet: error: {err}", file=sys.stderr)
            bad += 1
            continue
        print(f"{path}: ok ({scenario.method.name}, {scenario.topology.num_users} users, {scenario.topology.kind})")
    return EXIT_USER_ERROR if bad else 0


def _check_network(scenario, source: str) -> None:
    """Build the scenario's network (no data, no model) and check its data keys against
    what ``data.path`` holds: a graph without links, an SNR override on a pair that is no
    link, a combination the media do not model (a Shannon-rate broadcast on a channel over
    time) or a key the CIFAR-10 batches do not use shows here rather than when running."""
    from semnet.net.network import build_network
    from semnet.workload import check_data_keys

    try:
        build_network(scenario.topology, scenario.links, scenario.seed)
        check_data_keys(scenario.data)
    except SemnetError as err:
        raise type(err)(f"{source}: {err}") from None


def _is_sweep(read_yaml, path: str) -> bool:
    return "base" in read_yaml(path)  # a scenario has no 'base' key: a sweep file


def _validate_sweep(path: str, overrides: list[str]) -> int:
    """Validate every point of the sweep at ``path``; return how many lines were errors."""
    from semnet.sweep.points import check_points, point_overrides
    from semnet.sweep.spec import load_sweep

    spec = load_sweep(path, overrides)
    points, errors = check_points(spec)
    total = len(point_overrides(spec))
    for point in points:
        try:
            _check_network(point.scenario, f"sweep point {point.index + 1}/{total} ({point.name})")
        except SemnetError as err:
            errors.append(str(err))
    for line in errors:
        print(f"semnet: error: {path}: {line}" if not line.startswith(path) else f"semnet: error: {line}",
              file=sys.stderr)
    if not errors:
        print(f"{path}: ok (sweep of {len(points)} points, every point valid)")
    return len(errors)


def _report(runs: list[str]) -> int:
    from semnet.cli.report import format_summary
    from semnet.metrics.rundir import SUMMARY, describe_state, run_state
    from semnet.summary import load_summary

    for run in runs:
        summary_path = Path(run) / SUMMARY
        if not summary_path.is_file():
            state = run_state(run)
            what = describe_state(state) if state else "no run (no summary.json)"
            raise SemnetError(f"'{run}' is not a finished run directory: it holds {what}")
        summary = load_summary(summary_path)  # one line if it is not a run's summary
        try:
            text = format_summary(summary, run)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
            what = f"no key {err}" if isinstance(err, KeyError) else f"a value of the wrong kind ({type(err).__name__})"
            raise SemnetError(f"'{summary_path}' is not a summary semnet wrote: {what}; run the scenario again "
                              "or remove that directory") from None
        print(text)
        print()
    return 0


def _run(args) -> int:
    from semnet.workers.cores import open_busy_window

    open_busy_window()  # auto counts the free cores over the imports below, not over a wait of its own
    from semnet.cli.progress import RunProgress
    from semnet.cli.report import format_summary
    from semnet.cli.signals import sigterm_as_interrupt
    from semnet.runner import run_scenario
    from semnet.scenario import load_scenario

    checkpoint = None
    if args.resume is not None:
        from semnet.resume_run import load_resume_point

        if args.scenario is not None or args.overrides or args.out or args.overwrite:
            raise SemnetError("run --resume RUN_DIR continues the run's own scenario in its own directory; "
                              "give no scenario, --set, --out or --overwrite with it")
        scenario_file, checkpoint = load_resume_point(args.resume)
        args.scenario, args.out = str(scenario_file), args.resume
    if args.scenario is None:
        raise SemnetError("run: give a scenario file, e.g. semnet run scenarios/quickstart.yaml")
    scenario = load_scenario(args.scenario, args.overrides)
    if args.address:  # read where the Ray backend connects
        os.environ["RAY_ADDRESS"] = args.address
    progress = RunProgress(enabled=scenario.output.progress and not args.quiet)
    try:
        with sigterm_as_interrupt():
            result = run_scenario(scenario, out_dir=args.out, progress=progress, overwrite=args.overwrite,
                                  resume=checkpoint)
    except StorageError as err:  # a full disk, a read-only folder
        again = "" if err.run_dir is None else (
            f"; the run stopped as interrupted (records kept in {err.run_dir}): continue it with "
            f"'semnet run --resume {err.run_dir}' once it can be written")
        raise StorageError(f"{args.scenario}: {err}{again}") from None
    except SemnetError as err:
        raise type(err)(f"{args.scenario}: {err}") from None
    except (RunFailed, RunInterrupted) as err:
        where = getattr(err, "run_dir", None) or args.out or "the run directory"
        again = f"; continue it with 'semnet run --resume {where}'" if isinstance(err, RunInterrupted) else ""
        raise type(err)(f"{args.scenario}: {err}; records kept in {where} (status.json says why){again}") from None
    finally:
        progress.close()
    if not args.quiet:
        print(format_summary(result.summary, str(result.path)))
    else:
        print(result.path)
    return 0


def _list(what: str, plugins: list[str]) -> int:
    from semnet import registry

    registry.load_plugins(plugins, key="--plugin", search=(Path.cwd(),))
    entries = registry.ALL[what].describe()
    width = max(map(len, entries), default=0)
    for name, text in entries.items():
        print(f"{name:<{width}}  {text}".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
