# Copyright (c) mmmim contributors. All rights reserved.
"""Train a model from a config: ``python tools/train.py CONFIG [options]``."""

import argparse
import gc
import os
import os.path as osp

import torch.distributed as dist
from mmengine.config import Config
from mmengine.runner import Runner

from mmmim.engine.config_check import check_config, check_options
from mmmim.engine.resume import (
    check_resume_origin,
    find_resume_checkpoint,
    read_checkpoint_meta,
)

# Accepts dict(...) values, where mmengine's DictAction recurses forever.
from mmmim.utils.cfg_options import CfgOptionsAction


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='If specify checkpoint path, resume from it, while if not '
        'specify, try to auto resume from the latest checkpoint '
        'in the work directory.',
    )
    parser.add_argument(
        '--resume-optional',
        action='store_true',
        help='with --resume: start from scratch (with a warning) when the '
        'work dir has nothing to resume, instead of stopping',
    )
    parser.add_argument(
        '--resume-unchecked',
        action='store_true',
        help='resume even from a checkpoint of another model config',
    )
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic-mixed-precision training (bfloat16 by '
        'default; see --amp-dtype)',
    )
    parser.add_argument(
        '--amp-dtype',
        default='bfloat16',
        choices=['float16', 'bfloat16'],
        help='the autocast dtype used with --amp',
    )
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual total batch size',
    )
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='skip validation during training',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        "and a dict key=\"dict(type='Pretrained',checkpoint='x.pth')\". "
        'Note that the quotation marks are necessary and that no white space '
        'is allowed.',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher',
    )
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def _is_fsdp2(cfg: Config) -> bool:
    strategy = cfg.get('strategy') or {}
    kind = strategy.get('type', '') if isinstance(strategy, dict) else ''
    return bool(cfg.get('runner_type')) and str(kind).endswith('FSDP2Strategy')


def _fsdp2_amp(cfg: Config, dtype: str) -> None:
    """--amp on FSDP2: bf16 parameters with fp32 gradient reduction (the
    strategy's policy), the batch kept in fp32 and autocast for the layers
    outside the blocks, so targets and losses stay fp32 (as the FSDP2
    configs do)."""
    if dtype != 'bfloat16':
        raise ValueError(
            '--amp-dtype float16 needs loss scaling, which FSDP2Strategy '
            'does not set up: use bfloat16 (the default).'
        )
    cfg.strategy.mp_policy = dict(
        param_dtype='bfloat16', reduce_dtype='float32'
    )
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper in ('OptimWrapper', 'mmengine.OptimWrapper'):
        cfg.optim_wrapper.type = 'mmmim.AutocastOptimWrapper'
        cfg.optim_wrapper.dtype = 'bfloat16'
        cfg.strategy.cast_root_inputs = False


def _flexible_compile(cfg: Config) -> None:
    """mmengine 0.10.7's FlexibleRunner.from_cfg drops ``cfg.compile``;
    mmmim's FSDP2 strategy takes it (block by block)."""
    if _is_fsdp2(cfg):
        cfg.strategy.setdefault('compile', cfg.compile)
    else:
        print(
            'compile ignored: mmengine FlexibleRunner.from_cfg does not '
            'pass it to the strategy.'
        )


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge the command-line arguments into the config."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join(
            './work_dirs', osp.splitext(osp.basename(args.config))[0]
        )

    if args.amp and _is_fsdp2(cfg):
        _fsdp2_amp(cfg, args.amp_dtype)
    elif args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper not in ('OptimWrapper', 'mmengine.OptimWrapper'):
            print(f'--amp ignored: the config already uses {wrapper}.')
        elif args.amp_dtype == 'bfloat16':
            # bf16 needs no loss scaling and runs on CPUs too.
            cfg.optim_wrapper.type = 'mmmim.AutocastOptimWrapper'
            cfg.optim_wrapper.dtype = 'bfloat16'
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.dtype = 'float16'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.resume == 'auto':
        # mmengine would start from scratch when nothing is found, and
        # reads last_checkpoint as an absolute path (see resume.py).
        found = find_resume_checkpoint(cfg.work_dir, args.resume_optional)
        cfg.resume = found is not None
        cfg.load_from = found
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise KeyError(
                '--auto-scale-lr needs `auto_scale_lr=dict('
                'base_batch_size=...)` in the config: the batch size its '
                'learning rate was tuned for.'
            )
        cfg.auto_scale_lr.enable = True

    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None

    if args.cfg_options is not None:
        # An option the config does not have would be ignored silently.
        check_options(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
    if cfg.get('runner_type') and cfg.get('compile'):
        _flexible_compile(cfg)
    # Typos that mmengine ignores, or finds only at the first checkpoint.
    check_config(cfg)
    if cfg.get('resume') and cfg.get('load_from'):
        if not args.resume_unchecked:
            meta = read_checkpoint_meta(cfg.load_from)
            check_resume_origin(cfg, cfg.load_from, meta)
    return cfg


def main() -> None:
    args = parse_args()
    # `mmmim::` paths in `_base_` need mmmim imported (mmmim/patches.py).
    import mmmim  # noqa: F401

    # Everything that shapes training (the DDP wrapper included) comes from
    # the config, so Runner.from_cfg(cfg).train() runs the same step.
    cfg = merge_args(Config.fromfile(args.config), args)
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        from mmengine.registry import RUNNERS

        runner = RUNNERS.build(cfg)
    runner.train()
    # A process group still alive at interpreter exit can abort a finished
    # run (a gloo thread hits C++ terminate): tear it down first. FSDP2
    # keeps the last step's collective handles (gloo work holding tensors)
    # in the model between steps; they must be freed while the interpreter
    # is fully alive, so the runner goes first.
    del runner
    gc.collect()
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
