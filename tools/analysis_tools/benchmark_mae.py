# Copyright (c) mmmim contributors. All rights reserved.
"""MAE rows of ``benchmark.py`` (``--method mae``): mmmim's MAE against
mmpretrain 1.2.0's MAE with the same widths, batch and masking rate.

Both draw their masks from ``torch.rand(B, L)`` noise, so with the same
seed they mask the same patches. Sizes (see the CPU protocol in the
performance notes): ``B112`` has MAE-B's 111.7 M parameters and GEMM
shapes with 13/50 encoder/decoder tokens, the CPU proxy for MAE-B;
``B224`` and ``L224`` are MAE-B/16 and MAE-L/16 for GPUs.
"""

from typing import List

import torch
from benchmark_common import Comparison, Setting, Spec, label
from mim_flops import mae_forward_macs, train_flops

# name: (img, patch, enc dims, enc layers, enc heads, dec dims, dec layers,
#        dec heads)
MAE_SIZES = {
    'T224': (224, 16, 192, 12, 3, 256, 4, 8),
    'S224': (224, 16, 384, 12, 6, 256, 4, 8),
    'B112': (112, 16, 768, 12, 12, 512, 8, 16),
    'B224': (224, 16, 768, 12, 12, 512, 8, 16),
    'L224': (224, 16, 1024, 24, 16, 512, 8, 16),
}
SIZES = tuple(MAE_SIZES)
UNIT = 'img'
MASK_RATIO = 0.75


def build_mmmim_mae(size: str) -> torch.nn.Module:
    """mmmim's MAE with norm-pix targets."""
    from mmmim.models import MAE

    img, patch, dims, layers, heads, ddims, dlayers, dheads = MAE_SIZES[size]
    return MAE(
        backbone=dict(
            type='MAEViT',
            arch=dict(
                embed_dims=dims,
                num_layers=layers,
                num_heads=heads,
                feedforward_channels=4 * dims,
            ),
            img_size=img,
            patch_size=patch,
            mask_generator=dict(
                type='RandomMaskGenerator', mask_ratio=MASK_RATIO
            ),
        ),
        neck=dict(
            type='MAEDecoder',
            num_patches=(img // patch) ** 2,
            patch_size=patch,
            embed_dims=dims,
            decoder_embed_dims=ddims,
            decoder_num_layers=dlayers,
            decoder_num_heads=dheads,
        ),
        head=dict(
            type='PixelReconstructionHead', patch_size=patch, norm_pix=True
        ),
    )


def build_mmpretrain_mae(size: str) -> torch.nn.Module:
    """mmpretrain's MAE with the same widths and its own init."""
    from mmpretrain.registry import MODELS
    from mmpretrain.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    img, patch, dims, layers, heads, ddims, dlayers, dheads = MAE_SIZES[size]
    return MODELS.build(
        dict(
            type='MAE',
            backbone=dict(
                type='MAEViT',
                arch=dict(
                    embed_dims=dims,
                    num_layers=layers,
                    num_heads=heads,
                    feedforward_channels=4 * dims,
                ),
                img_size=img,
                patch_size=patch,
                mask_ratio=MASK_RATIO,
            ),
            neck=dict(
                type='MAEPretrainDecoder',
                num_patches=(img // patch) ** 2,
                patch_size=patch,
                in_chans=3,
                embed_dim=dims,
                decoder_embed_dim=ddims,
                decoder_depth=dlayers,
                decoder_num_heads=dheads,
                mlp_ratio=4.0,
            ),
            head=dict(
                type='MAEPretrainHead',
                norm_pix=True,
                patch_size=patch,
                loss=dict(type='PixelReconstructionLoss', criterion='L2'),
            ),
            init_cfg=[
                dict(type='Xavier', layer='Linear', distribution='uniform'),
                dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0),
            ],
        )
    )


def mae_train_flops(size: str) -> float:
    """Training FLOPs per image (the official geometry: patch embedding
    on all patches, class token in encoder and decoder)."""
    img, patch, dims, layers, _, ddims, dlayers, _ = MAE_SIZES[size]
    return train_flops(
        mae_forward_macs(
            (img // patch) ** 2,
            3 * patch**2,
            dims,
            layers,
            ddims,
            dlayers,
            MASK_RATIO,
        )
    )


def _mmmim_loss(model: torch.nn.Module, imgs: torch.Tensor) -> torch.Tensor:
    return model.loss(imgs)['loss']


def _mmpretrain_loss(
    model: torch.nn.Module, imgs: torch.Tensor
) -> torch.Tensor:
    return model.loss(imgs, [])['loss']


def comparisons(size: str, batch: int, setting: Setting) -> List[Comparison]:
    """One comparison: mmmim's MAE vs mmpretrain's.

    Args:
        size (str): A key of :data:`MAE_SIZES`.
        batch (int): Images per step.
        setting (Setting): The recipes of both sides.

    Returns:
        List[Comparison]: The MAE comparison.
    """
    img = MAE_SIZES[size][0]
    flops = mae_train_flops(size)

    def inputs(n: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(0)
        return torch.randn(n, 3, img, img, generator=gen)

    return [
        Comparison(
            title=f'MAE {size}, {setting.name}',
            reference=Spec(
                label('mmpretrain', setting.reference),
                lambda: build_mmpretrain_mae(size),
                _mmpretrain_loss,
                inputs,
                flops,
                setting.reference,
            ),
            candidate=Spec(
                label('mmmim', setting.mmmim),
                lambda: build_mmmim_mae(size),
                _mmmim_loss,
                inputs,
                flops,
                setting.mmmim,
            ),
        )
    ]
