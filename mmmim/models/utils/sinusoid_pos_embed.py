# Copyright (c) mmmim contributors. All rights reserved.
"""The fixed 1-D sinusoid position table of VideoMAE.

VideoMAE does not factorise space and time: it numbers the ``t * h * w``
tokens in t-major order and uses the Transformer sinusoid table over that
single index, with sin on even and cos on odd channels (interleaved, unlike
MAE's concatenated halves). The official table is computed in float64 and
cast to float32; this one is too, so converted models agree exactly.
"""

import torch

__all__ = ['build_1d_sinusoid_pos_embed']


def build_1d_sinusoid_pos_embed(
    num_positions: int, embed_dims: int
) -> torch.Tensor:
    """Build the VideoMAE sinusoid table.

    ``table[pos, j] = f(pos / 10000 ** (2 * (j // 2) / D))`` with
    ``f = sin`` for even ``j`` and ``cos`` for odd ``j``.

    Args:
        num_positions (int): Number of tokens ``N`` (``t * h * w``).
        embed_dims (int): Channels ``D``.

    Returns:
        torch.Tensor: A float32 table ``[1, N, D]``.

    Raises:
        ValueError: If a size is not positive.
    """
    if num_positions <= 0 or embed_dims <= 0:
        raise ValueError(
            'num_positions and embed_dims must be positive, got '
            f'{num_positions} and {embed_dims}'
        )
    pos = torch.arange(num_positions, dtype=torch.float64).unsqueeze(1)
    channel = torch.arange(embed_dims, dtype=torch.float64)
    exponent = 2 * torch.div(channel, 2, rounding_mode='floor') / embed_dims
    angles = pos / torch.pow(
        torch.tensor(10000.0, dtype=torch.float64), exponent
    )
    table = torch.empty_like(angles)
    table[:, 0::2] = torch.sin(angles[:, 0::2])
    table[:, 1::2] = torch.cos(angles[:, 1::2])
    return table.to(torch.float32).unsqueeze(0)
