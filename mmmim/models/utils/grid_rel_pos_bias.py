# Copyright (c) mmmim contributors. All rights reserved.
"""Relative position biases on a token grid, for windowed and global
attention (the dense-task ViT and ConvViT).

The tables follow the official ConvMAE detector: one zero-initialised
``relative_position_bias_table`` per attention kind, laid out as in BEiT /
Swin, resized bicubically for other grids.
"""

from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['GridRelPosBias', 'grid_attention_biases', 'resize_rel_pos_table']


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


def grid_attention_biases(
    windowed: Optional[GridRelPosBias],
    global_: Optional[GridRelPosBias],
    grid: Tuple[int, int],
    x: torch.Tensor,
) -> Dict[str, Optional[torch.Tensor]]:
    """The bias ``[heads, N, N]`` of each attention kind, computed once per
    forward in the dtype attention runs in (bf16 under autocast).

    Args:
        windowed (GridRelPosBias, optional): The windowed blocks' table.
        global_ (GridRelPosBias, optional): The global blocks' table.
        grid (Tuple[int, int]): The token grid of this input.
        x (torch.Tensor): The tokens (for device, dtype and autocast).

    Returns:
        dict: ``'windowed'`` and ``'global'`` biases (None without table).
    """
    dtype = x.dtype
    if torch.is_autocast_enabled(x.device.type):
        dtype = torch.get_autocast_dtype(x.device.type)
    return {
        'windowed': None if windowed is None else windowed().to(dtype),
        'global': None if global_ is None else global_(grid).to(dtype),
    }
