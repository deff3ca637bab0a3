# Copyright (c) mmmim contributors. All rights reserved.
"""Convert an official MAE checkpoint (facebookresearch/mae) to mmmim.

Handles the pretraining checkpoints with the decoder (``{'model': ...}``,
e.g. ``mae_visualize_vit_large.pth`` or ``*_full.pth``) and the encoder-only
ones (``mae_pretrain_vit_base.pth``). The output is
``{'state_dict': {'backbone.*', 'neck.*'}, 'meta': {...}}`` for the
``configs/mae`` models; an encoder-only file yields ``backbone.*`` only.

Usage::

    python tools/model_converters/mae_to_mmmim.py SRC DST [--trust]
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

ENCODER_PREFIXES = ('patch_embed.', 'blocks.', 'norm.')
ENCODER_KEYS = ('cls_token', 'pos_embed')
DECODER_PREFIXES = (
    'decoder_embed.',
    'decoder_blocks.',
    'decoder_norm.',
    'decoder_pred.',
)
DECODER_KEYS = ('mask_token', 'decoder_pos_embed')


def _target_key(key: str) -> str:
    if key in ENCODER_KEYS or key.startswith(ENCODER_PREFIXES):
        return 'backbone.' + key
    if key in DECODER_KEYS or key.startswith(DECODER_PREFIXES):
        return 'neck.' + key
    return ''


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
    num_layers = 1 + max(
        int(k.split('.')[1]) for k in state_dict if k.startswith('blocks.')
    )
    arch = dict(
        embed_dims=proj.shape[0],
        in_channels=proj.shape[1],
        patch_size=proj.shape[-1],
        num_layers=num_layers,
        feedforward_channels=state_dict['blocks.0.mlp.fc1.weight'].shape[0],
    )
    if 'pos_embed' in state_dict:  # the cls row is not a patch
        arch['num_patches'] = state_dict['pos_embed'].shape[1] - 1
    if 'decoder_embed.weight' in state_dict:
        arch['decoder_embed_dims'] = state_dict['decoder_embed.weight'].shape[
            0
        ]
        arch['decoder_num_layers'] = 1 + max(
            int(k.split('.')[1])
            for k in state_dict
            if k.startswith('decoder_blocks.')
        )
    return arch


def convert(
    state_dict: Dict, source: str = 'checkpoint'
) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Rename official MAE keys to mmmim keys.

    Args:
        state_dict (dict): Official weights (flat).
        source (str): Name used in error messages.

    Returns:
        tuple: The converted state dict and a meta dict with the geometry.
    """
    _check_is_mae(state_dict, source)
    converted, unknown = {}, []
    for key, value in state_dict.items():
        new_key = _target_key(key)
        if new_key:
            converted[new_key] = value.clone()
        else:
            unknown.append(key)
    reject_unknown_keys(
        unknown, source, 'Is this an official MAE pretraining checkpoint?'
    )
    return converted, dict(arch=describe_arch(state_dict))


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
    has_decoder = any(k.startswith('neck.') for k in converted)
    print(
        f'Converted {len(converted)} tensors '
        f'({"encoder + decoder" if has_decoder else "encoder only"}, '
        f'{meta["arch"]}) to {args.dst}'
    )


if __name__ == '__main__':
    sys.exit(main())
