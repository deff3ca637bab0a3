# Copyright (c) mmmim contributors. All rights reserved.
"""Conversion between images and patch space.

Patch space is ``[B, L, p * p * C]`` with the ``L`` patches in row-major
order and, inside each patch, the channel as the fastest axis, i.e. the
layout ``(p_row, p_col, channel)`` of the official MAE ``patchify``
(einsum ``nchpwq->nhwpqc``). Reconstruction targets, predictions and
checkpoint parity all depend on this order.
"""

import math
from typing import Optional, Tuple

import torch

__all__ = ['patchify', 'unpatchify']


def patchify(imgs: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Cut images into flattened, non-overlapping patches.

    Args:
        imgs (torch.Tensor): Images of shape ``[B, C, H, W]``.
        patch_size (int): The side ``p`` of a square patch.

    Returns:
        torch.Tensor: Patches of shape ``[B, L, p * p * C]`` where
        ``L = (H / p) * (W / p)``, channel-last inside each patch.

    Raises:
        ValueError: If ``imgs`` is not 4-D or its size is not divisible by
            ``patch_size``.
    """
    if imgs.dim() != 4:
        raise ValueError(
            'patchify expects images of shape [B, C, H, W], '
            f'got {tuple(imgs.shape)}'
        )
    b, c, h, w = imgs.shape
    p = patch_size
    if h % p or w % p:
        raise ValueError(
            f'image size {h}x{w} is not divisible by the patch '
            f'size {p}; resize or crop the image to a multiple '
            f'of {p}'
        )
    x = imgs.reshape(b, c, h // p, p, w // p, p)
    # (b, c, gh, p, gw, q) -> (b, gh, gw, p, q, c): channel fastest.
    x = x.permute(0, 2, 4, 3, 5, 1)
    return x.reshape(b, (h // p) * (w // p), p * p * c)


def unpatchify(
    x: torch.Tensor,
    patch_size: int,
    grid_size: Optional[Tuple[int, int]] = None,
) -> torch.Tensor:
    """Inverse of :func:`patchify`.

    Args:
        x (torch.Tensor): Patches of shape ``[B, L, p * p * C]``.
        patch_size (int): The side ``p`` of a square patch.
        grid_size (Tuple[int, int], optional): The patch grid ``(h, w)``.
            Defaults to None, which means a square grid of side
            ``sqrt(L)``.

    Returns:
        torch.Tensor: Images of shape ``[B, C, h * p, w * p]``.

    Raises:
        ValueError: If the shape of ``x`` does not match the patch size or
            the grid.
    """
    if x.dim() != 3:
        raise ValueError(
            'unpatchify expects patches of shape [B, L, P], '
            f'got {tuple(x.shape)}'
        )
    b, num_patches, dims = x.shape
    p = patch_size
    if grid_size is None:
        side = math.isqrt(num_patches)
        grid_size = (side, side)
    gh, gw = grid_size
    if gh * gw != num_patches:
        raise ValueError(
            f'{num_patches} patches do not form a {gh}x{gw} '
            'grid; pass grid_size=(h, w)'
        )
    if dims % (p * p):
        raise ValueError(
            f'patch dim {dims} is not a multiple of patch_size**2 = {p * p}'
        )
    c = dims // (p * p)
    x = x.reshape(b, gh, gw, p, p, c)
    # (b, gh, gw, p, q, c) -> (b, c, gh, p, gw, q)
    x = x.permute(0, 5, 1, 3, 2, 4)
    return x.reshape(b, c, gh * p, gw * p)
