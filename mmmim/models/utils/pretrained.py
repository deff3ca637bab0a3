# Copyright (c) mmmim contributors. All rights reserved.
"""Load a ``Pretrained`` init_cfg into a backbone and report what happened.

mmengine's ``PretrainedInit`` silently drops the keys outside ``prefix`` and
prints missing/unexpected keys as one warning. A downstream user needs a
clearer account: which tensors were loaded, which are newly initialised
(e.g. ``fc_norm`` for global-pool fine-tuning), which checkpoint keys were
ignored (the decoder, ``neck.*``) and which are unexpected (e.g. ``norm``
when ``final_norm=False``).
"""

import re
from collections import Counter
from typing import Dict, List

import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.model.weight_init import update_init_info
from mmengine.runner.checkpoint import _load_checkpoint

__all__ = ['is_pretrained_cfg', 'load_pretrained']


def is_pretrained_cfg(init_cfg) -> bool:
    """Whether ``init_cfg`` is a single ``Pretrained`` config."""
    return isinstance(init_cfg, dict) and init_cfg.get('type') in (
        'Pretrained',
        'mmengine.Pretrained',
    )


def _groups(keys: List[str]) -> str:
    """``['neck.a', 'neck.b', 'x']`` -> ``'neck.* (2), x (1)'``."""
    counts = Counter(k.split('.')[0] for k in keys)
    return ', '.join(f'{name}.* ({n})' for name, n in sorted(counts.items()))


def _select(state_dict: dict, prefix: str, source: str) -> tuple:
    """Split a state dict into (stripped keys under prefix, ignored keys)."""
    state_dict = {
        re.sub(r'^module\.', '', k): v for k, v in state_dict.items()
    }
    if not prefix:
        return state_dict, []
    if not prefix.endswith('.'):
        prefix += '.'
    selected = {
        k[len(prefix) :]: v
        for k, v in state_dict.items()
        if k.startswith(prefix)
    }
    ignored = sorted(k for k in state_dict if not k.startswith(prefix))
    if not selected:
        raise ValueError(
            f'{source} has no key starting with {prefix!r}; it holds '
            f'{_groups(list(state_dict)) or "nothing"}. Set init_cfg.prefix '
            "accordingly (mmmim checkpoints use 'backbone.')."
        )
    return selected, ignored


def _check_coverage(
    module: nn.Module, report: Dict[str, list], where: str, allow: bool
) -> None:
    """Every tensor of the module must come from the checkpoint, except
    those a transfer adds on purpose (``module.fresh_on_transfer``
    patterns, e.g. the ``fc_norm`` of global pooling)."""
    fresh = getattr(module, 'fresh_on_transfer', ())
    missing = [
        k for k in report['missing'] if not any(re.match(p, k) for p in fresh)
    ]
    if not missing or allow:
        return
    total = len(report['loaded']) + len(report['missing'])
    shown = ', '.join(missing[:8]) + (' ...' if len(missing) > 8 else '')
    raise ValueError(
        f'{type(module).__name__}: {where} fills only '
        f'{len(report["loaded"])} of its {total} tensors; missing: {shown}. '
        'A checkpoint of another method, one not converted '
        '(tools/model_converters), another size, or a wrong '
        'init_cfg.prefix? To load a part on purpose, set '
        'init_cfg.allow_partial=True.'
    )


def load_pretrained(module: nn.Module, init_cfg: dict) -> Dict[str, list]:
    """Load ``init_cfg.checkpoint`` (keys under ``init_cfg.prefix``).

    Takes mmmim checkpoints (``{'state_dict': {'backbone.*', 'neck.*',
    ...}}``: a pre-training run or a converted official file), plain state
    dicts, and loads with ``strict=False``: the module's load hooks still
    run (e.g. position embeddings resized to the model's grid).

    Args:
        module (nn.Module): The backbone to fill.
        init_cfg (dict): ``dict(type='Pretrained', checkpoint=...,
            prefix=None, map_location='cpu', allow_partial=False)``;
            ``allow_partial`` accepts a checkpoint that fills only part of
            the module (otherwise that is an error).

    Returns:
        dict: ``loaded``, ``missing`` (newly initialised), ``unexpected``
        (under the prefix but not in the module) and ``ignored`` (outside
        the prefix) key lists, also written to the log.

    Raises:
        ValueError: If no checkpoint is given, or the file is an
            unconverted official checkpoint or has nothing under
            ``prefix``.
        RuntimeError: If shapes do not match (another architecture).
    """
    checkpoint = init_cfg.get('checkpoint')
    prefix = init_cfg.get('prefix') or ''
    name = type(module).__name__
    if not checkpoint:
        raise ValueError(
            f'{name}: init_cfg.checkpoint is empty. Set it to the '
            'pre-trained weights (e.g. --cfg-options '
            'model.backbone.init_cfg.checkpoint=PATH), or set '
            'model.backbone.init_cfg=None to start from random weights.'
        )
    ckpt = _load_checkpoint(
        checkpoint, map_location=init_cfg.get('map_location', 'cpu')
    )
    if 'state_dict' in ckpt:
        state_dict = ckpt['state_dict']
    elif 'model' in ckpt and isinstance(ckpt['model'], dict):
        raise ValueError(
            f'{checkpoint} looks like an official checkpoint (weights under '
            "'model'); convert it first, e.g. with "
            'tools/model_converters/mae_to_mmmim.py.'
        )
    else:
        state_dict = ckpt
    state_dict, ignored = _select(state_dict, prefix, checkpoint)
    try:
        result = module.load_state_dict(state_dict, strict=False)
    except RuntimeError as e:
        raise RuntimeError(
            f'{checkpoint} does not fit this {name} (another arch, patch '
            f'size or width?):\n{e}'
        ) from e
    missing, unexpected = (
        sorted(result.missing_keys),
        sorted(result.unexpected_keys),
    )
    report = dict(
        loaded=sorted(set(state_dict) - set(unexpected)),
        missing=missing,
        unexpected=unexpected,
        ignored=ignored,
    )
    where = f"'{prefix}*' of {checkpoint}" if prefix else checkpoint
    _check_coverage(module, report, where, init_cfg.get('allow_partial'))
    lines = [
        f'{name}: loaded {len(report["loaded"])} tensors from {where}.',
        'newly initialised (not in the checkpoint): '
        + (', '.join(missing) or 'none'),
        'unexpected (in the checkpoint, not in the model; ignored): '
        + (', '.join(unexpected) or 'none'),
    ]
    if ignored:
        lines.append(f"ignored (outside '{prefix}'): {_groups(ignored)}")
    MMLogger.get_current_instance().info('\n'.join(lines))
    if hasattr(module, '_params_init_info'):
        update_init_info(module, init_info=f'Pretrained: load from {where}')
    return report
