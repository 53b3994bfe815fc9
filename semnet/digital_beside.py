"""Score the digital baselines beside a finished run, on its links, test images and
comparison states, without training anything:

    python -m semnet.digital_beside RUN_DIR --out DIR [--codecs jpeg webp jpeg2000] [--rates capacity mcs]

The baselines depend only on the scenario (network, data, seed), not on the method's
models, so a run made before ``evaluation.digital`` existed gets the same numbers it
would have had with it. Writes ``DIR/digital.json`` (the ``digital`` section of a
summary) and ``DIR/links.md``: per link, the run's final and start PSNR next to
every baseline's.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from semnet.scenario import load_scenario
from semnet.summary import load_summary

__all__ = ["digital_beside", "main"]


def digital_beside(run_dir: str | Path, codecs: tuple[str, ...], rates: tuple[str, ...],
                   fallback: str = "previous") -> dict:
    """The ``digital`` section the run would have had with these baselines."""
    from semnet.assembly import assemble

    overrides = [f"evaluation.digital={{codecs: [{', '.join(codecs)}], rates: [{', '.join(rates)}], "
                 f"fallback: {fallback}}}", "simulation.workers=1", "simulation.backend=local"]
    scenario = load_scenario(Path(run_dir) / "scenario.yaml", overrides=overrides)
    assembly = assemble(scenario)
    try:
        return assembly.digital.evaluate()
    finally:
        assembly.trainer.close()


def links_table(run_dir: str | Path, digital: dict) -> str:
    summary = load_summary(run_dir)
    start = {(q.src, q.dst): q.psnr_db for q in (summary.phases[0].links if summary.phases else [])}
    final = {(q.src, q.dst): q for q in summary.links}
    names = [b["name"] for b in digital["baselines"]]
    rows = {b["name"]: {(r["src"], r["dst"]): r for r in b["links"]} for b in digital["baselines"]}
    head = ["link", "SNR dB", f"{summary.method} (final)", "start", *names]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for link, q in final.items():
        cells = [f"{link[0]}->{link[1]}", f"{q.snr_db:.2f}", f"{q.psnr_db:.2f}", f"{start.get(link, float('nan')):.2f}"]
        for name in names:
            r = rows[name][link]
            mark = "".join(f" ({r[k]}/{r['sends']} {k})" for k in ("lost", "unfit") if r[k])
            cells.append(f"{r['psnr_db']:.2f}{mark}")
        lines.append("| " + " | ".join(cells) + " |")
    means = ["mean", "", f"{summary.psnr_db:.2f}", f"{summary.phases[0].psnr_db:.2f}",
             *[f"{b['psnr_db']:.2f}" for b in digital["baselines"]]]
    lines.append("| " + " | ".join(means) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m semnet.digital_beside", description=__doc__.splitlines()[0])
    parser.add_argument("run", metavar="RUN_DIR")
    parser.add_argument("--out", required=True)
    parser.add_argument("--codecs", nargs="+", default=["jpeg", "webp", "jpeg2000"])
    parser.add_argument("--rates", nargs="+", default=["capacity", "mcs"])
    parser.add_argument("--fallback", default="previous", choices=("previous", "mean"))
    args = parser.parse_args(argv)
    digital = digital_beside(args.run, tuple(args.codecs), tuple(args.rates), args.fallback)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "digital.json").write_text(json.dumps(digital, indent=1) + "\n")
    (out / "links.md").write_text(links_table(args.run, digital))
    print(out / "digital.json")
    print(out / "links.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
