# Copyright (c) mmmim contributors. All rights reserved.
"""ConvViT: E1-E4, windowed / global attention, any input size."""

import copy

import pytest
import torch
from mmengine.registry import DefaultScope

from mmmim.models import ConvMAEViT, ConvViT
from mmmim.models.utils.blocks import window_partition, window_unpartition
from mmmim.models.utils.grid_rel_pos_bias import GridRelPosBias

TINY = dict(embed_dims=(16, 24, 32), num_layers=(1, 1, 4), num_heads=4)


def _convvit(**kwargs) -> ConvViT:
    cfg = dict(arch=dict(TINY), img_size=64, window_size=4)
    cfg.update(global_attn_indexes=(0, 2))
    cfg.update(kwargs)
    model = ConvViT(**cfg)
    model.init_weights()
    return model.eval()


def _randomise_biases(model: ConvViT) -> None:
    with torch.no_grad():
        for name in ('windowed_rel_pos_bias', 'global_rel_pos_bias'):
            if hasattr(model, name):
                table = getattr(model, name).relative_position_bias_table
                table.normal_(std=0.5)


@pytest.mark.parametrize(
    'size', [(1024, 1024), (800, 1216), (64, 64), (48, 80)]
)
def test_four_maps_at_any_size(size):
    # One global and one windowed block keep 1024 px cheap.
    arch = dict(TINY, num_layers=(1, 1, 2))
    model = _convvit(arch=arch, global_attn_indexes=(0,))
    _randomise_biases(model)
    h, w = size
    with torch.no_grad():
        outs = model(torch.randn(1, 3, h, w))
    shapes = [tuple(out.shape) for out in outs]
    assert shapes == [
        (1, 16, h // 4, w // 4),
        (1, 24, h // 8, w // 8),
        (1, 32, h // 16, w // 16),
        (1, 32, h // 32, w // 32),
    ]
    assert all(torch.isfinite(out).all() for out in outs)
    # E4 is a 2x2 max-pool of E3.
    e3, e4 = outs[2], outs[3]
    torch.testing.assert_close(e4, torch.nn.functional.max_pool2d(e3, 2))


def test_base_outputs_e1_to_e4_channels_and_strides():
    model = ConvViT(arch='b', img_size=1024)
    assert model.embed_dims == (256, 384, 768)
    assert model.global_attn_indexes == (0, 3, 6, 10)
    assert model.window_size == 16
    assert model.global_rel_pos_bias.grid == (64, 64)
    table = model.global_rel_pos_bias.relative_position_bias_table
    assert table.shape == (127 * 127, 12)
    windowed = model.windowed_rel_pos_bias.relative_position_bias_table
    assert windowed.shape == (31 * 31, 12)
    assert model.pos_embed.shape == (1, 64 * 64, 768)


def test_windowed_blocks_do_not_mix_windows():
    """With every block windowed, a patch far from a window cannot affect
    it; one global block makes it reach everywhere."""
    x = torch.randn(1, 3, 256, 256)
    noisy = x.clone()
    noisy[..., :16, :16] += 3.0  # the top-left 16-pixel patch
    outs = {}
    arch = dict(TINY, num_layers=(1, 1, 2))
    for global_indexes in [(), (1,)]:
        model = _convvit(arch=arch, global_attn_indexes=global_indexes)
        _randomise_biases(model)
        with torch.no_grad():
            e3 = model(x)[2]
            e3_noisy = model(noisy)[2]
        # Windows of 4 x 4 tokens = 64 pixels; the bottom-right window.
        outs[global_indexes] = (e3[..., 12:, 12:], e3_noisy[..., 12:, 12:])
    far, far_noisy = outs[()]
    torch.testing.assert_close(far_noisy, far, rtol=0, atol=1e-6)
    far, far_noisy = outs[(1,)]
    assert not torch.allclose(far_noisy, far, atol=1e-4)


def test_global_indexes_and_window_are_config_values():
    model = _convvit(global_attn_indexes=(1, -1))
    assert model.global_attn_indexes == (1, 3)
    model = _convvit(window_size=None, use_rel_pos_bias=False)
    assert model.global_attn_indexes == (0, 1, 2, 3)
    assert not hasattr(model, 'windowed_rel_pos_bias')
    assert not hasattr(model, 'global_rel_pos_bias')
    with pytest.raises(ValueError, match='out of range for 4'):
        _convvit(global_attn_indexes=(0, 3, 6, 10))


def test_rel_pos_bias_layout_matches_the_beit_index():
    bias = GridRelPosBias((3, 5), num_heads=2)
    with torch.no_grad():
        bias.relative_position_bias_table.normal_()
    coords = torch.stack(
        torch.meshgrid(torch.arange(3), torch.arange(5), indexing='ij')
    ).flatten(1)
    rel = coords[:, :, None] - coords[:, None, :]
    index = (rel[0] + 2) * (2 * 5 - 1) + (rel[1] + 4)
    table = bias.relative_position_bias_table
    expected = table[index.flatten()].reshape(15, 15, 2).permute(2, 0, 1)
    torch.testing.assert_close(bias(), expected)
    # Another grid resizes the table; the same grid gives the table back.
    assert bias((4, 6)).shape == (2, 24, 24)


def test_window_partition_round_trip_with_padding():
    x = torch.randn(2, 5, 7, 3)
    windows, padded = window_partition(x, 4)
    assert padded == (8, 8) and windows.shape == (2 * 4, 16, 3)
    # Window (0, 1) of image 0 holds rows 0-3, columns 4-7 (zero-padded).
    assert torch.equal(windows[1].reshape(4, 4, 3)[:, :3], x[0, :4, 4:7])
    assert windows[1].reshape(4, 4, 3)[:, 3].abs().sum() == 0
    assert torch.equal(window_unpartition(windows, 4, padded, (5, 7)), x)


def test_pretrained_encoder_loads_with_resized_pos_embed():
    encoder = ConvMAEViT(arch=dict(TINY), img_size=64)  # 4 x 4 table
    state = {
        k: v
        for k, v in encoder.state_dict().items()
        if not k.startswith(('stage', 'norm.'))
    }
    model = _convvit(img_size=128)  # 8 x 8 table
    result = model.load_state_dict(state, strict=False)
    assert set(result.missing_keys) == {
        'windowed_rel_pos_bias.relative_position_bias_table',
        'global_rel_pos_bias.relative_position_bias_table',
    }
    assert not result.unexpected_keys
    assert model.pos_embed.shape == (1, 64, 32)
    assert torch.equal(
        model.patch_embed1.proj.weight, state['patch_embed1.proj.weight']
    )
    # A bias table of another size is resized when loaded.
    other = _convvit(img_size=64).state_dict()
    model.load_state_dict(other, strict=True)
    assert model.global_rel_pos_bias.relative_position_bias_table.shape == (
        15 * 15,
        4,
    )


def test_avg_featmap_for_classification():
    model = _convvit(
        out_type='avg_featmap', out_indices=(2,), window_size=None
    )
    (pooled,) = model(torch.randn(2, 3, 64, 64))
    assert pooled.shape == (2, 32)
    assert model.fc_norm.eps == 1e-6
    with pytest.raises(ValueError, match='out_indices=\\(2,\\)'):
        _convvit(out_type='avg_featmap')


def test_frozen_stages_checkpointing_and_channels_last():
    model = _convvit(frozen_stages=2, drop_path_rate=0.1).train()
    assert not model.blocks2[0].conv1.weight.requires_grad
    assert not model.patch_embed1.training
    assert model.blocks3[0].attn.qkv.weight.requires_grad
    assert model.pos_embed.requires_grad is False
    model = _convvit(frozen_stages=3)
    table = model.global_rel_pos_bias.relative_position_bias_table
    assert not table.requires_grad

    torch.manual_seed(0)
    ref = _convvit(pos_embed_trainable=True).train()
    _randomise_biases(ref)
    fast = _convvit(pos_embed_trainable=True, with_cp=True, channels_last=True)
    fast.load_state_dict(ref.state_dict())
    fast.train()
    x = torch.randn(2, 3, 64, 80)
    outs_ref, outs_fast = ref(x), fast(x)
    assert outs_fast[0].is_contiguous(memory_format=torch.channels_last)
    for a, b in zip(outs_ref, outs_fast):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)
    sum(o.square().sum() for o in outs_ref).backward()
    sum(o.square().sum() for o in outs_fast).backward()
    for a, b in zip(ref.parameters(), fast.parameters()):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-4, atol=1e-4)


def test_layer_depth_follows_the_official_ids():
    model = ConvViT(arch='b', out_type='avg_featmap', out_indices=(2,))
    depth = model.get_layer_depth
    for name in (
        'pos_embed',
        'patch_embed1.proj.weight',
        'patch_embed4.bias',
        'blocks1.1.attn.weight',
        'blocks2.0.mlp.fc1.weight',
    ):
        assert depth('backbone.' + name, 'backbone.') == (0, 13), name
    assert depth('backbone.blocks3.0.norm1.weight', 'backbone.') == (1, 13)
    assert depth('backbone.blocks3.10.mlp.fc2.bias', 'backbone.') == (11, 13)
    assert depth('backbone.fc_norm.weight', 'backbone.') == (12, 13)
    assert depth('head.fc.weight', 'backbone.') == (12, 13)


def test_layer_decay_constructor_uses_the_official_scales():
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.models import ImageClassifier  # noqa: F401

    from mmmim.registry import MODELS

    arch = dict(TINY)
    classifier = MODELS.build(
        dict(
            type='mmpretrain.ImageClassifier',
            # Nested defaults (ClsDataPreprocessor) resolve in mmpretrain.
            _scope_='mmpretrain',
            backbone=dict(
                type='mmmim.ConvViT',
                arch=arch,
                img_size=64,
                out_type='avg_featmap',
                out_indices=(2,),
                window_size=None,
            ),
            head=dict(
                type='mmpretrain.LinearClsHead', num_classes=3, in_channels=32
            ),
        )
    )
    wrapper = build_optim_wrapper(
        classifier,
        dict(
            optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.05),
            constructor='mmpretrain.LearningRateDecayOptimWrapperConstructor',
            paramwise_cfg=dict(layer_decay_rate=0.5),
        ),
    )
    lrs = {}
    named = {id(p): n for n, p in classifier.named_parameters()}
    for group in wrapper.optimizer.param_groups:
        for param in group['params']:
            lrs[named[id(param)]] = group['lr']
    # num_layers = 4 stage-3 blocks + 1: scale 0.5 ** (5 - layer_id).
    assert lrs['backbone.blocks1.0.conv1.weight'] == 0.5**5
    assert lrs['backbone.blocks3.0.attn.qkv.weight'] == 0.5**4
    assert lrs['backbone.blocks3.3.attn.qkv.weight'] == 0.5**1
    assert lrs['head.fc.weight'] == 1.0


@pytest.mark.parametrize('scope', ['mmdet', 'mmpretrain'])
def test_builds_from_a_foreign_scope(scope):
    from mmengine.registry import MODELS

    cfg = dict(
        type='mmmim.ConvViT',
        arch=dict(TINY),
        img_size=64,
        window_size=4,
        global_attn_indexes=(0,),
    )
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(copy.deepcopy(cfg))
    assert type(model).__name__ == 'ConvViT'


def test_bad_input_gives_clear_errors():
    model = _convvit()
    with pytest.raises(ValueError, match='does not mask'):
        model(torch.randn(1, 3, 64, 64), torch.zeros(1, 16, dtype=torch.bool))
    with pytest.raises(ValueError, match='not divisible by patch_size 16'):
        model(torch.randn(1, 3, 64, 72))
    with pytest.raises(ValueError, match='E1-E4'):
        _convvit(out_indices=(0, 4))
    with pytest.raises(ValueError, match='unknown out_type'):
        _convvit(out_type='cls_token')
    with pytest.raises(ValueError, match='frozen_stages'):
        _convvit(frozen_stages=4)
    with pytest.raises(ValueError, match='window_size'):
        _convvit(window_size=0)


def test_feeds_an_mmdet_fpn():
    from mmdet.registry import MODELS as MMDET_MODELS

    with DefaultScope.overwrite_default_scope('mmdet'):
        backbone = MMDET_MODELS.build(
            dict(
                type='mmmim.ConvViT',
                arch=dict(TINY),
                img_size=64,
                window_size=4,
                global_attn_indexes=(0,),
            )
        )
        fpn = MMDET_MODELS.build(
            dict(
                type='FPN',
                in_channels=[16, 24, 32, 32],
                out_channels=8,
                num_outs=5,
            )
        )
    with torch.no_grad():
        feats = fpn(backbone(torch.randn(1, 3, 128, 96)))
    sizes = [tuple(f.shape[-2:]) for f in feats]
    assert sizes == [(32, 24), (16, 12), (8, 6), (4, 3), (2, 2)]


def test_exact_sincos_pos_embed_flag():
    from mmmim.models.utils import build_2d_sincos_pos_embed

    model = _convvit(exact_sincos_pos_embed=True)
    with torch.no_grad():
        model.pos_embed.normal_()  # ignored
    assert torch.equal(
        model.pos_embed_for((5, 7)), build_2d_sincos_pos_embed((5, 7), 32)
    )
    default = _convvit()
    resized = default.pos_embed_for((5, 7))
    assert not torch.allclose(resized, build_2d_sincos_pos_embed((5, 7), 32))
    with pytest.raises(ValueError, match='exact_sincos_pos_embed'):
        _convvit(exact_sincos_pos_embed=True, pos_embed_trainable=True)
