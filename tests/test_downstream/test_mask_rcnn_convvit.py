# Copyright (c) mmmim contributors. All rights reserved.
"""The ConvViT Mask R-CNN config trains and evaluates on real images.

The released 25-epoch config, shrunk (tiny ConvViT, 128 px, narrow heads)
and pointed at the labelme COCO example (3 VOC photos, 12 polygons): its
LSJ pipeline, FPN, heads, AdamW parameter groups, checkpoint hook and
CocoMetric all run.
"""

from mmdet.utils import register_all_modules as register_mmdet

from mmmim.utils import register_all_modules

from .det_checks import (
    check_coco_metrics,
    check_loss_falls,
    train_and_evaluate,
)
from .tiny_dense import CONVVIT_DET, tiny_convvit, tiny_det_config

register_all_modules(init_default_scope=False)
register_mmdet(init_default_scope=False)


def test_convvit_mask_rcnn_trains_and_evaluates(labelme_root, tmp_path):
    cfg = tiny_det_config(
        CONVVIT_DET,
        backbone=tiny_convvit(),
        neck=dict(in_channels=[16, 24, 32, 32]),
        data_root=labelme_root,
        work_dir=tmp_path,
    )
    assert cfg.model.backbone.type == 'mmmim.ConvViT'
    result = train_and_evaluate(cfg)
    check_loss_falls(result['losses'], cfg.train_cfg.max_iters)
    check_coco_metrics(result['metrics'])
    assert (tmp_path / f'iter_{cfg.train_cfg.max_iters}.pth').is_file()
