# Copyright (c) mmmim contributors. All rights reserved.
"""Tube masking (VideoMAE)."""

from typing import Sequence, Tuple, Union

import numpy as np
import torch

from mmmim.registry import TASK_UTILS

from .base import BaseMaskGenerator, Device, Grid, Rng

__all__ = ['TubeMaskGenerator']

VideoGrid = Union[Sequence[int], Tuple[int, int, int]]


@TASK_UTILS.register_module()
class TubeMaskGenerator(BaseMaskGenerator):
    """Mask the same spatial positions in every temporal slot.

    As the official ``TubeMaskingGenerator``: each sample masks
    ``int(mask_ratio * h * w)`` random positions of one frame's grid and
    repeats that pattern over the ``t`` temporal slots, so a masked cube
    cannot be recovered from the same place in a neighbouring frame. At
    0.9 on the ``8 x 14 x 14`` grid of a 16-frame 224 px clip, 176 of 196
    positions are masked per slot and the encoder sees 160 of 1568 tokens.

    Tokens are t-major (``t * h * w + i * w + j``), the order of
    :class:`~mmmim.models.utils.CubeEmbed`.

    By default the positions are the lowest ranks of torch uniform noise
    (the global torch RNG or ``generator``), so that masks follow the
    model's seeding and can be drawn on the device. ``official_rng=True``
    instead reproduces the official draw exactly: per sample, in batch
    order, ``np.random.shuffle`` of ``h * w - n`` zeros followed by ``n``
    ones, tiled over the slots; so ``np.random.seed(s)`` followed by a draw
    of ``B`` masks gives the masks the official ``TubeMaskingGenerator``
    gives to ``B`` consecutive samples after the same seed. Both draw a
    uniformly random subset of the same size; only the random stream
    differs.

    Args:
        mask_ratio (float): Fraction of masked positions per slot, in
            (0, 1). Defaults to 0.9.
        official_rng (bool): Draw from NumPy's global RNG exactly as the
            official code (then ``generator`` must be None). Defaults to
            False.
    """

    repr_args = ('mask_ratio', 'official_rng')

    def __init__(
        self, mask_ratio: float = 0.9, official_rng: bool = False
    ) -> None:
        super().__init__(mask_ratio)
        self.official_rng = bool(official_rng)

    @staticmethod
    def as_video_grid(grid_size: VideoGrid) -> Tuple[int, int, int]:
        """Check and normalise a ``(t, h, w)`` grid.

        Args:
            grid_size (Sequence[int]): The token grid ``(t, h, w)``.

        Returns:
            Tuple[int, int, int]: The grid.

        Raises:
            ValueError: If the grid is not three positive sizes.
        """
        if isinstance(grid_size, int) or len(grid_size) != 3:
            raise ValueError(
                'TubeMaskGenerator needs a video token grid (t, h, w), got '
                f'{grid_size!r}; for images use RandomMaskGenerator'
            )
        t, h, w = (int(size) for size in grid_size)
        if min(t, h, w) <= 0:
            raise ValueError(f'grid sizes must be positive, got {grid_size}')
        return t, h, w

    def num_masked_per_slot(self, grid_size: VideoGrid) -> int:
        """Masked positions in one temporal slot, ``int(ratio * h * w)``.

        Args:
            grid_size (Sequence[int]): The token grid ``(t, h, w)``.

        Returns:
            int: Masked positions per slot.

        Raises:
            ValueError: If no position, or every position, is masked.
        """
        _, h, w = self.as_video_grid(grid_size)
        per_slot = int(self.mask_ratio * h * w)
        if not 0 < per_slot < h * w:
            raise ValueError(
                f'mask_ratio={self.mask_ratio} masks {per_slot} of {h * w} '
                f'positions of a {h}x{w} slot; at least one position must '
                'be visible and one masked'
            )
        return per_slot

    def num_masked(self, grid_size: VideoGrid) -> int:
        """Masked tokens per sample, ``t * int(ratio * h * w)``.

        Args:
            grid_size (Sequence[int]): The token grid ``(t, h, w)``.

        Returns:
            int: Masked tokens per sample.
        """
        t, _, _ = self.as_video_grid(grid_size)
        return t * self.num_masked_per_slot(grid_size)

    def draw(
        self, batch_size: int, grid_size: Grid, device: Device, generator: Rng
    ) -> torch.Tensor:
        """Draw ``[B, L]`` masks (see ``__call__``).

        ``grid_size`` is ``(t, h, w)``; ``generator`` on ``device``.
        """
        t, h, w = self.as_video_grid(grid_size)
        per_slot = self.num_masked_per_slot((t, h, w))
        if self.official_rng:

            def draw_one() -> np.ndarray:
                slot = np.hstack(
                    [np.zeros(h * w - per_slot), np.ones(per_slot)]
                )
                np.random.shuffle(slot)
                return np.tile(slot, (t, 1))

            return self.official_numpy_masks(
                draw_one, batch_size, device, generator
            )
        ranks = self.noise_ranks(batch_size, h * w, device, generator)
        # t-major tokens: the slot pattern repeats along the token axis.
        return (ranks < per_slot).repeat(1, t)
