#!/usr/bin/env bash
# Every CUDA figure of semnet in one run, printed as one table at the end: the CUDA
# tests, the batched trainer against the per-user loop at 32/128/512 users, one
# quickstart and bf16 training, on the GPU (about 3-5 minutes; budget 8).
#
#   benchmarks/gpu_check.sh                  # --device auto: CUDA if torch sees it
#   benchmarks/gpu_check.sh --device cuda    # refuse to run without CUDA
#   benchmarks/gpu_check.sh --cpu-smoke      # CI-sized, on the CPU (what tests/benchmarks/test_gpu_check.py runs)
#
# PYTHON picks the interpreter (default: python3). The parts are benchmarks/gpu_check.py;
# docs/benchmarks.md says what each row means.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-python3}" benchmarks/gpu_check.py "$@"
