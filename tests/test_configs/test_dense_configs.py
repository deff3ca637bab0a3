# Copyright (c) mmmim contributors. All rights reserved.
"""Every mmdet / mmseg transfer config loads, keeps its recipe and builds
at full size (the training runs are in tests/test_downstream/)."""

import copy
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, PARAM_SCHEDULERS, DefaultScope

from mmmim.utils import register_all_modules
from tests.test_downstream.tiny_dense import (
    CONFIGS,
    CONVVIT_DET,
    CONVVIT_DET_LRD,
    CONVVIT_SEG,
    VIT_DET,
    VIT_SEG,
    WIDTH,
    tiny_convvit,
    tiny_vit,
)

register_all_modules(init_default_scope=False)

DET_DIR = CONFIGS / 'convmae' / 'benchmarks' / 'mmdet'
SCHEDULES = {
    DET_DIR
    / f'mask-rcnn_convvit-base-p16_fpn_8xb4-amp-lsj-coslr-{e}_coco.py': iters
    for e, iters in (('25e', 92187), ('50e', 184375), ('100e', 368750))
}
# The ViT-L variants (MAE paper Tables 4 and 5); their recipe values are
# checked by test_recipes.py.
VIT_L_DET = VIT_DET.with_name(VIT_DET.name.replace('vit-base', 'vit-large'))
VIT_L_SEG = VIT_SEG.with_name(VIT_SEG.name.replace('vit-base', 'vit-large'))
ALL = [
    *SCHEDULES,
    CONVVIT_DET_LRD,
    VIT_DET,
    CONVVIT_SEG,
    VIT_SEG,
    VIT_L_DET,
    VIT_L_SEG,
]
# Full-size parameters (fixed position tables included) and the backbone's.
PARAMS = {
    CONVVIT_DET: (110_171_784, 87_804_568),
    VIT_DET: (114_000_616, 88_993_848),
    CONVVIT_SEG: (154_371_768, 85_287_820),
    VIT_SEG: (163_286_828, 86_433_024),
}


def load(path) -> Config:
    return Config.fromfile(str(path))


def build(model_cfg: dict, scope: str) -> torch.nn.Module:
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(copy.deepcopy(model_cfg))


def test_every_dense_config_is_covered():
    found = set(CONFIGS.glob('*/benchmarks/mmdet/*.py'))
    found |= set(CONFIGS.glob('*/benchmarks/mmseg/*.py'))
    assert found == set(ALL)


@pytest.mark.parametrize('path', ALL, ids=lambda p: p.stem)
def test_plugin_conventions(path):
    cfg = load(path)
    scope = 'mmseg' if 'mmseg' in path.parts else 'mmdet'
    assert cfg.default_scope == scope
    assert cfg.custom_imports == dict(
        imports=['mmmim.models'], allow_failed_imports=False
    )
    backbone = cfg.model.backbone
    assert backbone.type in (
        'mmmim.ConvViT',
        'mmmim.MAEViT',
        'mmmim.WindowedViT',
    )
    assert backbone.init_cfg == dict(
        type='Pretrained', checkpoint='', prefix='backbone.'
    )
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'


@pytest.mark.parametrize('path', list(SCHEDULES), ids=lambda p: p.stem)
def test_convvit_mask_rcnn_recipe(path):
    cfg = load(path)
    backbone = cfg.model.backbone
    assert (backbone.arch, backbone.img_size) == ('b', 1024)
    assert tuple(backbone.out_indices) == (0, 1, 2, 3)
    assert backbone.window_size == 16
    assert tuple(backbone.global_attn_indexes) == (0, 3, 6, 10)
    assert backbone.use_rel_pos_bias and backbone.drop_path_rate == 0.1
    neck = cfg.model.neck
    assert neck.type == 'FPN' and neck.num_outs == 5
    assert list(neck.in_channels) == [256, 384, 768, 768]
    assert cfg.model.rpn_head.num_convs == 2
    assert cfg.model.roi_head.bbox_head.type == 'Shared4Conv1FCBBoxHead'
    assert cfg.model.data_preprocessor.pad_size_divisor == 1024
    # LSJ at 1024.
    pipeline = {s.type: s for s in cfg.train_dataloader.dataset.pipeline}
    assert tuple(pipeline['RandomResize'].ratio_range) == (0.1, 2.0)
    assert tuple(pipeline['RandomResize'].scale) == (1024, 1024)
    assert tuple(pipeline['RandomCrop'].crop_size) == (1024, 1024)
    assert cfg.train_dataloader.batch_size * 8 == 32
    assert cfg.auto_scale_lr.base_batch_size == 32
    optim = cfg.optim_wrapper
    assert optim.optimizer.type == 'AdamW' and optim.optimizer.lr == 8e-5
    assert optim.optimizer.weight_decay == 0.1
    assert tuple(optim.optimizer.betas) == (0.9, 0.999)
    assert optim.paramwise_cfg.norm_decay_mult == 0.0
    assert 'constructor' not in optim  # no layer decay officially
    max_iters = SCHEDULES[path]
    assert cfg.train_cfg.max_iters == max_iters
    assert cfg.train_cfg.val_interval == 3688
    warmup, cosine = cfg.param_scheduler
    assert (warmup.start_factor, warmup.end) == (0.001, 461)
    assert (cosine.type, cosine.T_max, cosine.end) == (
        'CosineAnnealingLR',
        max_iters,
        max_iters,
    )


def test_warmup_multiplies_the_cosine():
    """lr(t) = base * ramp(t) * (1 + cos(pi t / T)) / 2, as detectron2's
    WarmupParamScheduler (checked on the first 600 iterations)."""
    cfg = load(CONVVIT_DET)
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([param], lr=8e-5)
    schedulers = [
        PARAM_SCHEDULERS.build(dict(s, optimizer=optimizer))
        for s in copy.deepcopy(cfg.param_scheduler)
    ]
    total = cfg.train_cfg.max_iters
    for step in range(600):
        # mmengine's LinearLR reaches its end factor at iteration end - 1.
        ramp = 0.001 + (1 - 0.001) * min(step / 460, 1.0)
        cosine = (1 + math.cos(math.pi * step / total)) / 2
        expected = 8e-5 * ramp * cosine
        lr = optimizer.param_groups[0]['lr']
        assert lr == pytest.approx(expected, rel=1e-6), step
        for scheduler in schedulers:
            scheduler.step()


def _tiny_det_model(path, backbone: dict, neck: dict) -> torch.nn.Module:
    cfg = load(path)
    cfg.model.backbone = backbone
    cfg.model.neck.update(neck, out_channels=WIDTH)
    cfg.model.rpn_head.update(in_channels=WIDTH, feat_channels=WIDTH)
    roi = cfg.model.roi_head
    roi.bbox_roi_extractor.out_channels = WIDTH
    roi.mask_roi_extractor.out_channels = WIDTH
    roi.bbox_head.update(in_channels=WIDTH, conv_out_channels=WIDTH)
    roi.mask_head.update(in_channels=WIDTH, conv_out_channels=WIDTH)
    return cfg, build(cfg.model, 'mmdet')


def _groups(model, optim_cfg) -> dict:
    # AmpOptimWrapper needs a GPU; the parameter groups do not.
    optim_cfg = copy.deepcopy(optim_cfg)
    optim_cfg.pop('loss_scale', None)
    wrapper = build_optim_wrapper(model, dict(optim_cfg, type='OptimWrapper'))
    names = {id(p): n for n, p in model.named_parameters()}
    base = optim_cfg.optimizer.lr
    out = {}
    for group in wrapper.optimizer.param_groups:
        for param in group['params']:
            out[names[id(param)]] = (
                group['lr'] / base,
                group.get('weight_decay', optim_cfg.optimizer.weight_decay),
            )
    return out


def test_convvit_det_parameter_groups():
    cfg, model = _tiny_det_model(
        CONVVIT_DET, tiny_convvit(), dict(in_channels=[16, 24, 32, 32])
    )
    groups = _groups(model, cfg.optim_wrapper)
    assert groups['backbone.blocks3.0.attn.qkv.weight'] == (1.0, 0.1)
    assert groups['backbone.blocks3.0.norm1.weight'] == (1.0, 0.0)
    assert groups['backbone.blocks1.0.norm1.weight'] == (1.0, 0.0)
    table = 'backbone.global_rel_pos_bias.relative_position_bias_table'
    assert groups[table] == (1.0, 0.0)
    assert groups['neck.fpn_convs.0.bn.weight'][1] == 0.0
    assert groups['roi_head.bbox_head.shared_fcs.0.weight'] == (1.0, 0.1)
    assert 'backbone.pos_embed' not in groups  # fixed, as officially


def test_convvit_det_layer_decay_variant():
    cfg = load(CONVVIT_DET_LRD)
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.8
    assert cfg.train_cfg.max_iters == 92187
    _, model = _tiny_det_model(
        CONVVIT_DET_LRD, tiny_convvit(), dict(in_channels=[16, 24, 32, 32])
    )
    groups = _groups(model, cfg.optim_wrapper)
    # Two stage-3 blocks: depths 0 (embeddings, stages 1-2), 1, 2, 3.
    assert groups['backbone.blocks1.0.conv1.weight'][0] == pytest.approx(
        0.8**3
    )
    assert groups['backbone.blocks3.0.attn.qkv.weight'][0] == pytest.approx(
        0.8**2
    )
    assert groups['backbone.blocks3.1.attn.qkv.weight'][0] == pytest.approx(
        0.8
    )
    assert groups['neck.lateral_convs.0.conv.weight'][0] == 1.0
    assert groups['backbone.blocks3.1.norm1.weight'][1] == 0.0


def test_vit_mask_rcnn_recipe_and_groups():
    cfg = load(VIT_DET)
    backbone = cfg.model.backbone
    assert backbone.type == 'mmmim.WindowedViT' and backbone.img_size == 1024
    assert backbone.window_size == 14 and backbone.use_rel_pos_bias
    assert tuple(backbone.global_attn_indexes) == (2, 5, 8, 11)
    assert not backbone.final_norm
    assert cfg.model.neck.type == 'mmmim.SimpleFPN'
    assert cfg.model.neck.norm_cfg == dict(type='mmpretrain.LN2d', eps=1e-6)
    optim = cfg.optim_wrapper
    assert optim.constructor == 'mmmim.LayerDecayOptimWrapperConstructor'
    assert optim.paramwise_cfg.layer_decay_rate == 0.7
    assert (optim.optimizer.lr, optim.optimizer.weight_decay) == (1e-4, 0.1)
    assert cfg.train_cfg.max_iters == 184375
    assert cfg.auto_scale_lr.base_batch_size == 64
    _, model = _tiny_det_model(VIT_DET, tiny_vit(), dict(in_channels=WIDTH))
    groups = _groups(model, optim)
    # Two blocks: depths 0 (embeddings), 1, 2, 3 (the rest).
    assert groups['backbone.patch_embed.proj.weight'][0] == pytest.approx(
        0.7**3
    )
    assert groups['backbone.blocks.1.attn.qkv.weight'] == (
        pytest.approx(0.7),
        0.1,
    )
    assert groups['backbone.pos_embed'][1] == 0.0
    assert groups['backbone.blocks.0.norm1.weight'][1] == 0.0
    assert groups['neck.lateral_convs.0.ln.weight'] == (1.0, 0.0)


@pytest.mark.parametrize(
    'path, rate, in_channels',
    [
        (CONVVIT_SEG, 0.75, [256, 384, 768, 768]),
        (VIT_SEG, 0.65, [768, 768, 768, 768]),
    ],
    ids=['convvit', 'vit'],
)
def test_upernet_recipe(path, rate, in_channels):
    cfg = load(path)
    assert cfg.model.decode_head.type == 'UPerHead'
    assert list(cfg.model.decode_head.in_channels) == in_channels
    assert cfg.model.decode_head.num_classes == 150
    assert cfg.model.backbone.img_size == 512
    assert tuple(cfg.model.data_preprocessor.size) == (512, 512)
    assert cfg.model.test_cfg.mode == 'slide'
    assert cfg.train_cfg.max_iters == 160000
    assert cfg.train_dataloader.batch_size * 8 == 16
    optim = cfg.optim_wrapper
    assert optim.constructor == 'mmmim.LayerDecayOptimWrapperConstructor'
    assert optim.paramwise_cfg.layer_decay_rate == rate
    assert (optim.optimizer.lr, optim.optimizer.weight_decay) == (1e-4, 0.05)
    warmup, poly = cfg.param_scheduler
    assert (warmup.type, warmup.end) == ('LinearLR', 1500)
    assert (poly.type, poly.begin, poly.end, poly.eta_min) == (
        'PolyLR',
        1500,
        160000,
        0.0,
    )


@pytest.mark.parametrize('path', list(PARAMS), ids=lambda p: p.stem)
def test_full_size_builds(path):
    cfg = load(path)
    model = build(cfg.model, cfg.default_scope)
    total, backbone = PARAMS[path]
    assert sum(p.numel() for p in model.parameters()) == total
    assert sum(p.numel() for p in model.backbone.parameters()) == backbone
