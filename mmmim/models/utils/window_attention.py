# Copyright (c) mmmim contributors. All rights reserved.
"""Global and windowed self-attention with relative position bias.

Used by the stage-3 blocks of :class:`~mmmim.models.ConvViT`. Parameter
names follow the official ConvMAE detector (``norm1``, ``attn.qkv``,
``attn.proj``, ``norm2``, ``mlp.fc1``, ``mlp.fc2``; bias tables
``relative_position_bias_table`` laid out as in BEiT / Swin).
"""

from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import DropPath

__all__ = [
    'GridRelPosBias',
    'WindowBlock',
    'resize_rel_pos_table',
    'window_partition',
    'window_unpartition',
]


def resize_rel_pos_table(
    table: torch.Tensor, src: Tuple[int, int], dst: Tuple[int, int]
) -> torch.Tensor:
    """Resize a ``[(2h-1) * (2w-1), heads]`` table bicubically.

    Args:
        table (torch.Tensor): The table for a ``src`` grid.
        src (Tuple[int, int]): Grid ``(h, w)`` the table covers.
        dst (Tuple[int, int]): Grid to cover.

    Returns:
        torch.Tensor: ``[(2h'-1) * (2w'-1), heads]``; ``table`` itself when
        the grids agree.
    """
    if tuple(src) == tuple(dst):
        return table
    heads = table.shape[-1]
    grid = table.reshape(1, 2 * src[0] - 1, 2 * src[1] - 1, heads)
    grid = F.interpolate(
        grid.permute(0, 3, 1, 2).float(),
        size=(2 * dst[0] - 1, 2 * dst[1] - 1),
        mode='bicubic',
        align_corners=False,
    ).to(table.dtype)
    return grid.permute(0, 2, 3, 1).reshape(-1, heads)


class GridRelPosBias(nn.Module):
    """A learned bias per head and relative offset inside a grid.

    The table has ``(2h - 1) * (2w - 1)`` rows indexed by
    ``(dy + h - 1) * (2w - 1) + (dx + w - 1)``, the BEiT / official ConvMAE
    layout, and is zero-initialised (ConvMAE pre-training has no bias).
    For a grid other than the one it was built for, the table is resized
    bicubically.

    Args:
        grid (Tuple[int, int]): The grid ``(h, w)`` of the table.
        num_heads (int): Attention heads.
    """

    def __init__(self, grid: Tuple[int, int], num_heads: int) -> None:
        super().__init__()
        self.grid = (int(grid[0]), int(grid[1]))
        rows = (2 * self.grid[0] - 1) * (2 * self.grid[1] - 1)
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros(rows, num_heads)
        )

    def forward(self, grid: Optional[Tuple[int, int]] = None) -> torch.Tensor:
        """The bias for every query/key pair of ``grid``.

        Args:
            grid (Tuple[int, int], optional): Token grid ``(h, w)``.
                Defaults to None (the table's own grid).

        Returns:
            torch.Tensor: ``[heads, h * w, h * w]``, row-major tokens.
        """
        h, w = self.grid if grid is None else grid
        table = resize_rel_pos_table(
            self.relative_position_bias_table, self.grid, (h, w)
        )
        table = table.reshape(2 * h - 1, 2 * w - 1, -1)
        device = table.device
        rel_y = torch.arange(h, device=device)
        rel_y = rel_y[:, None] - rel_y[None, :] + (h - 1)
        rel_x = torch.arange(w, device=device)
        rel_x = rel_x[:, None] - rel_x[None, :] + (w - 1)
        # bias[y1, x1, y2, x2] = table[y1 - y2, x1 - x2] (shifted).
        bias = table[rel_y[:, None, :, None], rel_x[None, :, None, :]]
        return bias.permute(4, 0, 1, 2, 3).reshape(-1, h * w, h * w)


def window_partition(
    x: torch.Tensor, window_size: int
) -> Tuple[torch.Tensor, Tuple[int, int]]:
    """Split ``[B, H, W, C]`` into windows, zero-padding bottom/right.

    Args:
        x (torch.Tensor): Tokens on their grid.
        window_size (int): Window side.

    Returns:
        tuple: Windows ``[B * nW, ws * ws, C]`` (windows in row-major
        order per image) and the padded grid ``(Hp, Wp)``.
    """
    batch_size, h, w, dims = x.shape
    pad_h, pad_w = (-h) % window_size, (-w) % window_size
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    hp, wp = h + pad_h, w + pad_w
    x = x.reshape(
        batch_size,
        hp // window_size,
        window_size,
        wp // window_size,
        window_size,
        dims,
    )
    windows = x.permute(0, 1, 3, 2, 4, 5)
    return windows.reshape(-1, window_size * window_size, dims), (hp, wp)


def window_unpartition(
    windows: torch.Tensor,
    window_size: int,
    padded: Tuple[int, int],
    grid: Tuple[int, int],
) -> torch.Tensor:
    """Inverse of :func:`window_partition`, cropping the padding.

    Args:
        windows (torch.Tensor): ``[B * nW, ws * ws, C]``.
        window_size (int): Window side.
        padded (Tuple[int, int]): The padded grid ``(Hp, Wp)``.
        grid (Tuple[int, int]): The original grid ``(H, W)``.

    Returns:
        torch.Tensor: ``[B, H, W, C]``.
    """
    hp, wp = padded
    num_h, num_w = hp // window_size, wp // window_size
    dims = windows.shape[-1]
    x = windows.reshape(-1, num_h, num_w, window_size, window_size, dims)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(-1, hp, wp, dims)
    if (hp, wp) != tuple(grid):
        x = x[:, : grid[0], : grid[1]].contiguous()
    return x


class Attention(nn.Module):
    """Multi-head self-attention with an additive bias (SDPA).

    Args:
        dims (int): Token width.
        num_heads (int): Heads.
        qkv_bias (bool): Bias of the fused qkv Linear. Defaults to True.
    """

    def __init__(self, dims: int, num_heads: int, qkv_bias: bool = True):
        super().__init__()
        if dims % num_heads:
            raise ValueError(
                f'embed_dims {dims} is not divisible by num_heads {num_heads}'
            )
        self.num_heads = num_heads
        self.qkv = nn.Linear(dims, dims * 3, bias=qkv_bias)
        self.proj = nn.Linear(dims, dims)

    def forward(
        self, x: torch.Tensor, bias: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """``[B, N, C]`` tokens, bias ``[heads, N, N]`` -> ``[B, N, C]``."""
        batch_size, num_tokens, dims = x.shape
        qkv = self.qkv(x).reshape(
            batch_size, num_tokens, 3, self.num_heads, -1
        )
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        if bias is not None:
            bias = bias.to(q.dtype)
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.proj(x.transpose(1, 2).reshape(batch_size, -1, dims))


class Mlp(nn.Module):
    """Linear, GELU, Linear (``fc1``, ``fc2``)."""

    def __init__(self, dims: int, hidden_dims: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dims, hidden_dims)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dims, dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class WindowBlock(nn.Module):
    """A pre-norm transformer block on a token grid, global or windowed.

    Windowing happens inside the attention branch (as in ViTDet): the
    normalised tokens are split into ``window_size`` windows (zero-padded
    at the bottom/right when the grid is not a multiple), attended, merged
    and cropped; the MLP runs on the real tokens only. Without padding this
    equals the official ConvMAE detector, which runs whole blocks on
    windows.

    Args:
        dims (int): Token width.
        num_heads (int): Heads.
        mlp_ratio (float): MLP width over ``dims``. Defaults to 4.
        qkv_bias (bool): Bias of the qkv Linear. Defaults to True.
        drop_path (float): Stochastic depth rate. Defaults to 0.
        norm_eps (float): LayerNorm epsilon. Defaults to 1e-6.
    """

    def __init__(
        self,
        dims: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        drop_path: float = 0.0,
        norm_eps: float = 1e-6,
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dims, eps=norm_eps)
        self.attn = Attention(dims, num_heads, qkv_bias)
        self.drop_path = DropPath(drop_path) if drop_path else nn.Identity()
        self.norm2 = nn.LayerNorm(dims, eps=norm_eps)
        self.mlp = Mlp(dims, int(dims * mlp_ratio))

    def forward(
        self,
        x: torch.Tensor,
        window_size: Optional[int] = None,
        bias: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Apply the block.

        Args:
            x (torch.Tensor): Tokens on their grid ``[B, H, W, C]``.
            window_size (int, optional): Attend inside windows of this
                side; None for global attention. Defaults to None.
            bias (torch.Tensor, optional): Attention bias
                ``[heads, N, N]`` for the window (or the whole grid).
                Defaults to None.

        Returns:
            torch.Tensor: ``[B, H, W, C]``.
        """
        batch_size, h, w, dims = x.shape
        y = self.norm1(x)
        if window_size is None:
            y = self.attn(y.reshape(batch_size, h * w, dims), bias)
            y = y.reshape(batch_size, h, w, dims)
        else:
            windows, padded = window_partition(y, window_size)
            windows = self.attn(windows, bias)
            y = window_unpartition(windows, window_size, padded, (h, w))
        x = x + self.drop_path(y)
        return x + self.drop_path(self.mlp(self.norm2(x)))
