# Copyright (c) mmmim contributors. All rights reserved.
"""Official VideoMAE checkpoints (MCG-NJU/VideoMAE) to mmmim.

Two kinds are handled, stored under ``'model'`` or ``'module'``:

- pretraining checkpoints (``encoder.*``, ``encoder_to_decoder``,
  ``mask_token``, ``decoder.*``) -> ``backbone.*`` and ``neck.*`` for the
  ``configs/videomae`` pretraining models;
- fine-tuned checkpoints (``patch_embed``, ``blocks``, ``fc_norm``,
  ``head``) -> ``backbone.*`` and ``head.fc.*`` for the ``VideoClassifier``
  fine-tuning configs.

Position tables are fixed sinusoids that the models build, so they are
dropped. Block keys keep their names (``attn.q_bias``, ``attn.v_bias``).
"""

from typing import Dict, Tuple

from ..converter_utils import count_blocks, rename_keys

RULES = dict(
    pretrain=(
        (r'mask_token$', 'neck.mask_token'),
        (r'.*pos_embed$', None),  # a fixed sinusoid the model rebuilds
        (r'encoder\.(patch_embed|blocks|norm)\.', r'backbone.\1.'),
        (r'encoder_to_decoder\.', r'neck.\g<0>'),
        (r'decoder\.(blocks|norm|head)\.', r'neck.\1.'),
    ),
    finetune=(
        (r'.*pos_embed$', None),
        (r'(patch_embed|blocks|fc_norm|norm)\.', r'backbone.\g<0>'),
        (r'head\.', 'head.fc.'),
    ),
)


def _kind(state_dict: Dict, source: str) -> str:
    """``'pretrain'`` or ``'finetune'``; fail early on other methods."""
    if any(k.startswith('encoder.') for k in state_dict):
        return 'pretrain'
    proj = state_dict.get('patch_embed.proj.weight')
    if proj is None:
        raise ValueError(
            f'{source} is not a VideoMAE checkpoint: neither "encoder.*" '
            'nor "patch_embed.proj.weight" is present.'
        )
    if proj.dim() != 5:
        raise ValueError(
            f'{source} has a 2-D patch embedding {tuple(proj.shape)}: it is '
            'an image model (MAE/SimMIM/ConvMAE); use the converter of that '
            'method.'
        )
    return 'finetune'


def describe_arch(state_dict: Dict, kind: str) -> dict:
    """Infer the geometry of the checkpoint (recorded in the meta)."""
    prefix = 'encoder.' if kind == 'pretrain' else ''
    proj = state_dict[prefix + 'patch_embed.proj.weight']
    arch = dict(
        kind=kind,
        embed_dims=proj.shape[0],
        in_channels=proj.shape[1],
        tubelet_size=proj.shape[2],
        patch_size=proj.shape[-1],
        num_layers=count_blocks(state_dict, prefix + 'blocks.'),
        feedforward_channels=len(
            state_dict[prefix + 'blocks.0.mlp.fc1.weight']
        ),
    )
    if kind == 'pretrain':
        arch['decoder_embed_dims'] = state_dict['mask_token'].shape[-1]
        arch['decoder_num_layers'] = count_blocks(
            state_dict, 'decoder.blocks.'
        )
    elif 'head.weight' in state_dict:
        arch['num_classes'] = state_dict['head.weight'].shape[0]
    return arch


def convert(state_dict: Dict, source: str = 'checkpoint') -> Tuple[Dict, dict]:
    """Official VideoMAE weights -> (mmmim weights, meta: geometry)."""
    kind = _kind(state_dict, source)
    hint = f'Is this an official VideoMAE {kind} checkpoint?'
    converted = rename_keys(state_dict, RULES[kind], source, hint)
    return converted, dict(arch=describe_arch(state_dict, kind))


def summary(converted: Dict, meta: dict) -> str:
    return str(meta['arch'])
