# Copyright (c) mmmim contributors. All rights reserved.
"""tools/visualization/vis_reconstruction.py on a tiny trained-free MAE."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.runner import save_checkpoint
from PIL import Image

from mmmim.registry import MODELS

from .conftest import REPO_ROOT, run_tool

TOOL = 'tools/visualization/vis_reconstruction.py'
CONFIG = """
default_scope = 'mmmim'
model = dict(
    type='MAE',
    backbone=dict(
        type='MAEViT',
        arch=dict(embed_dims=32, num_layers=1, num_heads=4,
                  feedforward_channels=64),
        img_size=32, patch_size=8),
    neck=dict(type='MAEDecoder', num_patches=16, patch_size=8,
              embed_dims=32, decoder_embed_dims=32, decoder_num_layers=1,
              decoder_num_heads=4),
    head=dict(type='PixelReconstructionHead', patch_size=8, norm_pix=True),
    data_preprocessor=dict(type='ImgDataPreprocessor',
                           mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True))
"""


@pytest.fixture
def tiny(tmp_path):
    """A config file, a checkpoint of its model and three images."""
    config = tmp_path / 'mae_tiny.py'
    config.write_text(CONFIG)
    namespace: dict = {}
    exec(CONFIG, namespace)
    torch.manual_seed(0)
    model = MODELS.build(namespace['model'])
    model.init_weights()
    ckpt = tmp_path / 'tiny.pth'
    save_checkpoint(model.state_dict(), str(ckpt))
    images = []
    for i, size in enumerate([(32, 32), (64, 40), (50, 80)]):
        ramp = (np.arange(size[0] * size[1] * 3) * (i + 2)) % 256
        path = tmp_path / 'imgs' / f'img{i}.png'
        path.parent.mkdir(exist_ok=True)
        array = ramp.reshape(size[1], size[0], 3).astype(np.uint8)
        Image.fromarray(array).save(path)
        images.append(path)
    return config, ckpt, images


def read(path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert('RGB'))


def test_writes_one_png_per_image_and_a_grid(tiny, tmp_path):
    config, ckpt, images = tiny
    out_dir = tmp_path / 'out'
    proc = run_tool(
        [
            TOOL,
            str(config),
            str(ckpt),
            '--img',
            str(images[0]),
            str(images[1].parent),
            '--out-dir',
            str(out_dir),
            '--seed',
            '1',
        ]
    )
    # img0 is given twice (as a file and inside the folder): both are kept.
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == [
        'img0.png',
        'img0_1.png',
        'img1.png',
        'img2.png',
        'reconstructions.png',
    ]
    assert 'reconstructions.png (4 images)' in proc.stdout
    single = read(out_dir / 'img1.png')
    assert single.shape[:2] == (270, 870)  # 2-inch panels at 100 dpi
    grid = read(out_dir / 'reconstructions.png')
    assert grid.shape[0] > 3 * single.shape[0] and grid.std() > 10
    # The same seed reproduces the figure; another mask ratio changes it.
    args = [TOOL, str(config), str(ckpt), '--img', str(images[1])]
    args += ['--seed', '1', '--mask-ratio', '0.5', '--out-dir']
    run_tool([*args, str(tmp_path / 'a')])
    run_tool([*args, str(tmp_path / 'b')])
    half = read(tmp_path / 'a' / 'img1.png')
    assert np.array_equal(half, read(tmp_path / 'b' / 'img1.png'))
    assert not np.array_equal(half, single)


def test_checkpoint_must_match_the_config(tiny, tmp_path):
    config, _, images = tiny
    bad = tmp_path / 'bad.pth'
    save_checkpoint({'backbone.cls_token': torch.zeros(1, 1, 32)}, str(bad))
    proc = subprocess.run(
        [sys.executable, TOOL, str(config), str(bad)]
        + ['--img', str(images[0]), '--out-dir', str(tmp_path / 'o')],
        cwd=REPO_ROOT,
        env={'PYTHONPATH': str(REPO_ROOT), 'PATH': '/usr/bin:/bin'},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    assert 'missing keys' in proc.stderr.lower()
    assert not (tmp_path / 'o').exists()
