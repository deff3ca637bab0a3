# Copyright (c) mmmim contributors. All rights reserved.
"""SimMIM's coarse random masking (32-pixel mask patches)."""

import math
from typing import Tuple

import numpy as np
import torch

from mmmim.registry import TASK_UTILS

from .base import BaseMaskGenerator, Device, Grid, GridSize, Rng

__all__ = ['SimMIMMaskGenerator', 'upsample_mask']


def upsample_mask(
    mask: torch.Tensor, coarse_grid: Tuple[int, int], scale: int
) -> torch.Tensor:
    """Repeat every cell of a coarse mask ``scale`` times along both axes.

    Args:
        mask (torch.Tensor): Bool ``[B, h * w]`` on the coarse grid.
        coarse_grid (Tuple[int, int]): The coarse grid ``(h, w)``.
        scale (int): Tokens per coarse cell along each axis.

    Returns:
        torch.Tensor: Bool ``[B, (h * scale) * (w * scale)]``, row-major on
        the fine grid.
    """
    h, w = coarse_grid
    grid = mask.reshape(-1, h, w)
    grid = grid.repeat_interleave(scale, 1).repeat_interleave(scale, 2)
    return grid.flatten(1)


@TASK_UTILS.register_module()
class SimMIMMaskGenerator(BaseMaskGenerator):
    """Mask random ``mask_patch_size``-pixel squares, as SimMIM does.

    The image is cut into coarse cells of ``mask_patch_size`` pixels;
    ``ceil(cells * mask_ratio)`` of them are masked (a random permutation of
    the cells, as the official ``MaskGenerator``), and each coarse cell is
    repeated to the ``mask_patch_size / model_patch_size`` tokens it covers.
    Because of the ceiling the true ratio is a little above ``mask_ratio``:
    30 of 49 cells (0.612) for ViT-B/16 at 224 pixels, 22 of 36 (0.611) for
    Swin at 192.

    ``grid_size`` in :meth:`__call__` is the *token* grid of the model
    (e.g. 14 x 14 for ViT/16 at 224, 48 x 48 for Swin/4 at 192); it must be
    divisible by the scale. Use it data-side with ``GenerateMask``
    (``patch_size`` = the model patch size) or as a backbone's
    ``mask_generator``.

    By default the cells are the lowest ranks of torch uniform noise (the
    global torch RNG or ``generator``). ``official_rng=True`` reproduces
    the official draw exactly instead: per sample, in batch order, the
    first ``count`` entries of ``np.random.permutation(cells)``, so that
    ``np.random.seed(s)`` followed by a draw of ``B`` masks gives what the
    official ``MaskGenerator`` gives ``B`` consecutive samples after the
    same seed.

    Args:
        mask_ratio (float): Fraction of masked coarse cells (rounded up), in
            (0, 1). Defaults to 0.6.
        mask_patch_size (int): Side of a masked square in pixels.
            Defaults to 32.
        model_patch_size (int): Side of a model token in pixels (16 for
            ViT-B/16, 4 for Swin). Defaults to 16.
        official_rng (bool): Draw from NumPy's global RNG exactly as the
            official code (then ``generator`` must be None). Defaults to
            False.
    """

    repr_args = (
        'mask_ratio',
        'mask_patch_size',
        'model_patch_size',
        'official_rng',
    )

    def __init__(
        self,
        mask_ratio: float = 0.6,
        mask_patch_size: int = 32,
        model_patch_size: int = 16,
        official_rng: bool = False,
    ) -> None:
        super().__init__(mask_ratio)
        self.official_rng = bool(official_rng)
        for name, value in (
            ('mask_patch_size', mask_patch_size),
            ('model_patch_size', model_patch_size),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(
                    f'{name} must be a positive int, got {value!r}'
                )
        if mask_patch_size % model_patch_size:
            raise ValueError(
                f'mask_patch_size {mask_patch_size} must be a multiple of '
                f'model_patch_size {model_patch_size}'
            )
        self.mask_patch_size = mask_patch_size
        self.model_patch_size = model_patch_size
        self.scale = mask_patch_size // model_patch_size

    def coarse_grid(self, grid_size: GridSize) -> Tuple[int, int]:
        """The grid of mask cells over a token grid.

        Args:
            grid_size (int | Tuple[int, int]): The token grid ``(h, w)``.

        Returns:
            Tuple[int, int]: ``(h / scale, w / scale)``.

        Raises:
            ValueError: If the token grid is not divisible by the scale.
        """
        h, w = self.as_grid(grid_size)
        if h % self.scale or w % self.scale:
            raise ValueError(
                f'a {h}x{w} token grid ({h * self.model_patch_size}x'
                f'{w * self.model_patch_size} pixels with '
                f'{self.model_patch_size}-pixel tokens) cannot be cut into '
                f'{self.mask_patch_size}-pixel mask patches; use an image '
                f'size divisible by {self.mask_patch_size}'
            )
        return h // self.scale, w // self.scale

    def num_masked_cells(self, grid_size: GridSize) -> int:
        """Masked coarse cells per sample: ``ceil(cells * mask_ratio)``.

        Args:
            grid_size (int | Tuple[int, int]): The token grid.

        Returns:
            int: The number of masked cells.
        """
        h, w = self.coarse_grid(grid_size)
        count = int(math.ceil(h * w * self.mask_ratio))
        if count >= h * w:
            raise ValueError(
                f'mask_ratio={self.mask_ratio} masks all {h * w} mask '
                f'patches of a {h}x{w} grid; lower it or use larger images'
            )
        return count

    def num_masked(self, grid_size: GridSize) -> int:
        """Masked tokens per sample.

        Args:
            grid_size (int | Tuple[int, int]): The token grid.

        Returns:
            int: ``num_masked_cells * scale ** 2``.
        """
        return self.num_masked_cells(grid_size) * self.scale**2

    def draw(
        self, batch_size: int, grid_size: Grid, device: Device, generator: Rng
    ) -> torch.Tensor:
        """Draw ``[B, L]`` masks (see ``__call__``).

        ``generator`` on ``device``.
        """
        coarse = self.coarse_grid(grid_size)
        count = self.num_masked_cells(grid_size)
        if self.official_rng:
            cells = coarse[0] * coarse[1]

            def draw_one() -> np.ndarray:
                mask = np.zeros(cells, dtype=bool)
                mask[np.random.permutation(cells)[:count]] = True
                return mask

            coarse_masks = self.official_numpy_masks(
                draw_one, batch_size, device, generator
            )
            return upsample_mask(coarse_masks, coarse, self.scale)
        # A uniform random subset of cells, as the official
        # permutation()[:count].
        ranks = self.noise_ranks(
            batch_size, coarse[0] * coarse[1], device, generator
        )
        return upsample_mask(ranks < count, coarse, self.scale)
