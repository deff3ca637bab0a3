# Copyright (c) mmmim contributors. All rights reserved.
"""ConvMAE rows of ``benchmark.py`` (``--method convmae``).

There is no OpenMMLab ConvMAE, so the reference is the straightforward
formulation of the same model: channels-first convolutions in the
reference's recipe (fp32 with torch's default AdamW on a CPU; the official
fp16 autocast with a GradScaler on CUDA). mmmim runs its default:
channels-last conv stages with its recipe (bf16 autocast, fused AdamW).
The candidate starts from the reference's weights, so the report also
compares their first losses on the same batch and masks (the exactness
check of the faster path).
"""

from typing import List

import torch
from benchmark_common import Comparison, Setting, Spec, label
from mim_flops import convmae_forward_macs, train_flops

# name: (img, decoder dims, decoder layers, decoder heads); encoder 'b'.
CONVMAE_SIZES = {
    'B224': (224, 512, 8, 16),
    'B112': (112, 512, 8, 16),
}
SIZES = tuple(CONVMAE_SIZES)
UNIT = 'img'
MASK_RATIO = 0.75


def build_convmae(size: str, channels_last: bool) -> torch.nn.Module:
    """ConvMAE-B (encoder ``'b'``) with the official decoder."""
    from mmmim.models import ConvMAE

    img, ddims, dlayers, dheads = CONVMAE_SIZES[size]
    model = ConvMAE(
        backbone=dict(
            type='ConvMAEViT',
            arch='b',
            img_size=img,
            mask_generator=dict(
                type='RandomMaskGenerator', mask_ratio=MASK_RATIO
            ),
            channels_last=channels_last,
        ),
        neck=dict(
            type='ConvMAEDecoder',
            num_patches=(img // 16) ** 2,
            decoder_embed_dims=ddims,
            decoder_num_layers=dlayers,
            decoder_num_heads=dheads,
        ),
        head=dict(type='PixelReconstructionHead', patch_size=16),
        data_preprocessor=dict(type='BaseDataPreprocessor'),
    )
    model.init_weights()
    return model


def _loss(model: torch.nn.Module, imgs: torch.Tensor) -> torch.Tensor:
    return model.loss(imgs)['loss']


def comparisons(size: str, batch: int, setting: Setting) -> List[Comparison]:
    """Channels-first ConvMAE vs mmmim's default path.

    Args:
        size (str): A key of :data:`CONVMAE_SIZES`.
        batch (int): Images per step.
        setting (Setting): The recipes of both sides.

    Returns:
        List[Comparison]: The ConvMAE comparison.
    """
    img, ddims, dlayers, _ = CONVMAE_SIZES[size]
    flops = train_flops(
        convmae_forward_macs(
            img,
            decoder_dims=ddims,
            decoder_layers=dlayers,
            mask_ratio=MASK_RATIO,
        )
    )

    def inputs(n: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(0)
        return torch.randn(n, 3, img, img, generator=gen)

    return [
        Comparison(
            title=f'CONVMAE {size} (ConvMAE-B encoder), {setting.name}',
            reference=Spec(
                label('ConvMAE channels-first', setting.reference),
                lambda: build_convmae(size, channels_last=False),
                _loss,
                inputs,
                flops,
                setting.reference,
            ),
            candidate=Spec(
                label('mmmim ConvMAE channels-last', setting.mmmim),
                lambda: build_convmae(size, channels_last=True),
                _loss,
                inputs,
                flops,
                setting.mmmim,
            ),
            share_weights=True,
        )
    ]
