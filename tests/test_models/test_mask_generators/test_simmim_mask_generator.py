# Copyright (c) mmmim contributors. All rights reserved.
"""SimMIM masking: official counts, upsampling, data-side use."""

import math

import numpy as np
import pytest
import torch

from mmmim.models.mask_generators import SimMIMMaskGenerator, upsample_mask
from mmmim.registry import TASK_UTILS

from ...installed import require


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize(
    'img, model_patch, cells, masked_cells',
    [
        (224, 16, 49, 30),  # ViT-B/16: ceil(49 * 0.6) = 30, ratio 0.612
        (192, 4, 36, 22),  # Swin @192: ceil(36 * 0.6) = 22, ratio 0.611
        (192, 16, 36, 22),
        (64, 8, 4, 3),  # ceil(2.4) = 3
    ],
)
def test_official_counts(img, model_patch, cells, masked_cells):
    gen = SimMIMMaskGenerator(0.6, 32, model_patch)
    grid = img // model_patch
    scale = 32 // model_patch
    assert gen.coarse_grid(grid) == (img // 32, img // 32)
    assert gen.num_masked_cells(grid) == masked_cells
    assert masked_cells == math.ceil(cells * 0.6)
    mask = gen(3, grid, generator=_seeded(0))
    assert mask.dtype == torch.bool and mask.shape == (3, grid * grid)
    assert torch.all(mask.sum(1) == masked_cells * scale**2)
    assert gen.num_masked(grid) == masked_cells * scale**2


def test_mask_is_constant_on_each_32px_square():
    gen = SimMIMMaskGenerator(0.6, 32, 4)
    mask = gen(2, 48, generator=_seeded(1)).reshape(2, 6, 8, 6, 8)
    # Every 8x8 block of tokens (one 32-pixel square) is all or nothing.
    assert torch.all(mask.all(dim=(2, 4)) == mask.any(dim=(2, 4)))
    assert torch.all(mask.any(dim=(2, 4)).flatten(1).sum(1) == 22)


def test_upsample_mask_known_answer():
    coarse = torch.tensor([[True, False, False, True]])
    fine = upsample_mask(coarse, (2, 2), 2).reshape(4, 4)
    expected = torch.tensor(
        [
            [1, 1, 0, 0],
            [1, 1, 0, 0],
            [0, 0, 1, 1],
            [0, 0, 1, 1],
        ],
        dtype=torch.bool,
    )
    assert torch.equal(fine, expected)
    # Rectangular grids are row-major as well.
    rect = upsample_mask(torch.tensor([[True, False, True]]), (1, 3), 2)
    assert (
        rect.reshape(2, 6)[:, 0].all() and not rect.reshape(2, 6)[:, 2].any()
    )


def test_matches_the_official_upsampling_of_a_coarse_mask():
    """The official generator repeats the coarse mask with NumPy."""
    gen = SimMIMMaskGenerator(0.6, 32, 16)
    mask = gen(1, 14, generator=_seeded(2))
    coarse = mask.reshape(14, 14)[::2, ::2].numpy().astype(int)
    official = coarse.repeat(2, axis=0).repeat(2, axis=1)
    assert np.array_equal(official.flatten().astype(bool), mask[0].numpy())


def test_uniform_over_cells_and_seeded():
    gen = SimMIMMaskGenerator(0.5, 32, 32)
    masks = gen(4000, 2, generator=_seeded(3))  # 4 cells, 2 masked
    freq = masks.float().mean(0)
    assert torch.allclose(freq, torch.full((4,), 0.5), atol=0.03)
    assert torch.equal(
        gen(4, 2, generator=_seeded(9)), gen(4, 2, generator=_seeded(9))
    )
    assert not torch.equal(masks[:8], gen(8, 2, generator=_seeded(4)))


def test_bad_arguments_and_grids():
    with pytest.raises(ValueError, match='multiple of model_patch_size'):
        SimMIMMaskGenerator(0.6, 32, 12)
    with pytest.raises(ValueError, match='mask_ratio must be in'):
        SimMIMMaskGenerator(1.0)
    with pytest.raises(ValueError, match='positive int'):
        SimMIMMaskGenerator(0.6, 0, 16)
    gen = SimMIMMaskGenerator(0.6, 32, 16)
    with pytest.raises(ValueError, match='divisible by 32'):
        gen(1, 7)  # 112 pixels
    with pytest.raises(ValueError, match='masks all'):
        SimMIMMaskGenerator(0.9, 32, 16)(1, 2)  # ceil(0.9) = 1 of 1


def test_registry_and_generate_mask_transform():
    require('mmcv')
    from mmmim.registry import TRANSFORMS

    cfg = dict(
        type='mmmim.SimMIMMaskGenerator',
        mask_ratio=0.6,
        mask_patch_size=32,
        model_patch_size=4,
    )
    assert 'mask_patch_size=32' in repr(TASK_UTILS.build(cfg))
    transform = TRANSFORMS.build(
        dict(type='mmmim.GenerateMask', mask_generator=cfg, patch_size=4)
    )
    results = transform({'img': np.zeros((192, 192, 3), np.uint8)})
    assert results['mask'].dtype == np.bool_
    assert results['mask'].shape == (48 * 48,)
    assert results['mask'].sum() == 22 * 64
    with pytest.raises(ValueError, match='mask patches'):
        transform({'img': np.zeros((200, 200, 3), np.uint8)})
