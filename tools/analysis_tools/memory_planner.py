# Copyright (c) mmmim contributors. All rights reserved.
"""Plan the memory of one GPU for a config: parameters, gradients,
optimizer states and activations, and the largest per-GPU batch that fits.

Example::

    python tools/analysis_tools/memory_planner.py \\
        configs/mae/mae_vit-huge-p14_8xb512-amp-coslr-1600e_in1k.py \\
        --gpus 8 --strategy fsdp2 --checkpointing --gpu-memory 80

The model is built on the ``meta`` device (no weights are made) and one
training step runs on fake tensors, so even ViT-H plans in seconds on a
CPU. Parameter, gradient and optimizer bytes are exact (FSDP2's padded
shards included); activations are the simulated peak of forward +
backward; see ``mmmim.analysis.memory`` and docs/en/memory_planner.md.
"""

import argparse
from typing import Optional, Sequence

from mmengine.config import Config, DictAction

from mmmim.analysis.memory import (
    GPU_MEMORY_MIB,
    PRECISIONS,
    Strategy,
    build_meta_model,
    format_plan,
    optimizer_spec,
    plan,
    precision_from_config,
    usable_bytes,
)


def gpu_gib(value: str) -> float:
    """``--gpu-memory``: GiB, or a card name of ``GPU_MEMORY_MIB``."""
    name = value.upper()
    if name in GPU_MEMORY_MIB:
        return GPU_MEMORY_MIB[name] / 1024
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'{value!r} is neither GiB nor one of {sorted(GPU_MEMORY_MIB)}'
        ) from None


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Plan the GPU memory of a training run'
    )
    parser.add_argument('config', help='config file')
    parser.add_argument('--gpus', type=int, default=8, help='GPUs')
    parser.add_argument('--strategy', choices=('ddp', 'fsdp2'), default='ddp')
    parser.add_argument(
        '--checkpointing',
        action='store_true',
        help='activation checkpointing of every transformer block',
    )
    parser.add_argument(
        '--precision',
        choices=sorted(PRECISIONS),
        default=None,
        help="default: the config's optim wrapper (AutocastOptimWrapper: "
        'bf16-autocast, else fp32); bf16-params is FSDP2 mixed precision '
        '(bf16 compute, fp32 shards and reduction)',
    )
    parser.add_argument(
        '--batch',
        type=int,
        default=None,
        help="per-GPU batch (default: the config's train batch size)",
    )
    parser.add_argument(
        '--gpu-memory',
        type=gpu_gib,
        default=80.0,
        help=f'GiB per GPU or a card: {", ".join(GPU_MEMORY_MIB)} '
        '(default 80)',
    )
    parser.add_argument(
        '--context-gib',
        type=float,
        default=1.0,
        help='CUDA context and library workspaces outside the allocator',
    )
    parser.add_argument(
        '--fragmentation',
        type=float,
        default=0.1,
        help="fraction of the rest lost to the caching allocator's "
        'fragmentation (default 0.1)',
    )
    parser.add_argument(
        '--no-reshard-after-forward',
        action='store_true',
        help='FSDP2 keeps gathered blocks from forward to backward',
    )
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=None,
        help='one sample: C H W or C T H W (default: the backbone size)',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. model.backbone.arch=l',
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    strategy = Strategy(
        args.strategy,
        args.gpus,
        args.checkpointing,
        args.precision or precision_from_config(cfg),
        not args.no_reshard_after_forward,
    )
    optimizer = optimizer_spec(cfg.optim_wrapper.optimizer)
    batch = args.batch or cfg.get('train_dataloader', {}).get('batch_size')
    wrapper = cfg.get('model_wrapper_cfg') or {}
    result = plan(
        build_meta_model(cfg),
        strategy,
        optimizer,
        batch or 1,
        usable_bytes(args.gpu_memory, args.context_gib, args.fragmentation),
        bucket_view=bool(wrapper.get('gradient_as_bucket_view', False)),
        shape=tuple(args.shape) if args.shape else None,
    )
    print(format_plan(result, args.config))
    print(
        f'card: {args.gpu_memory:.1f} GiB - {args.context_gib:g} GiB '
        f'context, {args.fragmentation:.0%} fragmentation margin'
    )


if __name__ == '__main__':
    main()
