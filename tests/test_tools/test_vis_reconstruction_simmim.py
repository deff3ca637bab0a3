# Copyright (c) mmmim contributors. All rights reserved.
"""Reconstruction figures of SimMIM models (ViT via the tool, Swin via the
library function)."""

import numpy as np
import torch
from mmengine.runner import save_checkpoint
from PIL import Image

from mmmim.registry import MODELS
from mmmim.visualization import reconstruct_images

from .conftest import run_tool

TOOL = 'tools/visualization/vis_reconstruction.py'
PREPROCESSOR = """
    data_preprocessor=dict(type='ImgDataPreprocessor',
                           mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True))
"""
VIT_CONFIG = (
    """
default_scope = 'mmmim'
model = dict(
    type='SimMIM',
    backbone=dict(
        type='SimMIMViT',
        arch=dict(embed_dims=32, num_layers=1, num_heads=4,
                  feedforward_channels=64),
        img_size=32, patch_size=8,
        mask_generator=dict(type='SimMIMMaskGenerator', mask_ratio=0.6,
                            mask_patch_size=16, model_patch_size=8)),
    neck=dict(type='SimMIMLinearDecoder', in_channels=32, encoder_stride=8),
    head=dict(type='SimMIMReconstructionHead', patch_size=8),"""
    + PREPROCESSOR
)
SWIN_MODEL = dict(
    type='SimMIM',
    backbone=dict(
        type='SimMIMSwin',
        arch=dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[2] * 4),
        img_size=64,
        window_size=2,
        mask_generator=dict(
            type='SimMIMMaskGenerator',
            mask_ratio=0.6,
            mask_patch_size=32,
            model_patch_size=4,
        ),
    ),
    neck=dict(type='SimMIMLinearDecoder', in_channels=128, encoder_stride=32),
    head=dict(type='SimMIMReconstructionHead', patch_size=4),
    data_preprocessor=dict(
        type='ImgDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
    ),
)


def _images(folder, count=2):
    paths = []
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        ramp = (np.arange(48 * 40 * 3) * (i + 3)) % 256
        path = folder / f'img{i}.png'
        Image.fromarray(ramp.reshape(40, 48, 3).astype(np.uint8)).save(path)
        paths.append(path)
    return paths


def test_tool_writes_simmim_figures(tmp_path):
    config = tmp_path / 'simmim_tiny.py'
    config.write_text(VIT_CONFIG)
    namespace: dict = {}
    exec(VIT_CONFIG, namespace)
    torch.manual_seed(0)
    model = MODELS.build(namespace['model'])
    model.init_weights()
    ckpt = tmp_path / 'tiny.pth'
    save_checkpoint(model.state_dict(), str(ckpt))
    images = _images(tmp_path / 'imgs')
    out_dir = tmp_path / 'out'
    proc = run_tool(
        [TOOL, str(config), str(ckpt), '--img', str(images[0].parent)]
        + ['--out-dir', str(out_dir)]
    )
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == ['img0.png', 'img1.png', 'reconstructions.png']
    assert 'reconstructions.png (2 images)' in proc.stdout
    with Image.open(out_dir / 'reconstructions.png') as figure:
        assert np.asarray(figure).std() > 10


def test_swin_panels_follow_the_simmim_mask(tmp_path):
    torch.manual_seed(0)
    model = MODELS.build(SWIN_MODEL)
    model.init_weights()
    images = _images(tmp_path / 'imgs', count=1)
    panels, caption = reconstruct_images(model, [str(images[0])], seed=3)
    (panel,) = panels
    assert panel['original'].shape == (64, 64, 3)
    masked = panel['masked']
    grey = np.all(masked == np.float32(0.5), axis=-1)
    # 3 of the 4 32-pixel squares are masked (ceil(4 x 0.6)).
    squares = grey.reshape(2, 32, 2, 32).all(axis=(1, 3))
    assert squares.sum() == 3
    assert 'mask ratio 0.75' in caption and 'pixel target' in caption
    visible = ~grey
    assert np.array_equal(
        panel['rec. + visible'][visible], panel['original'][visible]
    )
