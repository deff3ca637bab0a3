# Copyright (c) mmmim contributors. All rights reserved.
"""Relative position bias tables (BEiT / SimMIM ViT, Swin) and resizing.

A table holds one learned bias per relative offset ``(dh, dw)`` of a
``Wh x Ww`` window, row-major over ``(dh + Wh - 1, dw + Ww - 1)``: shape
``[(2 Wh - 1) (2 Ww - 1) + extra, heads]``. The ViT variant appends three
rows for the cls token (cls->token, token->cls, cls->cls), as the official
BEiT/SimMIM code does.

When fine-tuning at another window or resolution, the official SimMIM code
resizes the square offset grid with SciPy's ``interp2d(kind='cubic')`` on
*geometrically spaced* source positions (fine near offset 0, coarse far
away). ``interp2d`` was removed in SciPy 1.14;
:func:`resize_rel_pos_bias_table` reproduces it without SciPy:
``interp2d`` on a rectangular grid is FITPACK's interpolating
tensor-product cubic spline (``regrid`` with ``s = 0``, i.e. not-a-knot end
conditions) evaluated with arguments clamped to the data range, which
equals a separable 1-D not-a-knot cubic spline along each axis.
"""

import math
from typing import List, Sequence

import torch
from timm.models.beit import RelativePositionBias

__all__ = [
    'NUM_CLS_ROWS',
    'RelativePositionBias',
    'geometric_offsets',
    'cubic_spline_matrix',
    'resize_rel_pos_bias_table',
]

#: Extra table rows of the ViT variant (cls->token, token->cls, cls->cls).
NUM_CLS_ROWS = 3


def geometric_offsets(src_size: int, dst_size: int) -> List[float]:
    """Source positions of the official geometric resizing.

    The ``src_size // 2`` offsets on each side of 0 are placed at the
    partial sums ``1, 1 + q, 1 + q + q**2, ...`` with the ratio ``q`` found
    by the official bisection on ``[1.01, 1.5]`` (to 1e-6), so that the
    outermost one lands at about ``dst_size // 2``.

    Args:
        src_size (int): Side of the source offset grid (``2 W - 1``).
        dst_size (int): Side of the target offset grid.

    Returns:
        List[float]: ``src_size`` ascending positions, symmetric about 0.
    """
    half = src_size // 2

    def partial_sum(ratio: float) -> float:
        return (1.0 - ratio**half) / (1.0 - ratio)

    left, right = 1.01, 1.5
    while right - left > 1e-6:
        ratio = (left + right) / 2.0
        if partial_sum(ratio) > dst_size // 2:
            right = ratio
        else:
            left = ratio
    # The official code uses the last midpoint, not `left` or `right`.
    offsets, current = [], 1.0
    for i in range(half):
        offsets.append(current)
        current += ratio ** (i + 1)
    return [-v for v in reversed(offsets)] + [0.0] + offsets


def cubic_spline_matrix(
    knots: Sequence[float], points: Sequence[float]
) -> torch.Tensor:
    """The linear map of 1-D not-a-knot cubic spline interpolation.

    ``A @ y`` evaluates, at ``points``, the not-a-knot cubic spline through
    ``(knots, y)``; points outside ``[knots[0], knots[-1]]`` are clamped to
    it, as FITPACK does.

    Args:
        knots (Sequence[float]): At least 4 strictly increasing positions.
        points (Sequence[float]): Where to evaluate.

    Returns:
        torch.Tensor: Float64 ``[len(points), len(knots)]``.

    Raises:
        ValueError: If there are fewer than 4 knots or they do not increase.
    """
    x = torch.as_tensor(knots, dtype=torch.float64)
    n = x.numel()
    if n < 4:
        raise ValueError(
            f'cubic spline interpolation needs at least 4 positions, got {n}'
        )
    h = x[1:] - x[:-1]
    if bool((h <= 0).any()):
        raise ValueError('knots must be strictly increasing')
    eye = torch.eye(n, dtype=torch.float64)
    # Second derivatives M solve K M = R y.
    lhs = torch.zeros(n, n, dtype=torch.float64)
    rhs = torch.zeros(n, n, dtype=torch.float64)
    for i in range(1, n - 1):
        lhs[i, i - 1 : i + 2] = torch.stack(
            [h[i - 1], 2 * (h[i - 1] + h[i]), h[i]]
        )
        rhs[i] = 6 * (
            (eye[i + 1] - eye[i]) / h[i] - (eye[i] - eye[i - 1]) / h[i - 1]
        )
    # Not-a-knot: the third derivative is continuous at knots 1 and n-2.
    lhs[0, :3] = torch.stack([h[1], -(h[0] + h[1]), h[0]])
    lhs[-1, -3:] = torch.stack([h[-1], -(h[-2] + h[-1]), h[-2]])
    moments = torch.linalg.solve(lhs, rhs)  # M = moments @ y
    t = torch.as_tensor(points, dtype=torch.float64).clamp(x[0], x[-1])
    seg = torch.searchsorted(x, t, right=True).sub(1).clamp(0, n - 2)
    hs, left, right = h[seg], x[seg] - t, x[seg + 1] - t
    a, b = right / hs, -left / hs  # weights of y[seg], y[seg + 1]
    rows = a[:, None] * eye[seg] + b[:, None] * eye[seg + 1]
    ca = (right**3 / hs - right * hs) / 6  # weight of M[seg]
    cb = ((-left) ** 3 / hs + left * hs) / 6  # weight of M[seg + 1]
    rows = rows + ca[:, None] * moments[seg] + cb[:, None] * moments[seg + 1]
    return rows


def resize_rel_pos_bias_table(
    table: torch.Tensor,
    dst_size: int,
    num_extra_tokens: int = 0,
) -> torch.Tensor:
    """Resize a square relative position bias table, as official SimMIM.

    The ``src x src`` offset grid of each head is interpolated from
    geometrically spaced positions (:func:`geometric_offsets`) to the
    integer offsets ``-dst//2 .. dst//2`` by a bicubic not-a-knot spline;
    the ``num_extra_tokens`` trailing rows (the cls rows of the ViT table)
    are kept as they are. At equal sizes the table is returned unchanged.

    Args:
        table (torch.Tensor): ``[src * src + num_extra_tokens, heads]``.
        dst_size (int): Side of the target offset grid (``2 W' - 1``).
        num_extra_tokens (int): Trailing rows that are not offsets.
            Defaults to 0.

    Returns:
        torch.Tensor: ``[dst * dst + num_extra_tokens, heads]`` in the
        dtype of ``table``.

    Raises:
        ValueError: If the table is not a square grid plus the extra rows.
    """
    num_rows = table.shape[0] - num_extra_tokens
    src_size = math.isqrt(max(num_rows, 0))
    if table.dim() != 2 or src_size * src_size != num_rows:
        raise ValueError(
            f'a relative position bias table of shape {tuple(table.shape)} '
            f'is not a square offset grid plus {num_extra_tokens} rows'
        )
    if dst_size % 2 == 0:
        raise ValueError(
            f'dst_size must be odd (2 * window - 1), got {dst_size}'
        )
    if src_size == dst_size:
        return table
    grid = table[:num_rows].double().T.reshape(-1, src_size, src_size)
    src = geometric_offsets(src_size, dst_size)
    half = dst_size // 2
    dst = [float(v) for v in range(-half, half + 1)]
    interp = cubic_spline_matrix(src, dst).to(table.device)
    resized = interp @ grid @ interp.T  # [heads, dst, dst]
    resized = resized.reshape(-1, len(dst) ** 2).T.to(table.dtype)
    return torch.cat([resized, table[num_rows:]], dim=0)
