# Copyright (c) mmmim contributors. All rights reserved.
"""Convert an official SimMIM checkpoint (microsoft/SimMIM) to mmmim.

Handles the ViT and Swin checkpoints of both stages:

* pre-training (``encoder.*`` and ``decoder.*`` keys) -> ``backbone.*``
  (``SimMIMViT`` / ``SimMIMSwin``) and ``neck.*`` (``SimMIMLinearDecoder``)
  for the ``configs/simmim`` pre-training models;
* fine-tuning (no prefix, with ``head.*``) -> ``backbone.*`` and
  ``head.fc.*`` (mmpretrain's ``LinearClsHead``).

Weights are read from ``'model'`` (training state such as ``'optimizer'``,
``'lr_scheduler'`` or ``'config'`` is ignored). Swin keys are renamed to
mmpretrain's layout (``stages``, ``w_msa``, ``ffn``, ``norm3``) and the
patch-merging weights are reordered from the official
``cat(x0, x1, x2, x3)`` to ``nn.Unfold``'s channel order. The output is
``{'state_dict': ..., 'meta': ...}``.

Usage::

    python tools/model_converters/simmim_to_mmmim.py SRC DST [--trust]
"""

import argparse
import pickle
import re
import sys
from typing import Callable, Dict, List, Optional, Tuple

import torch

from mmmim.utils.converter_utils import (
    load_official_checkpoint,
    reject_unknown_keys,
    save_converted,
)

Tensor = torch.Tensor

# Official ViT encoder names, kept as they are under ``backbone.``.
VIT_KEYS = re.compile(
    r'^(cls_token|mask_token|pos_embed|patch_embed\.proj\.(weight|bias)'
    r'|rel_pos_bias\.relative_position_bias_table'
    r'|blocks\.\d+\.(norm[12]\.(weight|bias)|gamma_[12]'
    r'|attn\.(qkv\.weight|q_bias|v_bias|proj\.(weight|bias)'
    r'|relative_position_bias_table)'
    r'|mlp\.fc[12]\.(weight|bias))'
    r'|norm\.(weight|bias)|fc_norm\.(weight|bias))$'
)
# Official Swin names -> mmpretrain names (regex, replacement).
SWIN_RULES: List[Tuple[str, str]] = [
    (r'^patch_embed\.proj\.', 'patch_embed.projection.'),
    (r'^patch_embed\.norm\.', 'patch_embed.norm.'),
    (r'^mask_token$', 'mask_token'),
    (r'^absolute_pos_embed$', 'absolute_pos_embed'),
    (
        r'^layers\.(\d+)\.blocks\.(\d+)\.(norm[12])\.',
        r'stages.\1.blocks.\2.\3.',
    ),
    (
        r'^layers\.(\d+)\.blocks\.(\d+)\.attn\.(qkv|proj)\.',
        r'stages.\1.blocks.\2.attn.w_msa.\3.',
    ),
    (
        r'^layers\.(\d+)\.blocks\.(\d+)\.attn\.(relative_position_\w+)$',
        r'stages.\1.blocks.\2.attn.w_msa.\3',
    ),
    (
        r'^layers\.(\d+)\.blocks\.(\d+)\.mlp\.fc1\.',
        r'stages.\1.blocks.\2.ffn.layers.0.0.',
    ),
    (
        r'^layers\.(\d+)\.blocks\.(\d+)\.mlp\.fc2\.',
        r'stages.\1.blocks.\2.ffn.layers.1.',
    ),
    (r'^layers\.(\d+)\.downsample\.', r'stages.\1.downsample.'),
]
# Buffers the models rebuild.
DROPPED = re.compile(r'(relative_position_index|attn_mask)$')


def unfold_order_weight(weight: Tensor) -> Tensor:
    """Reorder a patch-merging reduction ``[out, 4C]`` for ``nn.Unfold``.

    The official input is ``cat(x0, x1, x2, x3)`` with the 2x2 offsets
    (0,0), (1,0), (0,1), (1,1) (row, column) as the outer index; ``Unfold``
    gives channel-major order with the offsets (0,0), (0,1), (1,0), (1,1)
    inside.
    """
    out_channels, in_channels = weight.shape
    blocks = weight.reshape(out_channels, 4, in_channels // 4)
    return blocks[:, [0, 2, 1, 3]].transpose(1, 2).reshape(weight.shape)


def unfold_order_vector(vector: Tensor) -> Tensor:
    """Reorder a patch-merging norm parameter ``[4C]`` for ``nn.Unfold``."""
    blocks = vector.reshape(4, -1)
    return blocks[[0, 2, 1, 3]].transpose(0, 1).reshape(vector.shape)


def _split_stage(state_dict: Dict) -> Tuple[Dict, Dict, str]:
    """Separate encoder and decoder weights; tell the stage."""
    if any(k.startswith('encoder.') for k in state_dict):
        encoder = {
            k[len('encoder.') :]: v
            for k, v in state_dict.items()
            if k.startswith('encoder.')
        }
        others = {
            k: v for k, v in state_dict.items() if not k.startswith('encoder.')
        }
        return encoder, others, 'pretrain'
    encoder = {
        k: v for k, v in state_dict.items() if not k.startswith('head.')
    }
    head = {k: v for k, v in state_dict.items() if k.startswith('head.')}
    return encoder, head, 'finetune'


def _check_is_simmim(encoder: Dict, others: Dict, source: str) -> str:
    """Return 'vit' or 'swin'; fail early on checkpoints of other methods."""
    if 'encoder_to_decoder.weight' in others or any(
        v.dim() == 5 for k, v in encoder.items() if 'patch_embed' in k
    ):
        raise ValueError(
            f'{source} looks like a VideoMAE checkpoint; use '
            'tools/model_converters/videomae_to_mmmim.py.'
        )
    if any(k.startswith(('patch_embed1.', 'blocks1.')) for k in encoder):
        raise ValueError(
            f'{source} looks like a ConvMAE checkpoint; use '
            'tools/model_converters/convmae_to_mmmim.py.'
        )
    if any(k.startswith('layers.') for k in encoder):
        return 'swin'
    if any(k.startswith('blocks.') for k in encoder):
        if 'blocks.0.attn.q_bias' not in encoder and (
            'blocks.0.gamma_1' not in encoder
        ):
            raise ValueError(
                f'{source} is a ViT checkpoint without q/v biases or layer '
                'scale, so not a SimMIM one (an MAE checkpoint? use '
                'tools/model_converters/mae_to_mmmim.py).'
            )
        return 'vit'
    raise ValueError(
        f'{source} is not a SimMIM checkpoint: it has neither "blocks.*" '
        '(ViT) nor "layers.*" (Swin) encoder weights.'
    )


def _convert_vit(encoder: Dict, source_prefix: str) -> Tuple[Dict, List[str]]:
    converted, unknown = {}, []
    for key, value in encoder.items():
        if DROPPED.search(key):
            continue
        if VIT_KEYS.match(key):
            converted['backbone.' + key] = value.clone()
        else:
            unknown.append(source_prefix + key)
    return converted, unknown


def _convert_swin(encoder: Dict, source_prefix: str) -> Tuple[Dict, List[str]]:
    last_stage = max(
        int(k.split('.')[1]) for k in encoder if k[:7] == 'layers.'
    )
    converted, unknown = {}, []
    for key, value in encoder.items():
        if key.endswith('attn_mask'):
            continue
        if key.startswith('norm.'):
            new_key: Optional[str] = f'norm{last_stage}.' + key[5:]
        else:
            new_key = _apply_rules(key)
        if new_key is None:
            unknown.append(source_prefix + key)
            continue
        if '.downsample.reduction.' in new_key:
            value = unfold_order_weight(value)
        elif '.downsample.norm.' in new_key:
            value = unfold_order_vector(value)
        converted['backbone.' + new_key] = value.clone()
    return converted, unknown


def _apply_rules(key: str) -> Optional[str]:
    for pattern, replacement in SWIN_RULES:
        new_key, count = re.subn(pattern, replacement, key)
        if count:
            return new_key
    return None


def _convert_others(others: Dict, stage: str) -> Tuple[Dict, List[str]]:
    """The pre-training decoder or the fine-tuning classifier."""
    converted, unknown = {}, []
    for key, value in others.items():
        if stage == 'pretrain' and key in (
            'decoder.0.weight',
            'decoder.0.bias',
        ):
            converted['neck.' + key] = value.clone()
        elif stage == 'finetune' and key in ('head.weight', 'head.bias'):
            converted['head.fc.' + key[5:]] = value.clone()
        else:
            unknown.append(key)
    return converted, unknown


def describe_arch(encoder: Dict, kind: str) -> dict:
    """Infer the geometry of the checkpoint (recorded in the meta)."""
    if kind == 'vit':
        proj = encoder['patch_embed.proj.weight']
        table = encoder.get(
            'rel_pos_bias.relative_position_bias_table',
            encoder.get('blocks.0.attn.relative_position_bias_table'),
        )
        arch = dict(
            embed_dims=proj.shape[0],
            patch_size=proj.shape[-1],
            num_layers=1 + _max_index(encoder, 'blocks.'),
            feedforward_channels=encoder['blocks.0.mlp.fc1.weight'].shape[0],
        )
        if table is not None:
            side = int(round((table.shape[0] - 3) ** 0.5))
            arch['num_heads'] = table.shape[1]
            arch['grid_size'] = (side + 1) // 2
        return arch
    stages = 1 + _max_index(encoder, 'layers.')
    table = encoder['layers.0.blocks.0.attn.relative_position_bias_table']
    return dict(
        embed_dims=encoder['patch_embed.proj.weight'].shape[0],
        patch_size=encoder['patch_embed.proj.weight'].shape[-1],
        depths=[
            1 + _max_index(encoder, f'layers.{i}.blocks.')
            for i in range(stages)
        ],
        window_size=(int(round(table.shape[0] ** 0.5)) + 1) // 2,
    )


def _max_index(state_dict: Dict, prefix: str) -> int:
    depth = prefix.count('.')
    return max(
        int(k.split('.')[depth]) for k in state_dict if k.startswith(prefix)
    )


def convert(
    state_dict: Dict, source: str = 'checkpoint'
) -> Tuple[Dict[str, Tensor], dict]:
    """Convert official SimMIM weights to mmmim keys.

    Args:
        state_dict (dict): Official weights (flat).
        source (str): Name used in error messages.

    Returns:
        tuple: The converted state dict and a meta dict (``kind``: 'vit'
        or 'swin', ``stage``: 'pretrain' or 'finetune', ``arch``).
    """
    encoder, others, stage = _split_stage(state_dict)
    kind = _check_is_simmim(encoder, others, source)
    convert_encoder: Callable = (
        _convert_vit if kind == 'vit' else _convert_swin
    )
    prefix = 'encoder.' if stage == 'pretrain' else ''
    converted, unknown = convert_encoder(encoder, prefix)
    extra, unknown_others = _convert_others(others, stage)
    converted.update(extra)
    reject_unknown_keys(
        unknown + unknown_others,
        source,
        f'Is this an official SimMIM {kind} checkpoint?',
    )
    meta = dict(kind=kind, stage=stage, arch=describe_arch(encoder, kind))
    return converted, meta


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
    try:
        state_dict = load_official_checkpoint(args.src, trust=args.trust)
    except pickle.UnpicklingError as error:
        raise pickle.UnpicklingError(
            f'{error}\nCheckpoints saved by the official main_simmim.py '
            "also pickle the training config (yacs CfgNode) and 'amp' "
            'state; pass --trust to convert such a file you trust.'
        ) from None
    converted, meta = convert(state_dict, args.src)
    meta['converted_from'] = args.src.rsplit('/', 1)[-1]
    save_converted(converted, args.dst, meta)
    print(
        f'Converted {len(converted)} tensors (SimMIM {meta["kind"]} '
        f'{meta["stage"]}, {meta["arch"]}) to {args.dst}'
    )


if __name__ == '__main__':
    sys.exit(main())
