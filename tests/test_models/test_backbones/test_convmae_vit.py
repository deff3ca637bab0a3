# Copyright (c) mmmim contributors. All rights reserved.
"""ConvMAEViT: mask upsampling, masked convolution, token dropping."""

import pytest
import torch
import torch.nn.functional as F

from mmmim.models import ConvMAEViT
from mmmim.models.backbones import convmae_vit
from mmmim.models.utils.conv_blocks import CBlock, upsample_mask

# 64 px images, strides 4/2/2: stage grids 16x16, 8x8, 4x4 (L = 16).
TINY = dict(embed_dims=(16, 24, 32), num_layers=(2, 2, 2), num_heads=4)


def _encoder(**kwargs) -> ConvMAEViT:
    model = ConvMAEViT(arch=dict(TINY), img_size=64, **kwargs)
    model.init_weights()
    return model.eval()


def _mask(batch: int = 2, num_tokens: int = 16, masked: int = 12):
    return torch.rand(batch, num_tokens).argsort(1) < masked


def test_mask_upsampling_is_nearest_x4_and_x2_of_the_stage3_mask():
    mask = _mask(3, 14 * 14, 147)
    for scale in (4, 2):
        up = upsample_mask(mask, (14, 14), scale)
        assert up.shape == (3, 1, 14 * scale, 14 * scale)
        assert up.dtype == torch.bool
        nearest = F.interpolate(
            mask.float().reshape(3, 1, 14, 14), scale_factor=scale
        )
        assert torch.equal(up, nearest.bool())
        # Every stage-3 cell is exactly one scale x scale block.
        blocks = up.reshape(3, 14, scale, 14, scale)
        expected = mask.reshape(3, 14, 1, 14, 1).expand_as(blocks)
        assert torch.equal(blocks, expected)
    # A rectangular grid keeps its row-major order.
    mask = torch.zeros(1, 6, dtype=torch.bool)
    mask[0, 4] = True  # row 1, column 1 of a 2 x 3 grid
    up = upsample_mask(mask, (2, 3), 2)[0, 0]
    assert up.nonzero().tolist() == [[2, 2], [2, 3], [3, 2], [3, 3]]


def test_latent_shapes_and_mask_counts():
    model = _encoder()
    latent, mask = model(torch.randn(2, 3, 64, 64))
    assert latent.shape == (2, 4, 32)
    assert mask.shape == (2, 16) and mask.sum(1).tolist() == [12, 12]
    assert model.grid_size == (4, 4) and model.patch_size == 16
    # Other sizes divisible by 16 resize the position table.
    latent, mask = model(torch.randn(1, 3, 48, 80))
    assert mask.shape == (1, 15) and latent.shape == (1, 3, 32)


def test_masked_pixels_do_not_reach_visible_tokens():
    """Perturbing masked patches leaves every visible token unchanged."""
    model = _encoder()
    x = torch.randn(2, 3, 64, 64)
    mask = _mask()
    pixel_mask = upsample_mask(mask, (4, 4), 16).expand(-1, 3, -1, -1)
    noisy = torch.where(pixel_mask, x + 5 * torch.randn_like(x), x)
    with torch.no_grad():
        latent, _ = model(x, mask)
        latent_noisy, _ = model(noisy, mask)
    torch.testing.assert_close(latent_noisy, latent, rtol=0, atol=1e-6)
    # Perturbing a visible patch does change the output.
    changed = torch.where(pixel_mask, x, x + 0.5)
    with torch.no_grad():
        assert not torch.allclose(model(changed, mask)[0], latent, atol=1e-3)


def test_without_masked_convolution_masked_pixels_would_leak(monkeypatch):
    """The test above has teeth: with every position treated as visible
    in stages 1-2, the same perturbation reaches the visible tokens."""
    model = _encoder()
    x = torch.randn(2, 3, 64, 64)
    mask = _mask()
    pixel_mask = upsample_mask(mask, (4, 4), 16).expand(-1, 3, -1, -1)
    noisy = torch.where(pixel_mask, x + 5 * torch.randn_like(x), x)
    monkeypatch.setattr(
        convmae_vit,
        'upsample_mask',
        lambda m, grid, scale: torch.zeros_like(upsample_mask(m, grid, scale)),
    )
    with torch.no_grad():
        latent, _ = model(x, mask)
        latent_noisy, _ = model(noisy, mask)
    assert not torch.allclose(latent_noisy, latent, atol=1e-3)


def test_cblock_mask_zeroes_only_the_depthwise_input():
    block = CBlock(8).eval()
    x = torch.randn(1, 8, 6, 6)
    visible = torch.ones(1, 1, 6, 6, dtype=torch.bool)
    torch.testing.assert_close(block(x, visible), block(x))
    visible[..., :3] = False
    y = block.conv1(block.norm1(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))
    z = x + block.conv2(block.attn(y * visible))
    z = z + block.mlp(block.norm2(z.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))
    torch.testing.assert_close(block(x, visible), z)


def test_channels_last_and_checkpointing_match_the_default():
    torch.manual_seed(0)
    ref = _encoder()
    fast = _encoder(channels_last=True, with_cp=True)
    fast.load_state_dict(ref.state_dict())
    weight = fast.blocks1[0].conv1.weight
    assert weight.is_contiguous(memory_format=torch.channels_last)
    x, mask = torch.randn(2, 3, 64, 64), _mask()
    ref.train(), fast.train()
    out_ref, _ = ref(x, mask)
    out_fast, _ = fast(x, mask)
    torch.testing.assert_close(out_fast, out_ref, rtol=1e-5, atol=1e-5)
    out_ref.square().sum().backward()
    out_fast.square().sum().backward()
    for (name, a), b in zip(ref.named_parameters(), fast.parameters()):
        if a.grad is not None:
            torch.testing.assert_close(
                b.grad, a.grad, rtol=1e-4, atol=1e-5, msg=name
            )
    assert fast.blocks1[0].attn.weight.grad.abs().sum() > 0


def test_loads_official_style_names_and_layer_depths():
    model = _encoder()
    names = set(model.state_dict())
    for key in (
        'patch_embed1.proj.weight',
        'patch_embed1.norm.weight',
        'blocks1.0.attn.weight',
        'blocks2.1.mlp.fc2.bias',
        'patch_embed4.weight',
        'stage1_output_decode.weight',
        'stage2_output_decode.bias',
        'blocks3.1.attn.qkv.weight',
        'norm.weight',
        'pos_embed',
    ):
        assert key in names, key
    # CBlock and patch-embed norms keep eps 1e-5, stage 3 uses 1e-6.
    assert model.blocks1[0].norm1.eps == 1e-5
    assert model.patch_embed2.norm.eps == 1e-5
    assert model.blocks3[0].norm1.eps == 1e-6 and model.norm.eps == 1e-6
    assert not model.pos_embed.requires_grad
    depth = model.get_layer_depth
    assert depth('backbone.blocks2.1.conv1.weight', 'backbone.') == (0, 4)
    assert depth('backbone.patch_embed4.weight', 'backbone.') == (0, 4)
    assert depth('backbone.blocks3.1.attn.qkv.weight', 'backbone.') == (2, 4)
    assert depth('backbone.norm.weight', 'backbone.') == (3, 4)


def test_bad_input_gives_clear_errors():
    model = _encoder()
    with pytest.raises(ValueError, match='not divisible by patch_size 16'):
        model(torch.randn(1, 3, 56, 64))
    with pytest.raises(ValueError, match='expects images'):
        model(torch.randn(3, 64, 64))
    with pytest.raises(ValueError, match='bool'):
        model(torch.randn(2, 3, 64, 64), _mask().float())
    with pytest.raises(ValueError, match=r'shape \[B, 16\]'):
        model(torch.randn(2, 3, 64, 64), _mask(2, 15, 11))
    uneven = _mask()
    uneven[0, uneven[0].nonzero()[0]] = False
    with pytest.raises(ValueError, match='same number'):
        model(torch.randn(2, 3, 64, 64), uneven)
    with pytest.raises(ValueError, match='needs a mask'):
        _encoder(mask_generator=None)(torch.randn(1, 3, 64, 64))
    with pytest.raises(KeyError, match="choose from \\['b'\\]"):
        ConvMAEViT(arch='xl')
    with pytest.raises(ValueError, match='three values'):
        ConvMAEViT(arch=dict(TINY, embed_dims=(16, 32)))
