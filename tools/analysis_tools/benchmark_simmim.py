# Copyright (c) mmmim contributors. All rights reserved.
"""SimMIM rows of ``benchmark.py`` (``--method simmim``).

Times SimMIM training steps (forward, backward, AdamW) of mmmim against
mmpretrain 1.2.0's SimMIM, which exists for Swin only:

* ``Swin-B``: mmpretrain ``SimMIM`` + ``SimMIMSwinTransformer`` +
  ``SimMIMLinearDecoder`` + ``SimMIMHead`` vs mmmim ``SimMIM`` +
  ``SimMIMSwin`` (window 6) + ``SimMIMLinearDecoder`` +
  ``SimMIMReconstructionHead``: the same model;
* ``ViT-B``: mmmim's SimMIM ViT-B/16 against the same mmpretrain Swin-B
  (mmpretrain has no SimMIM ViT, open-mmlab/mmpretrain#1800): a
  cross-architecture row, for scale only.

Both sides get the same images and SimMIM masks (ratio 0.6 of 32-pixel
squares), interleaved ABBA as the MAE rows. Sizes: ``B224`` is the official
geometry (ViT-B/16 at 224, Swin-B window 6 at 192); ``B112`` runs both at
96 pixels (the largest multiple of the 32-pixel mask squares below 112),
Swin with window 3 (mmpretrain's window attention refuses a last stage
smaller than the window), for CPUs.
"""

from typing import Callable, List

import torch
from benchmark_common import Comparison, Setting, Spec, label
from mim_flops import simmim_vit_forward_macs, swin_forward_macs, train_flops

# size name: (ViT image size, Swin image size, Swin window)
SIMMIM_SIZES = {'B112': (96, 96, 3), 'B224': (224, 192, 6)}
SIZES = tuple(SIMMIM_SIZES)
UNIT = 'img'


def _masks(batch: int, img: int, model_patch: int) -> torch.Tensor:
    from mmmim.models.mask_generators import SimMIMMaskGenerator

    gen = SimMIMMaskGenerator(0.6, 32, model_patch)
    grid = img // model_patch
    return gen(batch, grid, generator=torch.Generator().manual_seed(0))


def build_mmmim(kind: str, img: int, window: int) -> torch.nn.Module:
    from mmmim.models import SimMIM

    if kind == 'vit':
        return SimMIM(
            backbone=dict(
                type='SimMIMViT', arch='b', img_size=img, drop_path_rate=0.1
            ),
            neck=dict(
                type='SimMIMLinearDecoder', in_channels=768, encoder_stride=16
            ),
            head=dict(type='SimMIMReconstructionHead', patch_size=16),
        )
    return SimMIM(
        backbone=dict(
            type='SimMIMSwin', arch='b', img_size=img, window_size=window
        ),
        neck=dict(
            type='SimMIMLinearDecoder', in_channels=1024, encoder_stride=32
        ),
        head=dict(type='SimMIMReconstructionHead', patch_size=4),
    )


def build_mmpretrain_swin(img: int, window: int) -> torch.nn.Module:
    from mmpretrain.registry import MODELS
    from mmpretrain.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    return MODELS.build(
        dict(
            type='SimMIM',
            backbone=dict(
                type='SimMIMSwinTransformer',
                arch='base',
                img_size=img,
                drop_path_rate=0.0,
                stage_cfgs=dict(block_cfgs=dict(window_size=window)),
            ),
            neck=dict(
                type='SimMIMLinearDecoder', in_channels=1024, encoder_stride=32
            ),
            head=dict(
                type='SimMIMHead',
                patch_size=4,
                loss=dict(
                    type='PixelReconstructionLoss', criterion='L1', channel=3
                ),
            ),
            data_preprocessor=dict(type='SelfSupDataPreprocessor'),
        )
    )


def mmmim_loss_fn(mask: torch.Tensor) -> Callable:
    def loss(model: torch.nn.Module, imgs: torch.Tensor) -> torch.Tensor:
        return model.loss(imgs, mask.to(imgs.device))['loss']

    return loss


def mmpretrain_loss_fn(mask: torch.Tensor) -> Callable:
    from mmpretrain.structures import DataSample

    side = int(mask.shape[1] ** 0.5)
    samples = [
        DataSample().set_mask(m.reshape(side, side).long()) for m in mask
    ]

    def loss(model: torch.nn.Module, imgs: torch.Tensor) -> torch.Tensor:
        for sample in samples:
            sample.mask = sample.mask.to(imgs.device)
        return model.loss(imgs, samples)['loss']

    return loss


def _images(img: int, seed: int) -> Callable[[int], torch.Tensor]:
    def inputs(n: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed)
        return torch.randn(n, 3, img, img, generator=gen)

    return inputs


def comparisons(size: str, batch: int, setting: Setting) -> List[Comparison]:
    """Swin-B vs mmpretrain's Swin-B, and ViT-B vs the same (for scale).

    Args:
        size (str): A key of :data:`SIMMIM_SIZES`.
        batch (int): Images per step.
        setting (Setting): The recipes of both sides.

    Returns:
        List[Comparison]: The two comparisons.
    """
    vit_img, swin_img, window = SIMMIM_SIZES[size]
    swin_flops = train_flops(swin_forward_macs(swin_img, window_size=window))
    swin_mask = _masks(batch, swin_img, 4)
    rows = []
    for kind in ('swin', 'vit'):
        reference = Spec(
            label(f'mmpretrain Swin-B@{swin_img}', setting.reference),
            lambda: build_mmpretrain_swin(swin_img, window),
            mmpretrain_loss_fn(swin_mask),
            _images(swin_img, 0),
            swin_flops,
            setting.reference,
        )
        img = vit_img if kind == 'vit' else swin_img
        flops = (
            train_flops(simmim_vit_forward_macs(img))
            if kind == 'vit'
            else swin_flops
        )
        model = 'ViT-B/16' if kind == 'vit' else 'Swin-B'
        candidate = Spec(
            label(f'mmmim {model}@{img}', setting.mmmim),
            lambda kind=kind, img=img: build_mmmim(kind, img, window),
            mmmim_loss_fn(_masks(batch, img, 16 if kind == 'vit' else 4)),
            _images(img, 1),
            flops,
            setting.mmmim,
        )
        what = 'Swin-B' if kind == 'swin' else 'ViT-B (cross-arch)'
        rows.append(
            Comparison(
                f'SIMMIM {what} {size}, {setting.name}', reference, candidate
            )
        )
    return rows
