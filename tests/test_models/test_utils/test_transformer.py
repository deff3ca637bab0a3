# Copyright (c) mmmim contributors. All rights reserved.
import pytest
import torch
import torch.nn as nn

from mmmim.models.utils import (
    apply_block,
    build_norm_layer_cls,
    build_vit_blocks,
    grid_of,
    init_vit_weights,
    parse_arch,
    parse_out_indices,
)


def test_blocks_have_official_names_and_exact_mlp_width():
    blocks = build_vit_blocks(2, 48, 4, 100, drop_path_rate=0.1)
    assert len(blocks) == 2
    names = {n for n, _ in blocks[0].named_parameters()}
    for name in (
        'norm1.weight',
        'attn.qkv.weight',
        'attn.qkv.bias',
        'attn.proj.weight',
        'norm2.weight',
        'mlp.fc1.weight',
        'mlp.fc2.bias',
    ):
        assert name in names
    assert blocks[0].mlp.fc1.out_features == 100  # 100 / 48 is not exact
    assert blocks[0].norm1.eps == 1e-6
    assert blocks[1].drop_path1.drop_prob == pytest.approx(0.1)


def test_norm_cfg():
    norm = build_norm_layer_cls(dict(type='LN', eps=1e-5))(8)
    assert isinstance(norm, nn.LayerNorm) and norm.eps == 1e-5
    with pytest.raises(ValueError, match='unsupported norm'):
        build_norm_layer_cls(dict(type='BN'))


def test_checkpointing_gives_same_values_and_grads():
    block = build_vit_blocks(1, 32, 4, 64)[0]
    x = torch.randn(2, 5, 32, requires_grad=True)
    y1 = apply_block(block, x, with_cp=False)
    (g1,) = torch.autograd.grad(y1.sum(), x)
    y2 = apply_block(block, x, with_cp=True)
    (g2,) = torch.autograd.grad(y2.sum(), x)
    torch.testing.assert_close(y1, y2)
    torch.testing.assert_close(g1, g2)


def test_init_vit_weights():
    linear, norm = nn.Linear(8, 4), nn.LayerNorm(4)
    nn.init.constant_(norm.weight, 3.0)
    linear.apply(init_vit_weights)
    norm.apply(init_vit_weights)
    assert torch.all(linear.bias == 0)
    assert linear.weight.abs().max() <= (6 / 12) ** 0.5
    assert torch.all(norm.weight == 1) and torch.all(norm.bias == 0)


def test_backbone_args():
    zoo = dict(
        b=dict(
            embed_dims=8, num_layers=2, num_heads=2, feedforward_channels=16
        )
    )
    assert parse_arch('B', zoo, 'X')['embed_dims'] == 8
    with pytest.raises(KeyError, match="unknown X arch 'q'"):
        parse_arch('q', zoo, 'X')
    assert parse_out_indices(-1, 4) == (3,)
    assert parse_out_indices((0, -2), 4) == (0, 2)
    with pytest.raises(ValueError, match='out of range'):
        parse_out_indices(-5, 4)
    assert grid_of(32, 8) == (4, 4) and grid_of((16, 32), 8) == (2, 4)
    with pytest.raises(ValueError, match='not divisible'):
        grid_of((16, 30), 8)


def test_vit_layer_depth_follows_the_official_ids():
    from mmmim.models.utils import vit_layer_depth

    depth = lambda name: vit_layer_depth(name, 'backbone.', 12)  # noqa: E731
    assert depth('backbone.cls_token') == (0, 14)
    assert depth('backbone.patch_embed.proj.weight') == (0, 14)
    assert depth('backbone.blocks.0.attn.qkv.weight') == (1, 14)
    assert depth('backbone.blocks.11.mlp.fc2.bias') == (12, 14)
    assert depth('backbone.fc_norm.weight') == (13, 14)
    assert depth('head.fc.weight') == (13, 14)
