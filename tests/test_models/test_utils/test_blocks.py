# Copyright (c) mmmim contributors. All rights reserved.
import pytest
import torch
import torch.nn as nn
from torch.utils.checkpoint import checkpoint

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


@pytest.mark.parametrize('family', ['vit', 'qv_bias', 'window'])
def test_one_checkpoint_helper_serves_every_block_family(family, monkeypatch):
    """apply_block checkpoints each family with its extra arguments (same
    values and gradients) and skips blocks that backward never reaches."""
    from mmmim.models.utils import build_qv_bias_blocks, build_window_blocks

    torch.manual_seed(0)
    if family == 'vit':
        block, shape, args = build_vit_blocks(1, 16, 2, 32)[0], (2, 5), ()
    elif family == 'qv_bias':
        block = build_qv_bias_blocks(1, 16, 2, layer_scale_init_value=0.1)[0]
        shape, args = (2, 5), (torch.randn(2, 5, 5),)
    else:
        block = build_window_blocks(1, 16, 2, 32)[0]
        shape, args = (1, 4, 4), (2, None)
    x = torch.randn(*shape, 16)
    from mmmim.models.utils import blocks as blocks_module

    calls = []

    def counting_checkpoint(*args, **kwargs):
        calls.append(1)
        return checkpoint(*args, **kwargs)

    monkeypatch.setattr(blocks_module, 'checkpoint', counting_checkpoint)
    outputs, grads = [], []
    for with_cp in (False, True):
        block.zero_grad()
        y = apply_block(block, x, with_cp, *args)
        y.square().sum().backward()
        outputs.append(y.detach())
        grads.append([p.grad.clone() for p in block.parameters()])
    assert len(calls) == 1  # only the with_cp run was checkpointed
    torch.testing.assert_close(outputs[0], outputs[1])
    for plain, ckpt in zip(*grads):
        torch.testing.assert_close(plain, ckpt)
    # A frozen block on an input without grad is not checkpointed (nothing
    # to recompute for); with an input that needs grad it is.
    block.requires_grad_(False)
    apply_block(block, x, True, *args)
    assert len(calls) == 1
    apply_block(block, x.clone().requires_grad_(), True, *args)
    assert len(calls) == 2
