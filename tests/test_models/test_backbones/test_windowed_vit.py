# Copyright (c) mmmim contributors. All rights reserved.
"""WindowedViT: windowed and global blocks, no cls token."""

import pytest
import torch

from mmmim.models import MAEViT, WindowedViT

TINY = dict(embed_dims=32, num_layers=3, num_heads=4, feedforward_channels=64)


def window_vit(**kwargs) -> WindowedViT:
    cfg = dict(
        arch=dict(TINY),
        img_size=64,
        patch_size=8,
        out_indices=(1, 2),
        window_size=3,
        global_attn_indexes=(1,),
    )
    cfg.update(kwargs)
    model = WindowedViT(**cfg)
    model.init_weights()
    return model.eval()


def test_shapes_any_size_and_grads():
    model = window_vit(use_rel_pos_bias=True)
    outs = model(torch.randn(2, 3, 64, 72))  # 8 x 9 grid, padded windows
    assert [tuple(o.shape) for o in outs] == [(2, 32, 8, 9)] * 2
    assert not hasattr(model, 'cls_token')
    model.train()
    sum(o.sum() for o in model(torch.randn(1, 3, 64, 64))).backward()
    table = model.rel_pos_bias.windowed.relative_position_bias_table
    assert table.grad is not None and table.shape == (25, 4)
    assert 'relative_position_bias_table' in model.no_weight_decay()


def test_global_blocks_equal_the_plain_vit_without_cls():
    """WindowBlock == timm Block: with every block global, the windowed
    model on plain-ViT weights reproduces the plain blocks on the patch
    tokens (no cls token)."""
    plain = MAEViT(
        arch=dict(TINY), img_size=32, patch_size=8, mask_generator=None
    )
    plain.init_weights()
    plain.eval()
    model = window_vit(img_size=32, global_attn_indexes=(0, 1, 2))
    result = model.load_state_dict(plain.state_dict(), strict=False)
    assert result.unexpected_keys == ['cls_token']
    assert not result.missing_keys
    x = torch.randn(2, 3, 32, 32)
    tokens, _ = plain.patch_embed(x)
    tokens = tokens + plain.pos_embed[:, 1:]
    for block in plain.blocks:
        tokens = block(tokens)
    tokens = plain.norm(tokens)
    expected = tokens.transpose(1, 2).reshape(2, 32, 4, 4)
    with torch.no_grad():
        torch.testing.assert_close(model(x)[-1], expected)


def test_windows_are_local():
    """Only the window of a changed patch changes in a windowed block."""
    model = window_vit(out_indices=(0,), window_size=2, global_attn_indexes=())
    x = torch.randn(1, 3, 32, 32)
    y = x.clone()
    y[..., :8, :8] += 1.0  # patch (0, 0), in window (0, 0)
    with torch.no_grad():
        diff = (model(x)[0] - model(y)[0]).abs().sum(1)[0]
    assert diff[:2, :2].min() > 0
    assert diff[2:].max() == 0 and diff[:, 2:].max() == 0


def test_zero_bias_tables_and_checkpointing_do_not_change_outputs():
    torch.manual_seed(0)
    model = window_vit(use_rel_pos_bias=True)
    plain = window_vit()
    plain.load_state_dict(model.state_dict(), strict=False)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), plain(x))
    # Checkpointing changes the backward pass only: same gradients.
    model.train()
    grads = []
    for with_cp in (True, False):
        model.with_cp = with_cp
        model.zero_grad()
        model(x)[0].square().sum().backward()
        grads.append(
            [
                None if p.grad is None else p.grad.clone()
                for p in model.parameters()
            ]
        )
    assert any(g is not None for g in grads[1])
    for with_cp_grad, plain_grad in zip(*grads):
        assert (with_cp_grad is None) == (plain_grad is None)
        if plain_grad is not None:
            torch.testing.assert_close(with_cp_grad, plain_grad)


def test_window_mode_refuses_a_mask():
    model = window_vit()
    with pytest.raises(ValueError, match='cannot take a mask'):
        model(torch.zeros(1, 3, 64, 64), torch.zeros(1, 64, dtype=torch.bool))


@pytest.mark.parametrize(
    'kwargs, error, match',
    [
        (dict(window_size=0), ValueError, 'window_size'),
        (dict(window_size=None), ValueError, 'use MAEViT'),
        (dict(global_attn_indexes=(3,)), ValueError, 'out of range'),
        # The pre-training options are not arguments of the dense backbone.
        (dict(mask_generator=None), ValueError, 'use MAEViT for masked'),
        (dict(out_type='cls_token'), ValueError, r"no \['out_type'\]"),
    ],
)
def test_invalid_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        window_vit(**kwargs)
