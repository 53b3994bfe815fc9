"""benchmarks/gpu_check.sh in its CI-sized CPU form: every part runs and the one table
at the end has each row, each with a number (so the GPU check cannot rot unseen)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _table(stdout: str) -> list[list[str]]:
    lines = stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("check ") and "| value " in line)
    return [[cell.strip() for cell in line.split("|")] for line in lines[head + 2:] if "|" in line]


def test_the_gpu_check_runs_on_the_cpu_and_prints_one_full_table():
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--cpu-smoke"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {row[0]: row for row in _table(done.stdout)}
    checks = list(rows)
    assert checks[0].startswith("CUDA tests (") and checks[-1] == "whole check"
    assert {"batched vs loop, 2 users", "batched vs loop, 3 users", "quickstart (cut to seconds)",
            "bf16 vs fp32 training"} <= set(checks) and len(checks) == 6
    for check, device, figure, value, target, verdict in rows.values():
        number = float(value.replace(",", ""))
        assert device == "cpu" and math.isfinite(number) and number > 0, (check, value)
        assert not verdict.startswith("FAIL"), (check, verdict)
    assert int(rows[checks[0]][3]) >= 2  # the CUDA tests were found (and skipped here)
    assert rows["batched vs loop, 3 users"][5] == "losses agree"  # both trainers did the same work
    assert rows["quickstart (cut to seconds)"][5].startswith("PSNR ") and "dB" in rows["quickstart (cut to seconds)"][5]
