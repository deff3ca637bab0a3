# Copyright (c) mmmim contributors. All rights reserved.
"""Distributed set-up that mmengine 0.10.7 lacks: CPU-only launches."""

import datetime
import os
import warnings

import torch
import torch.distributed as torch_dist
from mmengine.config import Config


def init_cpu_dist_if_needed(cfg: Config) -> bool:
    """Initialise the process group for a ``pytorch`` launch without GPUs.

    mmengine 0.10.7 calls ``torch.cuda.set_device`` unconditionally in its
    pytorch launcher, so a CPU job started by ``torchrun`` (or
    ``tools/dist_train.sh``) dies with "Found no NVIDIA driver". On a
    machine without CUDA this initialises the group itself with the gloo
    backend (NCCL needs GPUs); the Runner then finds it initialised and
    skips its own set-up. It also sets ``device_ids=None`` for the DDP
    wrapper, which mmengine otherwise fills with the local rank (a GPU id).

    Args:
        cfg (Config): The training config; ``cfg.launcher`` and
            ``cfg.env_cfg.dist_cfg`` are read.

    Returns:
        bool: Whether a process group was initialised here.
    """
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available():
        return False
    if torch_dist.is_initialized():
        return False
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}))
    backend = dist_cfg.pop('backend', 'gloo')
    if backend != 'gloo':
        warnings.warn(
            f'No CUDA device: using the gloo backend instead of '
            f'{backend!r} for this CPU run.',
            stacklevel=2,
        )
        backend = 'gloo'
    timeout = dist_cfg.pop('timeout', 1800)
    torch_dist.init_process_group(
        backend=backend,
        rank=int(os.environ['RANK']),
        world_size=int(os.environ['WORLD_SIZE']),
        timeout=datetime.timedelta(seconds=timeout),
        **dist_cfg,
    )
    wrapper_cfg = cfg.get('model_wrapper_cfg', None)
    if wrapper_cfg is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False),
            device_ids=None,
        )
    else:
        wrapper_cfg.setdefault('device_ids', None)
    return True
