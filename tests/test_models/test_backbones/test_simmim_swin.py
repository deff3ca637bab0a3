# Copyright (c) mmmim contributors. All rights reserved.
"""SimMIMSwin: mask token on mmpretrain's Swin, surface, table resizing."""

import pytest
import torch

from mmmim.models import SimMIMSwin

TINY = dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[2, 2, 2, 2])


def _swin(**kwargs):
    kwargs.setdefault('img_size', 64)
    kwargs.setdefault('window_size', 2)
    model = SimMIMSwin(arch=dict(TINY), **kwargs)
    model.init_weights()
    model.eval()
    return model


def _mask(batch=2, grid=16):
    mask = torch.zeros(batch, grid, grid, dtype=torch.bool)
    mask[:, :8, :8] = True  # one 32-pixel square
    return mask.flatten(1)


def test_last_stage_feature_map():
    (feat,) = _swin()(torch.randn(2, 3, 64, 64), _mask())
    assert feat.shape == (2, 128, 2, 2)
    assert _swin().grid_size == (16, 16)


def test_multi_stage_outputs_in_masked_mode():
    outs = _swin(out_indices=(0, 1, 2, 3))(torch.randn(1, 3, 64, 64), _mask(1))
    assert [o.shape[1:] for o in outs] == [
        (16, 16, 16),
        (32, 8, 8),
        (64, 4, 4),
        (128, 2, 2),
    ]


def test_masked_pixels_are_invisible():
    model = _swin()
    imgs = torch.randn(2, 3, 64, 64)
    changed = imgs.clone()
    changed[..., :32, :32] = 3.0
    with torch.no_grad():
        a = model(imgs, _mask())[0]
        b = model(changed, _mask())[0]
        c = model(changed)[0]
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


def test_matches_mmpretrain_simmim_swin():
    from mmpretrain.models import SimMIMSwinTransformer

    ours = _swin()
    theirs = SimMIMSwinTransformer(
        arch=dict(TINY),
        img_size=64,
        stage_cfgs=dict(window_size=2),
        drop_path_rate=0.0,
    )
    theirs.load_state_dict(ours.state_dict())
    theirs.eval()
    imgs = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(
            ours(imgs, _mask())[0],
            theirs(imgs, _mask().reshape(2, 16, 16))[0],
        )


def test_window_resize_on_load():
    small = _swin(window_size=3)  # 5x5 offsets
    big = SimMIMSwin(arch=dict(TINY), img_size=64, window_size=4)
    with torch.no_grad():
        small.stages[0].blocks[
            0
        ].attn.w_msa.relative_position_bias_table.normal_()
    big.load_state_dict(small.state_dict(), strict=False)
    table = big.stages[0].blocks[0].attn.w_msa.relative_position_bias_table
    assert table.shape == (49, 2)
    assert big.stages[0].blocks[
        0
    ].attn.w_msa.relative_position_index.shape == (
        16,
        16,
    )


def test_layer_depth_and_no_weight_decay():
    model = _swin()
    assert model.get_layer_depth('backbone.mask_token', 'backbone.') == (0, 6)
    assert model.get_layer_depth(
        'backbone.stages.1.blocks.0.norm1.weight', 'backbone.'
    ) == (2, 6)
    assert model.get_layer_depth('backbone.norm3.weight', 'backbone.') == (
        5,
        6,
    )
    assert model.no_weight_decay() == {'absolute_pos_embed', 'mask_token'}


def test_mask_generator_and_plain_mode():
    model = _swin(
        mask_generator=dict(
            type='SimMIMMaskGenerator',
            mask_ratio=0.5,
            mask_patch_size=32,
            model_patch_size=4,
        )
    )
    imgs = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        drawn = model(imgs)[0]
        plain = model(imgs, torch.zeros(1, 256, dtype=torch.bool))[0]
    assert not torch.allclose(drawn, plain)


def test_bad_input():
    model = _swin()
    with pytest.raises(ValueError, match='not divisible by the patch size'):
        model(torch.randn(1, 3, 62, 64))
    with pytest.raises(ValueError, match=r'shape \[B, 256\]'):
        model(torch.randn(1, 3, 64, 64), torch.zeros(1, 64, dtype=torch.bool))
    with pytest.raises(ValueError, match='bool'):
        model(torch.randn(1, 3, 64, 64), torch.zeros(1, 256))
    no_token = _swin(use_mask_token=False)
    assert 'mask_token' not in no_token.state_dict()
    with pytest.raises(ValueError, match='no mask token'):
        no_token(torch.randn(2, 3, 64, 64), _mask())
