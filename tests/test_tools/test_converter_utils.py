# Copyright (c) mmmim contributors. All rights reserved.
"""The shared converter helper: rename rules, the in-memory API and the
command line's refusal to overwrite its source."""

import pytest
import torch

from mmmim.utils.converter_utils import rename_keys, run_converter
from mmmim.utils.converters import CONVERTERS, convert_state_dict, mae


def test_first_matching_rule_renames_the_matched_part():
    rules = (
        (r'.*_index$', None),
        (r'enc\.(blocks)\.', r'backbone.\1.'),
        (r'enc\.', 'backbone.other.'),
    )
    state = {k: torch.zeros(1) for k in ('enc.blocks.0.w', 'enc.x', 'a_index')}
    out = rename_keys(state, rules)
    assert list(out) == ['backbone.blocks.0.w', 'backbone.other.x']
    assert out['backbone.other.x'] is not state['enc.x']  # copies
    with pytest.raises(KeyError, match=r'2 unexpected key\(s\): b, c. Hint'):
        rename_keys(
            {'b': torch.zeros(1), 'c': torch.zeros(1)}, rules, 'x', 'Hint'
        )


def _mae_state() -> dict:
    shapes = {
        'patch_embed.proj.weight': (8, 3, 4, 4),
        'blocks.0.attn.qkv.weight': (24, 8),
        'blocks.0.mlp.fc1.weight': (32, 8),
        'norm.weight': (8,),
        'decoder_embed.weight': (6, 8),
        'decoder_blocks.0.norm1.weight': (6,),
        'mask_token': (1, 1, 6),
    }
    return {k: torch.randn(s) for k, s in shapes.items()}


def test_convert_state_dict_in_memory():
    assert set(CONVERTERS) == {'mae', 'simmim', 'convmae', 'videomae'}
    state = _mae_state()
    out = convert_state_dict({'model': state, 'epoch': 3}, 'mae')
    assert list(out) == list(mae.convert(state)[0])
    assert torch.equal(out['neck.mask_token'], state['mask_token'])
    assert 'backbone.blocks.0.attn.qkv.weight' in out
    with pytest.raises(KeyError, match='no converter'):
        convert_state_dict(state, 'beit')


def test_cli_refuses_to_overwrite_its_source(tmp_path):
    src = tmp_path / 'official.pth'
    torch.save({'model': _mae_state()}, src)
    with pytest.raises(SystemExit):
        run_converter(mae, 'doc', [str(src), str(tmp_path / '.' / src.name)])
    assert set(torch.load(src, weights_only=True)) == {'model'}
    run_converter(mae, 'doc', [str(src), str(tmp_path / 'out.pth')])
    assert not list(tmp_path.glob('*.partial'))
