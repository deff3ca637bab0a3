# Copyright (c) mmmim contributors. All rights reserved.
"""Fixed 2-D sin-cos position embeddings and their resizing.

The table reproduces the official MAE ``get_2d_sincos_pos_embed`` exactly,
so that converted checkpoints and frozen tables agree number for number:

* the first half of the channels encodes the column (``w`` / x) index and
  the second half the row (``h`` / y) index, although the official
  variable names suggest the opposite (``reference/methods.md`` section 9);
* each half is ``concat(sin(pos * omega), cos(pos * omega))`` (not
  interleaved) with ``omega_i = 1 / 10000 ** (i / (D / 4))``,
  ``i < D / 4``;
* the optional cls row is all zeros.
"""

from typing import Tuple, Union

import torch
import torch.nn.functional as F

__all__ = ['build_2d_sincos_pos_embed', 'resize_pos_embed']

GridSize = Union[int, Tuple[int, int]]


def _as_pair(grid_size: GridSize) -> Tuple[int, int]:
    if isinstance(grid_size, int):
        return grid_size, grid_size
    h, w = grid_size
    return int(h), int(w)


def _sincos_1d(embed_dims: int, pos: torch.Tensor) -> torch.Tensor:
    """``[M]`` positions -> ``[M, embed_dims]`` as concat(sin, cos)."""
    omega = torch.arange(embed_dims // 2, dtype=torch.float64)
    omega = 1.0 / 10000 ** (omega / (embed_dims / 2.0))
    out = pos.reshape(-1, 1).to(torch.float64) * omega.reshape(1, -1)
    return torch.cat([torch.sin(out), torch.cos(out)], dim=1)


def build_2d_sincos_pos_embed(
    grid_size: GridSize, embed_dims: int, cls_token: bool = False
) -> torch.Tensor:
    """Build the official MAE 2-D sin-cos position embedding table.

    Args:
        grid_size (int | Tuple[int, int]): The patch grid ``(h, w)``; an int
            means a square grid.
        embed_dims (int): Channels ``D``; must be divisible by 4.
        cls_token (bool): Whether to prepend a zero row for the cls token.
            Defaults to False.

    Returns:
        torch.Tensor: A float32 table of shape ``[1, h * w, D]``, or
        ``[1, 1 + h * w, D]`` with ``cls_token``; tokens in row-major
        order.

    Raises:
        ValueError: If ``embed_dims`` is not divisible by 4.
    """
    if embed_dims % 4:
        raise ValueError(
            '2-D sin-cos position embeddings need embed_dims '
            f'divisible by 4, got {embed_dims}'
        )
    h, w = _as_pair(grid_size)
    # Row-major tokens: token t = row * w + col.
    rows, cols = torch.meshgrid(
        torch.arange(h, dtype=torch.float64),
        torch.arange(w, dtype=torch.float64),
        indexing='ij',
    )
    emb = torch.cat(
        [
            _sincos_1d(embed_dims // 2, cols),  # x / w first, as official
            _sincos_1d(embed_dims // 2, rows),
        ],
        dim=1,
    )
    if cls_token:
        emb = torch.cat([emb.new_zeros(1, embed_dims), emb], dim=0)
    return emb.float().unsqueeze(0)


def resize_pos_embed(
    pos_embed: torch.Tensor,
    src_grid: GridSize,
    dst_grid: GridSize,
    num_extra_tokens: int = 1,
    mode: str = 'bicubic',
) -> torch.Tensor:
    """Resize a position embedding table to another patch grid.

    Extra tokens (cls) are kept as they are and the patch part is
    interpolated as an image, as the official MAE ``interpolate_pos_embed``
    does for fine-tuning at another resolution.

    Args:
        pos_embed (torch.Tensor): A table of shape
            ``[1, num_extra_tokens + h * w, D]``.
        src_grid (int | Tuple[int, int]): The grid ``(h, w)`` of
            ``pos_embed``.
        dst_grid (int | Tuple[int, int]): The target grid.
        num_extra_tokens (int): Leading rows that are not patches.
            Defaults to 1.
        mode (str): Interpolation mode of ``F.interpolate``.
            Defaults to 'bicubic'.

    Returns:
        torch.Tensor: The table of shape
        ``[1, num_extra_tokens + h' * w', D]``; ``pos_embed`` itself when
        the grids are equal.

    Raises:
        ValueError: If ``pos_embed`` does not hold ``src_grid``.
    """
    src_h, src_w = _as_pair(src_grid)
    dst_h, dst_w = _as_pair(dst_grid)
    if pos_embed.dim() != 3 or (
        pos_embed.shape[1] != num_extra_tokens + src_h * src_w
    ):
        raise ValueError(
            f'pos_embed of shape {tuple(pos_embed.shape)} does not hold '
            f'{num_extra_tokens} extra tokens and a {src_h}x{src_w} grid'
        )
    if (src_h, src_w) == (dst_h, dst_w):
        return pos_embed
    extra = pos_embed[:, :num_extra_tokens]
    dims = pos_embed.shape[-1]
    grid = pos_embed[:, num_extra_tokens:].reshape(1, src_h, src_w, dims)
    grid = F.interpolate(
        grid.permute(0, 3, 1, 2).float(),
        size=(dst_h, dst_w),
        mode=mode,
        align_corners=False,
    ).to(pos_embed.dtype)
    grid = grid.permute(0, 2, 3, 1).reshape(1, dst_h * dst_w, dims)
    return torch.cat([extra, grid], dim=1)
