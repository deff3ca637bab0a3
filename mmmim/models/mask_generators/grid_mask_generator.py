# Copyright (c) mmmim contributors. All rights reserved.
"""Regular grid masking (MAE ablation)."""

import math

import torch

from mmmim.registry import TASK_UTILS

from .base import BaseMaskGenerator, Device, Grid, GridSize, Rng

__all__ = ['GridMaskGenerator']


@TASK_UTILS.register_module()
class GridMaskGenerator(BaseMaskGenerator):
    """Keep one token of every ``k x k`` cell, the MAE grid ablation.

    The kept token is the top-left one of each cell, so the pattern is the
    same for every sample and the mask ratio is ``1 - 1 / k**2`` on grids
    divisible by ``k`` (75% for ``k = 2``).

    Args:
        cell_size (int): The cell side ``k``, at least 2. Defaults to 2.
    """

    repr_args = ('cell_size',)

    def __init__(self, cell_size: int = 2) -> None:
        if not isinstance(cell_size, int) or cell_size < 2:
            raise ValueError(
                f'cell_size must be an int >= 2 (cell_size=1 masks nothing, '
                f'a mask ratio of 0), got {cell_size!r}'
            )
        super().__init__(1 - 1 / cell_size**2)
        self.cell_size = cell_size

    def num_masked(self, grid_size: GridSize) -> int:
        """The number of masked tokens per sample.

        Args:
            grid_size (int | Tuple[int, int]): The token grid.

        Returns:
            int: ``h * w - ceil(h / k) * ceil(w / k)``.
        """
        h, w = self.as_grid(grid_size)
        k = self.cell_size
        return h * w - math.ceil(h / k) * math.ceil(w / k)

    def draw(
        self, batch_size: int, grid_size: Grid, device: Device, generator: Rng
    ) -> torch.Tensor:
        """Draw ``[B, L]`` masks (see ``__call__``).

        Deterministic; ``generator`` is unused.
        """
        h, w = self.as_grid(grid_size)
        k = self.cell_size
        rows = torch.arange(h, device=device) % k == 0
        cols = torch.arange(w, device=device) % k == 0
        keep = rows[:, None] & cols[None, :]
        return (~keep).flatten().expand(batch_size, -1).contiguous()
