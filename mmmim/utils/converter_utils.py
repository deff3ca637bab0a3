# Copyright (c) mmmim contributors. All rights reserved.
"""Shared pieces of the ``tools/model_converters/*_to_mmmim.py`` scripts."""

import argparse
import os
import os.path as osp
from typing import Any, Dict, Iterable, Optional

import torch

from .safe_checkpoint import safe_torch_load


def load_official_checkpoint(path: str, trust: bool = False) -> Dict:
    """Load an official checkpoint without executing pickled code.

    Official checkpoints keep the weights under ``'model'`` (or
    ``'module'``/``'state_dict'``), sometimes next to the training
    ``argparse.Namespace`` (``'args'``) and optimizer state. Only tensors,
    plain containers and ``argparse.Namespace`` are accepted unless
    ``trust`` is set.

    Args:
        path (str): The checkpoint file.
        trust (bool): Allow full unpickling (the file can run code).

    Returns:
        dict: The flat state dict of the model.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} does not exist.')
    with torch.serialization.safe_globals([argparse.Namespace]):
        ckpt = safe_torch_load(path, map_location='cpu', trusted=trust)
    return unwrap_state_dict(ckpt, path)


def unwrap_state_dict(ckpt: Any, source: str = 'checkpoint') -> Dict:
    """Return the model weights of a checkpoint dict."""
    if not isinstance(ckpt, dict):
        raise TypeError(
            f'{source} holds a {type(ckpt).__name__}, not a dict of weights.'
        )
    for key in ('model', 'module', 'state_dict'):
        if key in ckpt and isinstance(ckpt[key], dict):
            return dict(ckpt[key])
    if all(isinstance(v, torch.Tensor) for v in ckpt.values()):
        return dict(ckpt)
    raise KeyError(
        f'{source} has no weights under "model", "module" or '
        f'"state_dict"; top-level keys: {sorted(ckpt)}'
    )


def reject_unknown_keys(
    keys: Iterable[str], source: str, hint: str = ''
) -> None:
    """Raise a KeyError that names keys the converter does not know."""
    keys = sorted(keys)
    if keys:
        shown = ', '.join(keys[:10]) + (' ...' if len(keys) > 10 else '')
        raise KeyError(
            f'{source}: {len(keys)} unexpected key(s): {shown}. {hint}'.strip()
        )


def save_converted(
    state_dict: Dict[str, torch.Tensor], dst: str, meta: Optional[dict] = None
) -> None:
    """Write ``{'state_dict': ..., 'meta': ...}`` atomically (tensor-only,
    so it loads with ``weights_only=True``)."""
    dst_dir = osp.dirname(osp.abspath(dst))
    os.makedirs(dst_dir, exist_ok=True)
    tmp = dst + '.partial'
    torch.save(dict(state_dict=state_dict, meta=meta or {}), tmp)
    os.replace(tmp, dst)
