# Copyright (c) mmmim contributors. All rights reserved.
"""tools/model_converters/simmim_to_mmmim.py beyond the parity tests:
patch-merging reordering, fine-tuning checkpoints, refusals."""

import importlib.util
import pickle
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from mmmim.models import SimMIMViT
from mmmim.utils.converters.simmim import (
    unfold_order_vector,
    unfold_order_weight,
)

REPO = Path(__file__).resolve().parents[2]
TINY = dict(embed_dims=32, num_layers=2, num_heads=4, feedforward_channels=64)


@pytest.fixture(scope='module')
def converter():
    path = REPO / 'tools' / 'model_converters' / 'simmim_to_mmmim.py'
    spec = importlib.util.spec_from_file_location('simmim_to_mmmim', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_patch_merging_reorder_matches_official():
    """Official concat(x0, x1, x2, x3) merging == mmcv's Unfold merging
    with the converted weights."""
    from mmcv.cnn.bricks.transformer import PatchMerging

    dims, h, w = 4, 4, 6
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, h * w, dims, generator=gen)
    weight = torch.randn(2 * dims, 4 * dims, generator=gen)
    norm_w = torch.randn(4 * dims, generator=gen)
    norm_b = torch.randn(4 * dims, generator=gen)
    grid = x.view(2, h, w, dims)
    merged = torch.cat(
        [
            grid[:, 0::2, 0::2],
            grid[:, 1::2, 0::2],
            grid[:, 0::2, 1::2],
            grid[:, 1::2, 1::2],
        ],
        -1,
    ).view(2, -1, 4 * dims)
    official = F.linear(
        F.layer_norm(merged, (4 * dims,), norm_w, norm_b), weight
    )
    ours = PatchMerging(dims, 2 * dims, norm_cfg=dict(type='LN'))
    ours.load_state_dict(
        {
            'reduction.weight': unfold_order_weight(weight),
            'norm.weight': unfold_order_vector(norm_w),
            'norm.bias': unfold_order_vector(norm_b),
        }
    )
    out, shape = ours(x, (h, w))
    assert shape == (2, 3)
    torch.testing.assert_close(out, official)


def _official_finetune_vit() -> dict:
    """Official fine-tuning keys of a tiny ViT (per-layer tables, mean
    pooling + fc_norm, a head)."""
    model = SimMIMViT(
        arch=TINY,
        img_size=32,
        patch_size=8,
        rel_pos_bias='per_layer',
        use_mask_token=False,
        out_type='avg_featmap',
        final_norm=False,
    )
    state = dict(model.state_dict())
    for i in range(2):  # the official checkpoint carries the index buffers
        state[f'blocks.{i}.attn.relative_position_index'] = torch.zeros(17, 17)
    state['head.weight'] = torch.randn(10, 32)
    state['head.bias'] = torch.randn(10)
    return state


def test_finetune_vit_checkpoint(converter):
    state = _official_finetune_vit()
    converted, meta = converter.convert(state)
    assert (meta['kind'], meta['stage']) == ('vit', 'finetune')
    assert meta['arch']['grid_size'] == 4 and meta['arch']['num_heads'] == 4
    assert (
        'head.fc.weight' in converted and 'backbone.fc_norm.bias' in converted
    )
    assert not any('relative_position_index' in k for k in converted)
    model = SimMIMViT(
        arch=TINY,
        img_size=32,
        patch_size=8,
        rel_pos_bias='per_layer',
        use_mask_token=False,
        out_type='avg_featmap',
        final_norm=False,
    )
    backbone = {
        k[len('backbone.') :]: v
        for k, v in converted.items()
        if k.startswith('backbone.')
    }
    model.load_state_dict(backbone, strict=True)


def test_cli_writes_tensor_only_file(converter, tmp_path):
    src, dst = tmp_path / 'ft.pth', tmp_path / 'out.pth'
    torch.save({'model': _official_finetune_vit(), 'max_accuracy': 83.8}, src)
    converter.main([str(src), str(dst)])
    out = torch.load(dst, weights_only=True)
    assert out['meta']['converted_from'] == 'ft.pth'
    assert set(out) == {'state_dict', 'meta'}


def test_pickled_training_state_needs_trust(converter, tmp_path):
    src = tmp_path / 'pickled.pth'
    torch.save({'model': {}, 'config': _Config()}, src)
    with pytest.raises(pickle.UnpicklingError, match='--trust'):
        converter.main([str(src), str(tmp_path / 'out.pth')])


class _Config:
    """Stands in for the official yacs config object."""


@pytest.mark.parametrize(
    'state, match',
    [
        ({'blocks.0.attn.qkv.weight': torch.zeros(3, 1)}, 'MAE checkpoint'),
        (
            {'encoder.patch_embed.proj.weight': torch.zeros(1, 3, 2, 2, 2)},
            'VideoMAE',
        ),
        ({'patch_embed1.proj.weight': torch.zeros(1)}, 'ConvMAE'),
        ({'fc.weight': torch.zeros(1)}, 'not a SimMIM checkpoint'),
    ],
)
def test_other_methods_are_refused(converter, state, match):
    with pytest.raises(ValueError, match=match):
        converter.convert(state)


def test_unknown_keys_are_named(converter):
    state = _official_finetune_vit()
    state['blocks.0.attn.extra'] = torch.zeros(1)
    state['dist_token'] = torch.zeros(1)
    with pytest.raises(
        KeyError,
        match=r'2 unexpected key\(s\): blocks.0.attn.extra, dist_token',
    ):
        converter.convert(state)
