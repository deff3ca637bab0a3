# Copyright (c) mmmim contributors. All rights reserved.
"""The released dense-transfer configs and their toy-size builders."""

from pathlib import Path

from mmmim.testing.dense import (  # noqa: F401
    LABELME_CLASSES,
    SIZE,
    VOC_CLASSES,
    WIDTH,
    tiny_convvit,
    tiny_det_config,
    tiny_seg_config,
    tiny_vit,
)

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'configs'
CONVVIT_DET = (
    CONFIGS
    / 'convmae/benchmarks/mmdet'
    / 'mask-rcnn_convvit-base-p16_fpn_8xb4-amp-lsj-coslr-25e_coco.py'
)
CONVVIT_DET_LRD = (
    CONFIGS
    / 'convmae/benchmarks/mmdet'
    / 'mask-rcnn_convvit-base-p16_fpn_8xb4-amp-lsj-lrd0.8-coslr-25e_coco.py'
)
VIT_DET = (
    CONFIGS
    / 'mae/benchmarks/mmdet'
    / 'mask-rcnn_vit-base-p16_simple-fpn_16xb4-amp-lsj-100e_coco.py'
)
CONVVIT_SEG = (
    CONFIGS
    / 'convmae/benchmarks/mmseg'
    / 'upernet_convvit-base-p16_8xb2-amp-160k_ade20k-512x512.py'
)
VIT_SEG = (
    CONFIGS
    / 'mae/benchmarks/mmseg'
    / 'upernet_vit-base-p16_8xb2-amp-160k_ade20k-512x512.py'
)
