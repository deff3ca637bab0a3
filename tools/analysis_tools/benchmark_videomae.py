# Copyright (c) mmmim contributors. All rights reserved.
"""VideoMAE rows of ``benchmark.py`` (``--method videomae``).

mmpretrain and mmaction2 cannot pre-train VideoMAE, so the reference is the
official formulation (MCG-NJU/VideoMAE ``modeling_pretrain.py`` and
``engine_for_pretraining.py``) run on the *same* modules and weights:
boolean indexing ``x[~mask]`` for the visible tokens, for the decoder's
position rows and for the targets, each of which makes the GPU wait for
the mask (a device-to-host synchronisation) every step. mmmim selects the
same tokens with gathers. Both sides start from the same weights, get the
same clips and tube masks, and their first losses agree (reported).

Sizes: ``B224`` is the official geometry (ViT-B/16, 16 x 224 x 224 clips,
8 x 14 x 14 = 1568 tokens, 160 visible); ``B112`` the same model on
16 x 112 x 112 clips (392 tokens, 40 visible) for CPUs.
"""

from typing import Callable, Dict, List

import torch
import torch.nn.functional as F
from benchmark_common import Comparison, Setting, Spec, label
from mim_flops import mae_forward_macs, train_flops

VIDEO_SIZES = {'B112': 112, 'B224': 224}
SIZES = tuple(VIDEO_SIZES)
UNIT = 'clip'
FRAMES, PATCH, TUBELET, RATIO = 16, 16, 2, 0.9


def build_mmmim(img: int) -> torch.nn.Module:
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


def official_style_loss(
    model: torch.nn.Module, videos: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """The official forward and loss, on mmmim's modules.

    Args:
        model (nn.Module): An mmmim ``VideoMAE``.
        videos (torch.Tensor): Normalised clips ``[B, C, T, H, W]``.
        mask (torch.Tensor): Bool ``[B, N]``, True = masked.

    Returns:
        torch.Tensor: The scalar loss.
    """
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


def _masks(batch: int, img: int) -> torch.Tensor:
    from mmmim.models import TubeMaskGenerator

    grid = (FRAMES // TUBELET, img // PATCH, img // PATCH)
    gen = TubeMaskGenerator(RATIO)
    return gen(batch, grid, generator=torch.Generator().manual_seed(0))


def _videos(img: int) -> Callable[[int], torch.Tensor]:
    def inputs(n: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(0)
        return torch.randn(n, 3, FRAMES, img, img, generator=gen)

    return inputs


def forward_macs(img: int) -> float:
    """Forward MAC per clip (cube embedding on every cube, the encoder on
    the visible ones, the decoder on all, predictions for the masked)."""
    side = img // PATCH
    per_slot = side * side
    num_tokens = FRAMES // TUBELET * per_slot
    visible = FRAMES // TUBELET * (per_slot - int(RATIO * per_slot))
    return mae_forward_macs(
        num_patches=num_tokens,
        patch_pixels=3 * TUBELET * PATCH * PATCH,
        dims=768,
        layers=12,
        decoder_dims=384,
        decoder_layers=4,
        # The exact visible count of tube masking (int() per slot).
        mask_ratio=1 - (visible + 0.5) / num_tokens,
        cls_token=False,
        predict_all=False,
    )


def comparisons(size: str, batch: int, setting: Setting) -> List[Comparison]:
    """mmmim's VideoMAE-B against the official formulation.

    Args:
        size (str): A key of :data:`VIDEO_SIZES`.
        batch (int): Clips per step.
        setting (Setting): The recipes of both sides.

    Returns:
        List[Comparison]: One comparison.
    """
    img = VIDEO_SIZES[size]
    mask = _masks(batch, img)
    flops = train_flops(forward_macs(img))

    def official(model, videos):
        return official_style_loss(model, videos, mask.to(videos.device))

    def mmmim(model, videos):
        return model.loss(videos, mask.to(videos.device))['loss']

    reference = Spec(
        label(f'official-style VideoMAE-B@16x{img}', setting.reference),
        lambda: build_mmmim(img),
        official,
        _videos(img),
        flops,
        setting.reference,
    )
    candidate = Spec(
        label(f'mmmim VideoMAE-B@16x{img}', setting.mmmim),
        lambda: build_mmmim(img),
        mmmim,
        _videos(img),
        flops,
        setting.mmmim,
    )
    return [
        Comparison(
            f'VIDEOMAE ViT-B {size}, {setting.name}',
            reference,
            candidate,
            share_weights=True,
        )
    ]


def sync_op_counts(img: int = 32, batch: int = 2) -> Dict[str, int]:
    """Device-to-host synchronising ops in one training step of each side
    (counted at the dispatcher, so also on a CPU)."""
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

    model = build_mmmim(img)
    videos = _videos(img)(batch)
    mask = _masks(batch, img)
    counts = {}
    for name, fn in (
        ('official-style', lambda: official_style_loss(model, videos, mask)),
        ('mmmim', lambda: model.loss(videos, mask)['loss']),
    ):
        with Counter() as counter:
            fn().backward()
        counts[name] = counter.count
    return counts
