"""``semnet`` command line: run, validate, sweep, report, list.

User mistakes (``SemnetError``) print one line and exit with status 2; internal
errors keep their traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from semnet.errors import SemnetError

EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="semnet", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="simulate one scenario and write its run directory")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                     help="override a scenario key (repeatable), e.g. --set links.snr_db=5")
    run.add_argument("--out", help="run directory (default: <output.dir>/<name>-seed<seed>-<time>)")
    run.add_argument("--quiet", action="store_true", help="no progress bar, no summary text")

    val = sub.add_parser("validate", help="check scenario files without running them")
    val.add_argument("scenarios", nargs="+")
    val.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE")

    rep = sub.add_parser("report", help="print the summary of finished run directories")
    rep.add_argument("runs", nargs="+")

    lst = sub.add_parser("list", help="list registered components: methods, controls, algorithms, channels, "
                         "topologies, partitioners, models, codecs")
    lst.add_argument("what", choices=["methods", "controls", "algorithms", "channels", "topologies", "partitioners",
                                      "models", "codecs"])
    lst.add_argument("--plugin", dest="plugins", action="append", default=[], metavar="MODULE",
                     help="import a plugin module first (repeatable), so its components are listed too")

    sweep = sub.add_parser("sweep", help="run a grid or list of scenario variations")
    sweep.add_argument("sweep_file", help="sweep YAML file")
    sweep.add_argument("--backend", choices=["local", "ray"], default="local")
    sweep.add_argument("--workers", type=int, default=None, help="local backend: parallel processes")
    sweep.add_argument("--address", default=None, help="ray backend: cluster address (default: RAY_ADDRESS)")
    sweep.add_argument("--out", default=None, help="sweep directory (default: from the sweep file)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return _dispatch(args)
    except SemnetError as err:
        print(f"semnet: error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("semnet: interrupted; unfinished files are left as *.part", file=sys.stderr)
        return 130


def _dispatch(args) -> int:
    if args.command == "list":
        return _list(args.what, args.plugins)
    if args.command == "validate":
        from semnet.scenario import load_scenario

        for path in args.scenarios:
            scenario = load_scenario(path, args.overrides)
            print(f"{path}: ok ({scenario.method.name}, {scenario.topology.num_users} users, {scenario.topology.kind})")
        return 0
    if args.command == "run":
        return _run(args)
    if args.command == "report":
        from semnet.cli.report import format_summary

        for run in args.runs:
            summary_path = Path(run) / "summary.json"
            if not summary_path.is_file():
                raise SemnetError(f"'{run}' is not a finished run directory (no summary.json)")
            print(format_summary(json.loads(summary_path.read_text()), run))
            print()
        return 0
    if args.command == "sweep":
        from semnet.sweep import run_sweep_cli

        return run_sweep_cli(args)
    raise AssertionError(args.command)


def _run(args) -> int:
    from semnet.cli.progress import RunProgress
    from semnet.cli.report import format_summary
    from semnet.runner import run_scenario
    from semnet.scenario import load_scenario

    scenario = load_scenario(args.scenario, args.overrides)
    progress = RunProgress(enabled=scenario.output.progress and not args.quiet)
    try:
        result = run_scenario(scenario, out_dir=args.out, progress=progress)
    except SemnetError as err:
        raise type(err)(f"{args.scenario}: {err}") from None
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
