# Copyright (c) mmmim contributors. All rights reserved.
"""Convert an official VideoMAE checkpoint (MCG-NJU/VideoMAE) to mmmim.

Two kinds are handled, stored under ``'model'`` or ``'module'``:

- pretraining checkpoints (``encoder.*``, ``encoder_to_decoder``,
  ``mask_token``, ``decoder.*``) -> ``backbone.*`` and ``neck.*`` for the
  ``configs/videomae`` pretraining models;
- fine-tuned checkpoints (``patch_embed``, ``blocks``, ``fc_norm``,
  ``head``) -> ``backbone.*`` and ``head.fc.*`` for the ``VideoClassifier``
  fine-tuning configs.

Position tables are fixed sinusoids that the models build, so checkpoints
hold none. Block keys keep their names (``attn.q_bias``, ``attn.v_bias``).

Usage::

    python tools/model_converters/videomae_to_mmmim.py SRC DST [--trust]
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

PRETRAIN_PREFIXES = {
    'encoder.patch_embed.': 'backbone.patch_embed.',
    'encoder.blocks.': 'backbone.blocks.',
    'encoder.norm.': 'backbone.norm.',
    'encoder_to_decoder.': 'neck.encoder_to_decoder.',
    'decoder.blocks.': 'neck.blocks.',
    'decoder.norm.': 'neck.norm.',
    'decoder.head.': 'neck.head.',
}
FINETUNE_PREFIXES = {
    'patch_embed.': 'backbone.patch_embed.',
    'blocks.': 'backbone.blocks.',
    'fc_norm.': 'backbone.fc_norm.',
    'norm.': 'backbone.norm.',
    'head.': 'head.fc.',
}


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
    blocks = prefix + 'blocks.'
    arch = dict(
        kind=kind,
        embed_dims=proj.shape[0],
        in_channels=proj.shape[1],
        tubelet_size=proj.shape[2],
        patch_size=proj.shape[-1],
        num_layers=1
        + max(
            int(k.split('.')[1 + bool(prefix)])
            for k in state_dict
            if k.startswith(blocks)
        ),
        feedforward_channels=state_dict[blocks + '0.mlp.fc1.weight'].shape[0],
    )
    if kind == 'pretrain':
        arch['decoder_embed_dims'] = state_dict['mask_token'].shape[-1]
        arch['decoder_num_layers'] = 1 + max(
            int(k.split('.')[2])
            for k in state_dict
            if k.startswith('decoder.blocks.')
        )
    elif 'head.weight' in state_dict:
        arch['num_classes'] = state_dict['head.weight'].shape[0]
    return arch


def convert(
    state_dict: Dict, source: str = 'checkpoint'
) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Rename official VideoMAE keys to mmmim keys.

    Args:
        state_dict (dict): Official weights (flat).
        source (str): Name used in error messages.

    Returns:
        tuple: The converted state dict and a meta dict with the geometry.
    """
    kind = _kind(state_dict, source)
    prefixes = PRETRAIN_PREFIXES if kind == 'pretrain' else FINETUNE_PREFIXES
    converted, unknown = {}, []
    for key, value in state_dict.items():
        if key == 'mask_token' and kind == 'pretrain':
            converted['neck.mask_token'] = value.clone()
            continue
        if key.endswith('pos_embed'):
            continue  # a fixed sinusoid the model rebuilds
        for old, new in prefixes.items():
            if key.startswith(old):
                converted[new + key[len(old) :]] = value.clone()
                break
        else:
            unknown.append(key)
    reject_unknown_keys(
        unknown, source, f'Is this an official VideoMAE {kind} checkpoint?'
    )
    return converted, dict(arch=describe_arch(state_dict, kind))


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
    print(f'Converted {len(converted)} tensors ({meta["arch"]}) to {args.dst}')


if __name__ == '__main__':
    sys.exit(main())
