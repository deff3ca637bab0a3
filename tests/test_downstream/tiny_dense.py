# Copyright (c) mmmim contributors. All rights reserved.
"""Tiny versions of the dense-transfer configs for CPU tests.

The released configs are loaded as they are; only the sizes shrink (tiny
backbones, 128 px, narrow heads) and the data points at the labelme
example, so the tests run the configs' own pipelines, heads, optimizer
constructors and evaluators.
"""

import copy
from pathlib import Path
from typing import List

from mmengine.config import Config

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

#: The annotated classes of the labelme COCO example (no _background_).
LABELME_CLASSES = ('person', 'bus', 'bottle', 'car', 'chair', 'sofa')
#: Its VOC-format folder uses the 21 PASCAL VOC labels (0 = background).
VOC_CLASSES = (
    'background',
    'aeroplane',
    'bicycle',
    'bird',
    'boat',
    'bottle',
    'bus',
    'car',
    'cat',
    'chair',
    'cow',
    'diningtable',
    'dog',
    'horse',
    'motorbike',
    'person',
    'pottedplant',
    'sheep',
    'sofa',
    'train',
    'tvmonitor',
)
SIZE = 128
WIDTH = 32
TINY_CONVVIT = dict(
    embed_dims=(16, 24, WIDTH), num_layers=(1, 1, 2), num_heads=4
)
TINY_VIT = dict(
    embed_dims=WIDTH, num_layers=2, num_heads=4, feedforward_channels=64
)


def tiny_convvit(window_size=4, **kwargs) -> dict:
    """ConvViT E1-E4 with 16/24/32/32 channels; stage 3 on an 8 x 8 grid
    at 128 px: one windowed block (2 x 2 windows), one global block."""
    return dict(
        type='mmmim.ConvViT',
        arch=dict(TINY_CONVVIT),
        img_size=SIZE,
        window_size=window_size,
        global_attn_indexes=(1,),
        use_rel_pos_bias=True,
        **kwargs,
    )


def tiny_vit(**kwargs) -> dict:
    """A 2-block MAEViT in detection mode: 3 x 3 windows on the 8 x 8 grid
    (so padded), block 1 global, relative position biases, a learnable
    position table (as the released config)."""
    return dict(
        type='mmmim.MAEViT',
        arch=dict(TINY_VIT),
        img_size=SIZE,
        patch_size=16,
        mask_generator=None,
        out_type='featmap',
        out_indices=(1,),
        final_norm=False,
        window_size=3,
        global_attn_indexes=(1,),
        use_rel_pos_bias=True,
        pos_embed_trainable=True,
        **kwargs,
    )


def _shrink_det_heads(model: Config, num_classes: int) -> None:
    """Narrow the FPN outputs and every head to ``WIDTH`` channels."""
    model.neck.out_channels = WIDTH
    model.rpn_head.update(in_channels=WIDTH, feat_channels=WIDTH)
    roi = model.roi_head
    roi.bbox_roi_extractor.out_channels = WIDTH
    roi.mask_roi_extractor.out_channels = WIDTH
    roi.bbox_head.update(
        in_channels=WIDTH,
        conv_out_channels=WIDTH,
        fc_out_channels=64,
        num_classes=num_classes,
    )
    roi.mask_head.update(
        in_channels=WIDTH, conv_out_channels=WIDTH, num_classes=num_classes
    )
    # Fewer proposals and samples keep a CPU iteration short.
    model.train_cfg.rpn_proposal.update(nms_pre=500, max_per_img=200)
    model.train_cfg.rcnn.sampler.num = 128
    model.test_cfg.rpn.update(nms_pre=500, max_per_img=200)


def _det_pipelines(cfg: Config) -> List[list]:
    """The config's pipelines at 128 px and without randomness (LSJ
    factor 1, no flip), so that a short run's loss is comparable."""
    train = copy.deepcopy(cfg.train_dataloader.dataset.pipeline)
    for step in train:
        if step.type == 'RandomResize':
            step.update(scale=(SIZE, SIZE), ratio_range=(1.0, 1.0))
        elif step.type == 'RandomCrop':
            step.crop_size = (SIZE, SIZE)
        elif step.type == 'RandomFlip':
            step.prob = 0.0
    test = copy.deepcopy(cfg.val_dataloader.dataset.pipeline)
    for step in test:
        if step.type == 'Resize':
            step.scale = (SIZE, SIZE)
    return [train, test]


def tiny_det_config(
    path: Path,
    backbone: dict,
    neck: dict,
    data_root: Path,
    work_dir: Path,
    max_iters: int = 6,
    lr: float = 1e-3,
) -> Config:
    """A released Mask R-CNN config at toy size on the labelme example.

    Args:
        path (Path): The released config.
        backbone (dict): Replaces ``model.backbone``.
        neck (dict): Updates ``model.neck`` (e.g. ``in_channels``).
        data_root (Path): The prepared labelme folder.
        work_dir (Path): Where the runner writes.
        max_iters (int): Training iterations (batch 3: all images).
        lr (float): Constant learning rate (the warm-up is dropped).

    Returns:
        Config: Ready for ``Runner.from_cfg``.
    """
    cfg = Config.fromfile(str(path))
    cfg.model.backbone = backbone
    cfg.model.neck.update(neck)
    cfg.model.data_preprocessor.pad_size_divisor = SIZE
    _shrink_det_heads(cfg.model, len(LABELME_CLASSES))
    train_pipeline, test_pipeline = _det_pipelines(cfg)
    coco_root = data_root / 'data_dataset_coco'
    dataset = dict(
        data_root=str(coco_root),
        ann_file='annotations.json',
        data_prefix=dict(img=''),
        metainfo=dict(classes=LABELME_CLASSES),
    )
    cfg.train_dataloader.update(
        batch_size=3, num_workers=0, persistent_workers=False
    )
    cfg.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=False)
    cfg.train_dataloader.dataset.update(dataset, pipeline=train_pipeline)
    # One pass over a repeated dataset: mmengine's iteration loop sleeps
    # 2 s whenever the dataloader is exhausted (every batch, otherwise).
    cfg.train_dataloader.dataset = dict(
        type='RepeatDataset',
        times=max_iters,
        dataset=cfg.train_dataloader.dataset,
    )
    for name in ('val_dataloader', 'test_dataloader'):
        cfg[name].update(num_workers=0, persistent_workers=False)
        cfg[name].dataset.update(dataset, pipeline=test_pipeline)
    for name in ('val_evaluator', 'test_evaluator'):
        cfg[name].ann_file = str(coco_root / 'annotations.json')
    # AmpOptimWrapper needs a GPU; the rest of the optimizer config stays.
    cfg.optim_wrapper.type = 'OptimWrapper'
    cfg.optim_wrapper.pop('loss_scale', None)
    cfg.optim_wrapper.optimizer.lr = lr
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.train_cfg.update(max_iters=max_iters, val_interval=max_iters + 1)
    cfg.default_hooks.checkpoint.interval = max_iters
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=0)
    return cfg


def _seg_pipelines(cfg: Config) -> List[list]:
    """The config's pipelines at 128 px without scale, flip and colour
    jitter, for labels 0-20 (VOC keeps the background as class 0, ADE20K
    drops it)."""
    pipelines = [
        copy.deepcopy(cfg.train_dataloader.dataset.pipeline),
        copy.deepcopy(cfg.val_dataloader.dataset.pipeline),
    ]
    for pipeline in pipelines:
        for step in pipeline:
            if step.type == 'LoadAnnotations':
                step.reduce_zero_label = False
            elif step.type in ('RandomResize', 'Resize'):
                step.scale = (4 * SIZE, SIZE)
            elif step.type == 'RandomCrop':
                step.crop_size = (SIZE, SIZE)
            elif step.type == 'RandomFlip':
                step.prob = 0.0
            if step.type == 'RandomResize':
                step.ratio_range = (1.0, 1.0)
    # Colour jitter makes a 6-step loss curve too noisy to compare.
    pipelines[0] = [
        step for step in pipelines[0] if step.type != 'PhotoMetricDistortion'
    ]
    return pipelines


def tiny_seg_config(
    path: Path,
    backbone: dict,
    in_channels: List[int],
    data_root: Path,
    work_dir: Path,
    max_iters: int = 6,
    lr: float = 1e-3,
) -> Config:
    """A released UperNet config at toy size on labelme's VOC sample.

    Args:
        path (Path): The released config.
        backbone (dict): Replaces ``model.backbone``.
        in_channels (List[int]): Channels of the four backbone maps.
        data_root (Path): The prepared labelme folder.
        work_dir (Path): Where the runner writes.
        max_iters (int): Training iterations (batch 3: all images).
        lr (float): Constant learning rate (the warm-up is dropped).

    Returns:
        Config: Ready for ``Runner.from_cfg``.
    """
    cfg = Config.fromfile(str(path))
    model = cfg.model
    model.backbone = backbone
    model.data_preprocessor.size = (SIZE, SIZE)
    model.decode_head.update(
        in_channels=in_channels,
        channels=WIDTH,
        num_classes=len(VOC_CLASSES),
    )
    model.auxiliary_head.update(
        in_channels=in_channels[2], channels=16, num_classes=len(VOC_CLASSES)
    )
    model.test_cfg.update(crop_size=(SIZE, SIZE), stride=(85, 85))
    train_pipeline, test_pipeline = _seg_pipelines(cfg)
    dataset = dict(
        type='BaseSegDataset',
        data_root=str(data_root / 'data_dataset_voc'),
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'
        ),
        img_suffix='.jpg',
        seg_map_suffix='.png',
        metainfo=dict(classes=VOC_CLASSES),
    )
    cfg.train_dataloader = dict(
        batch_size=3,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type='RepeatDataset',
            times=max_iters,
            dataset=dict(dataset, pipeline=train_pipeline),
        ),
    )
    cfg.val_dataloader = dict(
        batch_size=1,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(dataset, pipeline=test_pipeline),
    )
    cfg.test_dataloader = cfg.val_dataloader
    cfg.optim_wrapper.type = 'OptimWrapper'
    cfg.optim_wrapper.pop('loss_scale', None)
    cfg.optim_wrapper.optimizer.lr = lr
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.train_cfg.update(max_iters=max_iters, val_interval=max_iters + 1)
    cfg.default_hooks.checkpoint.interval = max_iters
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=0)
    return cfg
