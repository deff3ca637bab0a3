# Copyright (c) mmmim contributors. All rights reserved.
"""Tiny model configs shared by the model tests (CPU, seconds)."""

import pytest
import torch

TINY_ARCH = dict(
    embed_dims=32, num_layers=2, num_heads=4, feedforward_channels=64
)


@pytest.fixture
def tiny_arch() -> dict:
    """A 2-layer, 32-wide ViT."""
    return dict(TINY_ARCH)


@pytest.fixture
def tiny_mae_cfg() -> dict:
    """A MAE on 32x32 images, 8x8 patches (L = 16), pixel target."""
    return dict(
        type='mmmim.MAE',
        backbone=dict(
            type='MAEViT', arch=dict(TINY_ARCH), img_size=32, patch_size=8
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
        head=dict(type='PixelReconstructionHead', patch_size=8),
        # mmengine's own preprocessor keeps these tests free of mmcv.
        data_preprocessor=dict(type='BaseDataPreprocessor'),
    )


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
