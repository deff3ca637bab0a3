# Copyright (c) mmmim contributors. All rights reserved.
import pytest
import torch

from mmmim.models.mask_generators import (
    BlockMaskGenerator,
    GridMaskGenerator,
    RandomMaskGenerator,
)
from mmmim.registry import TASK_UTILS


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize(
    'ratio,grid,visible', [(0.75, 14, 49), (0.5, 4, 8), (0.9, (4, 6), 2)]
)
def test_random_exact_visible_count(ratio, grid, visible):
    mask = RandomMaskGenerator(ratio)(5, grid)
    num_tokens = 196 if grid == 14 else (16 if grid == 4 else 24)
    assert mask.dtype == torch.bool and mask.shape == (5, num_tokens)
    assert torch.all((~mask).sum(1) == visible)  # int(L * (1 - r))
    assert RandomMaskGenerator(ratio).num_masked(grid) == num_tokens - visible


def test_random_matches_official_random_masking():
    batch, length, keep = 3, 16, 4
    mask = RandomMaskGenerator(0.75)(batch, 4, generator=_seeded(1))
    # The official algorithm on the same noise.
    noise = torch.rand(batch, length, generator=_seeded(1))
    ids_shuffle = torch.argsort(noise, dim=1)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    ref = torch.ones(batch, length)
    ref[:, :keep] = 0
    ref = torch.gather(ref, 1, ids_restore).bool()
    assert torch.equal(mask, ref)


@pytest.mark.parametrize(
    'gen',
    [RandomMaskGenerator(0.6), BlockMaskGenerator(0.4, min_num_patches=4)],
)
def test_deterministic_under_a_seeded_generator(gen):
    a = gen(4, 8, generator=_seeded(3))
    b = gen(4, 8, generator=_seeded(3))
    c = gen(4, 8, generator=_seeded(4))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a[0], a[1])  # samples differ within a batch


@pytest.mark.parametrize('cls', [RandomMaskGenerator, BlockMaskGenerator])
@pytest.mark.parametrize('ratio', [0, 1, -0.1, 1.5, 0.0, 1.0])
def test_bad_ratio(cls, ratio):
    with pytest.raises(ValueError, match=r'mask_ratio must be in'):
        cls(mask_ratio=ratio)


def test_ratio_leaving_nothing_visible():
    with pytest.raises(ValueError, match='visible'):
        RandomMaskGenerator(0.9)(1, 2)  # int(4 * 0.1) = 0 visible


@pytest.mark.parametrize(
    'ratio,grid', [(0.75, 14), (0.4, 14), (0.5, (6, 10)), (0.75, 4)]
)
def test_block_exact_counts(ratio, grid):
    gen = BlockMaskGenerator(ratio)
    mask = gen(6, grid, generator=_seeded(0))
    assert mask.dtype == torch.bool
    assert torch.all(mask.sum(1) == gen.num_masked(grid))


def test_block_masks_are_blocky():
    mask = BlockMaskGenerator(0.4)(8, 14, generator=_seeded(0))
    grid = mask.reshape(8, 14, 14)
    right = grid[:, :, :-1] & grid[:, :, 1:]
    down = grid[:, :-1] & grid[:, 1:]
    # Masked tokens with a masked right/down neighbour: 0.4 for random
    # masks, far more for blocks.
    neighbour = torch.zeros_like(grid)
    neighbour[:, :, :-1] |= right
    neighbour[:, :-1] |= down
    frac = (neighbour & grid).sum() / grid.sum()
    assert frac > 0.7


def test_block_bad_aspect():
    with pytest.raises(ValueError, match='aspect'):
        BlockMaskGenerator(0.5, min_aspect=2.0, max_aspect=1.0)


def test_grid_pattern_and_counts():
    gen = GridMaskGenerator(2)
    assert gen.mask_ratio == 0.75
    mask = gen(2, 4)
    expected = torch.tensor(
        [[0, 1, 0, 1], [1, 1, 1, 1], [0, 1, 0, 1], [1, 1, 1, 1]],
        dtype=torch.bool,
    ).flatten()
    assert torch.equal(mask[0], expected) and torch.equal(mask[1], expected)
    assert gen.num_masked(4) == 12
    # 5x5 with k=2 keeps rows/cols 0, 2, 4: 9 tokens.
    assert torch.all((~gen(1, 5)).sum(1) == 9) and gen.num_masked(5) == 16
    three = GridMaskGenerator(3)(1, (6, 6))
    assert (~three).sum() == 4 and (~three[0].reshape(6, 6))[3, 3]


@pytest.mark.parametrize('cell', [1, 0, 2.0])
def test_grid_bad_cell(cell):
    with pytest.raises(ValueError, match='cell_size'):
        GridMaskGenerator(cell)


@pytest.mark.parametrize(
    'cfg',
    [
        dict(type='mmmim.RandomMaskGenerator', mask_ratio=0.5),
        dict(type='mmmim.BlockMaskGenerator', mask_ratio=0.5),
        dict(type='mmmim.GridMaskGenerator', cell_size=2),
    ],
)
def test_build_from_registry(cfg):
    gen = TASK_UTILS.build(cfg)
    mask = gen(2, (4, 4), device='cpu')
    assert mask.shape == (2, 16) and torch.all(
        mask.sum(1) == gen.num_masked(4)
    )
    assert type(gen).__name__ in repr(gen)
