# Copyright (c) mmmim contributors. All rights reserved.
"""Time a config's training step plain and sharded by FSDP2 on one device.

Both sides start from the same weights and see the same batch and masks:
plain is bf16 autocast over fp32 weights, FSDP2 keeps fp32 shards and
computes with bf16 parameters (``mmmim.FSDP2Strategy``'s mixed precision),
optionally recomputing every block (``--checkpointing``). Prints median
step time, samples per second, the peak memory (CUDA) and the memory
planner's figure for each side::

    python tools/analysis_tools/benchmark_fsdp2.py CONFIG [--batch 128]
        [--steps 10] [--warmup 3] [--checkpointing] [--device cuda]
"""

import argparse

import torch
from mmengine.config import Config

from mmmim.analysis.benchmark_sharded import compare, format_results
from mmmim.utils.cfg_options import CfgOptionsAction


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='training config')
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--checkpointing', action='store_true')
    parser.add_argument('--device', default=None, help='default: cuda if any')
    parser.add_argument(
        '--cfg-options', nargs='+', action=CfgOptionsAction, default=None
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.steps < 1 or args.batch < 1:
        raise SystemExit('--steps and --batch must be at least 1')
    import mmmim  # noqa: F401  (mmmim:: paths in _base_)

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    device = torch.device(args.device) if args.device else None
    results = compare(
        cfg, args.batch, args.steps, args.warmup, device, args.checkpointing
    )
    unit = 'clip' if 'Video' in cfg.model.type else 'img'
    name = 'cpu'
    if torch.cuda.is_available() and (device is None or device.type == 'cuda'):
        name = torch.cuda.get_device_name()
    print(
        f'{args.config}: batch {args.batch}, {args.steps} timed steps after '
        f'{args.warmup}, {name}, torch {torch.__version__}'
    )
    print(format_results(results, args.batch, unit))


if __name__ == '__main__':
    main()
