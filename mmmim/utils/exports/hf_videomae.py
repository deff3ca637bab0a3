# Copyright (c) mmmim contributors. All rights reserved.
"""mmmim VideoMAE <-> ``transformers`` VideoMAE.

* The ``VideoMAE`` algorithm (``VideoMAEViT`` + ``VideoMAEDecoder`` +
  ``VideoReconstructionHead``) <-> ``VideoMAEForPreTraining``
  (``use_mean_pooling=False``: the encoder ends with its norm).
* The fine-tuned ``VideoClassifier`` (``VideoMAEViT`` with
  ``out_type='avg_featmap'``, ``final_norm=False`` and a linear head) <->
  ``VideoMAEForVideoClassification`` (``use_mean_pooling=True``).

Both compute the same loss: the input is un-normalised with the ImageNet
mean/std, each cube is normalised per channel by its unbiased std + 1e-6
(``norm_target`` = ``config.norm_pix_loss``), and the MSE is averaged over
the masked cubes and their values. Both decode the visible tokens followed
by the masked ones in ascending order, so ``bool_masked_pos`` is mmmim's
mask. Hugging Face takes videos ``[B, T, C, H, W]``, mmmim
``[B, C, T, H, W]``.

One difference remains: Hugging Face builds the decoder's last norm and
the classifier's ``fc_norm`` with PyTorch's default eps 1e-5 whatever
``layer_norm_eps`` says, where mmmim (and the official VideoMAE) use 1e-6;
the outputs differ by about ``(1e-5 - 1e-6) / (2 var)`` relative, small
next to training noise but not bit-exact (the tests measure it).

Not exportable (:class:`~.common.ExportError`): layer scale (Hugging Face
VideoMAE has none), q/v biases on only one of encoder and decoder, other
input statistics than ImageNet's or other than 3 channels for the target
un-normalisation (fixed in Hugging Face), a ``norm_target_eps`` other than
1e-6, and classifiers that do not mean-pool (Hugging Face then reads a
cls token VideoMAE does not have).
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
    'videomae_config',
    'to_hf_state_dict',
    'from_hf_state_dict',
    'export_to_videomae',
]

StateDict = Dict[str, torch.Tensor]
_QKV = (
    '.attention.attention.qkv.weight',
    (
        '.attention.attention.query.weight',
        '.attention.attention.key.weight',
        '.attention.attention.value.weight',
    ),
)
_BLOCK = (
    ('norm1.', 'layernorm_before.'),
    ('norm2.', 'layernorm_after.'),
    ('attn.qkv.weight', 'attention.attention.qkv.weight'),  # split later
    ('attn.q_bias', 'attention.attention.query.bias'),
    ('attn.v_bias', 'attention.attention.value.bias'),
    ('attn.proj.', 'attention.output.dense.'),
    ('mlp.fc1.', 'intermediate.dense.'),
    ('mlp.fc2.', 'output.dense.'),
)
_TO_PLACES = (
    (r'backbone\.blocks\.(\d+)\.', r'videomae.encoder.layer.\1.'),
    (r'neck\.blocks\.(\d+)\.', r'decoder.decoder_layers.\1.'),
)
_FROM_PLACES = (
    (r'videomae\.encoder\.layer\.(\d+)\.', r'backbone.blocks.\1.'),
    (r'decoder\.decoder_layers\.(\d+)\.', r'neck.blocks.\1.'),
)
_OTHERS = (
    (
        'backbone.patch_embed.proj.',
        'videomae.embeddings.patch_embeddings.projection.',
    ),
    ('backbone.norm.', 'videomae.layernorm.'),
    ('backbone.fc_norm.', 'fc_norm.'),
    ('head.fc.', 'classifier.'),
    ('neck.encoder_to_decoder.', 'encoder_to_decoder.'),
    ('neck.mask_token', 'mask_token'),
    ('neck.norm.', 'decoder.norm.'),
    ('neck.head.', 'decoder.head.'),
)
#: mmmim -> Hugging Face.
TO_HF_RULES = (
    *block_rules(_TO_PLACES, _BLOCK),
    *block_rules([('', '')], _OTHERS),
)
#: Hugging Face -> mmmim (after q/k/v weights are fused).
FROM_HF_RULES = (
    *block_rules(_FROM_PLACES, [(hf, mm) for mm, hf in _BLOCK]),
    *block_rules([('', '')], [(hf, mm) for mm, hf in _OTHERS]),
)


def videomae_config(model: nn.Module):
    """The ``VideoMAEConfig`` of an mmmim ``VideoMAE`` or fine-tuned
    ``VideoClassifier``.

    Args:
        model (nn.Module): See the module docstring.

    Returns:
        transformers.VideoMAEConfig: Geometry, pooling, labels and loss.

    Raises:
        ExportError: For the models listed in the module docstring.
    """
    from transformers import VideoMAEConfig

    from mmmim.models.backbones import VideoMAEViT
    from mmmim.models.heads import VideoReconstructionHead
    from mmmim.models.heads.video_reconstruction_head import (
        IMAGENET_MEAN,
        IMAGENET_STD,
    )
    from mmmim.models.necks import VideoMAEDecoder

    backbone, neck, head = model_parts(model)
    if not isinstance(backbone, VideoMAEViT):
        raise ExportError(
            f'{type(backbone).__name__} is not a VideoMAEViT; Hugging Face '
            'VideoMAE holds VideoMAE models only (images: MAE -> ViTMAE, '
            'or timm).'
        )
    block = backbone.blocks[0]
    if getattr(block, 'gamma_1', None) is not None:
        raise ExportError(
            'the encoder has layer scale (gamma_1/2); Hugging Face VideoMAE '
            'has none. Export models built with layer_scale_init_value=0.'
        )
    t, h, w = backbone.grid_size
    proj = backbone.patch_embed.proj
    if h != w:
        raise ExportError(f'frames of {h}x{w} patches are not square.')
    args = dict(
        image_size=h * proj.kernel_size[-1],
        patch_size=proj.kernel_size[-1],
        num_channels=proj.in_channels,
        num_frames=t * proj.kernel_size[0],
        tubelet_size=proj.kernel_size[0],
        hidden_size=backbone.embed_dims,
        num_hidden_layers=backbone.num_layers,
        num_attention_heads=backbone.arch_settings['num_heads'],
        intermediate_size=block.mlp.fc1.out_features,
        hidden_act='gelu',
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        layer_norm_eps=block.norm1.eps,
        qv_bias=block.attn.q_bias is not None,
    )
    if isinstance(neck, VideoMAEDecoder):
        if not isinstance(head, VideoReconstructionHead):
            raise ExportError(
                f'head {type(head).__name__} is not a cube-pixel target.'
            )
        if backbone.norm is None:
            raise ExportError(
                'the pre-training encoder has no final norm; Hugging Face '
                'VideoMAEForPreTraining has one (use_mean_pooling=False).'
            )
        stats = (head.mean.flatten().tolist(), head.std.flatten().tolist())
        close = all(
            abs(a - b) < 1e-6
            for got, want in zip(stats, (IMAGENET_MEAN, IMAGENET_STD))
            for a, b in zip(got, want)
        )
        if args['num_channels'] != 3 or not close:
            raise ExportError(
                'Hugging Face VideoMAE un-normalises the targets with the '
                'ImageNet RGB mean/std; this head uses '
                f'mean={stats[0]}, std={stats[1]}.'
            )
        if head.norm_target and abs(head.norm_target_eps - 1e-6) > 1e-12:
            raise ExportError(
                f'norm_target_eps={head.norm_target_eps}; Hugging Face '
                'uses 1e-6.'
            )
        dec = neck.blocks[0]
        if (dec.attn.q_bias is not None) != args['qv_bias']:
            raise ExportError(
                'q/v biases on only one of encoder and decoder; Hugging '
                'Face VideoMAE has one qv_bias for both.'
            )
        if abs(dec.norm1.eps - args['layer_norm_eps']) > 1e-12:
            raise ExportError('encoder and decoder LayerNorm eps differ.')
        return VideoMAEConfig(
            **args,
            use_mean_pooling=False,
            decoder_num_attention_heads=dec.attn.num_heads,
            decoder_hidden_size=neck.encoder_to_decoder.out_features,
            decoder_num_hidden_layers=len(neck.blocks),
            decoder_intermediate_size=dec.mlp.fc1.out_features,
            norm_pix_loss=bool(head.norm_target),
        )
    fc = getattr(head, 'fc', None)
    pooled = hasattr(backbone, 'fc_norm') and backbone.norm is None
    if neck is not None or not isinstance(fc, nn.Linear) or not pooled:
        raise ExportError(
            'only VideoMAE pre-training models and mean-pooling classifiers '
            "(out_type='avg_featmap', final_norm=False, no neck, a linear "
            'head) export to Hugging Face VideoMAE.'
        )
    return VideoMAEConfig(
        **args, use_mean_pooling=True, num_labels=fc.out_features
    )


def to_hf_state_dict(
    state_dict: StateDict, source: str = 'model'
) -> StateDict:
    """mmmim VideoMAE weights -> Hugging Face weights (q/k/v split).

    Args:
        state_dict (dict): ``backbone.*`` with ``neck.*`` (pre-training) or
            ``head.fc.*`` (classifier) weights.
        source (str): Name used in error messages.

    Returns:
        dict: ``VideoMAEForPreTraining`` or
        ``VideoMAEForVideoClassification`` weights (copies).
    """
    if any('.gamma_' in k for k in state_dict):
        raise ExportError(
            f'{source} has layer scale (gamma_1/2); Hugging Face VideoMAE '
            'has none.'
        )
    renamed = rename_keys(
        state_dict, TO_HF_RULES, source, 'Is this a VideoMAE model?'
    )
    return split_fused(renamed, *_QKV)


def from_hf_state_dict(
    state_dict: StateDict, source: str = 'checkpoint'
) -> Tuple[StateDict, dict]:
    """Hugging Face VideoMAE weights -> mmmim weights and meta.

    Args:
        state_dict (dict): ``VideoMAEForPreTraining`` or
            ``VideoMAEForVideoClassification`` weights.
        source (str): Name used in error messages.

    Returns:
        Tuple[dict, dict]: mmmim weights (``VideoMAE`` or
        ``VideoClassifier``) and the meta (kind, geometry).
    """
    proj = state_dict.get(
        'videomae.embeddings.patch_embeddings.projection.weight'
    )
    if proj is None:
        raise ExportError(
            f'{source} is not a Hugging Face VideoMAE state dict: '
            '"videomae.embeddings.patch_embeddings.projection.weight" is '
            'missing.'
        )
    fused = merge_fused(state_dict, *_QKV)
    converted = rename_keys(
        fused, FROM_HF_RULES, source, 'Is this a Hugging Face VideoMAE?'
    )
    kind = (
        'pretrain'
        if 'encoder_to_decoder.weight' in state_dict
        else ('finetune')
    )
    arch = dict(
        kind=kind,
        embed_dims=proj.shape[0],
        tubelet_size=proj.shape[2],
        patch_size=proj.shape[-1],
        num_layers=count_blocks(state_dict, 'videomae.encoder.layer.'),
    )
    if 'classifier.weight' in state_dict:
        arch['num_classes'] = state_dict['classifier.weight'].shape[0]
    return converted, dict(kind='videomae', arch=arch)


def export_to_videomae(model: nn.Module, out_dir: str = None):
    """Build the Hugging Face VideoMAE model of an mmmim one (strict load).

    Args:
        model (nn.Module): See :func:`videomae_config`.
        out_dir (str, optional): Save it there with ``save_pretrained``.

    Returns:
        nn.Module: ``VideoMAEForPreTraining`` or
        ``VideoMAEForVideoClassification``, in eval mode.
    """
    from transformers import (
        VideoMAEForPreTraining,
        VideoMAEForVideoClassification,
    )

    config = videomae_config(model)
    cls = (
        VideoMAEForVideoClassification
        if config.use_mean_pooling
        else VideoMAEForPreTraining
    )
    state = to_hf_state_dict(model_state_dict(model), type(model).__name__)
    hf_model = cls(config)
    hf_model.load_state_dict(state, strict=True)
    if out_dir is not None:
        hf_model.save_pretrained(out_dir)
    return hf_model.eval()
