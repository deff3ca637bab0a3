# Copyright (c) mmmim contributors. All rights reserved.
"""The convolutional stages of ConvMAE / ConvViT.

Parameter names follow the official ConvMAE code (``proj``/``norm`` in the
patch embeddings; ``norm1``, ``conv1``, ``attn`` (the depthwise conv),
``conv2``, ``norm2``, ``mlp.fc1``, ``mlp.fc2`` in a block), so that official
checkpoints load after a prefix rename only.

Tensors are NCHW; the LayerNorms normalise the channel axis through a
``permute`` to NHWC, which is free when the tensor is stored channels-last.
"""

from typing import Optional, Tuple

import torch
import torch.nn as nn
from timm.layers import DropPath

__all__ = ['ConvPatchEmbed', 'CMlp', 'CBlock', 'upsample_mask']


def _channel_norm(norm: nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    """LayerNorm over the channels of an NCHW tensor."""
    return norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvPatchEmbed(nn.Module):
    """A stage's patch embedding: strided conv, channel LayerNorm, GELU.

    Args:
        in_channels (int): Input channels.
        embed_dims (int): Output channels.
        patch_size (int): Kernel size and stride.
        norm_eps (float): LayerNorm epsilon; the official code uses
            PyTorch's default. Defaults to 1e-5.
    """

    def __init__(
        self,
        in_channels: int,
        embed_dims: int,
        patch_size: int,
        norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(
            in_channels, embed_dims, kernel_size=patch_size, stride=patch_size
        )
        self.norm = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` -> ``[B, D, H / p, W / p]``."""
        return self.act(_channel_norm(self.norm, self.proj(x)))


class CMlp(nn.Module):
    """Pointwise-conv MLP: 1x1 conv, GELU, 1x1 conv.

    Args:
        dims (int): Channels.
        hidden_dims (int): Hidden channels.
        drop (float): Dropout after each conv. Defaults to 0.
    """

    def __init__(self, dims: int, hidden_dims: int, drop: float = 0.0):
        super().__init__()
        self.fc1 = nn.Conv2d(dims, hidden_dims, 1)
        self.act = nn.GELU()
        self.fc2 = nn.Conv2d(hidden_dims, dims, 1)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` -> ``[B, C, H, W]``."""
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class CBlock(nn.Module):
    """ConvMAE's convolution block with an optional visibility mask.

    ``x + DropPath(conv2(dwconv5x5(visible * conv1(LN(x)))))`` followed by
    ``x + DropPath(CMlp(LN(x)))``. The mask multiplies only the input of the
    5x5 depthwise conv, the one operation that mixes positions, so no
    information flows from masked positions into visible ones. The norms
    use the official epsilon 1e-5 (the official ``norm_layer`` argument is
    ignored there).

    Args:
        dims (int): Channels.
        mlp_ratio (float): Hidden width of the MLP over ``dims``.
            Defaults to 4.
        drop_path (float): Stochastic depth rate. Defaults to 0.
        drop (float): Dropout in the MLP. Defaults to 0.
        kernel_size (int): Depthwise kernel. Defaults to 5.
        norm_eps (float): LayerNorm epsilon. Defaults to 1e-5.
    """

    def __init__(
        self,
        dims: int,
        mlp_ratio: float = 4.0,
        drop_path: float = 0.0,
        drop: float = 0.0,
        kernel_size: int = 5,
        norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dims, eps=norm_eps)
        self.conv1 = nn.Conv2d(dims, dims, 1)
        self.attn = nn.Conv2d(
            dims, dims, kernel_size, padding=kernel_size // 2, groups=dims
        )
        self.conv2 = nn.Conv2d(dims, dims, 1)
        self.drop_path = DropPath(drop_path) if drop_path else nn.Identity()
        self.norm2 = nn.LayerNorm(dims, eps=norm_eps)
        self.mlp = CMlp(dims, int(dims * mlp_ratio), drop)

    def forward(
        self, x: torch.Tensor, visible: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """Apply the block.

        Args:
            x (torch.Tensor): Features ``[B, C, H, W]``.
            visible (torch.Tensor, optional): Bool ``[B, 1, H, W]``, True
                where the position is visible. Defaults to None (no mask).

        Returns:
            torch.Tensor: Features ``[B, C, H, W]``.
        """
        y = self.conv1(_channel_norm(self.norm1, x))
        if visible is not None:
            y = y * visible  # bool promotes to y's dtype: exact zeros
        x = x + self.drop_path(self.conv2(self.attn(y)))
        return x + self.drop_path(self.mlp(_channel_norm(self.norm2, x)))


def upsample_mask(
    mask: torch.Tensor, grid: Tuple[int, int], scale: int
) -> torch.Tensor:
    """Expand a token mask to a finer feature grid.

    Every cell of the ``grid`` (the stage-3 / masking grid) becomes a
    ``scale x scale`` block, i.e. nearest-neighbour upsampling, which is
    what the official ConvMAE builds for stages 1 (x4) and 2 (x2).

    Args:
        mask (torch.Tensor): Bool ``[B, h * w]`` (row-major).
        grid (Tuple[int, int]): The grid ``(h, w)`` of ``mask``.
        scale (int): Upsampling factor.

    Returns:
        torch.Tensor: Bool ``[B, 1, h * scale, w * scale]``.
    """
    h, w = grid
    batch_size = mask.shape[0]
    blocks = mask.reshape(batch_size, 1, h, 1, w, 1)
    blocks = blocks.expand(batch_size, 1, h, scale, w, scale)
    return blocks.reshape(batch_size, 1, h * scale, w * scale)
