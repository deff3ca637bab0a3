# Copyright (c) mmmim contributors. All rights reserved.
"""Plot the learning-rate (or momentum / weight-decay) schedule of a config.

Example::

    python tools/visualization/vis_scheduler.py \\
        configs/mae/benchmarks/cls/vit-base-p16_8xb128-coslr-100e_in1k.py \\
        -d 1281167 --layer-decay -s lr.png

The config's ``param_scheduler`` entries are built by mmengine on an
optimizer and stepped as ``ParamSchedulerHook`` steps them during
training (iteration-based schedulers after every iteration, epoch-based
ones after every epoch), so the curve is the one a run would follow.
Without ``--layer-decay`` the optimizer holds one dummy parameter; with
it the config's model and optimizer constructor are built and every
layer's group is drawn (layer-wise lr decay of the fine-tuning recipes).
"""

import argparse
import copy
import math
import os.path as osp
import re
import warnings
from typing import Dict, Optional, Sequence

import numpy as np
import torch.nn as nn
from mmengine.config import Config, DictAction
from mmengine.registry import DefaultScope

PARAMS = ('lr', 'momentum', 'weight_decay')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Plot the parameter schedule of a config'
    )
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '-p',
        '--parameter',
        default='lr',
        choices=PARAMS,
        help='the optimizer parameter to plot',
    )
    parser.add_argument(
        '-d',
        '--dataset-size',
        type=int,
        default=None,
        help='training images (default: the length of the train dataset '
        'of the config; needed for epoch-based configs whose data is '
        'not here, e.g. 1281167 for ImageNet-1k)',
    )
    parser.add_argument(
        '-n',
        '--ngpus',
        type=int,
        default=None,
        help="number of GPUs (default: the N of the config's 'NxbB')",
    )
    parser.add_argument(
        '-s', '--save-path', default=None, help='output PNG file'
    )
    parser.add_argument(
        '--layer-decay',
        action='store_true',
        help="build the config's model and optimizer constructor and "
        'draw every layer group',
    )
    parser.add_argument('--title', default=None, help='figure title')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings',
    )
    return parser.parse_args(argv)


def default_ngpus(config: str) -> int:
    """The GPU count of an OpenMMLab config name (``8xb512`` -> 8)."""
    match = re.search(r'(\d+)xb\d+', osp.basename(config))
    return int(match.group(1)) if match else 1


def dataset_length(cfg: Config) -> int:
    """The length of the config's train dataset (built without pipeline)."""
    from mmmim.registry import DATASETS

    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    dataset_cfg['pipeline'] = []
    return len(DATASETS.build(dataset_cfg))


def build_optim_wrapper(cfg: Config, layer_decay: bool):
    """An optimizer wrapper on the real model or on one dummy parameter.

    The wrapper type is reduced to ``OptimWrapper`` (AMP wrappers need a
    GPU and do not change the schedule).
    """
    from mmengine.optim import build_optim_wrapper as build

    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    for key in ('dtype', 'loss_scale'):
        optim_cfg.pop(key, None)
    optim_cfg['type'] = 'OptimWrapper'
    if layer_decay:
        from mmmim.models.utils import build_in_mmmim
        from mmmim.registry import MODELS

        model = build_in_mmmim(MODELS, cfg.model)
    else:
        optim_cfg.pop('constructor', None)
        optim_cfg.pop('paramwise_cfg', None)
        model = nn.Linear(1, 1, bias=False)
    return build(model, optim_cfg)


def _value(group: dict, param: str) -> float:
    if param == 'momentum':
        if 'momentum' in group:
            return float(group['momentum'])
        return float(group['betas'][0])
    return float(group[param])


def _curve_groups(param_groups: list) -> Dict[str, int]:
    """One param group per layer (``layer_id``) or per distinct value."""
    labels: Dict[str, int] = {}
    for index, group in enumerate(param_groups):
        if 'layer_id' in group:
            label = f'layer {group["layer_id"]}'
        elif len(param_groups) == 1:
            label = 'all'
        else:
            label = f'group {index}'
        labels.setdefault(label, index)
    return labels


def simulate(
    cfg: Config,
    param: str = 'lr',
    epoch_length: int = 1,
    layer_decay: bool = False,
) -> Dict[str, np.ndarray]:
    """Step the config's schedulers and record ``param``.

    Args:
        cfg (Config): The loaded config.
        param (str): ``'lr'``, ``'momentum'`` or ``'weight_decay'``.
            Defaults to 'lr'.
        epoch_length (int): Iterations per epoch. Defaults to 1.
        layer_decay (bool): Build the real model and optimizer
            constructor. Defaults to False.

    Returns:
        dict: ``label -> values [T]``, the value used at each training
        iteration ``0 .. T - 1``.
    """
    from mmengine.registry import PARAM_SCHEDULERS

    optim_wrapper = build_optim_wrapper(cfg, layer_decay)
    schedulers_cfg = cfg.param_scheduler
    if isinstance(schedulers_cfg, dict):
        schedulers_cfg = [schedulers_cfg]
    schedulers = [
        PARAM_SCHEDULERS.build(
            copy.deepcopy(s),
            default_args=dict(
                optimizer=optim_wrapper, epoch_length=epoch_length
            ),
        )
        for s in schedulers_cfg
    ]
    train_cfg = cfg.train_cfg
    if 'max_iters' in train_cfg:
        total = int(train_cfg.max_iters)
    else:
        total = int(train_cfg.max_epochs) * epoch_length
    groups = optim_wrapper.optimizer.param_groups
    labels = _curve_groups(groups)
    values = {label: np.empty(total) for label in labels}
    with warnings.catch_warnings():
        # No optimizer.step() happens here; torch warns about the order.
        warnings.filterwarnings('ignore', 'Detected call of')
        for it in range(total):
            for label, index in labels.items():
                values[label][it] = _value(groups[index], param)
            for scheduler in schedulers:
                if not scheduler.by_epoch:
                    scheduler.step()
            if (it + 1) % epoch_length == 0:
                for scheduler in schedulers:
                    if scheduler.by_epoch:
                        scheduler.step()
    return values


def plot(
    curves: Dict[str, np.ndarray],
    param: str,
    epoch_length: int,
    out_file: str,
    title: Optional[str] = None,
) -> None:
    """Save the curves (x: iterations; top axis: epochs) as a PNG."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    cmap = plt.get_cmap('viridis', max(len(curves), 2))
    for i, (label, values) in enumerate(curves.items()):
        ax.plot(np.arange(len(values)), values, label=label, color=cmap(i))
    ax.set_xlabel('iteration')
    ax.set_ylabel(param)
    if epoch_length > 1:
        top = ax.secondary_xaxis(
            'top',
            functions=(lambda x: x / epoch_length, lambda e: e * epoch_length),
        )
        top.set_xlabel('epoch')
    if len(curves) > 1:
        ax.legend(fontsize=7, ncol=2)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, np.ndarray]:
    args = parse_args(argv)
    from mmmim.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    ngpus = args.ngpus or default_ngpus(args.config)
    with DefaultScope.overwrite_default_scope(
        cfg.get('default_scope', 'mmmim')
    ):
        size = args.dataset_size or dataset_length(cfg)
        batch = cfg.train_dataloader.batch_size * ngpus
        epoch_length = max(1, math.ceil(size / batch))
        curves = simulate(cfg, args.parameter, epoch_length, args.layer_decay)
    out_file = args.save_path or (
        osp.splitext(osp.basename(args.config))[0] + f'_{args.parameter}.png'
    )
    plot(curves, args.parameter, epoch_length, out_file, args.title)
    label, top = max(curves.items(), key=lambda item: item[1].max())
    print(
        f'{len(top)} iterations ({epoch_length} per epoch, total batch '
        f'{batch}); {args.parameter} ({label}) from {top[0]:.4g}, max '
        f'{top.max():.4g}, last {top[-1]:.4g}; saved {out_file}'
    )
    return curves


if __name__ == '__main__':
    main()
