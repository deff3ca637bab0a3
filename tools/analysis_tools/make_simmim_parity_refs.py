# Copyright (c) mmmim contributors. All rights reserved.
"""Generate the SimMIM parity references from the official code.

Runs the official SimMIM (microsoft/SimMIM d3e29bc, a local copy the user
supplies) built from its own pre-training YAML configs (ViT-B/16 at 224,
Swin-B window 6 at 192), with weights synthesised from its parameter names
and shapes, on a fixed input and a mask of its own ``MaskGenerator``. It
stores the official parameter shapes, the mask, the loss and a fingerprint
of the reconstruction (in patch space) in
``tests/data/parity/simmim_{vit,swin}.pth``; the test
``tests/test_models/test_algorithms/test_simmim_parity.py`` converts the
same weights with ``tools/model_converters/simmim_to_mmmim.py`` and checks
that ``SimMIM.reconstruct`` reproduces them.

It also builds the official fine-tuning classifiers from their YAMLs
(``models.build_model(config, is_pretrain=False)``: the mean-pooling ViT-B/16
with per-layer relative position tables at 224, Swin-B window 7 at 224),
with 10 classes and synthesised weights, and stores their parameter shapes
and logits in ``tests/data/parity/simmim_{vit,swin}_finetune.pth``.

With ``--rpb`` it also records how the official fine-tuning loaders
(``utils.remap_pretrained_keys_{vit,swin}``) turn small pre-training
relative position tables into fine-tuning ones (shared -> per layer,
geometric bicubic resizing) in ``tests/data/parity/simmim_rpb.pth``. That
needs SciPy < 1.14 (``interp2d``), e.g. a side environment with
``scipy==1.13.1`` and ``numpy<2`` put first on ``PYTHONPATH``.

The official code runs unmodified (it needs ``yacs``); on current timm the
deprecated ``timm.models.layers`` alias is pointed at ``timm.layers`` and
the renamed ``timm.data.transforms._pil_interp`` at ``str_to_pil_interp``
at run time.

Usage::

    python tools/analysis_tools/make_simmim_parity_refs.py \
        --official-repo DIR [--out tests/data/parity] [--rpb]
"""

import argparse
import logging
import os
import os.path as osp
import sys
from functools import partial

import numpy as np
import torch

from mmmim.models.utils import patchify
from mmmim.testing import (
    parity_inputs,
    summarize_prediction,
    synthesize_weights,
)

# name: (official pre-training YAML, image size, model patch size)
MODELS = dict(
    vit=(
        'configs/vit_base__800ep/simmim_pretrain__vit_base__img224__800ep.yaml',
        224,
        16,
    ),
    swin=(
        'configs/swin_base__800ep/'
        'simmim_pretrain__swin_base__img192_window6__800ep.yaml',
        192,
        4,
    ),
)
# name: official fine-tuning YAML (image size 224 in both)
FINETUNE_MODELS = dict(
    vit='configs/vit_base__800ep/simmim_finetune__vit_base__img224__800ep.yaml',
    swin='configs/swin_base__800ep/'
    'simmim_finetune__swin_base__img224_window7__800ep.yaml',
)
FINETUNE_CLASSES = 10
BATCH = 2
SEED = 0


def import_official(repo: str) -> None:
    """Make the official packages importable, with the timm alias."""
    import timm.data.transforms
    import timm.layers

    sys.modules.setdefault('timm.models.layers', timm.layers)
    if not hasattr(timm.data.transforms, '_pil_interp'):
        # Renamed in timm 0.5; only the fine-tuning loader uses it.
        timm.data.transforms._pil_interp = (
            timm.data.transforms.str_to_pil_interp
        )
    sys.path.insert(0, osp.abspath(repo))


def official_config(repo: str, yaml_path: str):
    """The official yacs config of a YAML file (defaults merged)."""
    import config as official

    cfg = official._C.clone()
    official._update_config_from_file(cfg, osp.join(repo, yaml_path))
    return cfg


def parameter_shapes(model: torch.nn.Module) -> dict:
    """Official parameter names and shapes (buffers are rebuilt)."""
    return {k: tuple(v.shape) for k, v in model.named_parameters()}


def official_mask(cfg, img_size: int, patch: int) -> torch.Tensor:
    """``BATCH`` masks of the official generator as bool ``[B, L]``."""
    from data.data_simmim import MaskGenerator

    gen = MaskGenerator(
        input_size=img_size,
        mask_patch_size=cfg.DATA.MASK_PATCH_SIZE,
        model_patch_size=patch,
        mask_ratio=cfg.DATA.MASK_RATIO,
    )
    np.random.seed(SEED + 2)
    masks = np.stack([gen() for _ in range(BATCH)])
    return torch.from_numpy(masks).flatten(1).bool()


def reference_patch_ids(mask: torch.Tensor) -> list:
    """8 masked and 8 visible token ids of sample 0."""
    masked = torch.nonzero(mask[0]).flatten()[:8]
    visible = torch.nonzero(~mask[0]).flatten()[:8]
    return sorted(torch.cat([masked, visible]).tolist())


def make_reference(repo: str, name: str) -> dict:
    from models.simmim import build_simmim

    yaml_path, img_size, patch = MODELS[name]
    cfg = official_config(repo, yaml_path)
    model = build_simmim(cfg).eval()
    shapes = parameter_shapes(model)
    missing, unexpected = model.load_state_dict(
        synthesize_weights(shapes, SEED), strict=False
    )
    assert not unexpected and all(
        k.endswith(('relative_position_index', 'attn_mask')) for k in missing
    ), missing
    imgs = parity_inputs(BATCH, img_size, seed=SEED + 1)
    mask = official_mask(cfg, img_size, patch)
    grid_mask = mask.reshape(BATCH, img_size // patch, img_size // patch)
    with torch.no_grad():
        loss = model(imgs, grid_mask.long())
        rec = model.decoder(model.encoder(imgs, grid_mask.long()))
    pred = patchify(rec, patch)
    return dict(
        name=name,
        img_size=img_size,
        patch_size=patch,
        seed=SEED,
        official_shapes=shapes,
        mask=mask,
        loss=loss.double(),
        pred=summarize_prediction(pred, reference_patch_ids(mask)),
        official_commit='d3e29bc',
    )


def make_finetune_reference(repo: str, name: str) -> dict:
    """Logits of an official fine-tuning classifier."""
    from models import build_model

    cfg = official_config(repo, FINETUNE_MODELS[name])
    cfg.defrost()
    cfg.MODEL.NUM_CLASSES = FINETUNE_CLASSES
    cfg.freeze()
    model = build_model(cfg, is_pretrain=False).eval()
    shapes = parameter_shapes(model)
    assert not any(k.endswith('pos_embed') for k in shapes), 'no APE'
    missing, unexpected = model.load_state_dict(
        synthesize_weights(shapes, SEED + 10), strict=False
    )
    assert not unexpected and all(
        k.endswith(('relative_position_index', 'attn_mask')) for k in missing
    ), missing
    img_size = cfg.DATA.IMG_SIZE
    imgs = parity_inputs(BATCH, img_size, seed=SEED + 12)
    with torch.no_grad():
        logits = model(imgs)
    return dict(
        name=name,
        img_size=img_size,
        seed=SEED + 10,
        input_seed=SEED + 12,
        num_classes=FINETUNE_CLASSES,
        official_shapes=shapes,
        logits=logits.double(),
        official_commit='d3e29bc',
    )


def make_rpb_reference() -> dict:
    """Official fine-tuning remaps of small pre-training tables."""
    import torch.nn as nn
    from models.swin_transformer import SwinTransformer
    from models.vision_transformer import VisionTransformer
    from utils import remap_pretrained_keys_swin, remap_pretrained_keys_vit

    logger = logging.getLogger('simmim-rpb')
    gen = torch.Generator().manual_seed(SEED)
    # ViT: a shared 3x3-grid table (5x5 offsets + 3 cls rows) to the
    # per-layer tables of a 4x4 grid (7x7 + 3).
    vit_src = torch.randn(5 * 5 + 3, 2, generator=gen)
    vit = VisionTransformer(
        img_size=64,
        patch_size=16,
        num_classes=0,
        embed_dim=8,
        depth=2,
        num_heads=2,
        norm_layer=partial(nn.LayerNorm, eps=1e-6),
        init_values=0.1,
        use_abs_pos_emb=False,
        use_rel_pos_bias=True,
        use_shared_rel_pos_bias=False,
        use_mean_pooling=True,
    )
    vit_ckpt = {'rel_pos_bias.relative_position_bias_table': vit_src.clone()}
    vit_out = remap_pretrained_keys_vit(vit, vit_ckpt, logger)
    # Swin: window 6 (11x11 offsets) to window 7 (13x13).
    swin_src = torch.randn(11 * 11, 2, generator=gen)
    swin = SwinTransformer(
        img_size=224,
        num_classes=0,
        embed_dim=8,
        depths=[1, 1, 1, 1],
        num_heads=[2, 2, 2, 2],
        window_size=7,
    )
    key = 'layers.0.blocks.0.attn.relative_position_bias_table'
    swin_out = remap_pretrained_keys_swin(
        swin, {key: swin_src.clone()}, logger
    )
    return dict(
        vit_src=vit_src,
        vit_out={k: v for k, v in vit_out.items() if 'relative' in k},
        swin_src=swin_src,
        swin_out=swin_out[key],
        official_commit='d3e29bc',
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--official-repo', required=True, help='a copy of microsoft/SimMIM'
    )
    parser.add_argument('--out', default='tests/data/parity')
    parser.add_argument(
        '--models', nargs='*', default=list(MODELS), choices=list(MODELS)
    )
    parser.add_argument(
        '--finetune',
        nargs='*',
        default=list(FINETUNE_MODELS),
        choices=list(FINETUNE_MODELS),
        help='fine-tuning classifiers to record (default: both)',
    )
    parser.add_argument(
        '--rpb',
        action='store_true',
        help='also record the official table remapping (SciPy < 1.14)',
    )
    args = parser.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    import_official(args.official_repo)
    os.makedirs(args.out, exist_ok=True)
    for name in args.models:
        ref = make_reference(args.official_repo, name)
        path = osp.join(args.out, f'simmim_{name}.pth')
        torch.save(ref, path)
        print(f'{name}: loss {ref["loss"].item():.6f} -> {path}')
    for name in args.finetune:
        ref = make_finetune_reference(args.official_repo, name)
        path = osp.join(args.out, f'simmim_{name}_finetune.pth')
        torch.save(ref, path)
        print(f'{name} fine-tuning: logits -> {path}')
    if args.rpb:
        path = osp.join(args.out, 'simmim_rpb.pth')
        torch.save(make_rpb_reference(), path)
        print(f'relative position tables -> {path}')


if __name__ == '__main__':
    main()
