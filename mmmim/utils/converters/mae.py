# Copyright (c) mmmim contributors. All rights reserved.
"""Official MAE checkpoints (facebookresearch/mae) to mmmim.

Handles the pretraining checkpoints with the decoder (``{'model': ...}``,
e.g. ``mae_visualize_vit_large.pth`` or ``*_full.pth``) and the encoder-only
ones (``mae_pretrain_vit_base.pth``). The result has ``backbone.*`` and
``neck.*`` keys for the ``configs/mae`` models; an encoder-only file yields
``backbone.*`` only.
"""

from typing import Dict, Tuple

from ..converter_utils import count_blocks, rename_keys

#: The decoder of MAE and ConvMAE.
DECODER_RULE = (
    r'(mask_token|decoder_pos_embed)$|decoder_(embed|blocks|norm|pred)\.',
    r'neck.\g<0>',
)
RULES = (
    (r'(cls_token|pos_embed)$|(patch_embed|blocks|norm)\.', r'backbone.\g<0>'),
    DECODER_RULE,
)


def _check_is_mae(state_dict: Dict, source: str) -> None:
    """Fail early, with the reason, on checkpoints of other methods."""
    if any(k.startswith(('patch_embed1.', 'blocks1.')) for k in state_dict):
        raise ValueError(
            f'{source} looks like a ConvMAE checkpoint; use '
            'tools/model_converters/convmae_to_mmmim.py.'
        )
    if any(k.startswith('encoder.') for k in state_dict):
        raise ValueError(
            f'{source} looks like a VideoMAE checkpoint; use '
            'tools/model_converters/videomae_to_mmmim.py.'
        )
    if 'head.weight' in state_dict or 'fc_norm.weight' in state_dict:
        raise ValueError(
            f'{source} is a fine-tuned classification checkpoint (it has '
            '"head"/"fc_norm"); this converter takes MAE pretraining '
            'checkpoints.'
        )
    if (
        'patch_embed.proj.weight' not in state_dict
        or 'blocks.0.attn.qkv.weight' not in state_dict
    ):
        raise ValueError(
            f'{source} is not an MAE ViT checkpoint: '
            '"patch_embed.proj.weight" or '
            '"blocks.0.attn.qkv.weight" is missing.'
        )


def describe_arch(state_dict: Dict) -> dict:
    """Infer the geometry of the checkpoint (recorded in the meta)."""
    proj = state_dict['patch_embed.proj.weight']
    arch = dict(
        embed_dims=proj.shape[0],
        in_channels=proj.shape[1],
        patch_size=proj.shape[-1],
        num_layers=count_blocks(state_dict, 'blocks.'),
        feedforward_channels=state_dict['blocks.0.mlp.fc1.weight'].shape[0],
    )
    if 'pos_embed' in state_dict:  # the cls row is not a patch
        arch['num_patches'] = state_dict['pos_embed'].shape[1] - 1
    if 'decoder_embed.weight' in state_dict:
        arch['decoder_embed_dims'] = len(state_dict['decoder_embed.weight'])
        arch['decoder_num_layers'] = count_blocks(
            state_dict, 'decoder_blocks.'
        )
    return arch


def convert(state_dict: Dict, source: str = 'checkpoint') -> Tuple[Dict, dict]:
    """Official MAE weights -> (mmmim weights, meta: geometry)."""
    _check_is_mae(state_dict, source)
    hint = 'Is this an official MAE pretraining checkpoint?'
    converted = rename_keys(state_dict, RULES, source, hint)
    return converted, dict(arch=describe_arch(state_dict))


def summary(converted: Dict, meta: dict) -> str:
    decoder = any(k.startswith('neck.') for k in converted)
    parts = 'encoder + decoder' if decoder else 'encoder only'
    return f'{parts}, {meta["arch"]}'
