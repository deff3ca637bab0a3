# Copyright (c) mmmim contributors. All rights reserved.
"""The full ConvViT-B Mask R-CNN runs at 1024 px on a real photo (CPU).

About a minute on two cores, so it runs with ``MMMIM_SLOW_TESTS=1``; the
full-size models are built in tests/test_configs/test_dense_configs.py.
"""

import copy
import os
import time

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

from mmmim.utils import register_all_modules

from .tiny_dense import CONVVIT_DET, LABELME_CLASSES

register_all_modules(init_default_scope=False)


@pytest.mark.skipif(
    not os.environ.get('MMMIM_SLOW_TESTS'),
    reason='a ConvViT-B Mask R-CNN forward at 1024 px takes about a minute '
    'on CPU; MMMIM_SLOW_TESTS=1',
)
def test_full_size_convvit_mask_rcnn_forward_at_1024(labelme_root):
    cfg = Config.fromfile(str(CONVVIT_DET))
    cfg.model.backbone.init_cfg = None
    dataset_cfg = copy.deepcopy(cfg.val_dataloader.dataset)
    dataset_cfg.update(
        data_root=str(labelme_root / 'data_dataset_coco'),
        ann_file='annotations.json',
        data_prefix=dict(img=''),
        metainfo=dict(classes=LABELME_CLASSES),
    )
    with DefaultScope.overwrite_default_scope('mmdet'):
        from mmdet.registry import DATASETS, MODELS

        model = MODELS.build(cfg.model).eval()
        batch = pseudo_collate([DATASETS.build(dataset_cfg)[0]])
        start = time.perf_counter()
        with torch.no_grad():
            inputs = model.data_preprocessor(batch)['inputs']
            results = model.test_step(batch)
        seconds = time.perf_counter() - start
    # The longer side resized to 1024, the batch padded to 1024 x 1024.
    assert inputs.shape == (1, 3, 1024, 1024)
    pred = results[0].pred_instances
    assert pred.bboxes.shape[1] == 4
    assert pred.masks.shape[1:] == results[0].ori_shape
    print(f'ConvViT-B Mask R-CNN at 1024 px: {seconds:.1f} s on CPU')
