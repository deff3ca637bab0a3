# Copyright (c) mmmim contributors. All rights reserved.
"""Every ConvMAE config loads, keeps the official recipe and builds."""

import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmmim.models  # noqa: F401
from mmmim.registry import MODELS

needs_mmcv = pytest.mark.requires('mmcv')  # mmpretrain needs it

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / 'configs' / 'convmae'
PRETRAIN = 'convmae_convvit-base-p16_8xb128-amp-coslr-1600e_in1k.py'
DEMO = 'convmae_convvit-tiny-p8_1xb32-coslr-demo.py'
TINY_ARCH = dict(embed_dims=(16, 24, 32), num_layers=(1, 1, 2), num_heads=4)


def load(name: str) -> Config:
    return Config.fromfile(str(CONFIG_DIR / name))


@pytest.fixture(autouse=True)
def _mmmim_scope():
    with DefaultScope.overwrite_default_scope('mmmim'):
        yield


FINETUNE = 'benchmarks/cls/convvit-base-p16_8xb128-coslr-100e_in1k.py'
LINEAR = 'benchmarks/cls/convvit-base-p16_8xb512-linear-coslr-90e_in1k.py'


def test_every_config_is_covered():
    names = {str(p.relative_to(CONFIG_DIR)) for p in CONFIG_DIR.rglob('*.py')}
    # The mmdet / mmseg transfer configs: tests/test_configs/
    # test_dense_configs.py.
    dense = {
        n
        for n in names
        if n.startswith(('benchmarks/mmdet/', 'benchmarks/mmseg/'))
    }
    assert names - dense == {PRETRAIN, DEMO, FINETUNE, LINEAR}


def test_pretrain_recipe():
    cfg = load(PRETRAIN)
    assert cfg.default_scope == 'mmmim'
    optim = cfg.optim_wrapper
    assert optim.type == 'AutocastOptimWrapper'
    assert optim.dtype == 'bfloat16'
    assert optim.optimizer.type == 'AdamW'
    # blr 1.5e-4 x total batch / 256, total batch 8 x 128.
    assert cfg.train_dataloader.batch_size == 128
    assert optim.optimizer.lr == pytest.approx(1.5e-4 * 8 * 128 / 256)
    assert cfg.auto_scale_lr.base_batch_size == 8 * 128
    assert tuple(optim.optimizer.betas) == (0.9, 0.95)
    assert optim.optimizer.weight_decay == 0.05
    warmup, cosine = cfg.param_scheduler
    assert (warmup.begin, warmup.end) == (0, 40)
    assert (cosine.begin, cosine.end, cosine.eta_min) == (40, 1600, 0.0)
    assert cfg.train_cfg.max_epochs == 1600
    backbone = cfg.model.backbone
    assert backbone.type == 'ConvMAEViT' and backbone.arch == 'b'
    assert tuple(backbone.patch_sizes) == (4, 2, 2)
    assert backbone.mask_generator.type == 'RandomMaskGenerator'
    assert backbone.mask_generator.mask_ratio == 0.75
    assert cfg.model.head.norm_pix is True
    assert cfg.model.head.patch_size == cfg.model.neck.patch_size == 16
    assert cfg.model.neck.decoder_num_layers == 8
    assert cfg.model.neck.decoder_embed_dims == 512
    crop = cfg.train_dataloader.dataset.pipeline[1]
    assert crop.scale == 224 and tuple(crop.crop_ratio_range) == (0.2, 1.0)


@needs_mmcv
def test_base_builds_at_full_size():
    model = MODELS.build(load(PRETRAIN).model)
    # The official convmae_convvit_base_patch16 (incl. the fixed tables):
    # 115.04 M, of which the encoder 88.93 M.
    assert sum(p.numel() for p in model.parameters()) == 115_041_408
    assert sum(p.numel() for p in model.backbone.parameters()) == 88_932_736
    assert model.backbone.channels_last
    with torch.no_grad():
        out = model.eval().reconstruct(torch.randn(1, 3, 224, 224))
    assert out['pred'].shape == (1, 196, 768)
    assert int(out['mask'].sum()) == 147


@needs_mmcv
def test_demo_config_trains_a_few_iterations(tmp_path, demo_data_root):
    from mmengine.runner import Runner

    cfg = load(DEMO)
    assert cfg.train_dataloader.dataset.type == 'mmpretrain.CustomDataset'
    assert cfg.train_dataloader.dataset.with_label is False
    assert cfg.model.backbone.patch_sizes == (2, 2, 2)
    assert MODELS.build(copy.deepcopy(cfg.model)).backbone.grid_size == (8, 8)
    # Tiny override: 3 iterations of batch 4 on the real demo photos.
    cfg.model.backbone.arch = dict(TINY_ARCH)
    cfg.model.neck.embed_dims = 32
    cfg.model.neck.decoder_embed_dims = 32
    cfg.model.neck.decoder_num_layers = 1
    cfg.train_dataloader.update(
        batch_size=4, num_workers=0, persistent_workers=False
    )
    cfg.train_dataloader.dataset.data_root = str(demo_data_root)
    cfg.train_cfg.max_iters = 3
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0)]
    cfg.default_hooks.checkpoint.interval = 3
    cfg.default_hooks.logger.interval = 1
    cfg.custom_hooks = [
        dict(
            type='ReconstructionVisHook',
            interval=3,
            img_paths=str(demo_data_root / 'val'),
            max_images=2,
        )
    ]
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert (tmp_path / 'iter_3.pth').is_file()
    assert (tmp_path / 'reconstructions' / 'final.png').is_file()
    scalars = runner.message_hub.log_scalars['train/loss']
    assert torch.isfinite(torch.as_tensor(scalars.current()))


def _tiny_classifier(name: str):
    cfg = load(name)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.arch = dict(TINY_ARCH)
    model_cfg.backbone.img_size = 64
    model_cfg.backbone.init_cfg = None
    model_cfg.head.in_channels = 32
    model_cfg.head.num_classes = 5
    model_cfg.data_preprocessor.num_classes = 5
    if model_cfg.neck is not None:
        model_cfg.neck.input_features = 32
    return cfg, MODELS.build(model_cfg)


@needs_mmcv
def test_finetune_recipe_and_layer_decay():
    from mmengine.optim import build_optim_wrapper

    cfg, model = _tiny_classifier(FINETUNE)
    backbone = cfg.model.backbone
    assert backbone.type == 'mmmim.ConvViT' and backbone.window_size is None
    assert backbone.drop_path_rate == 0.1 and backbone.pos_embed_trainable
    optim = cfg.optim_wrapper
    assert optim.optimizer.lr == pytest.approx(5e-4 * 1024 / 256)
    assert optim.paramwise_cfg.layer_decay_rate == 0.65
    assert cfg.train_dataloader.batch_size * 8 == 1024
    assert cfg.train_cfg.max_epochs == 100
    wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    named = {id(p): n for n, p in model.named_parameters()}
    scale = {}
    for group in wrapper.optimizer.param_groups:
        for param in group['params']:
            scale[named[id(param)]] = group['lr'] / optim.optimizer.lr
    # Two stage-3 blocks: 0.65 ** (3 - layer id).
    assert scale['backbone.blocks1.0.conv1.weight'] == pytest.approx(0.65**3)
    assert scale['backbone.pos_embed'] == pytest.approx(0.65**3)
    assert scale['backbone.blocks3.1.attn.qkv.weight'] == pytest.approx(0.65)
    assert scale['head.fc.weight'] == pytest.approx(1.0)
    logits = model(torch.randn(2, 3, 64, 64), mode='tensor')
    assert logits.shape == (2, 5)


@needs_mmcv
def test_linear_probe_recipe_trains_only_the_head():
    cfg, model = _tiny_classifier(LINEAR)
    optim = cfg.optim_wrapper.optimizer
    assert optim.type == 'mmpretrain.LARS'
    assert optim.lr == pytest.approx(0.1 * 4096 / 256)
    assert cfg.train_dataloader.batch_size * 8 == 4096
    assert cfg.auto_scale_lr.base_batch_size == 4096
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {'head.fc.weight', 'head.fc.bias'}
    assert not model.backbone.fc_norm.weight.requires_grad
    model.train()
    assert not model.backbone.blocks3[0].training
    logits = model(torch.randn(2, 3, 64, 64), mode='tensor')
    assert logits.shape == (2, 5)
