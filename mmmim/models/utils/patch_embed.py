# Copyright (c) mmmim contributors. All rights reserved.
"""2-D patch embedding."""

from typing import Tuple

import torch
import torch.nn as nn

__all__ = ['PatchEmbed2d']


class PatchEmbed2d(nn.Module):
    """Embed non-overlapping square patches with one strided convolution.

    The convolution is named ``proj`` as in the official MAE and timm
    checkpoints.

    Args:
        in_channels (int): Image channels.
        embed_dims (int): Token width.
        patch_size (int): Patch side, also the stride.
    """

    def __init__(
        self, in_channels: int, embed_dims: int, patch_size: int
    ) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(
            in_channels, embed_dims, kernel_size=patch_size, stride=patch_size
        )

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, tuple]:
        """Embed images.

        Args:
            x (torch.Tensor): Images ``[B, C, H, W]``.

        Returns:
            Tuple[torch.Tensor, tuple]: Tokens ``[B, L, D]`` in row-major
            order and the grid ``(H / p, W / p)``.

        Raises:
            ValueError: If ``H`` or ``W`` is not divisible by the patch
                size.
        """
        h, w = x.shape[-2:]
        p = self.patch_size
        if h % p or w % p:
            raise ValueError(
                f'input size {h}x{w} is not divisible by the patch size {p}; '
                f'resize or crop the images to a multiple of {p}'
            )
        x = self.proj(x)
        grid = (x.shape[2], x.shape[3])
        return x.flatten(2).transpose(1, 2), grid
