# Copyright (c) mmmim contributors. All rights reserved.
"""Every SimMIM pre-training config loads, keeps the official recipe and
builds its model; the demo config trains on the demo photos."""

import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import mmmim.models  # noqa: F401
from mmmim.registry import MODELS

needs_mmcv = pytest.mark.requires('mmcv')  # mmpretrain needs it

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / 'configs' / 'simmim'
VIT_800 = 'simmim_vit-base-p16_16xb128-amp-step-800e_in1k.py'
SWIN_800 = 'simmim_swin-base-w6_16xb128-amp-step-800e_in1k-192px.py'
SWIN_100 = 'simmim_swin-base-w6_16xb128-amp-coslr-100e_in1k-192px.py'
DEMO = 'simmim_vit-tiny-p8_1xb32-coslr-demo.py'
PRETRAIN = {
    VIT_800: ('SimMIMViT', 224, 16, 800),
    SWIN_800: ('SimMIMSwin', 192, 4, 800),
    SWIN_100: ('SimMIMSwin', 192, 4, 100),
}
TINY_VIT = dict(
    embed_dims=32, num_layers=2, num_heads=4, feedforward_channels=64
)
TINY_SWIN = dict(embed_dims=16, depths=[1, 1, 2, 1], num_heads=[2] * 4)


def load(name: str) -> Config:
    return Config.fromfile(str(CONFIG_DIR / name))


@pytest.fixture(autouse=True)
def _mmmim_scope():
    with DefaultScope.overwrite_default_scope('mmmim'):
        yield


def tiny_model_cfg(cfg: Config) -> dict:
    """The config's model with a tiny encoder (geometry kept)."""
    model = copy.deepcopy(cfg.model)
    if model.backbone.type == 'SimMIMViT':
        model.backbone.arch = dict(TINY_VIT)
        model.neck.in_channels = TINY_VIT['embed_dims']
    else:
        model.backbone.arch = dict(TINY_SWIN)
        model.neck.in_channels = TINY_SWIN['embed_dims'] * 8
    return model


def test_every_config_is_covered():
    names = {p.name for p in CONFIG_DIR.glob('*.py')}
    assert names == set(PRETRAIN) | {DEMO}


@pytest.mark.parametrize('name', sorted(PRETRAIN))
def test_pretrain_recipe(name):
    cfg = load(name)
    backbone, img, patch, epochs = PRETRAIN[name]
    assert cfg.default_scope == 'mmmim'
    assert cfg.model.type == 'SimMIM'
    assert cfg.model.backbone.type == backbone
    assert cfg.model.head.patch_size == patch
    assert cfg.model.neck.encoder_stride == (16 if patch == 16 else 32)
    # Optimiser: AdamW, lr = base_lr x 2048 / 512, clip 5, bf16 autocast.
    optim = cfg.optim_wrapper
    assert optim.type == 'AmpOptimWrapper' and optim.dtype == 'bfloat16'
    base_lr = 2e-4 if epochs == 100 else 1e-4
    assert optim.optimizer.lr == pytest.approx(base_lr * 2048 / 512)
    assert tuple(optim.optimizer.betas) == (0.9, 0.999)
    assert optim.optimizer.eps == 1e-8
    assert optim.optimizer.weight_decay == 0.05
    assert optim.clip_grad.max_norm == 5.0
    assert optim.paramwise_cfg.flat_decay_mult == 0.0
    assert cfg.train_dataloader.batch_size * 16 == 2048
    assert cfg.auto_scale_lr.base_batch_size == 2048
    # Schedule: 10 warm-up epochs from the scaled warm-up lr.
    warmup, decay = cfg.param_scheduler
    assert warmup.type == 'LinearLR' and (warmup.begin, warmup.end) == (0, 10)
    warmup_lr = 1e-6 if epochs == 100 else 5e-7
    assert warmup.start_factor == pytest.approx(warmup_lr / base_lr)
    assert warmup.convert_to_iter_based and decay.convert_to_iter_based
    if epochs == 800:
        assert decay.type == 'MultiStepLR'
        assert decay.milestones == [700] and decay.gamma == 0.1
    else:
        assert decay.type == 'CosineAnnealingLR'
        assert decay.eta_min == pytest.approx(1e-5 * 2048 / 512)
        assert (decay.begin, decay.end) == (10, 100)
    assert cfg.train_cfg.max_epochs == epochs
    # Data: crops of (0.67, 1) area and a SimMIM mask on the token grid.
    pipeline = cfg.train_dataloader.dataset.pipeline
    crop, flip, mask, pack = pipeline[1:]
    assert crop.scale == img and tuple(crop.crop_ratio_range) == (0.67, 1.0)
    assert crop.aspect_ratio_range == pytest.approx((3 / 4, 4 / 3))
    assert flip.prob == 0.5
    assert mask.type == 'GenerateMask' and mask.patch_size == patch
    assert mask.mask_generator == dict(
        type='SimMIMMaskGenerator',
        mask_ratio=0.6,
        mask_patch_size=32,
        model_patch_size=patch,
    )
    assert cfg.model.backbone.mask_generator == mask.mask_generator
    assert pack.algorithm_keys == ['mask']


@pytest.mark.parametrize(
    'name, no_decay, decay',
    [
        (
            VIT_800,
            [
                'backbone.cls_token',
                'backbone.blocks.0.gamma_1',
                'backbone.blocks.0.attn.q_bias',
                'backbone.norm.weight',
                'neck.decoder.0.bias',
            ],
            [
                'backbone.mask_token',
                'backbone.blocks.0.attn.qkv.weight',
                'backbone.rel_pos_bias.relative_position_bias_table',
                'neck.decoder.0.weight',
            ],
        ),
        (
            SWIN_800,
            [
                'backbone.mask_token',
                'backbone.stages.0.blocks.0.attn.w_msa.relative_position_bias_table',
                'backbone.norm3.weight',
                'backbone.patch_embed.projection.bias',
            ],
            [
                'backbone.stages.0.blocks.0.attn.w_msa.qkv.weight',
                'backbone.stages.0.downsample.reduction.weight',
            ],
        ),
    ],
)
@needs_mmcv
def test_official_weight_decay_groups(name, no_decay, decay):
    cfg = load(name)
    model = MODELS.build(tiny_model_cfg(cfg))
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    optim_cfg.type = 'OptimWrapper'  # bf16 AMP needs a GPU here
    optim_cfg.pop('dtype')
    wrapper = build_optim_wrapper(model, optim_cfg)
    wd = {}
    for group in wrapper.optimizer.param_groups:
        for param in group['params']:
            wd[id(param)] = group['weight_decay']
    named = dict(model.named_parameters())
    for key in no_decay:
        assert wd[id(named[key])] == 0.0, key
    for key in decay:
        assert wd[id(named[key])] == 0.05, key


@needs_mmcv
def test_vit_base_builds_at_full_size():
    cfg = load(VIT_800)
    model = MODELS.build(cfg.model)
    backbone = sum(p.numel() for p in model.backbone.parameters())
    # ViT-B with layer scale, q/v biases and a shared 27x27 table.
    assert backbone == pytest.approx(85.8e6, rel=0.01)
    assert model.neck.decoder[0].out_channels == 16 * 16 * 3
    with torch.no_grad():
        (feat,) = model.backbone(torch.randn(1, 3, 224, 224))
    assert feat.shape == (1, 768, 14, 14)


@needs_mmcv
@pytest.mark.parametrize('name', sorted(PRETRAIN))
def test_model_builds_with_a_tiny_encoder(name):
    cfg = load(name)
    _, img, patch, _ = PRETRAIN[name]
    model = MODELS.build(tiny_model_cfg(cfg))
    torch.manual_seed(0)
    out = model.reconstruct(torch.randn(1, 3, img, img))  # drawn mask
    grid = img // patch
    assert out['pred'].shape == (1, grid * grid, patch * patch * 3)
    cells = (img // 32) ** 2
    assert int(out['mask'].sum()) == -(-cells * 6 // 10) * (32 // patch) ** 2
    out['loss'].backward()


@needs_mmcv
def test_demo_config_trains_a_few_iterations(tmp_path, demo_data_root):
    from mmengine.runner import Runner

    cfg = load(DEMO)
    assert cfg.train_dataloader.dataset.type == 'mmpretrain.CustomDataset'
    assert cfg.train_dataloader.dataset.with_label is False
    assert cfg.model.backbone.img_size == 64
    assert cfg.custom_hooks[0].type == 'ReconstructionVisHook'
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_dataloader.dataset.data_root = str(demo_data_root)
    cfg.train_dataloader.batch_size = 4
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.model.backbone.arch = dict(TINY_VIT)
    cfg.model.neck.in_channels = TINY_VIT['embed_dims']
    cfg.train_cfg.max_iters = 3
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 3
    cfg.custom_hooks = []
    cfg.env_cfg.mp_cfg = dict(mp_start_method='fork')
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert (tmp_path / 'work' / 'iter_3.pth').is_file()
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert 0 < loss < 10
