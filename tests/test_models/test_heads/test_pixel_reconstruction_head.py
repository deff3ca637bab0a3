# Copyright (c) mmmim contributors. All rights reserved.
import pytest
import torch

from mmmim.models import PixelReconstructionHead
from mmmim.models.utils import patchify


def test_target_without_norm_is_patchified_input():
    imgs = torch.randn(2, 3, 16, 16)
    head = PixelReconstructionHead(patch_size=8, norm_pix=False)
    assert torch.equal(head.target(imgs), patchify(imgs, 8))


def test_norm_pix_known_values():
    # One 2x2 single-channel patch with values 1..4.
    imgs = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    target = PixelReconstructionHead(patch_size=2).target(imgs)
    var = 5.0 / 3.0  # unbiased: sum((x - 2.5)**2) / (4 - 1)
    expected = (torch.tensor([1.0, 2.0, 3.0, 4.0]) - 2.5) / (var + 1e-6) ** 0.5
    torch.testing.assert_close(target[0, 0], expected)


def test_norm_pix_matches_formula():
    imgs = torch.randn(2, 3, 16, 16)
    head = PixelReconstructionHead(patch_size=8, norm_pix_eps=1e-3)
    t = patchify(imgs, 8)
    mean, var = t.mean(-1, keepdim=True), t.var(-1, keepdim=True)
    torch.testing.assert_close(
        head.target(imgs), (t - mean) / (var + 1e-3) ** 0.5
    )


def test_loss_known_value():
    head = PixelReconstructionHead(patch_size=1, norm_pix=False)
    pred = torch.zeros(1, 2, 2)
    target = torch.tensor([[[1.0, 1.0], [2.0, 2.0]]])
    one = torch.tensor([[True, False]])
    both = torch.tensor([[True, True]])
    assert head.loss_from_target(pred, target, one).item() == pytest.approx(
        1.0
    )
    assert head.loss_from_target(pred, target, both).item() == pytest.approx(
        2.5
    )


def test_loss_ignores_visible_patches():
    head = PixelReconstructionHead(patch_size=8)
    imgs = torch.randn(2, 3, 16, 16)
    pred = torch.randn(2, 4, 192)
    mask = torch.tensor(
        [[True, False, True, False], [False, True, True, False]]
    )
    loss = head.loss(pred, imgs, mask)
    pred2 = pred.clone()
    pred2[~mask] += 10.0
    torch.testing.assert_close(head.loss(pred2, imgs, mask), loss)
    pred2[mask] += 1.0
    assert head.loss(pred2, imgs, mask) != loss
    target = head.target(imgs)
    per_patch = ((pred - target) ** 2).mean(-1)
    torch.testing.assert_close(loss, per_patch[mask].mean())


def test_loss_errors():
    head = PixelReconstructionHead(patch_size=8)
    with pytest.raises(ValueError, match='differ'):
        head.loss(
            torch.zeros(1, 4, 10),
            torch.zeros(1, 3, 16, 16),
            torch.ones(1, 4).bool(),
        )
    with pytest.raises(ValueError, match='bool'):
        head.loss(
            torch.zeros(1, 4, 192), torch.zeros(1, 3, 16, 16), torch.ones(1, 4)
        )
