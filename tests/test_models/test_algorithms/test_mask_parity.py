# Copyright (c) mmmim contributors. All rights reserved.
"""mmmim's mask generators draw the official masks from the official seeds.

The parity tests feed the official mask into the models; this file checks
the drawing itself, two ways:

* against the official algorithms, re-implemented here from the official
  code (facebookresearch/mae ``models_mae.py::random_masking``,
  MCG-NJU/VideoMAE ``masking_generator.py::TubeMaskingGenerator``,
  microsoft/SimMIM ``data/data_simmim.py::MaskGenerator``), over several
  seeds and grids;
* against the masks the official code itself drew for the stored
  references (``tests/data/parity``; each generator script seeds the RNG
  with ``seed + 2`` just before drawing).

MAE's draw (``torch.rand`` of the global torch RNG, argsort, keep the
lowest ``int(L * (1 - ratio))``) is ``RandomMaskGenerator``'s default. The
VideoMAE and SimMIM pipelines draw from NumPy per sample;
``official_rng=True`` reproduces that. Every comparison has a negative
control (another seed, a modified algorithm) that must differ.
"""

from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch

from mmmim.models.mask_generators import (
    RandomMaskGenerator,
    SimMIMMaskGenerator,
    TubeMaskGenerator,
)

REFS = Path(__file__).resolve().parents[3] / 'tests' / 'data' / 'parity'


# ------------------------------------------------ official algorithms
def official_random_masking(
    batch: int, num_tokens: int, mask_ratio: float, descending: bool = False
) -> torch.Tensor:
    """MAE ``random_masking``: uniform noise from the global torch RNG,
    ascending argsort, the first ``int(L * (1 - ratio))`` are kept.
    ``descending=True`` is a deliberately wrong variant (control)."""
    len_keep = int(num_tokens * (1 - mask_ratio))
    noise = torch.rand(batch, num_tokens)
    ids_shuffle = torch.argsort(noise, dim=1, descending=descending)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    mask = torch.ones(batch, num_tokens)
    mask[:, :len_keep] = 0
    return torch.gather(mask, 1, ids_restore).bool()


def official_tube_mask(frames: int, h: int, w: int, ratio: float):
    """VideoMAE ``TubeMaskingGenerator.__call__`` (one sample)."""
    per_frame = h * w
    num_masks = int(ratio * per_frame)
    slot = np.hstack([np.zeros(per_frame - num_masks), np.ones(num_masks)])
    np.random.shuffle(slot)
    return np.tile(slot, (frames, 1)).flatten()


def official_simmim_mask(
    input_size: int, mask_patch: int, model_patch: int, ratio: float
):
    """SimMIM ``MaskGenerator.__call__`` (one sample)."""
    rand_size = input_size // mask_patch
    scale = mask_patch // model_patch
    count = rand_size**2
    mask_count = int(np.ceil(count * ratio))
    mask = np.zeros(count, dtype=int)
    mask[np.random.permutation(count)[:mask_count]] = 1
    mask = mask.reshape(rand_size, rand_size)
    return mask.repeat(scale, axis=0).repeat(scale, axis=1)


def numpy_batch(draw_one: Callable, batch: int, seed: int) -> torch.Tensor:
    """``batch`` consecutive samples after ``np.random.seed(seed)``."""
    np.random.seed(seed)
    masks = [np.asarray(draw_one()).reshape(-1) for _ in range(batch)]
    return torch.from_numpy(np.stack(masks) > 0)


def torch_draw(draw: Callable, seed: int) -> torch.Tensor:
    torch.manual_seed(seed)
    return draw()


def _ref(name: str) -> dict:
    return torch.load(REFS / f'{name}.pth', weights_only=True)


# ------------------------------------------------------------- MAE
@pytest.mark.parametrize(
    'batch, grid, ratio', [(2, 14, 0.75), (3, 16, 0.75), (4, 7, 0.6)]
)
@pytest.mark.parametrize('seed', [0, 2, 123])
def test_random_mask_generator_is_official_random_masking(
    batch, grid, ratio, seed
):
    gen = RandomMaskGenerator(ratio)
    ours = torch_draw(lambda: gen(batch, grid), seed)
    official = torch_draw(
        lambda: official_random_masking(batch, grid * grid, ratio), seed
    )
    assert torch.equal(ours, official)
    # Negative controls: another seed, and a modified argsort, differ.
    other_seed = torch_draw(lambda: gen(batch, grid), seed + 1)
    assert not torch.equal(other_seed, official)
    wrong = torch_draw(
        lambda: official_random_masking(batch, grid * grid, ratio, True),
        seed,
    )
    assert not torch.equal(ours, wrong)


@pytest.mark.parametrize(
    'name', ['mae_base', 'mae_large', 'mae_huge', 'convmae_pretrain']
)
def test_random_masks_equal_the_official_reference_masks(name):
    """The masks the official models_mae.py / models_convmae.py drew after
    ``torch.manual_seed(seed + 2)``."""
    ref = _ref(name)
    batch, num_tokens = ref['mask'].shape
    grid = int(num_tokens**0.5)
    gen = RandomMaskGenerator(0.75)
    seed = ref['seed'] + 2
    assert torch.equal(torch_draw(lambda: gen(batch, grid), seed), ref['mask'])
    assert not torch.equal(
        torch_draw(lambda: gen(batch, grid), seed + 1), ref['mask']
    )


# --------------------------------------------------------- VideoMAE
@pytest.mark.parametrize(
    'batch, grid, ratio', [(1, (8, 14, 14), 0.9), (3, (2, 4, 6), 0.75)]
)
@pytest.mark.parametrize('seed', [0, 2, 7])
def test_tube_official_rng_is_official_tube_masking(batch, grid, ratio, seed):
    gen = TubeMaskGenerator(ratio, official_rng=True)

    def official():
        return official_tube_mask(*grid, ratio)

    np.random.seed(seed)
    ours = gen(batch, grid)
    assert torch.equal(ours, numpy_batch(official, batch, seed))
    assert not torch.equal(ours, numpy_batch(official, batch, seed + 1))
    # The default (torch noise) is another random stream.
    torch.manual_seed(seed)
    assert not torch.equal(TubeMaskGenerator(ratio)(batch, grid), ours)


def test_tube_masks_equal_the_official_reference_mask():
    """The mask MCG-NJU/VideoMAE drew after ``np.random.seed(seed + 2)``."""
    ref = _ref('videomae_pretrain')
    gen = TubeMaskGenerator(0.9, official_rng=True)
    np.random.seed(ref['seed'] + 2)
    assert torch.equal(gen(1, (8, 14, 14)), ref['mask'].bool())
    np.random.seed(ref['seed'] + 3)
    assert not torch.equal(gen(1, (8, 14, 14)), ref['mask'].bool())


# ----------------------------------------------------------- SimMIM
@pytest.mark.parametrize(
    'size, model_patch, ratio', [(224, 16, 0.6), (192, 4, 0.6), (96, 8, 0.5)]
)
@pytest.mark.parametrize('seed', [0, 2, 11])
def test_simmim_official_rng_is_official_mask_generator(
    size, model_patch, ratio, seed
):
    gen = SimMIMMaskGenerator(ratio, 32, model_patch, official_rng=True)
    grid = size // model_patch

    def official():
        return official_simmim_mask(size, 32, model_patch, ratio)

    np.random.seed(seed)
    ours = gen(2, grid)
    assert torch.equal(ours, numpy_batch(official, 2, seed))
    assert not torch.equal(ours, numpy_batch(official, 2, seed + 1))
    torch.manual_seed(seed)
    default = SimMIMMaskGenerator(ratio, 32, model_patch)(2, grid)
    assert not torch.equal(default, ours)


@pytest.mark.parametrize('name, model_patch', [('vit', 16), ('swin', 4)])
def test_simmim_masks_equal_the_official_reference_masks(name, model_patch):
    """The masks microsoft/SimMIM drew after ``np.random.seed(seed + 2)``."""
    ref = _ref(f'simmim_{name}')
    gen = SimMIMMaskGenerator(0.6, 32, model_patch, official_rng=True)
    grid = ref['img_size'] // model_patch
    np.random.seed(ref['seed'] + 2)
    assert torch.equal(gen(2, grid), ref['mask'])
    np.random.seed(ref['seed'] + 3)
    assert not torch.equal(gen(2, grid), ref['mask'])


@pytest.mark.parametrize(
    'gen, grid',
    [
        (TubeMaskGenerator(0.9, official_rng=True), (2, 4, 4)),
        (SimMIMMaskGenerator(0.6, 32, 16, official_rng=True), 4),
    ],
)
def test_official_rng_refuses_a_torch_generator(gen, grid):
    with pytest.raises(ValueError, match='official_rng'):
        gen(1, grid, generator=torch.Generator().manual_seed(0))


def test_official_rng_shows_in_repr_and_keeps_the_counts():
    gen = TubeMaskGenerator(0.9, official_rng=True)
    assert 'official_rng=True' in repr(gen)
    np.random.seed(0)
    mask = gen(3, (8, 14, 14))
    assert mask.dtype == torch.bool
    assert torch.all(mask.sum(1) == gen.num_masked((8, 14, 14)))
    simmim = SimMIMMaskGenerator(official_rng=True)
    assert torch.all(simmim(3, 14).sum(1) == simmim.num_masked(14))
