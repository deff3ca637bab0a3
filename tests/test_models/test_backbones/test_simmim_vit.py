# Copyright (c) mmmim contributors. All rights reserved.
"""SimMIMViT: mask token, shared/per-layer tables, backbone surface."""

import pytest
import torch

from mmmim.models import SimMIMViT


def _vit(tiny_arch, **kwargs):
    kwargs.setdefault('img_size', 32)
    kwargs.setdefault('patch_size', 8)
    model = SimMIMViT(arch=tiny_arch, **kwargs)
    model.init_weights()
    return model.eval()


def _mask(batch=2, tokens=16, masked=(0, 5, 10)):
    mask = torch.zeros(batch, tokens, dtype=torch.bool)
    mask[:, list(masked)] = True
    return mask


def test_featmap_and_other_out_types(tiny_arch):
    imgs = torch.randn(2, 3, 32, 32)
    (feat,) = _vit(tiny_arch)(imgs, _mask())
    assert feat.shape == (2, 32, 4, 4)
    outs = _vit(tiny_arch, out_type='raw', out_indices=(0, 1))(imgs)
    assert [o.shape for o in outs] == [(2, 17, 32)] * 2
    (cls,) = _vit(tiny_arch, out_type='cls_token')(imgs)
    assert cls.shape == (2, 32)
    model = _vit(tiny_arch, out_type='avg_featmap', final_norm=False)
    assert model.norm is None and model(imgs)[0].shape == (2, 32)


def test_masked_pixels_are_invisible(tiny_arch):
    """A masked patch's pixels never reach the output."""
    model = _vit(tiny_arch)
    mask = _mask()
    imgs = torch.randn(2, 3, 32, 32)
    changed = imgs.clone()
    changed[..., :8, :8] += 5.0  # token 0, masked
    with torch.no_grad():
        a = model(imgs, mask)[0]
        b = model(changed, mask)[0]
        c = model(changed, torch.zeros_like(mask))[0]
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


def test_no_mask_equals_an_empty_mask(tiny_arch):
    model = _vit(tiny_arch)
    imgs = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            model(imgs)[0], model(imgs, _mask(1, masked=()))[0]
        )


def test_init_follows_the_official_recipe(tiny_arch):
    model = _vit(tiny_arch)
    assert model.mask_token.abs().max() <= 0.02
    assert model.cls_token.abs().max() <= 0.02
    for block in model.blocks:
        assert torch.all(block.gamma_1 == 0.1) and torch.all(
            block.gamma_2 == 0.1
        )
        assert torch.all(block.attn.q_bias == 0)
    table = model.rel_pos_bias.relative_position_bias_table
    assert table.shape == (7 * 7 + 3, 4) and torch.all(table == 0)
    # Residual projections of block i are scaled by 1 / sqrt(2 (i + 1)).
    assert model.blocks[1].mlp.fc2.weight.abs().max() <= 0.02 / 2 + 1e-7
    assert not hasattr(model.blocks[0].attn.qkv, 'bias') or (
        model.blocks[0].attn.qkv.bias is None
    )


def test_per_layer_tables_from_a_shared_checkpoint(tiny_arch):
    shared = _vit(tiny_arch)
    with torch.no_grad():
        shared.rel_pos_bias.relative_position_bias_table.normal_()
    per_layer = SimMIMViT(
        arch=tiny_arch, img_size=32, patch_size=8, rel_pos_bias='per_layer'
    ).eval()
    result = per_layer.load_state_dict(shared.state_dict(), strict=False)
    assert not result.missing_keys and not result.unexpected_keys
    imgs = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            per_layer(imgs, _mask())[0], shared(imgs, _mask())[0]
        )
    keys = [k for k in per_layer.state_dict() if 'bias_table' in k]
    assert keys == [
        'blocks.0.attn.relative_position_bias_table',
        'blocks.1.attn.relative_position_bias_table',
    ]


def test_tables_are_resized_for_another_image_size(tiny_arch):
    small = _vit(tiny_arch)  # 4x4 grid, 7x7 offsets
    big = SimMIMViT(arch=tiny_arch, img_size=48, patch_size=8)  # 6x6
    big.load_state_dict(small.state_dict())
    table = big.rel_pos_bias.relative_position_bias_table
    assert table.shape == (11 * 11 + 3, 4)
    assert big(torch.randn(1, 3, 48, 48))[0].shape == (1, 32, 6, 6)


def test_with_cp_gives_the_same_result_and_gradients(tiny_arch):
    imgs = torch.randn(2, 3, 32, 32)
    torch.manual_seed(0)
    plain = _vit(tiny_arch)
    ckpt = _vit(tiny_arch, with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    outs = []
    for model in (plain, ckpt):
        model.train()
        out = model(imgs, _mask())[0]
        out.square().mean().backward()
        outs.append((out, model.mask_token.grad.clone()))
    torch.testing.assert_close(outs[0][0], outs[1][0])
    torch.testing.assert_close(outs[0][1], outs[1][1])


def test_frozen_stages(tiny_arch):
    model = _vit(tiny_arch, frozen_stages=1)
    model.train()
    assert not model.patch_embed.proj.weight.requires_grad
    assert not model.mask_token.requires_grad
    assert not model.rel_pos_bias.relative_position_bias_table.requires_grad
    assert not any(p.requires_grad for p in model.blocks[0].parameters())
    assert all(p.requires_grad for p in model.blocks[1].parameters())
    assert not model.blocks[0].training and model.blocks[1].training


def test_layer_depth_and_no_weight_decay(tiny_arch):
    model = _vit(tiny_arch)
    depth = model.get_layer_depth
    assert depth('backbone.mask_token', 'backbone.') == (0, 4)
    assert depth('backbone.patch_embed.proj.weight', 'backbone.') == (0, 4)
    assert depth('backbone.blocks.1.attn.qkv.weight', 'backbone.') == (2, 4)
    assert depth(
        'backbone.rel_pos_bias.relative_position_bias_table', 'backbone.'
    ) == (3, 4)
    assert depth('head.fc.weight', 'backbone.') == (3, 4)
    assert model.no_weight_decay() == {'pos_embed', 'cls_token'}


def test_mask_generator_draws_when_no_mask(tiny_arch):
    model = _vit(
        tiny_arch,
        mask_generator=dict(
            type='SimMIMMaskGenerator',
            mask_ratio=0.5,
            mask_patch_size=16,
            model_patch_size=8,
        ),
    )
    torch.manual_seed(0)
    a = model(torch.zeros(2, 3, 32, 32))[0]
    b = model(torch.zeros(2, 3, 32, 32), _mask(masked=()))[0]
    assert not torch.allclose(a, b)  # something was masked


@pytest.mark.parametrize(
    'mask, match',
    [
        (torch.zeros(2, 15, dtype=torch.bool), r'shape \[B, 16\]'),
        (torch.zeros(2, 4, 4, dtype=torch.bool), r'shape \[B, 16\]'),
        (torch.zeros(2, 16), 'bool'),
        (torch.zeros(3, 16, dtype=torch.bool), 'samples'),
    ],
)
def test_bad_masks(tiny_arch, mask, match):
    with pytest.raises(ValueError, match=match):
        _vit(tiny_arch)(torch.randn(2, 3, 32, 32), mask)


def test_bad_sizes_and_arguments(tiny_arch):
    model = _vit(tiny_arch)
    with pytest.raises(ValueError, match='not divisible by the patch size'):
        model(torch.randn(1, 3, 30, 32))
    with pytest.raises(ValueError, match='built for 4x4 patches'):
        model(torch.randn(1, 3, 48, 48))
    with pytest.raises(ValueError, match='not divisible by patch_size'):
        SimMIMViT(arch=tiny_arch, img_size=30, patch_size=8)
    with pytest.raises(ValueError, match='rel_pos_bias'):
        SimMIMViT(arch=tiny_arch, rel_pos_bias='global')
    with pytest.raises(KeyError, match='unknown SimMIMViT arch'):
        SimMIMViT(arch='xl')
    no_token = _vit(tiny_arch, use_mask_token=False)
    assert no_token.mask_token is None
    with pytest.raises(ValueError, match='no mask token'):
        no_token(torch.randn(2, 3, 32, 32), _mask())
