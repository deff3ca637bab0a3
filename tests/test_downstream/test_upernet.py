# Copyright (c) mmmim contributors. All rights reserved.
"""The ConvViT UperNet config trains and evaluates on real images.

The released ADE20K config, shrunk (tiny ConvViT with global attention,
128 px, narrow heads) and pointed at labelme's VOC-format sample (3 VOC
photos with class masks): its pipeline, UperNet and FCN heads, the
layer-decay optimizer constructor, sliding-window inference and IoUMetric
all run.
"""

import torch
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmseg.utils import register_all_modules as register_mmseg

from mmmim.utils import register_all_modules

from .tiny_dense import CONVVIT_SEG, tiny_convvit, tiny_seg_config

register_all_modules(init_default_scope=False)
register_mmseg(init_default_scope=False)


def test_convvit_upernet_trains_and_evaluates(labelme_root, tmp_path):
    cfg = tiny_seg_config(
        CONVVIT_SEG,
        backbone=tiny_convvit(window_size=None),
        in_channels=[16, 24, 32, 32],
        data_root=labelme_root,
        work_dir=tmp_path,
        lr=3e-3,
    )
    assert cfg.model.test_cfg.mode == 'slide'
    with DefaultScope.overwrite_default_scope('mmseg'):
        runner = Runner.from_cfg(cfg)
        runner.train()
        losses = list(runner.message_hub.get_scalar('train/loss').data[0])
        metrics = runner.val()
    assert len(losses) == cfg.train_cfg.max_iters
    assert all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-2:]) < 0.95 * sum(losses[:2]), losses
    for key in ('aAcc', 'mIoU', 'mAcc'):
        # IoUMetric reports percentages.
        assert 0.0 <= metrics[key] <= 100.0, metrics
    # Background covers most pixels; even a briefly trained model finds it.
    assert metrics['aAcc'] > 0.0
