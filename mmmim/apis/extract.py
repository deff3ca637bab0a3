# Copyright (c) mmmim contributors. All rights reserved.
"""Frozen features of files, arrays or tensors (batched, masking off)."""

import os.path as osp
from typing import List, Optional, Tuple, Union

import numpy as np
import torch.nn as nn

from .features import Indices, encode
from .inputs import Inputs, iter_batches

__all__ = ['extract_features']

Features = Union[np.ndarray, List[np.ndarray]]


def _has_folder(inputs: Inputs) -> bool:
    items = [inputs] if not isinstance(inputs, (list, tuple)) else inputs
    return any(isinstance(item, str) and osp.isdir(item) for item in items)


def extract_features(
    model: nn.Module,
    inputs: Inputs,
    pool: str = 'cls',
    out_indices: Indices = -1,
    batch_size: int = 16,
    on_error: str = 'raise',
    progress: Optional[bool] = None,
    frame_interval: int = 2,
    return_names: bool = False,
) -> Union[Features, Tuple[Features, List[str]]]:
    """Features of every input, in eval mode with masking off.

    Args:
        model (nn.Module): Any mmmim model or backbone (see
            :func:`~mmmim.apis.features.encode`).
        inputs: Image/video files, folders, uint8 RGB arrays or normalised
            tensors (see :mod:`mmmim.apis.inputs`).
        pool (str): ``'cls'``, ``'avg'`` (VideoMAE: over space-time) or
            ``'none'`` (token maps; ConvViT: the E1-E4 maps). Defaults to
            'cls'.
        out_indices (int | Sequence[int]): Blocks (stages for ConvViT and
            Swin) to read. Defaults to -1.
        batch_size (int): Defaults to 16.
        on_error (str): ``'raise'`` or ``'skip'`` (with a warning)
            unreadable files. Defaults to 'raise'.
        progress (bool, optional): A progress bar over files. Defaults to
            None (shown when a folder is given).
        frame_interval (int): Clip sampling interval. Defaults to 2.
        return_names (bool): Also return the name of every row. Defaults
            to False.

    Returns:
        np.ndarray | list: float32 ``[N, D]`` (``[N, D, *grid]`` for
        ``pool='none'``), a list of them for a sequence of
        ``out_indices``; with ``return_names``, ``(features, names)``.
    """
    if progress is None:
        progress = _has_folder(inputs)
    single = isinstance(out_indices, int)
    chunks: List[List[np.ndarray]] = []
    names: List[str] = []
    for batch_names, _, batch in iter_batches(
        model, inputs, batch_size, on_error, frame_interval, progress
    ):
        outs = encode(model, batch, pool, out_indices)
        outs = [outs] if single else outs
        chunks.append([out.float().cpu().numpy() for out in outs])
        names.extend(batch_names)
    if not chunks:
        raise ValueError('no inputs could be read')
    features = [np.concatenate(parts) for parts in zip(*chunks)]
    result = features[0] if single else features
    return (result, names) if return_names else result
