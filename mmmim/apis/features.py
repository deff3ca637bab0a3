# Copyright (c) mmmim contributors. All rights reserved.
"""Frozen features of any mmmim backbone, with masking off.

:func:`encode` is the one tensor-level entry point (the online kNN hook and
:func:`~mmmim.apis.extract_features` use it). Pre-training encoders draw a
mask in every forward; here they run unmasked: a ViT is switched to its
plain forward for the call (``mask_generator`` off, raw tokens of the
chosen blocks) and ConvMAE's encoder, which has no plain forward, gets an
all-visible mask. Nothing of the model is changed afterwards.
"""

import math
from contextlib import contextmanager
from typing import Dict, Iterator, List, Sequence, Tuple, Union

import torch
import torch.nn as nn

from mmmim.models.backbones import (
    BaseViT,
    ConvMAEViT,
    ConvViT,
    SimMIMSwin,
    VideoMAEViT,
    WindowedViT,
)

__all__ = [
    'POOLS',
    'encode',
    'encode_pools',
    'get_backbone',
    'input_geometry',
]

#: ``'cls'``: the cls token ``[B, D]``; ``'avg'``: the mean of the patch
#: tokens (or of a feature map over space-time) ``[B, D]``; ``'none'``: the
#: patch tokens on their grid ``[B, D, *grid]``.
POOLS = ('cls', 'avg', 'none')
Indices = Union[int, Sequence[int]]


def get_backbone(model: nn.Module) -> nn.Module:
    """The backbone of an algorithm, classifier or wrapped model."""
    model = getattr(model, 'module', model)  # DDP and friends
    return getattr(model, 'backbone', model)


def input_geometry(backbone: nn.Module) -> Tuple[bool, int]:
    """Whether a backbone takes videos, and the side its inputs must be
    divisible by.

    Args:
        backbone (nn.Module): An mmmim backbone.

    Returns:
        Tuple[bool, int]: ``(is_video, stride)``.
    """
    if isinstance(backbone, VideoMAEViT):
        return True, backbone.patch_embed.patch_size
    if isinstance(backbone, SimMIMSwin):
        patch = backbone.patch_embed.projection.stride[0]
        return False, patch * 2 ** (len(backbone.stages) - 1)
    # ViTs: the patch size; ConvViTs: the product of the stage strides.
    return False, int(backbone.patch_size)


def _check_inputs(backbone: nn.Module, inputs: torch.Tensor) -> None:
    is_video, stride = input_geometry(backbone)
    name = type(backbone).__name__
    if inputs.dim() == 5 and not is_video:
        raise ValueError(
            f'got a video batch {tuple(inputs.shape)} [B, C, T, H, W], but '
            f'{name} is an image encoder; pass images [B, C, H, W] or a '
            'VideoMAE model'
        )
    if inputs.dim() == 4 and is_video:
        raise ValueError(
            f'got an image batch {tuple(inputs.shape)}, but {name} encodes '
            'clips [B, C, T, H, W]; pass videos'
        )
    if inputs.dim() not in (4, 5):
        raise ValueError(
            f'inputs must be [B, C, H, W] images or [B, C, T, H, W] clips, '
            f'got shape {tuple(inputs.shape)}'
        )
    height, width = inputs.shape[-2:]
    if height % stride or width % stride:
        raise ValueError(
            f'{name} needs image sides divisible by {stride}, got '
            f'{height}x{width}; resize or crop the images (e.g. to '
            f'{height // stride * stride or stride}x'
            f'{width // stride * stride or stride})'
        )


def _num_outputs(backbone: nn.Module) -> int:
    if isinstance(backbone, ConvViT):
        return 4  # E1-E4
    if isinstance(backbone, SimMIMSwin):
        return len(backbone.stages)
    if isinstance(backbone, ConvMAEViT):
        return 1  # the pre-training encoder gives its last output only
    return backbone.num_layers


def _parse_indices(backbone: nn.Module, out_indices: Indices) -> List[int]:
    total = _num_outputs(backbone)
    raw = [out_indices] if isinstance(out_indices, int) else out_indices
    indices = []
    for index in raw:
        if not -total <= index < total:
            raise ValueError(
                f'out_indices {out_indices} out of range for '
                f'{type(backbone).__name__}, which has {total} outputs '
                f'(0..{total - 1}, or negative from the end)'
            )
        indices.append(index % total)
    if isinstance(backbone, SimMIMSwin):
        missing = sorted(set(indices) - set(backbone.out_indices))
        if missing:
            raise ValueError(
                f'this SimMIMSwin has output norms for stages '
                f'{tuple(backbone.out_indices)} only, not {missing}; build '
                f'it with model.backbone.out_indices including {missing}'
            )
    return indices


@contextmanager
def _attributes(module: nn.Module, **values) -> Iterator[None]:
    """Set attributes for the duration of a block, then restore them."""
    saved = {name: getattr(module, name) for name in values}
    for name, value in values.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(module, name, value)


def _run_unmasked(
    backbone: nn.Module, inputs: torch.Tensor, indices: List[int]
) -> Tuple[List[torch.Tensor], int]:
    """Raw outputs (tokens ``[B, E + L, D]`` or maps ``[B, C, *grid]``) of
    the chosen outputs, and ``E``, the extra tokens (-1 for maps)."""
    if isinstance(backbone, ConvMAEViT):
        # No plain forward: every token visible; tokens [B, L, D], no cls.
        grid = backbone.check_input(inputs)
        mask = inputs.new_zeros(inputs.shape[0], math.prod(grid), dtype=bool)
        return [backbone(inputs, mask)[0]], 0
    if isinstance(backbone, SimMIMSwin):
        with _attributes(backbone, mask_generator=None):
            outs = backbone(inputs)
        order = sorted(backbone.out_indices)
        return [outs[order.index(i)] for i in indices], -1
    if isinstance(backbone, ConvViT):
        with _attributes(backbone, out_indices=tuple(indices)):
            return list(backbone(inputs)), -1
    if isinstance(backbone, WindowedViT):
        with _attributes(backbone, out_indices=tuple(indices)):
            return list(backbone(inputs)), -1
    if isinstance(backbone, BaseViT):
        with _attributes(
            backbone,
            mask_generator=None,
            out_type='raw',
            out_indices=tuple(indices),
        ):
            return list(backbone(inputs)), backbone.num_extra_tokens
    raise TypeError(
        f'{type(backbone).__name__} is not an mmmim backbone; encode takes '
        'MAEViT, SimMIMViT, SimMIMSwin, VideoMAEViT, ConvMAEViT, ConvViT '
        'or WindowedViT (or a model that holds one as .backbone)'
    )


def _pool(
    out: torch.Tensor,
    pool: str,
    num_extra: int,
    grid: Sequence[int],
    name: str,
) -> torch.Tensor:
    if num_extra < 0:  # a feature map [B, C, *grid]
        if pool == 'cls':
            raise ValueError(
                f"{name} has no cls token; use pool='avg' or 'none'"
            )
        return out.flatten(2).mean(-1) if pool == 'avg' else out
    if pool == 'cls':
        if num_extra == 0:
            raise ValueError(
                f"{name} has no cls token; use pool='avg' or 'none'"
            )
        return out[:, 0]
    patch_tokens = out[:, num_extra:]
    if pool == 'avg':
        return patch_tokens.mean(dim=1)
    return patch_tokens.transpose(1, 2).reshape(out.shape[0], -1, *grid)


@torch.no_grad()
def encode(
    model: nn.Module,
    inputs: torch.Tensor,
    pool: str = 'cls',
    out_indices: Indices = -1,
) -> Union[torch.Tensor, List[torch.Tensor]]:
    """Features of normalised inputs, in eval mode, with masking off.

    Intermediate outputs of a ViT are the raw tokens of that block (the
    final norm applies after the last block only); maps of ConvViT are
    E1-E4 (``out_indices`` 0-3) and of Swin its stages. The model's mode,
    attributes and weights are left as they were.

    Args:
        model (nn.Module): An mmmim algorithm or classifier (its
            ``backbone`` is used), possibly wrapped, or a backbone.
        inputs (torch.Tensor): Normalised images ``[B, C, H, W]`` (clips
            ``[B, C, T, H, W]`` for VideoMAE) on the model's device.
        pool (str): One of :data:`POOLS`. Defaults to 'cls'.
        out_indices (int | Sequence[int]): Blocks (stages for ConvViT and
            Swin) to read; negative from the end. Defaults to -1.

    Returns:
        torch.Tensor | List[torch.Tensor]: ``[B, D]`` per output
        (``[B, D, *grid]`` for ``pool='none'``); a list when
        ``out_indices`` is a sequence.
    """
    pooled = encode_pools(model, inputs, {pool: out_indices})[pool]
    return pooled[0] if isinstance(out_indices, int) else pooled


def encode_pools(
    model: nn.Module,
    inputs: torch.Tensor,
    requests: Dict[str, Indices],
) -> Dict[str, List[torch.Tensor]]:
    """Several poolings of several outputs from one forward pass (what
    :func:`encode` gives for each ``(pool, out_indices)`` pair, without
    running the encoder once per pool).

    Args:
        model (nn.Module): As for :func:`encode`.
        inputs (torch.Tensor): As for :func:`encode`.
        requests (Dict[str, int | Sequence[int]]): ``{pool:
            out_indices}``, pools from :data:`POOLS`.

    Returns:
        Dict[str, List[torch.Tensor]]: For each pool its features, one
        per requested index in the order requested (shapes as
        :func:`encode`).
    """
    if not requests:
        raise ValueError(
            'encode_pools needs at least one {pool: out_indices} request'
        )
    for pool in requests:
        if pool not in POOLS:
            raise ValueError(f'pool must be one of {POOLS}, got {pool!r}')
    backbone = get_backbone(model)
    _check_inputs(backbone, inputs)
    wanted = {
        pool: _parse_indices(backbone, indices)
        for pool, indices in requests.items()
    }
    # Backbones return their outputs in block order, whatever order the
    # indices were asked in: run the sorted set, hand back as asked.
    order = sorted({i for indices in wanted.values() for i in indices})
    was_training = backbone.training
    backbone.eval()
    try:
        outs, num_extra = _run_unmasked(backbone, inputs, order)
    finally:
        backbone.train(was_training)
    by_index = dict(zip(order, outs))
    grid = _token_grid(backbone, inputs)
    name = type(backbone).__name__
    return {
        pool: [
            _pool(by_index[i], pool, num_extra, grid, name) for i in indices
        ]
        for pool, indices in wanted.items()
    }


def _token_grid(backbone: nn.Module, inputs: torch.Tensor) -> Tuple:
    """The token grid of ViT inputs (videos: ``(t, h, w)``)."""
    is_video, stride = input_geometry(backbone)
    spatial = (inputs.shape[-2] // stride, inputs.shape[-1] // stride)
    if is_video:
        tubelet = backbone.patch_embed.tubelet_size
        return (inputs.shape[2] // tubelet, *spatial)
    return spatial
