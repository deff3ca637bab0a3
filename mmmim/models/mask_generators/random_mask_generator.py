# Copyright (c) mmmim contributors. All rights reserved.
"""Uniform random masking (MAE)."""

import torch

from mmmim.registry import TASK_UTILS

from .base import BaseMaskGenerator, Device, Grid, Rng

__all__ = ['RandomMaskGenerator']


@TASK_UTILS.register_module()
class RandomMaskGenerator(BaseMaskGenerator):
    """Mask a uniformly random subset of tokens, as MAE does.

    Each sample ranks its tokens by uniform noise and keeps the
    ``int(L * (1 - mask_ratio))`` lowest, exactly as the official
    ``random_masking`` (argsort of noise).

    Args:
        mask_ratio (float): Fraction of masked tokens, in (0, 1).
            Defaults to 0.75.
    """

    def __init__(self, mask_ratio: float = 0.75) -> None:
        super().__init__(mask_ratio)

    def draw(
        self, batch_size: int, grid_size: Grid, device: Device, generator: Rng
    ) -> torch.Tensor:
        """Draw ``[B, L]`` masks (see ``__call__``).

        ``generator`` on ``device``.
        """
        h, w = self.as_grid(grid_size)
        num_visible = h * w - self.num_masked((h, w))
        # The num_visible lowest noises are kept, as the official
        # ids_shuffle[:, :len_keep].
        ranks = self.noise_ranks(batch_size, h * w, device, generator)
        return ranks >= num_visible
