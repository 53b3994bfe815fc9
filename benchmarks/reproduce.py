"""Do two revisions of semnet give the same runs? Byte for byte, case by case.

    python benchmarks/reproduce.py --base HEAD~1                 # every case, base vs working tree
    python benchmarks/reproduce.py --base v0.1 --cases quickstart fedprox

Each case is a shipped scenario with ``--set`` overrides that cut it to seconds (the
quickstart and one paper scenario run as shipped or nearly). The base revision is
checked out into a temporary git worktree and run with the same interpreter, so only
the code differs. A case reproduces when ``events.jsonl`` is byte-identical and
``summary.json`` / ``metrics.jsonl`` are equal apart from wall-clock fields (NaN and
null count as equal; a summary that only gains keys is ``same+``). Refactors
that must not change results (and features that must be off by default) are checked
with it; the last column prints the final mean link PSNR of both.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHORT = (
    "--set method.federated.rounds=3 --set method.federated.converge=null --set method.federated.local.steps=3 "
    "--set method.finetune.iterations=1 --set method.finetune.encoder.steps=4 --set method.finetune.decoder_rounds=1 "
    "--set method.finetune.decoder.steps=3 --set data.test_per_user=8 --set method.personal.rounds=2 "
    "--set method.personal.local.steps=3"
)
QS = "scenarios/quickstart.yaml"
CASES: dict[str, tuple[str, str]] = {
    "quickstart": (QS, ""),
    "paper_ff": ("scenarios/paper/finefed_from_fedavg.yaml",
                 "--set data.test_per_user=10 --set method.finetune.encoder.steps=4 --set method.finetune.decoder.steps=3 "
                 "--set method.personal.local.steps=2 --set method.personal.rounds=2"),
    "qs_all_controls": (QS, SHORT + " --set method.controls=[compute_matched,bytes_matched,local_finetune,fedper,ditto]"
                        " --set links.fading=rayleigh --set links.rate.mode=shannon"),
    "fedprox": (QS, SHORT + " --set method.name=fedprox --set method.controls=[]"),
    "scaffold": (QS, SHORT + " --set method.name=scaffold --set method.controls=[]"),
    "ff_scaffold": (QS, SHORT + " --set method.federated.algorithm=scaffold --set method.controls=[compute_matched,bytes_matched]"),
    "fedper": (QS, SHORT + " --set method.name=fedper --set method.controls=[]"),
    "ditto": (QS, SHORT + " --set method.name=ditto --set method.controls=[]"),
    "local_ft": (QS, SHORT + " --set method.name=local_finetune --set method.controls=[]"),
    "enc_only": (QS, SHORT + " --set method.name=finefed_encoder_only --set method.controls=[]"
                 " --set method.finetune.task_weights=traffic"),
    "dec_only": (QS, SHORT + " --set method.name=finefed_decoder_only --set method.controls=[]"
                 " --set method.federated.client_fraction=0.5 --set simulation.round_deadline_s=0.5"),
    "central": ("scenarios/paper/centralized.yaml",
                "--set data.train_per_user=40 --set data.test_per_user=8 --set method.centralized.epochs=1"),
    "exchange": (QS, "--set method.name=exchange --set method.controls=[] --set method.exchange.semantic_images=2"),
    # per-link SNR overrides, the headroom oracle and a constant-rate start (the heterogeneity map's cells)
    "map_mixed": ("scenarios/map/mixed_snr.yaml",
                  "--set method.federated.rounds=2 --set method.federated.converge=null "
                  "--set method.federated.lr_schedule=constant --set method.federated.decay_rounds=0 "
                  "--set method.finetune.iterations=1 --set method.finetune.encoder.steps=3 "
                  "--set method.finetune.decoder_rounds=1 --set method.finetune.decoder.steps=2 "
                  "--set method.oracle.rounds=1 --set method.oracle.local.steps=3 --set data.test_per_user=8"),
    # the network's physical parts: mobility, UMi path loss, shadowing, time correlation, media, schedulers
    "umi_cell_pf": ("scenarios/channel/umi_street_canyon.yaml",
                    SHORT + " --set method.controls=[] --set links.medium=cell --set links.scheduler=proportional_fair"
                    " --set links.downlink=unicast"),
    "mobile_radio": ("scenarios/channel/mobile_rayleigh.yaml",
                     SHORT + " --set method.controls=[] --set links.medium=node_radio"),
    "cell_tdma": ("scenarios/network/quickstart_cell_broadcast.yaml",
                  SHORT + " --set method.controls=[] --set links.scheduler=tdma"),
    # live images and energy: the summary's typed traffic and energy sections
    "traffic_energy": ("scenarios/network/quickstart_traffic_low.yaml",
                       SHORT + " --set method.controls=[compute_matched] --set simulation.compute.joules_per_sample=0.001"
                       " --set simulation.energy.tx_power_w=0.2"),
    # interference: node radios and live images in one band (SINR), with and without carrier sensing
    "interference": ("scenarios/network/interference_one_band.yaml", SHORT),
    "interference_csma": ("scenarios/network/interference_one_band.yaml", SHORT + " --set links.csma.enabled=true"),
}
# wall-clock fields, and what auto read from the machine (its free cores): never compared
WALL_CLOCK = {"wall_time_s", "execution"}


def run_case(code: Path, name: str, out: Path) -> None:
    scenario, overrides = CASES[name]
    # The revision's own package must come first on the path. `python -m` (and `-c`) put
    # the working directory there, and the working directory must be the repository
    # root (data and checkpoint paths are relative to it), so the path is set in code.
    launcher = (f"import sys; sys.path.insert(0, {str(code)!r}); import semnet; "
                "print('semnet from', semnet.__file__, file=sys.stderr); "
                "from semnet.cli.main import main; sys.exit(main())")
    args = [sys.executable, "-c", launcher, "run", str(code / scenario), *shlex.split(overrides),
            "--set", "simulation.threads=1", "--set", "simulation.workers=1", "--out", str(out), "--quiet"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    imported = str((code / "semnet" / "__init__.py").resolve())
    if f"semnet from {imported}" not in done.stderr:  # a guard against testing one tree twice
        raise SystemExit(f"{name}: the run at {code} did not import semnet from there")
    if done.returncode != 0:
        raise SystemExit(f"{name} at {code}: exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}")


def _comparable(value):
    """Without wall-clock fields; NaN as null (older versions wrote bare NaN)."""
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if k not in WALL_CLOCK}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _contained(old, new) -> bool:
    """Every value of ``old`` is in ``new`` unchanged (``new`` may add keys at any depth)."""
    if isinstance(old, dict):
        return isinstance(new, dict) and all(k in new and _contained(v, new[k]) for k, v in old.items())
    if isinstance(old, list):
        return isinstance(new, list) and len(old) == len(new) and all(map(_contained, old, new))
    return old == new


def compare(a: Path, b: Path) -> tuple[str, str, str, object, object]:
    """'same' or 'DIFF' for events, summary and metrics; a summary whose every earlier
    key is equal but which has new keys is 'same+' (a feature that adds a record)."""
    events = (a / "events.jsonl").read_bytes() == (b / "events.jsonl").read_bytes()
    sa, sb = (_comparable(json.loads((p / "summary.json").read_text())) for p in (a, b))
    ma, mb = ([_comparable(json.loads(line)) for line in (p / "metrics.jsonl").read_text().splitlines()]
              for p in (a, b))
    summary = "same" if sa == sb else "same+" if _contained(sa, sb) else "DIFF"
    mark = {True: "same", False: "DIFF"}
    return mark[events], summary, mark[ma == mb], sa.get("psnr_db"), sb.get("psnr_db")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git revision to compare against (e.g. HEAD~1, a tag)")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--keep", type=Path, default=None, help="keep the run directories under this folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="semnet-reproduce-") as tmp:
        tmp = Path(tmp)
        base_code = tmp / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base_code), args.base], cwd=ROOT, check=True,
                       capture_output=True)
        runs = args.keep or tmp / "runs"
        failures = 0
        try:
            print(f"{'case':<16} {'events':<7} {'summary':<8} {'metrics':<8} psnr_db (base -> now)")
            for name in args.cases:
                run_case(base_code, name, runs / "base" / name)
                run_case(ROOT, name, runs / "now" / name)
                events, summary, metrics, pa, pb = compare(runs / "base" / name, runs / "now" / name)
                failures += "DIFF" in (events, summary, metrics)
                print(f"{name:<16} {events:<7} {summary:<8} {metrics:<8} {pa} -> {pb}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_code)], cwd=ROOT, capture_output=True)
    print(f"{len(args.cases) - failures} of {len(args.cases)} cases reproduce")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
