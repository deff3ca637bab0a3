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

from typing import Callable, Dict, Tuple

import torch
from benchmark import Candidate, _label, report

# size name: (ViT image size, Swin image size, Swin window)
SIZES = {'B112': (96, 96, 3), 'B224': (224, 192, 6)}


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


def compare(
    kind: str,
    size: str,
    batch: int,
    pairs: int,
    warmup: int,
    setting: Dict[str, Tuple],
    device: torch.device,
) -> dict:
    """One interleaved comparison of mmmim ``kind`` vs mmpretrain Swin."""
    vit_img, swin_img, window = SIZES[size]
    swin_mask = _masks(batch, swin_img, 4)
    torch.manual_seed(0)
    ref_kind, ref_amp = setting['reference']
    reference = Candidate(
        _label(f'mmpretrain Swin-B@{swin_img}', ref_kind, ref_amp),
        build_mmpretrain_swin(swin_img, window),
        mmpretrain_loss_fn(swin_mask),
        ref_kind,
        device,
        ref_amp,
    )
    img = vit_img if kind == 'vit' else swin_img
    mask = _masks(batch, img, 16 if kind == 'vit' else 4)
    torch.manual_seed(0)
    our_kind, our_amp = setting['mmmim']
    name = f'mmmim {"ViT-B/16" if kind == "vit" else "Swin-B"}@{img}'
    ours = Candidate(
        _label(name, our_kind, our_amp),
        build_mmmim(kind, img, window),
        mmmim_loss_fn(mask),
        our_kind,
        device,
        our_amp,
    )
    gen = torch.Generator().manual_seed(0)
    ref_imgs = torch.randn(batch, 3, swin_img, swin_img, generator=gen)
    our_imgs = torch.randn(batch, 3, img, img, generator=gen)
    ref_imgs, our_imgs = ref_imgs.to(device), our_imgs.to(device)
    for step in range(warmup):
        reference.step(ref_imgs, 1000 + step, record=False)
        ours.step(our_imgs, 1000 + step, record=False)
    ratios = []
    for pair in range(pairs):
        seed = 2000 + pair
        ref_first = pair % 2 == 0
        times = {}
        for cand, imgs in (
            [(reference, ref_imgs), (ours, our_imgs)]
            if ref_first
            else [(ours, our_imgs), (reference, ref_imgs)]
        ):
            times[cand.name] = cand.step(imgs, seed, record=True)
        ratios.append(times[reference.name] / times[ours.name])
    return dict(candidates=(reference, ours), ratios=ratios)


def run(args, settings: Dict[str, dict]) -> None:
    """Print the SimMIM rows for ``args.settings``."""
    if args.size not in SIZES:
        raise SystemExit(
            f'--method simmim supports --size {sorted(SIZES)} '
            '(B112: 96-pixel images, B224: ViT 224 / Swin 192)'
        )
    device = torch.device(args.device)
    for kind in ('swin', 'vit'):
        for name in args.settings:
            result = compare(
                kind,
                args.size,
                args.batch,
                args.pairs,
                args.warmup,
                settings[name],
                device,
            )
            model = 'Swin-B' if kind == 'swin' else 'ViT-B (cross-arch)'
            report(f'SIMMIM {model} {args.size}, {name}', result, args.batch)
