# Copyright (c) mmmim contributors. All rights reserved.
from .base import BaseMaskGenerator
from .block_mask_generator import BlockMaskGenerator
from .global_batch import draw_global_batch_mask
from .grid_mask_generator import GridMaskGenerator
from .random_mask_generator import RandomMaskGenerator
from .simmim_mask_generator import SimMIMMaskGenerator, upsample_mask
from .tube_mask_generator import TubeMaskGenerator

__all__ = [
    'BaseMaskGenerator',
    'BlockMaskGenerator',
    'GridMaskGenerator',
    'RandomMaskGenerator',
    'SimMIMMaskGenerator',
    'TubeMaskGenerator',
    'draw_global_batch_mask',
    'upsample_mask',
]
