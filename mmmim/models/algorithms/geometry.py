# Copyright (c) mmmim contributors. All rights reserved.
"""Check at build time that an algorithm's parts agree on the geometry.

A backbone, neck and head are configured separately, so a config override
such as ``model.neck.num_patches=49`` against a backbone with 64 tokens
builds fine and fails at the first forward with a shape error about
tensors. These checks fail at build time instead, naming the config keys
on both sides. A part without the attribute a check reads (a custom
component) is not checked.
"""

import math
from typing import List, Optional

import torch.nn as nn

__all__ = ['check_mae_geometry', 'check_simmim_geometry', 'raise_if_any']


def _in_features(module: Optional[nn.Module]) -> Optional[int]:
    return getattr(module, 'in_features', None)


def _last(value) -> int:
    return value[-1] if isinstance(value, (tuple, list)) else value


def raise_if_any(problems: List[str], method: str) -> None:
    """Raise one ValueError listing every mismatch found."""
    if problems:
        raise ValueError(
            f'{method}: the backbone, neck and head do not fit together: '
            + '; '.join(problems)
            + '. Derive the neck/head values from the backbone in the '
            'config (e.g. num_patches=(img_size // patch_size) ** 2).'
        )


def check_mae_geometry(
    backbone: nn.Module, neck: Optional[nn.Module], head: Optional[nn.Module]
) -> List[str]:
    """Mismatches between an MAE/ConvMAE/VideoMAE encoder and decoder.

    Returns:
        list[str]: One sentence per mismatch, naming the config keys.
    """
    problems = []
    grid = getattr(backbone, 'grid_size', None)
    patch = getattr(backbone, 'patch_size', None)
    embed = getattr(backbone, 'patch_embed', None)
    tubelet = getattr(embed, 'tubelet_size', None)
    is_video = grid is not None and len(tuple(grid)) == 3
    sizes = 'img_size/num_frames/tubelet_size/patch_size'
    if hasattr(backbone, 'patch_sizes'):  # ConvMAE: strides of 3 stages
        sizes = 'img_size/patch_sizes'
    elif not is_video:
        sizes = 'img_size/patch_size'
    num_patches = getattr(neck, 'num_patches', None)
    if grid is not None and num_patches is not None:
        tokens = math.prod(tuple(grid))
        if num_patches != tokens:
            shape = ' x '.join(str(g) for g in tuple(grid))
            problems.append(
                f'model.neck.num_patches gives {num_patches} tokens, but '
                f'model.backbone.{sizes} make {tokens} ({shape})'
            )
    dims = getattr(backbone, 'embed_dims', None)
    if neck is not None and dims is not None:
        proj = getattr(neck, 'decoder_embed', None) or getattr(
            neck, 'encoder_to_decoder', None
        )
        neck_dims = _in_features(proj)
        if neck_dims is not None and neck_dims != _last(dims):
            problems.append(
                f'model.neck.embed_dims is {neck_dims}, but the encoder '
                f'(model.backbone.arch) outputs {_last(dims)}'
            )
    head_patch = getattr(head, 'patch_size', None)
    if patch is not None and head_patch is not None and head_patch != patch:
        problems.append(
            f'model.head.patch_size is {head_patch}, but the backbone '
            f'patches are {patch} px (model.backbone.{sizes})'
        )
    head_tubelet = getattr(head, 'tubelet_size', None)
    if None not in (tubelet, head_tubelet) and tubelet != head_tubelet:
        problems.append(
            f'model.head.tubelet_size is {head_tubelet}, but '
            f'model.backbone.tubelet_size is {tubelet}'
        )
    return problems


def check_simmim_geometry(
    backbone: nn.Module, neck: Optional[nn.Module]
) -> List[str]:
    """Whether SimMIM's decoder upsamples by the encoder's output stride.

    Returns:
        list[str]: One sentence per mismatch, naming the config keys.
    """
    stride = getattr(neck, 'encoder_stride', None)
    patch = getattr(backbone, 'patch_size', None)
    if stride is None or patch is None:
        return []
    key = 'model.backbone.patch_size'
    if hasattr(backbone, 'stages'):  # Swin halves the grid per stage
        last = max(getattr(backbone, 'out_indices', (3,)))
        patch, key = patch * 2**last, f'{key} x 2^{last} (Swin stages)'
    if stride != patch:
        return [
            f'model.neck.encoder_stride is {stride}, but the encoder '
            f'output stride is {patch} ({key}); the reconstruction would '
            'not match the image size'
        ]
    return []
