# Copyright (c) mmmim contributors. All rights reserved.
"""Official SimMIM checkpoints (microsoft/SimMIM) to mmmim.

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
``cat(x0, x1, x2, x3)`` to ``nn.Unfold``'s channel order.
"""

import re
from typing import Dict, Tuple

from torch import Tensor

from ..converter_utils import count_blocks, rename_keys

TRUST_HINT = (
    'Checkpoints saved by the official main_simmim.py also pickle the '
    "training config (yacs CfgNode) and 'amp' state; pass --trust to "
    'convert such a file you trust.'
)
# Rules on the encoder keys (without the pre-training ``encoder.``).
VIT_RULES = (
    (r'.*(relative_position_index|attn_mask)$', None),  # rebuilt buffers
    (
        r'(cls_token|mask_token|pos_embed|patch_embed\.proj\.(weight|bias)'
        r'|rel_pos_bias\.relative_position_bias_table'
        r'|blocks\.\d+\.(norm[12]\.(weight|bias)|gamma_[12]'
        r'|attn\.(qkv\.weight|q_bias|v_bias|proj\.(weight|bias)'
        r'|relative_position_bias_table)'
        r'|mlp\.fc[12]\.(weight|bias))'
        r'|norm\.(weight|bias)|fc_norm\.(weight|bias))$',
        r'backbone.\1',
    ),
)
BLOCK = r'layers\.(\d+)\.blocks\.(\d+)\.'
SWIN_RULES = (
    (r'.*attn_mask$', None),  # a buffer the model rebuilds
    (r'patch_embed\.proj\.', 'backbone.patch_embed.projection.'),
    (r'(patch_embed\.norm\.|mask_token$|absolute_pos_embed$)', r'backbone.\1'),
    (BLOCK + r'(norm[12])\.', r'backbone.stages.\1.blocks.\2.\3.'),
    (
        BLOCK + r'attn\.(qkv|proj)\.',
        r'backbone.stages.\1.blocks.\2.attn.w_msa.\3.',
    ),
    (
        BLOCK + r'attn\.(relative_position_\w+)$',
        r'backbone.stages.\1.blocks.\2.attn.w_msa.\3',
    ),
    (BLOCK + r'mlp\.fc1\.', r'backbone.stages.\1.blocks.\2.ffn.layers.0.0.'),
    (BLOCK + r'mlp\.fc2\.', r'backbone.stages.\1.blocks.\2.ffn.layers.1.'),
    (r'layers\.(\d+)\.downsample\.', r'backbone.stages.\1.downsample.'),
)
# Rules on the decoder (pre-training) or the classifier (fine-tuning).
OTHER_RULES = dict(
    pretrain=((r'decoder\.0\.(weight|bias)$', r'neck.\g<0>'),),
    finetune=((r'head\.(weight|bias)$', r'head.fc.\1'),),
)


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


def _unfold_order(key: str, value: Tensor) -> Tensor:
    if '.downsample.reduction.' in key:
        return unfold_order_weight(value)
    if '.downsample.norm.' in key:
        return unfold_order_vector(value)
    return value


def _split_stage(state_dict: Dict) -> Tuple[Dict, Dict, str]:
    """Separate encoder and decoder (or head) weights; tell the stage."""
    if any(k.startswith('encoder.') for k in state_dict):
        encoder = {
            k[8:]: v for k, v in state_dict.items() if k[:8] == 'encoder.'
        }
        others = {k: v for k, v in state_dict.items() if k[:8] != 'encoder.'}
        return encoder, others, 'pretrain'
    encoder = {k: v for k, v in state_dict.items() if k[:5] != 'head.'}
    head = {k: v for k, v in state_dict.items() if k[:5] == 'head.'}
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
            num_layers=count_blocks(encoder, 'blocks.'),
            feedforward_channels=encoder['blocks.0.mlp.fc1.weight'].shape[0],
        )
        if table is not None:
            side = int(round((table.shape[0] - 3) ** 0.5))
            arch['num_heads'] = table.shape[1]
            arch['grid_size'] = (side + 1) // 2
        return arch
    stages = count_blocks(encoder, 'layers.')
    table = encoder['layers.0.blocks.0.attn.relative_position_bias_table']
    return dict(
        embed_dims=encoder['patch_embed.proj.weight'].shape[0],
        patch_size=encoder['patch_embed.proj.weight'].shape[-1],
        depths=[
            count_blocks(encoder, f'layers.{i}.blocks.') for i in range(stages)
        ],
        window_size=(int(round(table.shape[0] ** 0.5)) + 1) // 2,
    )


def convert(state_dict: Dict, source: str = 'checkpoint') -> Tuple[Dict, dict]:
    """Official SimMIM weights -> (mmmim weights, meta: kind, stage, arch)."""
    encoder, others, stage = _split_stage(state_dict)
    kind = _check_is_simmim(encoder, others, source)
    rules, transform = VIT_RULES, None
    if kind == 'swin':  # the final norm is that of the last stage
        last = count_blocks(encoder, 'layers.') - 1
        rules = ((r'norm\.', f'backbone.norm{last}.'), *SWIN_RULES)
        transform = _unfold_order
    prefix = 'encoder.' if stage == 'pretrain' else ''
    rules = [(re.escape(prefix) + p, r) for p, r in rules]
    converted = rename_keys(
        {**{prefix + k: v for k, v in encoder.items()}, **others},
        rules + list(OTHER_RULES[stage]),
        source,
        f'Is this an official SimMIM {kind} checkpoint?',
        transform,
    )
    return converted, dict(
        kind=kind, stage=stage, arch=describe_arch(encoder, kind)
    )


def summary(converted: Dict, meta: dict) -> str:
    return f'SimMIM {meta["kind"]} {meta["stage"]}, {meta["arch"]}'
