# Copyright (c) mmmim contributors. All rights reserved.
"""Windowed ViT blocks for dense tasks (ViTDet-style plain backbones).

Most blocks attend inside non-overlapping windows and a few attend
globally, so that a ViT pre-trained at 224 runs at 1024 with linear cost
in most blocks. The blocks are :class:`WindowBlock` s, whose parameter
names (``norm1``, ``attn.qkv``, ``attn.proj``, ``norm2``, ``mlp.fc1``,
``mlp.fc2``) equal timm's ``Block``, so MAE checkpoints load unchanged.
"""

from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch.utils.checkpoint import checkpoint

from .window_attention import GridRelPosBias, WindowBlock

__all__ = [
    'build_window_blocks',
    'check_global_indexes',
    'run_window_block',
    'WindowedRelPosBias',
]


def build_window_blocks(
    num_layers: int,
    embed_dims: int,
    num_heads: int,
    feedforward_channels: int,
    qkv_bias: bool = True,
    drop_path_rate: float = 0.0,
    norm_eps: float = 1e-6,
) -> nn.ModuleList:
    """Build ``num_layers`` blocks that attend globally or in windows.

    Args:
        num_layers (int): Number of blocks.
        embed_dims (int): Token width.
        num_heads (int): Attention heads.
        feedforward_channels (int): Hidden width of the MLP.
        qkv_bias (bool): Bias of the qkv Linear. Defaults to True.
        drop_path_rate (float): Stochastic depth of the last block,
            increasing linearly from 0. Defaults to 0.
        norm_eps (float): LayerNorm epsilon. Defaults to 1e-6.

    Returns:
        nn.ModuleList: The blocks.
    """
    rates = torch.linspace(0, drop_path_rate, num_layers).tolist()
    # WindowBlock sizes the MLP as int(dims * ratio); the half-unit offset
    # makes that exactly feedforward_channels despite float rounding.
    mlp_ratio = (feedforward_channels + 0.5) / embed_dims
    return nn.ModuleList(
        WindowBlock(embed_dims, num_heads, mlp_ratio, qkv_bias, rate, norm_eps)
        for rate in rates
    )


class WindowedRelPosBias(nn.Module):
    """Relative position biases of windowed and global blocks.

    One zero-initialised table per attention kind, shared by the blocks of
    that kind, as the official ConvMAE detector does (MAE pre-training has
    no table, so each starts from zero). The global table is built for
    ``grid`` and resized bicubically for other grids.

    Args:
        window_size (int): Window side of the windowed blocks.
        grid (Tuple[int, int]): Token grid of the training size.
        num_heads (int): Attention heads.
        with_global (bool): Whether there are global blocks.
    """

    def __init__(
        self,
        window_size: int,
        grid: Tuple[int, int],
        num_heads: int,
        with_global: bool,
    ) -> None:
        super().__init__()
        self.windowed = GridRelPosBias((window_size, window_size), num_heads)
        self.global_grid = (
            GridRelPosBias(grid, num_heads) if with_global else None
        )

    def forward(
        self, grid: Tuple[int, int], x: torch.Tensor
    ) -> Dict[str, Optional[torch.Tensor]]:
        """Biases ``[heads, N, N]`` of each kind for the token grid ``grid``,
        in the dtype attention runs in (e.g. bf16 under autocast)."""
        dtype = x.dtype
        if torch.is_autocast_enabled(x.device.type):
            dtype = torch.get_autocast_dtype(x.device.type)
        biases = {'windowed': self.windowed().to(dtype), 'global': None}
        if self.global_grid is not None:
            biases['global'] = self.global_grid(grid).to(dtype)
        return biases


def run_window_block(
    block: nn.Module,
    x: torch.Tensor,
    window_size: Optional[int],
    bias: Optional[torch.Tensor],
    with_cp: bool = False,
) -> torch.Tensor:
    """Run one :class:`WindowBlock` on tokens ``[B, H, W, C]``.

    Args:
        block (nn.Module): The block.
        x (torch.Tensor): Tokens on their grid.
        window_size (int, optional): Window side; None for global.
        bias (torch.Tensor, optional): Attention bias ``[heads, N, N]``.
        with_cp (bool): Recompute the block in backward. Defaults to False.

    Returns:
        torch.Tensor: ``[B, H, W, C]``.
    """
    if with_cp and x.requires_grad and torch.is_grad_enabled():
        return checkpoint(block, x, window_size, bias, use_reentrant=False)
    return block(x, window_size, bias)


def check_global_indexes(
    indexes: Sequence[int], num_layers: int
) -> Tuple[int, ...]:
    """Validate block indices (negative ones count from the end)."""
    checked = set()
    for index in indexes:
        if not -num_layers <= index < num_layers:
            raise ValueError(
                f'global_attn_indexes {index} is out of range for '
                f'{num_layers} blocks'
            )
        checked.add(index % num_layers)
    return tuple(sorted(checked))
