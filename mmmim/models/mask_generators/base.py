# Copyright (c) mmmim contributors. All rights reserved.
"""Shared checks of the mask generators."""

from typing import Callable, Optional, Sequence, Tuple, Union

import numpy as np
import torch

__all__ = ['BaseMaskGenerator', 'Device', 'Grid', 'GridSize', 'Rng']

GridSize = Union[int, Tuple[int, int]]
#: A 2-D grid ``(h, w)`` or a video grid ``(t, h, w)``.
Grid = Union[int, Sequence[int]]
Device = Union[str, torch.device]
Rng = Optional[torch.Generator]


class BaseMaskGenerator:
    """Base of the mask generators (not registered).

    A generator is called as ``gen(batch_size, grid_size, device,
    generator)`` and returns a bool mask ``[B, L]`` (``True`` = masked,
    row-major tokens). Every sample masks exactly
    :meth:`num_masked` tokens, so that an encoder which drops tokens
    gets equal lengths, and models can know the count without reading
    the mask back from the device.

    Args:
        mask_ratio (float): The fraction of masked tokens, in (0, 1).
    """

    #: The attributes ``repr`` shows.
    repr_args: Tuple[str, ...] = ('mask_ratio',)

    def __init__(self, mask_ratio: float) -> None:
        if not isinstance(mask_ratio, (int, float)) or not (
            0 < mask_ratio < 1
        ):
            raise ValueError(
                f'mask_ratio must be in the open interval '
                f'(0, 1), got {mask_ratio!r}'
            )
        self.mask_ratio = float(mask_ratio)

    @staticmethod
    def as_grid(grid_size: GridSize) -> Tuple[int, int]:
        """Normalise ``grid_size`` to ``(h, w)``.

        Args:
            grid_size (int | Tuple[int, int]): An int for a square grid.

        Returns:
            Tuple[int, int]: The grid ``(h, w)``.
        """
        if isinstance(grid_size, int):
            return grid_size, grid_size
        h, w = grid_size
        return int(h), int(w)

    def num_masked(self, grid_size: GridSize) -> int:
        """The number of masked tokens per sample.

        ``int(L * (1 - mask_ratio))`` tokens stay visible, as in the
        official MAE ``random_masking``.

        Args:
            grid_size (int | Tuple[int, int]): The token grid.

        Returns:
            int: Masked tokens per sample.

        Raises:
            ValueError: If the ratio leaves no visible or no masked token
                on this grid.
        """
        h, w = self.as_grid(grid_size)
        num_tokens = h * w
        num_visible = int(num_tokens * (1 - self.mask_ratio))
        if not 0 < num_visible < num_tokens:
            raise ValueError(
                f'mask_ratio={self.mask_ratio} leaves {num_visible} of '
                f'{num_tokens} tokens visible on a {h}x{w} grid; at least '
                'one token must be visible and one masked'
            )
        return num_tokens - num_visible

    @torch.compiler.disable
    def __call__(
        self,
        batch_size: int,
        grid_size: GridSize,
        device: Union[str, torch.device] = 'cpu',
        generator: Optional[torch.Generator] = None,
    ) -> torch.Tensor:
        """Draw masks.

        Args:
            batch_size (int): Number of masks ``B``.
            grid_size (int | Tuple[int, int]): The token grid ``(h, w)``.
            device (str | torch.device): Device of the result.
                Defaults to 'cpu'.
            generator (torch.Generator, optional): Random source for
                reproducible masks. Defaults to None (the global RNG).

        Returns:
            torch.Tensor: Bool masks ``[B, h * w]``, True = masked.

        Mask drawing always runs eagerly, outside ``torch.compile`` graphs:
        Inductor replaces ``torch.rand`` in a compiled graph by its own
        random number generator, so a compiled model (``compile=True`` in a
        config) would draw other masks than an eager one from the same
        seed, and checkpoints would not resume to the same masks.
        """
        return self.draw(batch_size, grid_size, device, generator)

    def draw(
        self, batch_size: int, grid_size: Grid, device: Device, generator: Rng
    ) -> torch.Tensor:
        """The masks of :meth:`__call__`; subclasses implement it."""
        raise NotImplementedError

    @staticmethod
    def noise_ranks(
        batch_size: int, num_tokens: int, device: Device, generator: Rng
    ) -> torch.Tensor:
        """Rank of every token in its row's uniform noise, ``[B, n]``.

        ``ranks < k`` is a uniformly random subset of ``k`` tokens per row:
        the official ``argsort(noise)[:, :k]`` as a mask.
        """
        noise = torch.rand(
            batch_size, num_tokens, device=device, generator=generator
        )
        return torch.argsort(torch.argsort(noise, dim=1), dim=1)

    @staticmethod
    def official_numpy_masks(
        draw_one: Callable[[], np.ndarray],
        batch_size: int,
        device: Device,
        generator: Rng,
    ) -> torch.Tensor:
        """Stack ``batch_size`` masks drawn one sample at a time from
        NumPy's global RNG, as the official data pipelines do.

        Args:
            draw_one (Callable): Draws one flat 0/1 mask with ``np.random``.
            batch_size (int): Number of masks ``B``.
            device (str | torch.device): Device of the result.
            generator (torch.Generator, optional): Must be None: a torch
                generator cannot drive NumPy's RNG.

        Returns:
            torch.Tensor: Bool ``[B, L]``.
        """
        if generator is not None:
            raise ValueError(
                "official_rng=True draws from NumPy's global RNG (seed it "
                'with np.random.seed), as the official data pipeline; a '
                'torch.Generator cannot drive it. Pass generator=None or '
                'use official_rng=False.'
            )
        masks = np.stack([draw_one() for _ in range(batch_size)])
        return torch.from_numpy(masks.reshape(batch_size, -1) > 0).to(device)

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={getattr(self, k)}' for k in self.repr_args)
        return f'{type(self).__name__}({args})'
