# Copyright (c) mmmim contributors. All rights reserved.
"""Checkpoints of FSDP2-sharded models: sharded folders and full files.

Two formats, both written so that a kill never leaves a half-written
checkpoint under its final name:

- **sharded** (a folder): ``torch.distributed.checkpoint`` (DCP) writes the
  model under ``state_dict`` and the optimizer under ``optimizer``, every
  rank its own shards, into ``.{name}.partial``; rank 0 adds
  ``extra.pth`` (meta, message hub, schedulers, random states) and renames
  the folder to ``{name}`` once every rank has finished. It loads on any
  number of ranks.
- **full** (a file): the gathered state dict in mmengine's layout
  (``state_dict``, ``optimizer`` keyed like ``torch.optim``, ``meta``),
  written by rank 0 through the atomic file backend. The plain Runner,
  ``tools/test.py`` and ``init_model`` load it as any checkpoint.
"""

import os
import os.path as osp
import shutil
from typing import Dict, List

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
import torch.nn as nn

from mmmim.engine.resume import SHARDED_EXTRA
from mmmim.utils.atomic_io import PARTIAL_SUFFIX, atomic_output

__all__ = [
    'EXTRA_FILE',
    'SHARDED_KEYS',
    'is_sharded_checkpoint',
    'save_sharded',
    'load_sharded',
    'read_sharded_extra',
    'sharded_to_full',
    'optim_to_indexed',
    'optim_to_named',
]

#: The file of a sharded checkpoint that holds everything but tensors.
EXTRA_FILE = SHARDED_EXTRA
#: The keys of a checkpoint that DCP writes shard by shard.
SHARDED_KEYS = ('state_dict', 'optimizer')


def _rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def _barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def _fsync_dir(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_sharded_checkpoint(path: str) -> bool:
    """Whether ``path`` is a complete sharded checkpoint folder."""
    return osp.isdir(path) and osp.isfile(osp.join(path, '.metadata'))


def save_sharded(checkpoint: Dict, path: str) -> None:
    """Write ``checkpoint`` as a sharded folder ``path`` (every rank).

    Args:
        checkpoint (dict): ``state_dict`` and ``optimizer`` as returned by
            ``torch.distributed.checkpoint.state_dict`` (DTensor shards);
            the other keys (plain objects) are saved by rank 0 only.
        path (str): The final folder.
    """
    parent, name = osp.split(osp.abspath(path))
    # The same temporary name on every rank; a leftover of a killed run
    # is removed first.
    partial = osp.join(parent, f'.{name}{PARTIAL_SUFFIX}')
    if _rank() == 0:
        os.makedirs(parent, exist_ok=True)
        if osp.isdir(partial):
            shutil.rmtree(partial)
    _barrier()
    sharded = {k: checkpoint[k] for k in SHARDED_KEYS if k in checkpoint}
    # Returns on rank 0 after every rank's shards and the metadata exist.
    dcp.save(sharded, checkpoint_id=partial)
    if _rank() == 0:
        extra = {k: v for k, v in checkpoint.items() if k not in sharded}
        with atomic_output(osp.join(partial, EXTRA_FILE)) as f:
            torch.save(extra, f)
        _fsync_dir(partial)
        old = osp.join(parent, f'.{name}.old{PARTIAL_SUFFIX}')
        if osp.exists(path):  # the same step saved again
            os.replace(path, old)
        os.replace(partial, path)
        _fsync_dir(parent)
        if osp.isdir(old):
            shutil.rmtree(old)
    _barrier()


def read_sharded_extra(path: str) -> Dict:
    """The non-tensor part of a sharded checkpoint (meta, message hub,
    schedulers, random states), read on any rank."""
    from mmmim.utils.safe_checkpoint import safe_torch_load

    return safe_torch_load(osp.join(path, EXTRA_FILE))


def load_sharded(target: Dict, path: str) -> Dict:
    """Load a sharded folder into ``target`` in place (every rank).

    Args:
        target (dict): ``state_dict`` (and, to resume, ``optimizer``) of
            the sharded model, as ``torch.distributed.checkpoint``'s
            ``get_state_dict`` gives them; their tensors are overwritten.
        path (str): The folder.

    Returns:
        dict: The checkpoint: ``target``'s entries plus the extra ones.
    """
    dcp.load(target, checkpoint_id=path)
    checkpoint = read_sharded_extra(path)
    checkpoint.update(target)
    return checkpoint


def sharded_to_full(path: str) -> Dict:
    """Gather a sharded folder into one full checkpoint, in one process.

    The result holds the model weights (``state_dict``) and the extra
    entries (``meta``, ``message_hub``, ...), like a full checkpoint
    without its optimizer state: it loads into the plain model (strictly),
    ``tools/test.py``, ``init_model`` and ``load_from``. The optimizer
    state is left out (it is keyed by the sharded optimizer's layout);
    resume from the folder itself, on any number of ranks.

    Args:
        path (str): The sharded checkpoint folder.

    Returns:
        dict: The full checkpoint, tensors on the CPU.
    """
    # What torch's own dcp_to_torch_save uses, restricted to the model.
    from torch.distributed.checkpoint.default_planner import (
        _EmptyStateDictLoadPlanner,
    )
    from torch.distributed.checkpoint.state_dict_loader import (
        _load_state_dict,
    )

    if not is_sharded_checkpoint(path):
        raise FileNotFoundError(f'{path} is no sharded checkpoint folder')
    gathered: Dict = {}
    # Fills the empty dict with the saved model tensors only (the
    # optimizer state would double or triple the memory).
    _load_state_dict(
        gathered,
        storage_reader=dcp.FileSystemReader(path),
        planner=_EmptyStateDictLoadPlanner(keys={'state_dict'}),
        no_dist=True,
    )
    checkpoint = read_sharded_extra(path)
    checkpoint.pop('optimizer', None)
    checkpoint['state_dict'] = gathered['state_dict']
    return checkpoint


def _param_names(model: nn.Module, optimizer) -> List[List[str]]:
    """The parameter names of each optimizer group, in group order."""
    names = {id(p): n for n, p in model.named_parameters()}
    return [
        [names[id(p)] for p in group['params']]
        for group in optimizer.param_groups
    ]


def optim_to_indexed(named: Dict, model: nn.Module, optimizer) -> Dict:
    """A full optimizer state keyed by parameter name (as
    ``get_optimizer_state_dict(full_state_dict=True)`` gives it) in the
    layout of ``torch.optim.Optimizer.state_dict()`` (keyed by position),
    so a plain, unsharded run can resume from it."""
    order = [n for group in _param_names(model, optimizer) for n in group]
    index = {n: i for i, n in enumerate(order)}
    groups = []
    for group in named['param_groups']:
        groups.append(dict(group, params=[index[n] for n in group['params']]))
    state = {index[n]: s for n, s in named['state'].items()}
    return dict(state=state, param_groups=groups)


def optim_to_named(indexed: Dict, model: nn.Module, optimizer) -> Dict:
    """Inverse of :func:`optim_to_indexed`, for ``set_optimizer_state_dict``
    (positions are those of ``optimizer``'s groups, built by the same
    constructor from the same model)."""
    order = [n for group in _param_names(model, optimizer) for n in group]
    groups = []
    for group in indexed['param_groups']:
        groups.append(dict(group, params=[order[i] for i in group['params']]))
    state = {order[int(i)]: s for i, s in indexed['state'].items()}
    return dict(state=state, param_groups=groups)
