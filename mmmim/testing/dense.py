# Copyright (c) mmmim contributors. All rights reserved.
"""Toy-size versions of the dense-transfer configs, for CPU checks.

A released mmdet / mmseg config is loaded as it is; only the sizes shrink
(tiny backbones, small images, narrow heads) and the data points at the
labelme example (``tools/misc/prepare_labelme_coco.py``), so that a short
run exercises the config's own pipelines, heads, optimizer constructor and
evaluator. Used by the tests and ``tools/analysis_tools/
overfit_detector.py``.
"""

import copy
from pathlib import Path
from typing import List

from mmengine.config import Config

__all__ = [
    'LABELME_CLASSES',
    'SIZE',
    'VOC_CLASSES',
    'WIDTH',
    'tiny_convvit',
    'tiny_vit',
    'tiny_det_config',
    'tiny_seg_config',
]

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


def tiny_convvit(size: int = SIZE, **kwargs) -> dict:
    """ConvViT E1-E4 with 16/24/32/32 channels: one windowed block (4 x 4
    windows: 2 x 2 of them at 128 px) and one global block; ``kwargs``
    override any argument."""
    cfg = dict(
        type='mmmim.ConvViT',
        arch=dict(TINY_CONVVIT),
        img_size=size,
        window_size=4,
        global_attn_indexes=(1,),
        use_rel_pos_bias=True,
    )
    cfg.update(kwargs)
    return cfg


def tiny_vit(size: int = SIZE, **kwargs) -> dict:
    """A 2-block WindowedViT: 3 x 3 windows on the 8 x 8 grid
    at 128 px (so padded), block 1 global, relative position biases, a
    learnable position table (as the released config); ``kwargs`` override
    any argument."""
    cfg = dict(
        type='mmmim.WindowedViT',
        arch=dict(TINY_VIT),
        img_size=size,
        patch_size=16,
        out_indices=(1,),
        final_norm=False,
        window_size=3,
        global_attn_indexes=(1,),
        use_rel_pos_bias=True,
        pos_embed_trainable=True,
    )
    cfg.update(kwargs)
    return cfg


def _shrink_det_heads(model: Config, num_classes: int, width: int) -> None:
    """Narrow the FPN outputs and every head to ``width`` channels."""
    model.neck.out_channels = width
    model.rpn_head.update(in_channels=width, feat_channels=width)
    roi = model.roi_head
    roi.bbox_roi_extractor.out_channels = width
    roi.mask_roi_extractor.out_channels = width
    roi.bbox_head.update(
        in_channels=width,
        conv_out_channels=width,
        fc_out_channels=2 * width,
        num_classes=num_classes,
    )
    roi.mask_head.update(
        in_channels=width, conv_out_channels=width, num_classes=num_classes
    )
    # Fewer proposals and samples keep a CPU iteration short.
    model.train_cfg.rpn_proposal.update(nms_pre=300, max_per_img=100)
    model.train_cfg.rcnn.sampler.num = 64
    model.test_cfg.rpn.update(nms_pre=300, max_per_img=100)


def _det_pipelines(cfg: Config, size: int) -> List[list]:
    """The config's pipelines at ``size`` and without randomness (LSJ
    factor 1, no flip), so that a short run's loss is comparable."""
    train = copy.deepcopy(cfg.train_dataloader.dataset.pipeline)
    for step in train:
        if step.type == 'RandomResize':
            step.update(scale=(size, size), ratio_range=(1.0, 1.0))
        elif step.type == 'RandomCrop':
            step.crop_size = (size, size)
        elif step.type == 'RandomFlip':
            step.prob = 0.0
    test = copy.deepcopy(cfg.val_dataloader.dataset.pipeline)
    for step in test:
        if step.type == 'Resize':
            step.scale = (size, size)
    return [train, test]


def tiny_det_config(
    path: Path,
    backbone: dict,
    neck: dict,
    data_root: Path,
    work_dir: Path,
    max_iters: int = 6,
    lr: float = 1e-3,
    size: int = SIZE,
    width: int = WIDTH,
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
        size (int): Image side (longer side; batches padded square).
        width (int): Channels of the FPN and the heads.

    Returns:
        Config: Ready for ``Runner.from_cfg``.
    """
    cfg = Config.fromfile(str(path))
    cfg.model.backbone = backbone
    cfg.model.neck.update(neck)
    cfg.model.data_preprocessor.pad_size_divisor = size
    _shrink_det_heads(cfg.model, len(LABELME_CLASSES), width)
    train_pipeline, test_pipeline = _det_pipelines(cfg, size)
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
    return _toy_schedule(cfg, max_iters, lr, work_dir)


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
    return _toy_schedule(cfg, max_iters, lr, work_dir)


def _toy_schedule(
    cfg: Config, max_iters: int, lr: float, work_dir: Path
) -> Config:
    """A constant ``lr`` for ``max_iters`` in fp32 (AmpOptimWrapper needs a
    GPU; the rest of the optimizer config stays), one final checkpoint."""
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
