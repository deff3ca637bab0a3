# Copyright (c) mmmim contributors. All rights reserved.
"""Known answers of VideoMAE's tube masking."""

import pytest
import torch

from mmmim.models import TubeMaskGenerator

GRID = (8, 14, 14)  # 16 frames / tubelet 2, 224 px / 16


def test_official_counts_at_90_percent():
    gen = TubeMaskGenerator(0.9)
    mask = gen(3, GRID)
    assert mask.shape == (3, 1568) and mask.dtype == torch.bool
    # int(0.9 * 196) = 176 masked per slot, 20 visible: 160 of 1568.
    assert gen.num_masked_per_slot(GRID) == 176
    assert gen.num_masked(GRID) == 1408
    assert (mask.sum(dim=1) == 1408).all()
    assert ((~mask).sum(dim=1) == 160).all()


def test_same_spatial_mask_in_every_temporal_slot():
    mask = TubeMaskGenerator(0.9)(4, GRID).view(4, 8, 14 * 14)
    # Token order is t-major: slot t holds tokens t*196 ... t*196 + 195.
    assert torch.equal(mask, mask[:, :1].expand_as(mask))
    # ... but every sample draws its own tube pattern.
    assert not torch.equal(mask[0, 0], mask[1, 0])


def test_masks_are_uniform_over_positions():
    torch.manual_seed(0)
    mask = TubeMaskGenerator(0.5)(4000, (1, 4, 4)).float()
    # 8 of 16 positions each time: every position masked with p = 0.5.
    assert torch.allclose(mask.mean(dim=0), torch.full((16,), 0.5), atol=0.03)


def test_seeded_masks_repeat():
    gen = TubeMaskGenerator(0.75)
    first = gen(2, GRID, generator=torch.Generator().manual_seed(3))
    again = gen(2, GRID, generator=torch.Generator().manual_seed(3))
    other = gen(2, GRID, generator=torch.Generator().manual_seed(4))
    assert torch.equal(first, again) and not torch.equal(first, other)


@pytest.mark.parametrize('ratio', [0, 1, -0.1, 1.5, 'half'])
def test_bad_ratios_are_refused(ratio):
    with pytest.raises(ValueError, match='mask_ratio'):
        TubeMaskGenerator(ratio)


def test_image_grids_and_empty_slots_are_refused():
    with pytest.raises(ValueError, match=r'\(t, h, w\)'):
        TubeMaskGenerator(0.9)(1, (14, 14))
    # 0.9 of a 2 x 2 slot masks int(3.6) = 3: fine; 0.2 masks none.
    assert TubeMaskGenerator(0.9).num_masked((1, 2, 2)) == 3
    with pytest.raises(ValueError, match='at least one position'):
        TubeMaskGenerator(0.2).num_masked((1, 2, 2))
