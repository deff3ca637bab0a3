# Copyright (c) mmmim contributors. All rights reserved.
"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT``."""

import argparse
import os
import os.path as osp

import torch.distributed as dist
from mmengine.config import Config
from mmengine.runner import Runner

# Accepts dict(...) values, where mmengine's DictAction recurses forever.
from mmmim.utils.cfg_options import CfgOptionsAction


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='the directory to save the file containing evaluation metrics',
    )
    parser.add_argument('--out', help='dump the predictions to a pickle file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file; lists as '
        'key="[a,b]", dicts as key="dict(a=1,b=\'x\')".',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher',
    )
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    # Before reading the config: `mmmim::` paths need mmmim imported.
    import mmmim  # noqa: F401
    from mmmim.engine.config_check import check_config, check_options

    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        check_options(cfg, args.cfg_options)  # else ignored silently
        cfg.merge_from_dict(args.cfg_options)
    check_config(cfg)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join(
            './work_dirs', osp.splitext(osp.basename(args.config))[0]
        )
    cfg.load_from = args.checkpoint
    if cfg.get('test_dataloader') is None:
        raise ValueError(
            f'{args.config} defines no test_dataloader/test_evaluator: '
            'pretraining configs have nothing to test; use a benchmark '
            'config (configs/<algo>/benchmarks/...).'
        )
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError('--out must name a .pkl or .pickle file.')
        cfg.test_evaluator = (
            list(cfg.test_evaluator)
            if isinstance(cfg.test_evaluator, (list, tuple))
            else [cfg.test_evaluator]
        )
        cfg.test_evaluator.append(
            dict(type='DumpResults', out_file_path=args.out)
        )

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        from mmengine.registry import RUNNERS

        runner = RUNNERS.build(cfg)
    runner.test()
    # A process group still alive at interpreter exit can abort a finished
    # run (a gloo thread hits C++ terminate): tear it down first.
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
