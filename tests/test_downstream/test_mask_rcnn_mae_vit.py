# Copyright (c) mmmim contributors. All rights reserved.
"""The ViTDet-style MAE ViT Mask R-CNN config trains and evaluates.

The released config, shrunk (a 2-block WindowedViT with
padded windows, one global block and relative position biases, then
``mmmim.SimpleFPN``) and pointed at the labelme COCO example: LSJ
pipeline, LN heads, the layer-decay optimizer constructor and CocoMetric
all run.
"""

from mmdet.utils import register_all_modules as register_mmdet

from mmmim.utils import register_all_modules

from .det_checks import (
    check_coco_metrics,
    check_loss_falls,
    train_and_evaluate,
)
from .tiny_dense import VIT_DET, WIDTH, tiny_det_config, tiny_vit

register_all_modules(init_default_scope=False)
register_mmdet(init_default_scope=False)


def test_vit_mask_rcnn_trains_and_evaluates(labelme_root, tmp_path):
    cfg = tiny_det_config(
        VIT_DET,
        backbone=tiny_vit(),
        neck=dict(in_channels=WIDTH),
        data_root=labelme_root,
        work_dir=tmp_path,
    )
    assert cfg.model.neck.type == 'mmmim.SimpleFPN'
    assert cfg.optim_wrapper.constructor == (
        'mmmim.LayerDecayOptimWrapperConstructor'
    )
    result = train_and_evaluate(cfg)
    check_loss_falls(result['losses'], cfg.train_cfg.max_iters)
    check_coco_metrics(result['metrics'])
