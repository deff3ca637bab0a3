# Copyright (c) mmmim contributors. All rights reserved.
"""Official ConvMAE checkpoints (Alpha-VL/ConvMAE) to mmmim.

Handles the checkpoints of ``main_pretrain.py`` (``{'model': ..., 'args':
Namespace, ...}``, encoder + decoder) and of ``main_finetune.py`` /
``main_linprobe.py`` (the global-pool ``ConvViT`` classifier). Output:

* pre-training: ``backbone.*`` (``ConvMAEViT``; ``ConvViT`` loads the same
  keys, ignoring ``stage*_output_decode`` and ``norm``) and ``neck.*``
  (``ConvMAEDecoder``);
* fine-tuning: ``backbone.*`` (``ConvViT`` with ``out_type='avg_featmap'``,
  incl. ``fc_norm``) and ``head.fc.*`` (mmpretrain ``LinearClsHead``).
"""

from typing import Dict, Tuple

from ..converter_utils import count_blocks, rename_keys
from .mae import DECODER_RULE

ENCODER = r'patch_embed[1-4]|blocks[1-3]|stage[12]_output_decode|(fc_)?norm'
RULES = (
    (rf'pos_embed$|({ENCODER})\.', r'backbone.\g<0>'),
    DECODER_RULE,
    (r'head\.', 'head.fc.'),
)


def checkpoint_kind(state_dict: Dict, source: str) -> str:
    """``'pretrain'`` or ``'finetune'``; fail early on other checkpoints."""
    if 'patch_embed.proj.weight' in state_dict:
        raise ValueError(
            f'{source} looks like an MAE/ViT checkpoint; use '
            'tools/model_converters/mae_to_mmmim.py.'
        )
    if 'patch_embed1.proj.weight' not in state_dict or not any(
        k.startswith('blocks3.') for k in state_dict
    ):
        raise ValueError(
            f'{source} is not a ConvMAE checkpoint: "patch_embed1.proj.'
            'weight" or "blocks3.*" is missing (detectron2 ConvViTDet '
            'checkpoints are not supported).'
        )
    if 'head.weight' in state_dict or 'fc_norm.weight' in state_dict:
        if 'fc_norm.weight' not in state_dict:
            raise ValueError(
                f'{source} is a fine-tuned checkpoint without global '
                'pooling (global_pool=False); the official classifier then '
                'reads x[:, 0], a patch token, which ConvViT does not '
                'reproduce. Fine-tune with the default global pooling.'
            )
        return 'finetune'
    return 'pretrain'


def describe_arch(state_dict: Dict) -> dict:
    """Infer the geometry of the checkpoint (recorded in the meta)."""
    projs = [state_dict[f'patch_embed{i}.proj.weight'] for i in (1, 2, 3)]
    arch = dict(
        embed_dims=[proj.shape[0] for proj in projs],
        num_layers=[
            count_blocks(state_dict, f'blocks{i}.') for i in (1, 2, 3)
        ],
        patch_sizes=[proj.shape[-1] for proj in projs],
    )
    if 'pos_embed' in state_dict:
        arch['num_patches'] = state_dict['pos_embed'].shape[1]
    if 'decoder_embed.weight' in state_dict:
        arch['decoder_embed_dims'] = len(state_dict['decoder_embed.weight'])
        arch['decoder_num_layers'] = count_blocks(
            state_dict, 'decoder_blocks.'
        )
    if 'head.weight' in state_dict:
        arch['num_classes'] = state_dict['head.weight'].shape[0]
    return arch


def convert(state_dict: Dict, source: str = 'checkpoint') -> Tuple[Dict, dict]:
    """Official ConvMAE weights -> (mmmim weights, meta: kind, geometry)."""
    kind = checkpoint_kind(state_dict, source)
    hint = 'Is this an official ConvMAE checkpoint?'
    converted = rename_keys(state_dict, RULES, source, hint)
    return converted, dict(kind=kind, arch=describe_arch(state_dict))


def summary(converted: Dict, meta: dict) -> str:
    return f'{meta["kind"]}, {meta["arch"]}'
