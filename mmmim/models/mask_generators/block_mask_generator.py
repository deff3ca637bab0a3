# Copyright (c) mmmim contributors. All rights reserved.
"""Block-wise masking (BEiT style, MAE ablation)."""

import math
from typing import Optional

import numpy as np
import torch

from mmmim.registry import TASK_UTILS

from .base import BaseMaskGenerator, Device, Grid, Rng

__all__ = ['BlockMaskGenerator']


@TASK_UTILS.register_module()
class BlockMaskGenerator(BaseMaskGenerator):
    """Mask random rectangular blocks of tokens, as BEiT does.

    Blocks of random area (at least ``min_num_patches``) and aspect ratio
    are added until the requested count is reached; the BEiT procedure
    stops early when no block fits, so the remainder is topped up with
    random tokens. Every sample therefore masks exactly
    :meth:`num_masked` tokens, which MAE's token-dropping encoder needs.

    Sampling runs on the CPU with NumPy (it is sequential and cheap) and is
    seeded from torch's RNG, so ``torch.manual_seed`` or ``generator``
    makes it reproducible.

    Args:
        mask_ratio (float): Fraction of masked tokens, in (0, 1).
            Defaults to 0.75.
        min_num_patches (int): Minimum area of one block. Defaults to 16.
        max_num_patches (int, optional): Maximum area of one block.
            Defaults to None (no limit besides the requested count).
        min_aspect (float): Minimum aspect ratio of a block.
            Defaults to 0.3.
        max_aspect (float, optional): Maximum aspect ratio. Defaults to
            None, which means ``1 / min_aspect``.
        max_attempts (int): Tries to place one block. Defaults to 10.
    """

    repr_args = ('mask_ratio', 'min_num_patches')

    def __init__(
        self,
        mask_ratio: float = 0.75,
        min_num_patches: int = 16,
        max_num_patches: Optional[int] = None,
        min_aspect: float = 0.3,
        max_aspect: Optional[float] = None,
        max_attempts: int = 10,
    ) -> None:
        super().__init__(mask_ratio)
        max_aspect = max_aspect or 1 / min_aspect
        if not 0 < min_aspect <= max_aspect:
            raise ValueError(
                'need 0 < min_aspect <= max_aspect, got '
                f'{min_aspect} and {max_aspect}'
            )
        self.min_num_patches = min_num_patches
        self.max_num_patches = max_num_patches
        self.log_aspect = (math.log(min_aspect), math.log(max_aspect))
        self.max_attempts = max_attempts

    def draw(
        self, batch_size: int, grid_size: Grid, device: Device, generator: Rng
    ) -> torch.Tensor:
        """Draw ``[B, L]`` masks (see ``__call__``).

        ``generator`` is a CPU random source.
        """
        h, w = self.as_grid(grid_size)
        count = self.num_masked((h, w))
        seed = torch.randint(2**62, (1,), generator=generator).item()
        rng = np.random.default_rng(seed)
        masks = np.stack(
            [self._sample(rng, h, w, count) for _ in range(batch_size)]
        )
        return torch.from_numpy(masks).to(device)

    def _sample(
        self, rng: np.random.Generator, h: int, w: int, count: int
    ) -> np.ndarray:
        """One flat mask with exactly ``count`` masked tokens."""
        mask = np.zeros((h, w), dtype=bool)
        masked = 0
        while masked < count:
            limit = count - masked
            if self.max_num_patches is not None:
                limit = min(limit, self.max_num_patches)
            added = self._add_block(rng, mask, limit)
            if added == 0:
                break
            masked += added
        return self._fix_count(rng, mask.reshape(-1), count)

    def _add_block(
        self, rng: np.random.Generator, mask: np.ndarray, limit: int
    ) -> int:
        """Mask one block adding at most ``limit`` tokens; returns how many."""
        h, w = mask.shape
        # BEiT draws between the two bounds in either order, so a small
        # remainder still gets (possibly rejected) tries.
        low, high = sorted((self.min_num_patches, limit))
        for _ in range(self.max_attempts):
            area = rng.uniform(low, high)
            aspect = math.exp(rng.uniform(*self.log_aspect))
            bh = int(round(math.sqrt(area * aspect)))
            bw = int(round(math.sqrt(area / aspect)))
            if not (0 < bh < h and 0 < bw < w):
                continue
            top = int(rng.integers(0, h - bh + 1))
            left = int(rng.integers(0, w - bw + 1))
            block = mask[top : top + bh, left : left + bw]
            added = bh * bw - int(block.sum())
            if 0 < added <= limit:
                block[...] = True
                return added
        return 0

    @staticmethod
    def _fix_count(
        rng: np.random.Generator, flat: np.ndarray, count: int
    ) -> np.ndarray:
        """Top up (or trim) random tokens to exactly ``count`` masked."""
        diff = count - int(flat.sum())
        if diff > 0:
            candidates = np.flatnonzero(~flat)
            flat[rng.choice(candidates, diff, replace=False)] = True
        elif diff < 0:
            candidates = np.flatnonzero(flat)
            flat[rng.choice(candidates, -diff, replace=False)] = False
        return flat
