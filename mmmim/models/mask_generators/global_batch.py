# Copyright (c) mmmim contributors. All rights reserved.
"""Masks that depend on a sample's place in the global batch, not on the
number of processes."""

from typing import Callable, Tuple, Union

import torch
from mmengine.dist import get_rank, get_world_size

__all__ = ['draw_global_batch_mask']


def draw_global_batch_mask(
    generator: Callable,
    batch_size: int,
    grid_size: Union[int, Tuple[int, int]],
    device: Union[str, torch.device] = 'cpu',
) -> torch.Tensor:
    """Draw this rank's masks as rows of one global-batch draw.

    Every rank draws the masks of the *global* batch ``[W * B, L]`` from the
    default torch generator and keeps rows ``j * W + rank``: the positions
    of its samples under mmengine's ``DefaultSampler``, which deals the
    shuffled indices round-robin to the ranks. With the same seed on every
    rank (``randomness.diff_rank_seed=False``, mmengine's default) the masks
    of W processes are those of one process running the global batch, so
    the loss curve does not depend on the number of GPUs, while every
    sample, on every rank, still gets its own mask. With per-rank seeds the
    rows still differ per rank; only that equivalence is lost.

    Args:
        generator (callable): A mask generator,
            ``generator(batch_size, grid_size, device) -> bool [B, L]``.
        batch_size (int): Samples on this rank ``B``.
        grid_size (int | Tuple[int, int]): The token grid.
        device (str | torch.device): Device of the mask.

    Returns:
        torch.Tensor: Bool ``[B, L]``, True = masked.
    """
    world_size = get_world_size()
    if world_size == 1:
        return generator(batch_size, grid_size, device=device)
    masks = generator(batch_size * world_size, grid_size, device=device)
    return masks.view(batch_size, world_size, -1)[:, get_rank()]
