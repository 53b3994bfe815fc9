"""Every CUDA figure of semnet in one run, printed as one table (``gpu_check.sh`` runs this).

Four parts, in this order, each a row (or three) of the final table:

1. the CUDA tests: every test file that marks tests ``gpu`` (found by grep), run with
   ``pytest -m gpu``; passed / skipped / failed;
2. the batched trainer against the per-user loop (``bench_batched.py``) at 32, 128 and
   512 users of the small model; target >= 10x at 128 users on a GPU;
3. one quickstart (``scenarios/quickstart.yaml`` as shipped) on the device: wall seconds
   and the final PSNR;
4. bf16 against fp32 training (``bench_precision.py``) on the device.

``--device auto`` (the default) takes CUDA when torch sees it. Without CUDA, or with
``--cpu-smoke``, every part runs in a CI-sized form on the CPU (a few users, a few
steps, the quickstart cut to seconds) so that the script itself is exercised by the
test suite (``tests/benchmarks/test_gpu_check.py``) and cannot rot; its figures then
say nothing about speed. The whole run is meant to fit in 8 minutes on one GPU; the
last row gives its wall time against that budget.
"""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402

import bench_batched  # noqa: E402
import bench_precision  # noqa: E402
from semnet.runner import run_scenario  # noqa: E402
from semnet.scenario import load_scenario  # noqa: E402

BUDGET_S = 480.0
TARGET_SPEEDUP_AT_128 = 10.0
# the quickstart cut to seconds (the CI-sized form): a few rounds and steps of each phase
QUICKSTART_SMOKE = (
    "method.federated.rounds=1", "method.federated.converge=null", "method.federated.local.steps=1",
    "method.finetune.iterations=1", "method.finetune.encoder.steps=1", "method.finetune.decoder_rounds=1",
    "method.finetune.decoder.steps=1", "method.personal.rounds=1", "method.personal.local.steps=1",
    "method.controls=[]", "data.test_per_user=2",
)


class Table:
    """Rows of (check, figure, value, target, verdict); ``value`` is the row's number."""

    def __init__(self, device: str):
        self.device = device
        self.rows: list[tuple[str, str, float, str, str]] = []

    def add(self, check: str, figure: str, value: float, target: str = "-", verdict: str = "-") -> None:
        self.rows.append((check, figure, value, target, verdict))
        print(f"[gpu_check] {check}: {figure} = {value:.4g} ({verdict})", flush=True)

    def print(self) -> None:
        head = ("check", "device", "figure", "value", "target", "verdict")
        body = [(c, self.device, f, _number(v), t, w) for c, f, v, t, w in self.rows]
        widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
        line = " | ".join
        print("\n" + line(h.ljust(w) for h, w in zip(head, widths)))
        print("-+-".join("-" * w for w in widths))
        for r in body:
            print(line(cell.ljust(w) for cell, w in zip(r, widths)))


def _number(value: float) -> str:
    if math.isnan(value):
        return "nan"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def cuda_tests(table: Table, smoke: bool) -> None:
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("test_*.py")
                   if re.search(r"mark\.gpu\b", p.read_text(encoding="utf-8")))
    # in one process, without the suite's addopts (they need pytest-xdist, which a GPU box may lack)
    done = subprocess.run([sys.executable, "-m", "pytest", "-o", "addopts=", "-p", "no:xdist", "-m", "gpu", "-q",
                           "-p", "no:cacheprovider", *files],
                          cwd=ROOT, capture_output=True, text=True)
    tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr.strip()[-200:]
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|skipped|failed|error)", tail)}
    passed, skipped = counts.get("passed", 0), counts.get("skipped", 0)
    failed = counts.get("failed", 0) + counts.get("error", 0)
    if smoke:  # no CUDA: the tests must be found and skip, none may fail
        verdict = "ok (skipped: no CUDA)" if skipped > 0 and failed == 0 and passed == 0 else "FAIL"
        table.add(f"CUDA tests ({len(files)} files)", "skipped", skipped, "all skip on CPU", verdict)
    else:
        verdict = "ok" if passed > 0 and failed == 0 else "FAIL"
        table.add(f"CUDA tests ({len(files)} files)", "passed", passed, "none fail", verdict)
        if failed or skipped:
            table.add(f"CUDA tests ({len(files)} files)", "failed + skipped", failed + skipped, "0",
                      "FAIL" if failed else "check")


def batched(table: Table, device: str, users: list[int], smoke: bool) -> None:
    build = dict(steps=2, batch=4, images=8) if smoke else dict(steps=5, batch=8, images=64)
    bench_batched.warm_up(device, **build)
    for n in users:
        row = bench_batched.compare(n, **build, device=device)
        target = f">= {TARGET_SPEEDUP_AT_128:.0f}x" if n == 128 else "-"
        agree = row["loss_rel_diff"] < 1e-3
        if not agree:
            verdict = f"FAIL: losses differ by {row['loss_rel_diff']:.1e}"
        elif n == 128 and not smoke:
            verdict = "met" if row["speedup"] >= TARGET_SPEEDUP_AT_128 else "not met"
        else:
            verdict = "losses agree"
        table.add(f"batched vs loop, {n} users", f"speed-up (loop {row['loop_s']:.2f} s)", row["speedup"], target,
                  verdict)


def quickstart(table: Table, device: str, smoke: bool) -> None:
    overrides = [f"simulation.device={device}", "output.progress=false", *(QUICKSTART_SMOKE if smoke else ())]
    scenario = load_scenario(ROOT / "scenarios" / "quickstart.yaml", overrides)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = run_scenario(scenario, out_dir=Path(tmp) / "run")
        wall = time.perf_counter() - start
    psnr = float(result.summary["psnr_db"])
    table.add("quickstart" + (" (cut to seconds)" if smoke else ""), "wall s", wall, "-",
              f"PSNR {psnr:.2f} dB" if math.isfinite(psnr) else "FAIL: no PSNR")


def bf16(table: Table, device: str, smoke: bool) -> None:
    size = dict(steps=2, repeats=1, batch=8, matmul_n=256) if smoke else dict(steps=30, repeats=3)
    r = bench_precision.measure(device=device, **size)
    table.add("bf16 vs fp32 training", f"bf16/fp32 (fp32 {r['fp32_img_s']:,.0f} img/s)", r["ratio"], "> 1x",
              "-" if smoke else ("faster" if r["ratio"] > 1.0 else "not faster"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    parser.add_argument("--cpu-smoke", action="store_true", help="CI-sized parts on the CPU (what the tests run)")
    parser.add_argument("--users", type=int, nargs="+", default=None, help="batched sizes (default 32 128 512)")
    parser.add_argument("--skip", nargs="+", default=[], choices=("tests", "batched", "quickstart", "bf16"))
    args = parser.parse_args(argv)
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("gpu_check: --device cuda, but torch sees no CUDA device; allowed: auto, cpu, --cpu-smoke")
    smoke = args.cpu_smoke or (args.device == "auto" and device == "cpu")
    if smoke:
        device = "cpu"
        print("[gpu_check] CI-sized form on the CPU: the figures check the script, not the speed", flush=True)
    users = args.users or ([2, 3] if smoke else [32, 128, 512])
    name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    table = Table(name)
    start = time.perf_counter()
    parts = {"tests": lambda: cuda_tests(table, smoke), "batched": lambda: batched(table, device, users, smoke),
             "quickstart": lambda: quickstart(table, device, smoke), "bf16": lambda: bf16(table, device, smoke)}
    for part, run in parts.items():
        if part not in args.skip:
            run()
    wall = time.perf_counter() - start
    table.add("whole check", "wall s", wall, f"<= {BUDGET_S:.0f} s", "within" if wall <= BUDGET_S else "over budget")
    table.print()
    return 1 if any(r[4].startswith("FAIL") for r in table.rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
