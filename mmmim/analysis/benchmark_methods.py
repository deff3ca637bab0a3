# Copyright (c) mmmim contributors. All rights reserved.
"""The comparisons of ``tools/analysis_tools/benchmark.py --method M``.

Each entry of :data:`METHODS` gives the accepted ``--size`` values, the
unit of a sample and ``comparisons(size, batch)``, a list of
:class:`~mmmim.analysis.benchmark.Comparison`. The references:

* ``mae``: mmpretrain 1.2.0's MAE with the same widths (both draw masks
  from ``torch.rand(B, L)`` noise, so one seed masks the same patches);
* ``simmim``: mmpretrain's SimMIM Swin-B, against mmmim's Swin-B (the same
  model) and ViT-B/16 (for scale: mmpretrain has no SimMIM ViT), with the
  same images and masks;
* ``convmae`` (no OpenMMLab ConvMAE): the same model with channels-first
  convolutions, from the same weights;
* ``videomae`` (mmpretrain and mmaction2 cannot pre-train it): the official
  formulation on the same modules and weights, whose boolean indexing
  ``x[~mask]`` makes the GPU wait for the mask; mmmim gathers.

``B112`` sizes are CPU proxies (MAE-B's parameters and GEMM shapes at
112 px; SimMIM at 96 px with Swin window 3), ``B224``/``L224`` the
official geometries for GPUs (docs/en/benchmarks.md).
"""

from typing import Callable, Dict, List, NamedTuple

import torch
import torch.nn.functional as F

from .benchmark import Comparison, Spec
from .flops import (
    convmae_forward_macs,
    mae_forward_macs,
    simmim_vit_forward_macs,
    swin_forward_macs,
    train_flops,
)

Inputs = Callable[[int], torch.Tensor]


def seeded_inputs(*shape: int, seed: int = 0) -> Inputs:
    """``inputs(n)``: a fixed ``randn(n, *shape)`` batch."""

    def inputs(n: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed)
        return torch.randn(n, *shape, generator=gen)

    return inputs


def mmmim_loss(model: torch.nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    return model.loss(inputs)['loss']


def masked_loss(mask: torch.Tensor) -> Callable:
    """mmmim's loss with a fixed mask."""
    return lambda model, x: model.loss(x, mask.to(x.device))['loss']


def same_inputs(
    title: str,
    inputs: Inputs,
    flops: float,
    reference: tuple,
    candidate: tuple,
    share_weights: bool = False,
) -> Comparison:
    """Two sides ``(name, build, loss_fn)`` on the same inputs and FLOPs."""
    return Comparison(
        title,
        Spec(*reference, inputs, flops),
        Spec(*candidate, inputs, flops),
        share_weights,
    )


def _mmpretrain_model(cfg: dict) -> torch.nn.Module:
    from mmpretrain.registry import MODELS
    from mmpretrain.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    return MODELS.build(cfg)


# ------------------------------------------------------------------- MAE
# name: (img, patch, enc dims, enc layers, enc heads, dec dims, dec layers,
#        dec heads)
MAE_SIZES = {
    'T224': (224, 16, 192, 12, 3, 256, 4, 8),
    'S224': (224, 16, 384, 12, 6, 256, 4, 8),
    'B112': (112, 16, 768, 12, 12, 512, 8, 16),
    'B224': (224, 16, 768, 12, 12, 512, 8, 16),
    'L224': (224, 16, 1024, 24, 16, 512, 8, 16),
}
MASK_RATIO = 0.75


def build_mae(size: str, library: str = 'mmmim') -> torch.nn.Module:
    """MAE with norm-pix targets of mmmim or of mmpretrain (its own
    init)."""
    img, patch, dims, layers, heads, ddims, dlayers, dheads = MAE_SIZES[size]
    arch = dict(
        embed_dims=dims,
        num_layers=layers,
        num_heads=heads,
        feedforward_channels=4 * dims,
    )
    if library == 'mmmim':
        from mmmim.models import MAE

        return MAE(
            backbone=dict(
                type='MAEViT',
                arch=arch,
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
    return _mmpretrain_model(
        dict(
            type='MAE',
            backbone=dict(
                type='MAEViT',
                arch=arch,
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


def mae_comparisons(size: str, batch: int) -> List[Comparison]:
    """mmmim's MAE vs mmpretrain's. FLOPs: the official geometry (patch
    embedding on all patches, class token in encoder and decoder)."""
    img, patch, dims, layers, _, ddims, dlayers, _ = MAE_SIZES[size]
    flops = train_flops(
        mae_forward_macs(
            (img // patch) ** 2, 3 * patch**2, dims, layers, ddims, dlayers
        )
    )
    inputs = seeded_inputs(3, img, img)

    def loss(model, imgs):  # mmpretrain's
        return model.loss(imgs, [])['loss']

    reference = ('mmpretrain', lambda: build_mae(size, 'mmpretrain'), loss)
    candidate = ('mmmim', lambda: build_mae(size), mmmim_loss)
    return [same_inputs(f'MAE {size}', inputs, flops, reference, candidate)]


# ---------------------------------------------------------------- SimMIM
# size name: (ViT image size, Swin image size, Swin window)
SIMMIM_SIZES = {'B112': (96, 96, 3), 'B224': (224, 192, 6)}


def simmim_masks(batch: int, img: int, model_patch: int) -> torch.Tensor:
    from mmmim.models.mask_generators import SimMIMMaskGenerator

    gen = SimMIMMaskGenerator(0.6, 32, model_patch)
    grid = img // model_patch
    return gen(batch, grid, generator=torch.Generator().manual_seed(0))


def build_simmim(kind: str, img: int, window: int) -> torch.nn.Module:
    """mmmim's SimMIM ViT-B/16 or Swin-B."""
    from mmmim.models import SimMIM

    vit = kind == 'vit'
    backbone = dict(type='SimMIMViT', arch='b', img_size=img)
    if vit:
        backbone.update(drop_path_rate=0.1)
    else:
        backbone.update(type='SimMIMSwin', window_size=window)
    return SimMIM(
        backbone=backbone,
        neck=dict(
            type='SimMIMLinearDecoder',
            in_channels=768 if vit else 1024,
            encoder_stride=16 if vit else 32,
        ),
        head=dict(
            type='SimMIMReconstructionHead', patch_size=16 if vit else 4
        ),
    )


def build_mmpretrain_swin(img: int, window: int) -> torch.nn.Module:
    return _mmpretrain_model(
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


def mmpretrain_masked_loss(mask: torch.Tensor) -> Callable:
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


def simmim_comparisons(size: str, batch: int) -> List[Comparison]:
    """Swin-B vs mmpretrain's Swin-B, and ViT-B vs the same (for scale)."""
    vit_img, swin_img, window = SIMMIM_SIZES[size]
    swin_flops = train_flops(swin_forward_macs(swin_img, window_size=window))
    reference = Spec(
        f'mmpretrain Swin-B@{swin_img}',
        lambda: build_mmpretrain_swin(swin_img, window),
        mmpretrain_masked_loss(simmim_masks(batch, swin_img, 4)),
        seeded_inputs(3, swin_img, swin_img),
        swin_flops,
    )
    rows = []
    for kind, img, model, what in (
        ('swin', swin_img, 'Swin-B', 'Swin-B'),
        ('vit', vit_img, 'ViT-B/16', 'ViT-B (cross-arch)'),
    ):
        vit = kind == 'vit'
        candidate = Spec(
            f'mmmim {model}@{img}',
            lambda kind=kind, img=img: build_simmim(kind, img, window),
            masked_loss(simmim_masks(batch, img, 16 if vit else 4)),
            seeded_inputs(3, img, img, seed=1),
            train_flops(simmim_vit_forward_macs(img)) if vit else swin_flops,
        )
        rows.append(Comparison(f'SIMMIM {what} {size}', reference, candidate))
    return rows


# --------------------------------------------------------------- ConvMAE
# name: (img, decoder dims, decoder layers, decoder heads); encoder 'b'.
CONVMAE_SIZES = {'B224': (224, 512, 8, 16), 'B112': (112, 512, 8, 16)}


def build_convmae(size: str, channels_last: bool = True) -> torch.nn.Module:
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


def convmae_comparisons(size: str, batch: int) -> List[Comparison]:
    """Channels-first ConvMAE vs mmmim's default path."""
    img, ddims, dlayers, _ = CONVMAE_SIZES[size]
    macs = convmae_forward_macs(
        img, decoder_dims=ddims, decoder_layers=dlayers
    )
    flops = train_flops(macs)
    reference = ('ConvMAE channels-first', lambda: build_convmae(size, False))
    candidate = ('mmmim ConvMAE channels-last', lambda: build_convmae(size))
    return [
        same_inputs(
            f'CONVMAE {size} (ConvMAE-B encoder)',
            seeded_inputs(3, img, img),
            flops,
            (*reference, mmmim_loss),
            (*candidate, mmmim_loss),
            share_weights=True,
        )
    ]


# -------------------------------------------------------------- VideoMAE
VIDEO_SIZES = {'B112': 112, 'B224': 224}
FRAMES, PATCH, TUBELET, VIDEO_RATIO = 16, 16, 2, 0.9


def build_videomae(img: int) -> torch.nn.Module:
    """VideoMAE ViT-B/16 with the official 4 x 384 decoder."""
    from mmmim.models import VideoMAE

    grid = (FRAMES // TUBELET, img // PATCH, img // PATCH)
    return VideoMAE(
        backbone=dict(
            type='VideoMAEViT', arch='b', img_size=img, num_frames=FRAMES
        ),
        neck=dict(
            type='VideoMAEDecoder',
            num_patches=grid[0] * grid[1] * grid[2],
            decoder_num_layers=4,
        ),
        head=dict(type='VideoReconstructionHead'),
    )


def official_videomae_loss(
    model: torch.nn.Module, videos: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """The official forward and loss, on mmmim's ``VideoMAE`` modules, for
    clips ``[B, C, T, H, W]`` and a bool mask ``[B, N]`` (True = masked)."""
    backbone, neck, head = model.backbone, model.neck, model.head
    tokens, _ = backbone.patch_embed(videos)
    x = tokens + backbone.pos_embed.type_as(tokens)
    b, _, c = x.shape
    x_vis = x[~mask].reshape(b, -1, c)  # boolean indexing: a host sync
    for block in backbone.blocks:
        x_vis = block(x_vis)
    x_vis = neck.encoder_to_decoder(backbone.norm(x_vis))
    _, _, cd = x_vis.shape
    pos = neck.pos_embed.expand(b, -1, -1).type_as(x_vis)
    pos_vis = pos[~mask].reshape(b, -1, cd)
    pos_mask = pos[mask].reshape(b, -1, cd)
    x_full = torch.cat([x_vis + pos_vis, neck.mask_token + pos_mask], dim=1)
    for block in neck.blocks:
        x_full = block(x_full)
    pred = neck.head(neck.norm(x_full[:, -pos_mask.shape[1] :]))
    with torch.no_grad():
        target = head.target(videos)
        labels = target[mask].reshape(b, -1, target.shape[-1])
    return F.mse_loss(pred.float(), labels.float())


def tube_masks(batch: int, img: int) -> torch.Tensor:
    from mmmim.models import TubeMaskGenerator

    grid = (FRAMES // TUBELET, img // PATCH, img // PATCH)
    gen = TubeMaskGenerator(VIDEO_RATIO)
    return gen(batch, grid, generator=torch.Generator().manual_seed(0))


def videomae_forward_macs(img: int) -> float:
    """Forward MAC per clip (cube embedding on every cube, the encoder on
    the visible ones, the decoder on all, predictions for the masked)."""
    per_slot = (img // PATCH) ** 2
    slots = FRAMES // TUBELET
    return mae_forward_macs(
        num_patches=slots * per_slot,
        patch_pixels=3 * TUBELET * PATCH * PATCH,
        dims=768,
        layers=12,
        decoder_dims=384,
        decoder_layers=4,
        cls_token=False,
        predict_all=False,
        # The exact visible count of tube masking (int() per slot).
        num_visible=slots * (per_slot - int(VIDEO_RATIO * per_slot)),
    )


def videomae_comparisons(size: str, batch: int) -> List[Comparison]:
    """mmmim's VideoMAE-B against the official formulation."""
    img = VIDEO_SIZES[size]
    mask = tube_masks(batch, img)
    flops = train_flops(videomae_forward_macs(img))

    def official(model, videos):
        return official_videomae_loss(model, videos, mask.to(videos.device))

    name = f'VideoMAE-B@16x{img}'
    return [
        same_inputs(
            f'VIDEOMAE ViT-B {size}',
            seeded_inputs(3, FRAMES, img, img),
            flops,
            (f'official-style {name}', lambda: build_videomae(img), official),
            (f'mmmim {name}', lambda: build_videomae(img), masked_loss(mask)),
            share_weights=True,
        )
    ]


def sync_op_counts(img: int = 32, batch: int = 2) -> Dict[str, int]:
    """Device-to-host synchronising ops in one VideoMAE training step of
    each side (counted at the dispatcher, so also on a CPU)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Counter(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.count = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = str(func.overloadpacket)
            boolean = name.startswith('aten.index') and any(
                isinstance(i, torch.Tensor) and i.dtype == torch.bool
                for i in (args[1] if len(args) > 1 else ()) or ()
            )
            if boolean or name in (
                'aten.nonzero',
                'aten._local_scalar_dense',
                'aten.masked_select',
            ):
                self.count += 1
            return func(*args, **(kwargs or {}))

    model = build_videomae(img)
    videos = seeded_inputs(3, FRAMES, img, img)(batch)
    mask = tube_masks(batch, img)
    counts = {}
    for name, fn in (
        (
            'official-style',
            lambda: official_videomae_loss(model, videos, mask),
        ),
        ('mmmim', lambda: model.loss(videos, mask)['loss']),
    ):
        with Counter() as counter:
            fn().backward()
        counts[name] = counter.count
    return counts


class Method(NamedTuple):
    sizes: tuple
    unit: str
    comparisons: Callable[[str, int], List[Comparison]]


METHODS = {
    'mae': Method(tuple(MAE_SIZES), 'img', mae_comparisons),
    'simmim': Method(tuple(SIMMIM_SIZES), 'img', simmim_comparisons),
    'convmae': Method(tuple(CONVMAE_SIZES), 'img', convmae_comparisons),
    'videomae': Method(tuple(VIDEO_SIZES), 'clip', videomae_comparisons),
}
