#!/usr/bin/env bash
# The GPU benchmarks of docs/en/benchmarks.md in one command (a few
# minutes on one H100/H200), section by section:
#   mae       MAE-B/16 at batch 256 and MAE-L/16 at batch 128, mmmim
#             against mmpretrain's MAE in the same process, eager
#   videomae  VideoMAE-B at batch 32 (the official per-GPU batch) against
#             the official boolean-indexing formulation
#   compile   the MAE runs with torch.compile (default mode, then CUDA
#             graphs with a profile of one step)
#   fsdp2     MAE-L/16 at batch 128 plain and sharded by FSDP2, with and
#             without activation checkpointing, with the memory plans
#   data      the pre-training input pipeline per core on this host's
#             CPUs (mmpretrain's against mmmim's), and GPU JPEG decoding
# Usage: bash tools/analysis_tools/benchmark_gpu.sh [SECTION ...]
# (default: all). The data section reads JPEGs from DATA (default
# data/demo/train, made by `make demo`).
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python}
DATA=${DATA:-data/demo/train/photos}
sections=" ${*:-mae videomae compile fsdp2 data} "
want() { [[ "$sections" == *" $1 "* ]]; }
run() {
    "$PYTHON" tools/analysis_tools/benchmark.py --device cuda \
        --pairs 20 --warmup 5 "$@"
}
MAE_L=configs/mae/mae_vit-large-p16_8xb512-amp-coslr-400e_in1k.py
if want mae; then
    run --size B224 --batch 256 --settings default equal-bf16
    run --size L224 --batch 128 --settings default
fi
if want videomae; then
    run --method videomae --size B224 --batch 32 --settings default equal-bf16
fi
if want data; then
    "$PYTHON" tools/analysis_tools/benchmark_data.py --images "$DATA" \
        --quick --device cuda --workers "$(( $(nproc) - 2 ))"
fi
if want fsdp2; then
    "$PYTHON" tools/analysis_tools/benchmark_fsdp2.py "$MAE_L" --batch 128
    "$PYTHON" tools/analysis_tools/benchmark_fsdp2.py "$MAE_L" --batch 128 \
        --checkpointing
fi
if want compile; then
    run --size B224 --batch 256 --settings default --compile
    run --size B224 --batch 256 --settings default --compile \
        --compile-mode reduce-overhead --profile 25
    run --size L224 --batch 128 --settings default --compile
fi
