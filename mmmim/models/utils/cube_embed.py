# Copyright (c) mmmim contributors. All rights reserved.
"""Cube (tubelet) embedding of videos."""

from typing import Tuple

import torch
import torch.nn as nn

__all__ = ['CubeEmbed']


class CubeEmbed(nn.Module):
    """Split a video into ``tubelet x p x p`` cubes and embed each.

    A ``Conv3d`` with kernel = stride = ``(tubelet_size, p, p)``, named
    ``proj`` as in the official VideoMAE checkpoints. Tokens come out
    t-major: token ``t * h * w + i * w + j``.

    Args:
        in_channels (int): Video channels ``C``.
        embed_dims (int): Token width ``D``.
        patch_size (int): Spatial cube side ``p``.
        tubelet_size (int): Frames per cube.
    """

    def __init__(
        self,
        in_channels: int,
        embed_dims: int,
        patch_size: int,
        tubelet_size: int,
    ) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.tubelet_size = tubelet_size
        kernel = (tubelet_size, patch_size, patch_size)
        self.proj = nn.Conv3d(
            in_channels, embed_dims, kernel_size=kernel, stride=kernel
        )

    def forward(
        self, x: torch.Tensor
    ) -> Tuple[torch.Tensor, Tuple[int, int, int]]:
        """Embed a video.

        Args:
            x (torch.Tensor): Videos ``[B, C, T, H, W]``.

        Returns:
            Tuple[torch.Tensor, Tuple[int, int, int]]: Tokens
            ``[B, t * h * w, D]`` and the token grid ``(t, h, w)``.

        Raises:
            ValueError: If the input is not 5-D or a size is not divisible
                by the cube.
        """
        if x.dim() != 5:
            raise ValueError(
                f'expected videos [B, C, T, H, W], got shape '
                f'{tuple(x.shape)}; pack clips with FormatShape(NCTHW)'
            )
        _, _, frames, height, width = x.shape
        p, tubelet = self.patch_size, self.tubelet_size
        if frames % tubelet or height % p or width % p:
            raise ValueError(
                f'video size {frames}x{height}x{width} (T x H x W) is not '
                f'divisible by the cube {tubelet}x{p}x{p}; sample a multiple '
                f'of {tubelet} frames and crop or resize to a multiple of {p}'
            )
        x = self.proj(x)
        grid = tuple(x.shape[2:])
        return x.flatten(2).transpose(1, 2), grid
