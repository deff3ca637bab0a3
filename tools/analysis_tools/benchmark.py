# Copyright (c) mmmim contributors. All rights reserved.
"""Time MIM training steps of mmmim against a reference implementation,
side by side in one process.

Every step (forward, backward, AdamW) is seeded and the two sides are
interleaved ABBA so that drift cancels; the headline is the median of
per-pair time ratios (reference / mmmim, > 1 means mmmim is faster). Per
side it prints the step time, images (clips) per second, the achieved
TFLOP/s from the FLOP formulas of ``mmmim.analysis.flops`` (a training
step = 3 forward passes), the MFU against the device's dense bf16 peak
(looked up from the GPU's name, or ``--peak-tflops``; n/a on a CPU
without it) and
memory: the peak allocated memory of the step on CUDA (less the other
side's resident weights and optimizer states), the bytes saved for the
backward pass on a CPU.

Settings:
  * ``default``: each library with its default recipe. mmmim: bf16
    autocast without loss scaling and fused AdamW. mmpretrain: fp16
    autocast with a GradScaler (its ``AmpOptimWrapper``) on CUDA; on a
    CPU, where that wrapper refuses to start, fp32. Both with torch's
    default AdamW choice for the reference;
  * ``equal-fp32`` and ``equal-bf16``: both with the same precision and
    fused AdamW, to show that mmmim's model itself is never slower.

CPU protocol (performance notes, section 9): one thread, CPU process
time, fixed input, 3 warm-up steps, >= 8 pairs. On CUDA: CUDA events,
one synchronisation per step.

Methods are the entries of ``mmmim.analysis.benchmark_methods.METHODS``:
``mae`` (vs mmpretrain's MAE), ``simmim`` (vs mmpretrain's SimMIM Swin-B),
``convmae`` (vs the same model, channels-first), ``videomae`` (vs the
official boolean-indexing formulation).

Usage::

    python tools/analysis_tools/benchmark.py [--method mae] [--size B112]
        [--batch 8] [--pairs 8] [--settings default equal-fp32 ...]
        [--device cpu|cuda] [--compile] [--peak-tflops T]
"""

import argparse
import os
import sys

import torch

from mmmim.analysis import benchmark as bench
from mmmim.analysis.benchmark_methods import METHODS


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--method', default='mae', choices=sorted(METHODS))
    parser.add_argument('--size', default='B112')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--pairs', type=int, default=8)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--settings',
        nargs='+',
        default=list(bench.SETTING_NAMES),
        choices=bench.SETTING_NAMES,
    )
    parser.add_argument(
        '--compile',
        action='store_true',
        help='torch.compile the mmmim side (as compile=True in a config)',
    )
    parser.add_argument(
        '--compile-mode',
        default=None,
        choices=['default', 'reduce-overhead', 'max-autotune-no-cudagraphs'],
        help='torch.compile mode with --compile (reduce-overhead replays '
        'CUDA graphs)',
    )
    parser.add_argument(
        '--profile',
        type=int,
        default=0,
        metavar='ROWS',
        help='after each comparison, profile one step of each side and '
        'print its ROWS most expensive operators and kernels',
    )
    parser.add_argument(
        '--peak-tflops',
        type=float,
        default=None,
        help='the device peak for the MFU (default: looked up for GPUs)',
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.pairs < 2:
        # The report's spread (quartiles) needs at least two pairs.
        raise SystemExit(f'--pairs must be at least 2, got {args.pairs}')
    if args.compile_mode and not args.compile:
        raise SystemExit('--compile-mode needs --compile')
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    method = METHODS[args.method]
    if args.size not in method.sizes:
        raise SystemExit(
            f'--method {args.method} supports --size {list(method.sizes)}'
        )
    import mmpretrain
    import timm

    peak = bench.peak_for(device, args.peak_tflops)
    name = (
        torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'
    )
    print(
        f'torch {torch.__version__}, timm {timm.__version__}, '
        f'mmpretrain {mmpretrain.__version__}, device {name}, '
        f'peak {peak or "n/a"} TFLOP/s, threads {args.threads}, '
        f'method {args.method}, size {args.size}, batch {args.batch}, '
        f'compile {args.compile}, '
        f'TIMM_FUSED_ATTN={os.environ.get("TIMM_FUSED_ATTN", "default")}, '
        f'load average {os.getloadavg()[0]:.2f}'
    )
    compile_cfg = None
    if args.compile:
        compile_cfg = dict(mode=args.compile_mode) if args.compile_mode else {}
    settings = bench.settings_for(device)
    for setting_name in args.settings:
        for comparison in method.comparisons(args.size, args.batch):
            result = bench.run(
                comparison,
                args.batch,
                args.pairs,
                args.warmup,
                device,
                settings[setting_name],
                compile_cfg,
            )
            bench.report(result, peak, method.unit)
            for cand, inputs in zip(result.candidates, result.inputs):
                if args.profile:
                    print(f'\n-- profile of one step: {cand.name} --')
                    print(bench.profile_step(cand, inputs, args.profile))
            sys.stdout.flush()


if __name__ == '__main__':
    main()
