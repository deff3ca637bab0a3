# Copyright (c) mmmim contributors. All rights reserved.
import numpy as np
import pytest
import torch

# The transforms are mmcv BaseTransforms; make install guarantees mmcv.
from mmmim.datasets.transforms import GenerateMask
from mmmim.registry import TRANSFORMS


def test_grid_size_gives_exact_bool_mask():
    transform = TRANSFORMS.build(
        dict(
            type='mmmim.GenerateMask',
            mask_generator=dict(
                type='mmmim.RandomMaskGenerator', mask_ratio=0.75
            ),
            grid_size=14,
        )
    )
    results = transform({'img': np.zeros((224, 224, 3), np.uint8)})
    mask = results['mask']
    assert isinstance(mask, np.ndarray) and mask.dtype == np.bool_
    assert mask.shape == (196,) and (~mask).sum() == 49


def test_patch_size_derives_the_grid():
    transform = GenerateMask(
        dict(type='mmmim.BlockMaskGenerator', mask_ratio=0.5), patch_size=8
    )
    results = transform({'img': np.zeros((32, 48, 3), np.uint8)})
    assert results['mask'].shape == (24,) and results['mask'].sum() == 12
    with pytest.raises(ValueError, match='not divisible'):
        transform({'img': np.zeros((30, 48, 3), np.uint8)})


def test_grid_generator_pattern_and_seeding():
    transform = GenerateMask(dict(type='GridMaskGenerator'), grid_size=(2, 4))
    mask = transform({})['mask']
    assert mask.tolist() == [False, True, False, True] + [True] * 4
    random = GenerateMask(dict(type='RandomMaskGenerator'), grid_size=8)
    torch.manual_seed(5)
    first = random({})['mask']
    torch.manual_seed(5)
    assert np.array_equal(first, random({})['mask'])
    assert 'RandomMaskGenerator' in repr(random)


def test_grid_or_patch_size_required():
    gen = dict(type='RandomMaskGenerator')
    with pytest.raises(ValueError, match='exactly one'):
        GenerateMask(gen)
    with pytest.raises(ValueError, match='exactly one'):
        GenerateMask(gen, grid_size=4, patch_size=8)
