# Copyright (c) mmmim contributors. All rights reserved.
"""Official MAE checkpoints (facebookresearch/mae) to mmmim.

Handles the pretraining checkpoints with the decoder (``{'model': ...}``,
e.g. ``mae_visualize_vit_large.pth`` or ``*_full.pth``) and the encoder-only
ones (``mae_pretrain_vit_base.pth``). The result has ``backbone.*`` and
``neck.*`` keys for the ``configs/mae`` models; an encoder-only file yields
``backbone.*`` only.

The fine-tuned classifiers of ``main_finetune.py`` (``models_vit.py``,
e.g. ``mae_finetuned_vit_base.pth``) become ``backbone.*`` (``MAEViT``)
and ``head.fc.*`` (mmpretrain ``LinearClsHead``), the layout of the
``configs/mae/benchmarks/cls`` fine-tuning classifiers: with
``--global_pool`` (the default, ``fc_norm``) the backbone is
``out_type='avg_featmap', final_norm=False``; without it (``norm``, the
class token) ``out_type='cls_token', final_norm=True``.
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
#: Fine-tuned classifiers: the encoder (``RULES[0]``), the pooled-feature
#: norm and the linear head.
FINETUNE_RULES = (
    RULES[0],
    (r'fc_norm\.', r'backbone.\g<0>'),
    (r'head\.(weight|bias)$', r'head.fc.\1'),
)


def checkpoint_kind(state_dict: Dict) -> str:
    """``'finetune'`` for a classifier (``head.*`` keys), else
    ``'pretrain'``."""
    return (
        'finetune'
        if any(k.startswith('head.') for k in state_dict)
        else 'pretrain'
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
    if checkpoint_kind(state_dict) == 'finetune' or 'fc_norm.weight' in (
        state_dict
    ):
        _check_classifier(state_dict, source)
    if (
        'patch_embed.proj.weight' not in state_dict
        or 'blocks.0.attn.qkv.weight' not in state_dict
    ):
        raise ValueError(
            f'{source} is not an MAE ViT checkpoint: '
            '"patch_embed.proj.weight" or '
            '"blocks.0.attn.qkv.weight" is missing.'
        )


def _check_classifier(state_dict: Dict, source: str) -> None:
    """A fine-tuned classifier needs one linear head and one final norm."""
    if 'head.weight' not in state_dict:
        # main_linprobe.py's head is BatchNorm1d + Linear (head.0, head.1).
        raise ValueError(
            f'{source} is not a fine-tuned MAE classifier this converter '
            'knows: "head.weight" is missing (a linear-probing checkpoint '
            'with a BatchNorm head "head.0"/"head.1"?).'
        )
    pools = [k for k in ('fc_norm.weight', 'norm.weight') if k in state_dict]
    if len(pools) != 1:
        raise ValueError(
            f'{source} is a fine-tuned classification checkpoint with '
            f'{pools or "neither"} of "fc_norm.weight" (global pool) and '
            '"norm.weight" (class token); the official models_vit.py has '
            'exactly one.'
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
    if 'head.weight' in state_dict:
        arch['num_classes'] = state_dict['head.weight'].shape[0]
        arch['global_pool'] = 'fc_norm.weight' in state_dict
    if 'decoder_embed.weight' in state_dict:
        arch['decoder_embed_dims'] = len(state_dict['decoder_embed.weight'])
        arch['decoder_num_layers'] = count_blocks(
            state_dict, 'decoder_blocks.'
        )
    return arch


def convert(state_dict: Dict, source: str = 'checkpoint') -> Tuple[Dict, dict]:
    """Official MAE weights -> (mmmim weights, meta: kind, geometry).

    ``kind`` is ``'pretrain'`` (``backbone.*``, ``neck.*``) or
    ``'finetune'`` (``backbone.*``, ``head.fc.*``).
    """
    _check_is_mae(state_dict, source)
    kind = checkpoint_kind(state_dict)
    rules = FINETUNE_RULES if kind == 'finetune' else RULES
    hint = f'Is this an official MAE {kind} checkpoint?'
    converted = rename_keys(state_dict, rules, source, hint)
    return converted, dict(kind=kind, arch=describe_arch(state_dict))


def summary(converted: Dict, meta: dict) -> str:
    if meta.get('kind') == 'finetune':
        return f'fine-tuned classifier, {meta["arch"]}'
    decoder = any(k.startswith('neck.') for k in converted)
    parts = 'encoder + decoder' if decoder else 'encoder only'
    return f'{parts}, {meta["arch"]}'
