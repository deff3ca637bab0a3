# Copyright (c) mmmim contributors. All rights reserved.
"""VideoMAE reconstruction strips: exact inverses and a perfect model."""

from types import SimpleNamespace

import numpy as np
import torch

from mmmim.models import VideoReconstructionHead
from mmmim.models.heads.video_reconstruction_head import cubify
from mmmim.models.utils import CubeEmbed
from mmmim.visualization import make_video_strips, uncubify


def test_uncubify_inverts_cubify():
    video = torch.randn(2, 3, 4, 16, 24)
    cubes = cubify(video, patch_size=8, tubelet_size=2).flatten(2)
    back = uncubify(cubes, (2, 2, 3), patch_size=8, tubelet_size=2)
    assert torch.equal(back, video)


def _perfect_model(norm_target: bool):
    """A stand-in whose predictions are the exact targets."""
    head = VideoReconstructionHead(
        patch_size=8, tubelet_size=2, norm_target=norm_target
    )
    mask = torch.zeros(1, 2 * 4 * 4, dtype=torch.bool)
    mask[0, ::3] = True

    def reconstruct(videos, _mask=None):
        target = head.target(videos)
        pred = torch.where(mask[..., None], target, torch.zeros(()))
        return dict(pred=pred, target=target, mask=mask)

    backbone = SimpleNamespace(patch_embed=CubeEmbed(3, 4, 8, 2))
    return SimpleNamespace(
        head=head, backbone=backbone, reconstruct=reconstruct
    ), mask


def test_a_perfect_model_reconstructs_the_original():
    pixels = torch.rand(1, 3, 4, 32, 32)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1, 1)
    videos = (pixels - mean) / std
    for norm_target in (True, False):
        model, mask = _perfect_model(norm_target)
        strips = make_video_strips(model, videos)
        assert strips.shape == (1, 3, 4, 32, 32, 3)
        original, masked, pasted = strips[0]
        np.testing.assert_allclose(pasted, original, atol=1e-4)
        np.testing.assert_allclose(
            original, pixels[0].permute(1, 2, 3, 0).numpy(), atol=1e-5
        )
        # Masked cubes are grey in the masked row; 1 in 3 tokens masked.
        grey = np.isclose(masked, 0.5).all(axis=-1)
        assert abs(grey.mean() - mask.float().mean().item()) < 0.02
