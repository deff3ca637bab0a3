# Copyright (c) mmmim contributors. All rights reserved.
import pytest
import torch

from mmmim.models.utils import patchify, unpatchify


def test_round_trip_square_and_rectangular():
    imgs = torch.randn(2, 3, 32, 32)
    patches = patchify(imgs, 8)
    assert patches.shape == (2, 16, 8 * 8 * 3)
    assert torch.equal(unpatchify(patches, 8), imgs)
    rect = torch.randn(2, 3, 16, 32)
    assert torch.equal(unpatchify(patchify(rect, 8), 8, (2, 4)), rect)


def test_channel_is_fastest_inside_a_patch():
    imgs = torch.empty(1, 3, 4, 4)
    for c, value in enumerate((10.0, 20.0, 30.0)):
        imgs[:, c] = value
    patches = patchify(imgs, 2)
    expected = torch.tensor([10.0, 20.0, 30.0]).repeat(4)
    for t in range(4):
        assert torch.equal(patches[0, t], expected)


def test_pixel_and_patch_order():
    # One channel whose value is its pixel index, row-major.
    imgs = torch.arange(16.0).reshape(1, 1, 4, 4)
    patches = patchify(imgs, 2)
    # Patches in row-major order, pixels row-major inside each patch.
    assert patches[0, 0].tolist() == [0, 1, 4, 5]
    assert patches[0, 1].tolist() == [2, 3, 6, 7]
    assert patches[0, 2].tolist() == [8, 9, 12, 13]


def test_errors():
    with pytest.raises(ValueError, match='not divisible by the patch size'):
        patchify(torch.zeros(1, 3, 30, 32), 8)
    with pytest.raises(ValueError, match='grid'):
        unpatchify(torch.zeros(1, 6, 12), 2)  # 6 is not square
    with pytest.raises(ValueError, match='multiple'):
        unpatchify(torch.zeros(1, 4, 10), 2)
