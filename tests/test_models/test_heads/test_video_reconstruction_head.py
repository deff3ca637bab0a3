# Copyright (c) mmmim contributors. All rights reserved.
"""Known answers of VideoMAE's cube targets and loss."""

import pytest
import torch

from mmmim.models import VideoReconstructionHead
from mmmim.models.heads.video_reconstruction_head import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    cubify,
)


def _normalise(pixels: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1, 1)
    return (pixels - mean) / std


def test_cubify_order_is_pixel_major_channel_minor():
    video = torch.arange(3 * 2 * 2 * 2, dtype=torch.float32)
    video = video.view(1, 3, 2, 2, 2)  # C, T, H, W with one 2x2x2 cube
    cubes = cubify(video, patch_size=2, tubelet_size=2)
    assert cubes.shape == (1, 1, 8, 3)
    # Pixel k of the cube (t, h, w row-major), channel c.
    assert torch.equal(cubes[0, 0, :, 0], video[0, 0].flatten())
    assert torch.equal(cubes[0, 0, :, 2], video[0, 2].flatten())


def test_target_normalises_each_channel_of_each_cube_with_eps_on_std():
    torch.manual_seed(0)
    pixels = torch.rand(1, 3, 2, 4, 4)
    head = VideoReconstructionHead(patch_size=4, tubelet_size=2)
    target = head.target(_normalise(pixels))
    assert target.shape == (1, 1, 2 * 4 * 4 * 3)
    values = target.view(1, 1, 32, 3)
    for c in range(3):
        raw = pixels[0, c].flatten().double()
        expected = (raw - raw.mean()) / (raw.std(unbiased=True) + 1e-6)
        torch.testing.assert_close(
            values[0, 0, :, c].double(), expected, atol=1e-5, rtol=1e-5
        )


def test_eps_is_added_to_the_std_not_the_variance():
    # A flat cube: (v - mean) / (0 + eps) = 0, and a nearly flat one shows
    # the eps placement: std 1e-6 -> divided by 2e-6 (with eps on the
    # variance it would be sqrt(1e-12 + 1e-6) ~ 1e-3, a thousand times
    # smaller targets).
    pixels = torch.full((1, 3, 2, 2, 2), 0.5)
    head = VideoReconstructionHead(patch_size=2, tubelet_size=2)
    assert head.target(_normalise(pixels)).abs().max() < 1e-3
    delta = torch.zeros(8, dtype=torch.float64)
    delta[0] = 1.0
    std = delta.std(unbiased=True)
    raw = 0.5 + 1e-6 * delta / std  # unbiased std exactly 1e-6
    pixels = raw.float().view(1, 1, 2, 2, 2).expand(1, 3, 2, 2, 2).clone()
    target = head.target(_normalise(pixels)).view(8, 3)[:, 0].double()
    expected = (raw - raw.mean()) / (1e-6 + 1e-6)
    torch.testing.assert_close(target, expected, rtol=0.05, atol=0.05)


def test_unnormalised_target_is_the_pixels():
    pixels = torch.rand(2, 3, 2, 4, 4)
    head = VideoReconstructionHead(patch_size=4, norm_target=False)
    target = head.target(_normalise(pixels))
    expected = cubify(pixels, 4, 2).flatten(2)
    torch.testing.assert_close(target, expected, atol=1e-6, rtol=1e-6)


def test_loss_is_the_mse_over_masked_cubes_only():
    head = VideoReconstructionHead(patch_size=2, tubelet_size=2)
    target = torch.randn(2, 4, 24)
    mask = torch.tensor(
        [[True, False, True, False], [False, True, True, False]]
    )
    ids = torch.tensor([[0, 2], [1, 2]])
    pred = torch.randn(2, 2, 24)
    selected = torch.stack([target[0, [0, 2]], target[1, [1, 2]]])
    expected = ((pred - selected) ** 2).mean()
    loss = head.loss_from_target(pred, target, mask, ids)
    torch.testing.assert_close(loss, expected)
    with pytest.raises(ValueError, match='differ; check the decoder'):
        head.loss_from_target(torch.randn(2, 2, 12), target, mask, ids)
