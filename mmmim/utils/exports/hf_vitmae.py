# Copyright (c) mmmim contributors. All rights reserved.
"""mmmim ``MAE`` <-> ``transformers.ViTMAEForPreTraining``.

The whole pre-training model travels: ``MAEViT`` (``vit.*``), ``MAEDecoder``
(``decoder.*``) and the loss settings of ``PixelReconstructionHead``
(``norm_pix`` -> ``config.norm_pix_loss``). Both compute the same loss:
per-patch MSE over the ``p * p * C`` channel-last values, averaged over
the masked patches, with targets normalised per patch by the *unbiased*
variance plus 1e-6 when ``norm_pix``. Hugging Face keeps the attention
projections apart (``q_proj``/``k_proj``/``v_proj``), mmmim fused
(``qkv``); they are split and concatenated on the way.

Hugging Face masks with ``noise``: it keeps the patches
``argsort(noise)[:int(L * (1 - mask_ratio))]``. :func:`noise_for_mask`
turns an mmmim mask into such noise, so that both mask the same patches.

Not exportable (:class:`~.common.ExportError`): an encoder with a mask
token (``encoder_mask_token``), a token-predicting decoder
(``predict_dims`` other than ``p * p * C``), a non-square patch grid
(Hugging Face's ``patchify`` needs square images), LayerNorms of different
eps or q/k/v biases on only one of encoder and decoder (one config value
each in Hugging Face), a ``norm_pix_eps`` other than 1e-6 (fixed there).
"""

from typing import Dict, Tuple

import torch
import torch.nn as nn

from ..converter_utils import count_blocks, rename_keys
from .common import (
    ExportError,
    block_rules,
    merge_fused,
    model_parts,
    model_state_dict,
    split_fused,
)

__all__ = [
    'TO_HF_RULES',
    'FROM_HF_RULES',
    'vitmae_config',
    'to_hf_state_dict',
    'from_hf_state_dict',
    'export_to_vitmae',
    'noise_for_mask',
]

StateDict = Dict[str, torch.Tensor]
_QKV = (
    '.attention.qkv.',
    ('.attention.q_proj.', '.attention.k_proj.', '.attention.v_proj.'),
)
#: Inside a block (after ``vit.layers.i.`` or ``decoder.decoder_layers.i.``).
_BLOCK = (
    ('norm1.', 'layernorm_before.'),
    ('norm2.', 'layernorm_after.'),
    ('attn.qkv.', 'attention.qkv.'),  # split into q/k/v_proj afterwards
    ('attn.proj.', 'attention.o_proj.'),
    ('mlp.fc1.', 'mlp.fc1.'),
    ('mlp.fc2.', 'mlp.fc2.'),
)
_TO_PLACES = (
    (r'backbone\.blocks\.(\d+)\.', r'vit.layers.\1.'),
    (r'neck\.decoder_blocks\.(\d+)\.', r'decoder.decoder_layers.\1.'),
)
_FROM_PLACES = (
    (r'vit\.layers\.(\d+)\.', r'backbone.blocks.\1.'),
    (r'decoder\.decoder_layers\.(\d+)\.', r'neck.decoder_blocks.\1.'),
)
_DECODER_PARTS = (
    r'(mask_token|decoder_pos_embed|decoder_embed|decoder_norm|decoder_pred)'
)
#: mmmim -> Hugging Face.
TO_HF_RULES = (
    (r'backbone\.cls_token$', 'vit.embeddings.cls_token'),
    (r'backbone\.pos_embed$', 'vit.embeddings.position_embeddings'),
    (
        r'backbone\.patch_embed\.proj\.',
        'vit.embeddings.patch_embeddings.projection.',
    ),
    *block_rules(_TO_PLACES, _BLOCK),
    (r'backbone\.norm\.', 'vit.layernorm.'),
    (r'neck\.' + _DECODER_PARTS, r'decoder.\1'),
)
#: Hugging Face -> mmmim (after q/k/v are fused).
FROM_HF_RULES = (
    (r'vit\.embeddings\.cls_token$', 'backbone.cls_token'),
    (r'vit\.embeddings\.position_embeddings$', 'backbone.pos_embed'),
    (
        r'vit\.embeddings\.patch_embeddings\.projection\.',
        'backbone.patch_embed.proj.',
    ),
    *block_rules(_FROM_PLACES, [(hf, mm) for mm, hf in _BLOCK]),
    (r'vit\.layernorm\.', 'backbone.norm.'),
    (r'decoder\.' + _DECODER_PARTS, r'neck.\1'),
)


def _single(values, what: str):
    """The one value of a set; an ExportError naming ``what`` otherwise."""
    values = set(values)
    if len(values) != 1:
        raise ExportError(
            f'the model has different {what} {sorted(values)}; Hugging '
            'Face ViTMAE has one setting for encoder and decoder.'
        )
    return values.pop()


def vitmae_config(model: nn.Module):
    """The ``ViTMAEConfig`` of an mmmim ``MAE`` model.

    Args:
        model (nn.Module): An ``MAE`` with an ``MAEViT`` backbone, an
            ``MAEDecoder`` neck and a ``PixelReconstructionHead``.

    Returns:
        transformers.ViTMAEConfig: Its geometry, mask ratio and loss.

    Raises:
        ExportError: For the models listed in the module docstring.
    """
    from transformers import ViTMAEConfig

    from mmmim.models.backbones import MAEViT
    from mmmim.models.heads import PixelReconstructionHead
    from mmmim.models.necks import MAEDecoder

    backbone, neck, head = model_parts(model)
    if type(backbone) is not MAEViT or not isinstance(neck, MAEDecoder):
        raise ExportError(
            f'{type(model).__name__} with {type(backbone).__name__} / '
            f'{type(neck).__name__} is not an MAE pre-training model '
            '(MAEViT + MAEDecoder); Hugging Face ViTMAEForPreTraining holds '
            'only those. Fine-tuned ViTs export to timm (mmmim_to_timm.py).'
        )
    if not isinstance(head, PixelReconstructionHead):
        raise ExportError(
            f'head {type(head).__name__} is not a pixel target; Hugging '
            'Face ViTMAE reconstructs pixels only.'
        )
    if backbone.encoder_mask_token or backbone.norm is None:
        raise ExportError(
            'Hugging Face ViTMAE encodes the visible patches only and ends '
            'with a norm: build MAEViT with encoder_mask_token=False and '
            'final_norm=True.'
        )
    h, w = backbone.grid_size
    p = backbone.patch_size
    in_chans = backbone.patch_embed.proj.in_channels
    if h != w:
        raise ExportError(
            f'the patch grid {h}x{w} is not square; Hugging Face ViTMAE '
            'patchifies square images only.'
        )
    if neck.predict_dims != p * p * in_chans or neck.num_patches != h * w:
        raise ExportError(
            f'the decoder predicts {neck.predict_dims} values for '
            f'{neck.num_patches} patches; Hugging Face ViTMAE predicts '
            f'{p * p * in_chans} pixels for each of the {h * w} patches.'
        )
    if head.norm_pix and abs(head.norm_pix_eps - 1e-6) > 1e-12:
        raise ExportError(
            f'norm_pix_eps={head.norm_pix_eps}; Hugging Face uses 1e-6.'
        )
    blocks = [*backbone.blocks, *neck.decoder_blocks]
    norms = [m for m in model.modules() if isinstance(m, nn.LayerNorm)]
    generator = backbone.mask_generator
    dec = neck.decoder_blocks[0]
    return ViTMAEConfig(
        hidden_size=backbone.embed_dims,
        num_hidden_layers=backbone.num_layers,
        num_attention_heads=backbone.arch_settings['num_heads'],
        intermediate_size=backbone.blocks[0].mlp.fc1.out_features,
        hidden_act='gelu',  # timm's Mlp: exact (erf) GELU
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        layer_norm_eps=_single((n.eps for n in norms), 'LayerNorm eps'),
        image_size=h * p,
        patch_size=p,
        num_channels=in_chans,
        qkv_bias=_single(
            (b.attn.qkv.bias is not None for b in blocks), 'qkv biases'
        ),
        decoder_num_attention_heads=dec.attn.num_heads,
        decoder_hidden_size=neck.decoder_embed.out_features,
        decoder_num_hidden_layers=len(neck.decoder_blocks),
        decoder_intermediate_size=dec.mlp.fc1.out_features,
        mask_ratio=float(getattr(generator, 'mask_ratio', 0.75)),
        norm_pix_loss=bool(head.norm_pix),
    )


def to_hf_state_dict(
    state_dict: StateDict, source: str = 'model'
) -> StateDict:
    """mmmim ``MAE`` weights -> ``ViTMAEForPreTraining`` weights.

    Args:
        state_dict (dict): ``backbone.*`` and ``neck.*`` weights.
        source (str): Name used in error messages.

    Returns:
        dict: Hugging Face weights (copies), q/k/v split.
    """
    renamed = rename_keys(
        state_dict,
        TO_HF_RULES,
        source,
        'Is this an MAE (MAEViT + MAEDecoder) model?',
    )
    return split_fused(renamed, *_QKV)


def from_hf_state_dict(
    state_dict: StateDict, source: str = 'checkpoint'
) -> Tuple[StateDict, dict]:
    """``ViTMAEForPreTraining`` (or ``ViTMAEModel``) weights -> mmmim.

    Args:
        state_dict (dict): Hugging Face weights.
        source (str): Name used in error messages.

    Returns:
        Tuple[dict, dict]: mmmim ``MAE`` weights (``backbone.*``,
        ``neck.*``; ``backbone.*`` only from a ``ViTMAEModel``) and the
        meta (geometry).
    """
    if not any(k.startswith('vit.') for k in state_dict) and any(
        k.startswith('embeddings.') for k in state_dict
    ):  # a bare ViTMAEModel has no 'vit.' prefix
        state_dict = {f'vit.{k}': v for k, v in state_dict.items()}
    if 'vit.embeddings.patch_embeddings.projection.weight' not in state_dict:
        raise ExportError(
            f'{source} is not a Hugging Face ViTMAE state dict: '
            '"vit.embeddings.patch_embeddings.projection.weight" is missing.'
        )
    fused = merge_fused(state_dict, *_QKV)
    converted = rename_keys(
        fused, FROM_HF_RULES, source, 'Is this a ViTMAEForPreTraining?'
    )
    proj = state_dict['vit.embeddings.patch_embeddings.projection.weight']
    arch = dict(
        embed_dims=proj.shape[0],
        patch_size=proj.shape[-1],
        num_layers=count_blocks(state_dict, 'vit.layers.'),
        decoder_num_layers=count_blocks(state_dict, 'decoder.decoder_layers.'),
    )
    return converted, dict(kind='vit_mae', arch=arch)


def export_to_vitmae(model: nn.Module, out_dir: str = None):
    """Build ``ViTMAEForPreTraining`` from an mmmim ``MAE`` (strict load).

    Args:
        model (nn.Module): See :func:`vitmae_config`.
        out_dir (str, optional): Save it there with ``save_pretrained``.

    Returns:
        transformers.ViTMAEForPreTraining: In eval mode.
    """
    from transformers import ViTMAEForPreTraining

    config = vitmae_config(model)
    state = to_hf_state_dict(model_state_dict(model), type(model).__name__)
    hf_model = ViTMAEForPreTraining(config)
    hf_model.load_state_dict(state, strict=True)
    if out_dir is not None:
        hf_model.save_pretrained(out_dir)
    return hf_model.eval()


def noise_for_mask(mask: torch.Tensor) -> torch.Tensor:
    """Hugging Face ``noise`` ``[B, L]`` that keeps the visible patches of
    an mmmim mask (bool ``[B, L]``, True = masked), in ascending order as
    mmmim does: visible patches get ``i / L``, masked ones ``1 + i / L``.
    """
    length = mask.shape[1]
    order = torch.arange(length, device=mask.device) / length
    return order.expand_as(mask) + mask.float()
