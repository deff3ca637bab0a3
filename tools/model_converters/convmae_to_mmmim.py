# Copyright (c) mmmim contributors. All rights reserved.
"""Convert an official ConvMAE checkpoint (Alpha-VL/ConvMAE) to mmmim.

Handles the checkpoints of ``main_pretrain.py`` (``{'model': ..., 'args':
Namespace, ...}``, encoder + decoder) and of ``main_finetune.py`` /
``main_linprobe.py`` (the global-pool ``ConvViT`` classifier). Output:

* pre-training: ``backbone.*`` (``ConvMAEViT``; ``ConvViT`` loads the same
  keys, ignoring ``stage*_output_decode`` and ``norm``) and ``neck.*``
  (``ConvMAEDecoder``);
* fine-tuning: ``backbone.*`` (``ConvViT`` with ``out_type='avg_featmap'``,
  incl. ``fc_norm``) and ``head.fc.*`` (mmpretrain ``LinearClsHead``).

The result is ``{'state_dict': ..., 'meta': {...}}``; keys the converter
does not know are an error that names them.

Usage::

    python tools/model_converters/convmae_to_mmmim.py SRC DST [--trust]
"""

import argparse
import sys
from typing import Dict, Tuple

import torch

from mmmim.utils.converter_utils import (
    load_official_checkpoint,
    reject_unknown_keys,
    save_converted,
)

ENCODER_PREFIXES = (
    'patch_embed1.',
    'patch_embed2.',
    'patch_embed3.',
    'patch_embed4.',
    'blocks1.',
    'blocks2.',
    'blocks3.',
    'stage1_output_decode.',
    'stage2_output_decode.',
    'norm.',
    'fc_norm.',
)
DECODER_PREFIXES = (
    'decoder_embed.',
    'decoder_blocks.',
    'decoder_norm.',
    'decoder_pred.',
)
DECODER_KEYS = ('mask_token', 'decoder_pos_embed')
HEAD_PREFIX = 'head.'


def _target_key(key: str) -> str:
    if key == 'pos_embed' or key.startswith(ENCODER_PREFIXES):
        return 'backbone.' + key
    if key in DECODER_KEYS or key.startswith(DECODER_PREFIXES):
        return 'neck.' + key
    if key.startswith(HEAD_PREFIX):
        return 'head.fc.' + key[len(HEAD_PREFIX) :]
    return ''


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
    dims, layers, patches = [], [], []
    for stage in (1, 2, 3):
        proj = state_dict[f'patch_embed{stage}.proj.weight']
        dims.append(proj.shape[0])
        patches.append(proj.shape[-1])
        prefix = f'blocks{stage}.'
        layers.append(
            1
            + max(
                (
                    int(k.split('.')[1])
                    for k in state_dict
                    if k.startswith(prefix)
                ),
                default=-1,
            )
        )
    arch = dict(embed_dims=dims, num_layers=layers, patch_sizes=patches)
    if 'pos_embed' in state_dict:
        arch['num_patches'] = state_dict['pos_embed'].shape[1]
    if 'decoder_embed.weight' in state_dict:
        arch['decoder_embed_dims'] = state_dict['decoder_embed.weight'].shape[
            0
        ]
        arch['decoder_num_layers'] = 1 + max(
            int(k.split('.')[1])
            for k in state_dict
            if k.startswith('decoder_blocks.')
        )
    if 'head.weight' in state_dict:
        arch['num_classes'] = state_dict['head.weight'].shape[0]
    return arch


def convert(
    state_dict: Dict, source: str = 'checkpoint'
) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Rename official ConvMAE keys to mmmim keys.

    Args:
        state_dict (dict): Official weights (flat).
        source (str): Name used in error messages.

    Returns:
        tuple: The converted state dict and a meta dict with the kind
        (``'pretrain'`` / ``'finetune'``) and the geometry.
    """
    kind = checkpoint_kind(state_dict, source)
    converted, unknown = {}, []
    for key, value in state_dict.items():
        new_key = _target_key(key)
        if new_key:
            converted[new_key] = value.clone()
        else:
            unknown.append(key)
    reject_unknown_keys(
        unknown, source, 'Is this an official ConvMAE checkpoint?'
    )
    return converted, dict(kind=kind, arch=describe_arch(state_dict))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official checkpoint')
    parser.add_argument('dst', help='output file')
    parser.add_argument(
        '--trust',
        action='store_true',
        help='allow full unpickling of SRC (only for files you trust)',
    )
    args = parser.parse_args(argv)
    state_dict = load_official_checkpoint(args.src, trust=args.trust)
    converted, meta = convert(state_dict, args.src)
    meta['converted_from'] = args.src.rsplit('/', 1)[-1]
    save_converted(converted, args.dst, meta)
    print(
        f'Converted {len(converted)} tensors ({meta["kind"]}, '
        f'{meta["arch"]}) to {args.dst}'
    )


if __name__ == '__main__':
    sys.exit(main())
