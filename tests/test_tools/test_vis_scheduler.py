# Copyright (c) mmmim contributors. All rights reserved.
"""tools/visualization/vis_scheduler.py against the schedule formulas."""

import importlib.util
import math

import numpy as np
import pytest
from PIL import Image

from .conftest import REPO_ROOT

TOOL = 'tools/visualization/vis_scheduler.py'
MAE_DEMO = 'configs/mae/mae_vit-tiny-p8_1xb32-coslr-demo.py'
SIMMIM_DEMO = 'configs/simmim/simmim_vit-tiny-p8_1xb32-coslr-demo.py'
MAE_FT = 'configs/mae/benchmarks/cls/vit-base-p16_8xb128-coslr-100e_in1k.py'


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location(
        'vis_scheduler', REPO_ROOT / TOOL
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def warmup_cosine(t, base, start, warmup, total, eta_min):
    """LinearLR(start_factor, end=warmup), then cosine to ``eta_min`` at
    ``total``.

    mmengine's LinearLR reaches the full lr at ``end - 1`` (it spans
    ``end - begin - 1`` steps); the cosine phase starts at ``warmup``.
    """
    if t < warmup:
        return base * (start + (1 - start) * min(t / (warmup - 1), 1.0))
    frac = (t - warmup) / (total - warmup)
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * frac)) / 2


@pytest.mark.parametrize(
    'config, base, warmup, total',
    [(MAE_DEMO, 1.5e-3, 100, 2000), (SIMMIM_DEMO, 1e-3, 50, 800)],
)
def test_demo_lr_follows_warmup_cosine(
    tool, tmp_path, demo_data_root, config, base, warmup, total
):
    out = tmp_path / 'lr.png'
    curves = tool.main(
        [
            str(REPO_ROOT / config),
            '-s',
            str(out),
            '--cfg-options',
            f'train_dataloader.dataset.data_root={demo_data_root}',
        ]
    )
    lr = curves['all']
    assert len(lr) == total
    for t in (
        0,
        1,
        warmup // 2,
        warmup - 1,
        warmup,
        300,
        total // 2,
        total - 1,
    ):
        expected = warmup_cosine(t, base, 1e-3, warmup, total, 1e-5)
        assert lr[t] == pytest.approx(expected, rel=1e-6), t
    assert Image.open(out).size[0] > 100


def test_layer_decay_groups(tool, tmp_path):
    """ViT-B fine-tuning: 14 layer groups scaled by 0.65 ** k; one
    iteration per epoch (1024 images, 8 x 128).

    mmengine's cosine phase decays every group to the same absolute
    ``eta_min`` (the official code scales ``min_lr`` per layer too), so
    the ratios hold exactly only during the warm-up.
    """
    curves = tool.main(
        [
            str(REPO_ROOT / MAE_FT),
            '-d',
            '1024',
            '--layer-decay',
            '-s',
            str(tmp_path / 'ld.png'),
        ]
    )
    assert sorted(curves) == sorted(f'layer {i}' for i in range(14))
    top = curves['layer 13']
    assert len(top) == 100
    # 5 warm-up epochs to lr 2e-3, cosine to 1e-6 at epoch 100.
    for t in (0, 3, 5, 50, 99):
        expected = warmup_cosine(t, 2e-3, 1e-4, 5, 100, 1e-6)
        assert top[t] == pytest.approx(expected, rel=1e-6), t
    cosine = (top[5:] - 1e-6) / (2e-3 - 1e-6)
    for layer in range(13):
        scale = 0.65 ** (13 - layer)
        lr = curves[f'layer {layer}']
        np.testing.assert_allclose(lr[:5] / top[:5], scale, rtol=1e-6)
        expected = 1e-6 + (2e-3 * scale - 1e-6) * cosine
        np.testing.assert_allclose(lr[5:], expected, rtol=1e-6)
