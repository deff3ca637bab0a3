# Copyright (c) mmmim contributors. All rights reserved.
from .base import BaseMaskGenerator
from .block_mask_generator import BlockMaskGenerator
from .grid_mask_generator import GridMaskGenerator
from .random_mask_generator import RandomMaskGenerator
from .simmim_mask_generator import SimMIMMaskGenerator, upsample_mask

__all__ = [
    'BaseMaskGenerator',
    'BlockMaskGenerator',
    'GridMaskGenerator',
    'RandomMaskGenerator',
    'SimMIMMaskGenerator',
    'upsample_mask',
]
