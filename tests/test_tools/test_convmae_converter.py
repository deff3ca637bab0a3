# Copyright (c) mmmim contributors. All rights reserved.
"""tools/model_converters/convmae_to_mmmim.py on small fake checkpoints
(the official-weight parity is in test_convmae_parity.py)."""

import argparse
import importlib.util
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]


def _converter():
    path = REPO / 'tools' / 'model_converters' / 'convmae_to_mmmim.py'
    spec = importlib.util.spec_from_file_location('convmae_to_mmmim', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _official(finetune: bool = False) -> dict:
    t = torch.zeros(1)
    keys = [
        'pos_embed',
        'patch_embed1.proj.weight',
        'patch_embed2.proj.weight',
        'patch_embed3.proj.weight',
        'patch_embed4.weight',
        'blocks1.0.attn.weight',
        'blocks2.0.conv1.weight',
        'blocks3.0.attn.qkv.weight',
    ]
    state = {k: t for k in keys}
    for stage, dims in zip((1, 2, 3), (8, 12, 16)):
        state[f'patch_embed{stage}.proj.weight'] = torch.zeros(dims, 3, 2, 2)
    state['pos_embed'] = torch.zeros(1, 4, 16)
    if finetune:
        state.update({'fc_norm.weight': t, 'head.weight': torch.zeros(5, 16)})
    else:
        state.update(
            {
                'stage1_output_decode.weight': t,
                'norm.weight': t,
                'mask_token': t,
                'decoder_pos_embed': t,
                'decoder_embed.weight': torch.zeros(4, 16),
                'decoder_blocks.1.mlp.fc1.weight': t,
            }
        )
    return state


def test_pretrain_and_finetune_keys():
    convert = _converter().convert
    converted, meta = convert(_official())
    assert meta['kind'] == 'pretrain'
    assert meta['arch']['embed_dims'] == [8, 12, 16]
    assert meta['arch']['decoder_num_layers'] == 2
    assert {
        'backbone.stage1_output_decode.weight',
        'backbone.norm.weight',
        'neck.mask_token',
        'neck.decoder_blocks.1.mlp.fc1.weight',
    } <= set(converted)
    converted, meta = convert(_official(finetune=True))
    assert meta['kind'] == 'finetune' and meta['arch']['num_classes'] == 5
    assert {'backbone.fc_norm.weight', 'head.fc.weight'} <= set(converted)


def test_cli_reads_args_namespace_safely(tmp_path):
    src, dst = tmp_path / 'convmae_base.pth', tmp_path / 'out.pth'
    torch.save(
        {'model': _official(), 'args': argparse.Namespace(blr=1.5e-4)}, src
    )
    _converter().main([str(src), str(dst)])
    out = torch.load(dst, weights_only=True)
    assert out['meta']['converted_from'] == 'convmae_base.pth'
    assert 'backbone.blocks3.0.attn.qkv.weight' in out['state_dict']


def test_bad_checkpoints_get_clear_errors():
    convert = _converter().convert
    with pytest.raises(ValueError, match='mae_to_mmmim'):
        convert({'patch_embed.proj.weight': torch.zeros(1)})
    with pytest.raises(ValueError, match='not a ConvMAE checkpoint'):
        convert({'patch_embed1.proj.weight': torch.zeros(1)})
    state = _official()
    state['rel_pos_bias.relative_position_bias_table'] = torch.zeros(1)
    with pytest.raises(KeyError, match='rel_pos_bias'):
        convert(state)
    state = _official(finetune=True)
    del state['fc_norm.weight']
    with pytest.raises(ValueError, match='global_pool'):
        convert(state)
