# Copyright (c) mmmim contributors. All rights reserved.
"""SimMIM's L1 loss: normalisation by masked pixels and channels."""

import pytest
import torch
import torch.nn.functional as F

from mmmim.models import SimMIMReconstructionHead
from mmmim.models.losses import masked_l1_loss
from mmmim.models.mask_generators import upsample_mask
from mmmim.models.utils import unpatchify


def test_loss_known_answer():
    """4x4 image, 2x2 patches, tokens 0 and 3 masked."""
    head = SimMIMReconstructionHead(patch_size=2, official_eps=False)
    target = torch.zeros(1, 3, 4, 4)
    target[..., :2, :2] = 1.0  # token 0
    target[..., 2:, 2:] = 2.0  # token 3
    target[..., :2, 2:] = 7.0  # token 1, visible: ignored
    pred = torch.zeros(1, 4, 12)
    mask = torch.tensor([[True, False, False, True]])
    # |errors| over masked tokens: 12 x 1 + 12 x 2 = 36; masked pixels 8;
    # 36 / 8 / 3 channels = 1.5.
    loss = head.loss(pred, target, mask)
    assert loss.item() == pytest.approx(1.5, abs=1e-7)
    official = SimMIMReconstructionHead(patch_size=2)  # + 1e-5
    assert official.loss(pred, target, mask).item() == pytest.approx(
        36 / (8 + 1e-5) / 3, rel=1e-7
    )


def test_matches_the_official_image_space_formula():
    head = SimMIMReconstructionHead(patch_size=4)
    gen = torch.Generator().manual_seed(0)
    imgs = torch.randn(2, 3, 16, 24, generator=gen)
    rec = torch.randn(2, 3, 16, 24, generator=gen)
    mask = torch.rand(2, 4 * 6, generator=gen) > 0.4
    # The official loss mask: the token mask upsampled to pixels.
    pixels = upsample_mask(mask, (4, 6), 4).view(2, 1, 16, 24).float()
    official = (
        (F.l1_loss(imgs, rec, reduction='none') * pixels).sum()
        / (pixels.sum() + 1e-5)
        / 3
    )
    pred = head.target(rec)
    torch.testing.assert_close(head.loss(pred, imgs, mask), official)
    # The target is the input in patch space.
    torch.testing.assert_close(unpatchify(head.target(imgs), 4, (4, 6)), imgs)


def test_loss_helper_dtype_and_channels():
    pred = torch.ones(1, 2, 8, dtype=torch.bfloat16)
    target = torch.zeros(1, 2, 8)
    mask = torch.tensor([[True, False]])
    # 8 values of error 1 over 4 pixels and 2 channels.
    assert masked_l1_loss(pred, target, mask, in_channels=2).item() == 1.0
    assert masked_l1_loss(pred, target, mask).dtype == torch.float32


def test_bad_shapes():
    head = SimMIMReconstructionHead(patch_size=2)
    target = torch.zeros(1, 3, 4, 4)
    with pytest.raises(ValueError, match='differ'):
        head.loss(torch.zeros(1, 4, 6), target, torch.ones(1, 4).bool())
    with pytest.raises(ValueError, match=r'shape \[B, 4\]'):
        head.loss(torch.zeros(1, 4, 12), target, torch.ones(1, 16).bool())
