# Copyright (c) mmmim contributors. All rights reserved.
"""ReconstructionVisHook inside a real mmengine training run."""

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmengine.structures import BaseDataElement
from PIL import Image
from torch.utils.data import Dataset

from mmmim.engine.hooks import ReconstructionVisHook
from mmmim.registry import HOOKS

from ..installed import require

TINY_MAE = dict(
    type='MAE',
    backbone=dict(
        type='MAEViT',
        arch=dict(
            embed_dims=32, num_layers=1, num_heads=4, feedforward_channels=64
        ),
        img_size=32,
        patch_size=8,
    ),
    neck=dict(
        type='MAEDecoder',
        num_patches=16,
        patch_size=8,
        embed_dims=32,
        decoder_embed_dims=32,
        decoder_num_layers=1,
        decoder_num_heads=4,
    ),
    head=dict(type='PixelReconstructionHead', patch_size=8, norm_pix=True),
    data_preprocessor=dict(
        type='ImgDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
    ),
)


class RandomImages(Dataset):
    """Fixed random uint8 images ``[3, 32, 32]`` without labels."""

    metainfo: dict = {}

    def __init__(self, length: int = 8) -> None:
        gen = torch.Generator().manual_seed(0)
        self.images = torch.randint(
            0, 256, (length, 3, 32, 32), dtype=torch.uint8, generator=gen
        )

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, idx: int) -> dict:
        return dict(inputs=self.images[idx], data_samples=BaseDataElement())


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / 'val'
    folder.mkdir()
    for i in range(3):
        ramp = (np.arange(40 * 36 * 3) * (i + 1)) % 256
        array = ramp.reshape(36, 40, 3).astype(np.uint8)
        Image.fromarray(array).save(folder / f'img{i}.png')
    return folder


def train(work_dir, custom_hooks, max_iters=4) -> torch.nn.Module:
    # The runner imports every mmmim registry location, mmcv included.
    require('mmcv')  # mmmim.datasets needs mmcv
    with DefaultScope.overwrite_default_scope('mmmim'):
        runner = Runner(
            model=TINY_MAE,
            work_dir=str(work_dir),
            train_dataloader=dict(
                dataset=RandomImages(),
                sampler=dict(type='DefaultSampler', shuffle=True),
                collate_fn=dict(type='default_collate'),
                batch_size=4,
                num_workers=0,
            ),
            train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters),
            optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
            default_hooks=dict(
                logger=dict(type='LoggerHook', interval=1),
                checkpoint=dict(type='CheckpointHook', interval=100),
            ),
            custom_hooks=custom_hooks,
            randomness=dict(seed=0),
            default_scope='mmmim',
            experiment_name=f'exp_{work_dir.name}',
        )
        runner.train()
    return runner.model


def test_hook_is_registered():
    assert HOOKS.get('ReconstructionVisHook') is ReconstructionVisHook


def test_hook_saves_panels_and_leaves_training_alone(tmp_path, images):
    hook = dict(
        type='ReconstructionVisHook',
        interval=2,
        img_paths=str(images),
        max_images=2,
    )
    work_dir = tmp_path / 'with_hook'
    model = train(work_dir, [hook])
    out_dir = work_dir / 'reconstructions'
    assert sorted(p.name for p in out_dir.iterdir()) == [
        'final.png',
        'iter_2.png',
        'iter_4.png',
    ]
    with Image.open(out_dir / 'final.png') as img:
        width, height = img.size
    assert width > 4 * 100 and height > 2 * 100  # two rows of four panels
    assert model.training
    # The hook draws its masks from a private generator and restores the
    # train mode: training gives exactly the weights of a run without it.
    plain = train(tmp_path / 'plain', [])
    for (name, a), b in zip(
        model.state_dict().items(), plain.state_dict().values()
    ):
        assert torch.equal(a, b), name
    # The figures change as the model learns.
    with Image.open(out_dir / 'iter_2.png') as a:
        with Image.open(out_dir / 'iter_4.png') as b:
            assert not np.array_equal(np.asarray(a), np.asarray(b))


def test_hook_fails_early_on_missing_images(tmp_path):
    hook = dict(
        type='ReconstructionVisHook',
        interval=1,
        img_paths=str(tmp_path / 'nowhere'),
    )
    with pytest.raises(FileNotFoundError, match='nowhere'):
        train(tmp_path / 'run', [hook], max_iters=1)


def test_interval_zero_saves_only_at_the_end(tmp_path, images):
    hook = dict(
        type='ReconstructionVisHook',
        interval=0,
        img_paths=[str(images / 'img0.png')],
        out_dir=str(tmp_path / 'figs'),
    )
    train(tmp_path / 'run', [hook], max_iters=2)
    assert [p.name for p in (tmp_path / 'figs').iterdir()] == ['final.png']
