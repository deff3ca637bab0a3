#!/usr/bin/env bash
# The GPU benchmarks of docs/en/benchmarks.md in one command (a few
# minutes on one H100/H200): MAE-B/16 at batch 256 and MAE-L/16 at batch
# 128, mmmim against mmpretrain's MAE run side by side, eager and with
# torch.compile; VideoMAE-B at batch 32 (the official per-GPU batch)
# against the official boolean-indexing formulation. Usage: bash tools/analysis_tools/benchmark_gpu.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python}
run() {
    "$PYTHON" tools/analysis_tools/benchmark.py --device cuda \
        --pairs 20 --warmup 5 "$@"
}
run --size B224 --batch 256 --settings default equal-bf16
run --size B224 --batch 256 --settings default --compile
run --size L224 --batch 128 --settings default
run --size L224 --batch 128 --settings default --compile
run --method videomae --size B224 --batch 32 --settings default equal-bf16
