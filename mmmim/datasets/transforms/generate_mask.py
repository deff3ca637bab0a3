# Copyright (c) mmmim contributors. All rights reserved.
"""Data-side masking."""

from typing import Optional, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform

from mmmim.registry import TASK_UTILS, TRANSFORMS

__all__ = ['GenerateMask']


@TRANSFORMS.register_module()
class GenerateMask(BaseTransform):
    """Draw a mask in the data pipeline with any mask generator.

    Masking in the workers keeps it off the training step; the model reads
    the mask from the data sample (pack it with
    ``dict(type='mmpretrain.PackInputs', algorithm_keys=['mask'])``).

    Required Keys:

    - img (only when ``patch_size`` is given)

    Added Keys:

    - mask (np.ndarray): bool ``[L]``, True = masked, row-major tokens.

    Args:
        mask_generator (dict): A ``TASK_UTILS`` generator config, e.g.
            ``dict(type='mmmim.BlockMaskGenerator', mask_ratio=0.5)``.
        grid_size (int | Tuple[int, int], optional): The token grid.
            Defaults to None.
        patch_size (int, optional): Derive the grid from the image size
            instead. Give exactly one of ``grid_size`` and ``patch_size``.
            Defaults to None.
    """

    def __init__(
        self,
        mask_generator: dict,
        grid_size: Optional[Union[int, Tuple[int, int]]] = None,
        patch_size: Optional[int] = None,
    ) -> None:
        if (grid_size is None) == (patch_size is None):
            raise ValueError('give exactly one of grid_size and patch_size')
        # Imported here: the mask generators live in mmmim.models (timm
        # and the models), which a loader of other pipelines does not need.
        from mmmim.models.utils import build_in_mmmim

        self.mask_generator = build_in_mmmim(TASK_UTILS, mask_generator)
        self.grid_size = grid_size
        self.patch_size = patch_size

    def _grid_of(self, results: dict) -> Union[int, Tuple[int, int]]:
        """The token grid for this sample."""
        if self.grid_size is not None:
            return self.grid_size
        h, w = results['img'].shape[:2]
        p = self.patch_size
        if h % p or w % p:
            raise ValueError(
                f'image size {h}x{w} is not divisible by the '
                f'patch size {p}; crop or resize it first'
            )
        return h // p, w // p

    def transform(self, results: dict) -> dict:
        """Add ``results['mask']``.

        Args:
            results (dict): The pipeline results.

        Returns:
            dict: ``results`` with ``mask`` (bool ``[L]``).
        """
        mask = self.mask_generator(1, self._grid_of(results))[0]
        results['mask'] = mask.numpy().astype(np.bool_)
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(mask_generator='
            f'{self.mask_generator!r}, grid_size={self.grid_size}, '
            f'patch_size={self.patch_size})'
        )
