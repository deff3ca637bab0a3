# Copyright (c) mmmim contributors. All rights reserved.
"""Every VideoMAE config loads, keeps the official recipe and builds."""

from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import mmmim.models  # noqa: F401
from mmmim.registry import MODELS
from mmmim.utils import register_all_modules

register_all_modules(init_default_scope=False)

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs' / 'videomae'
ALL_CONFIGS = sorted(CONFIG_DIR.rglob('*.py'))
K400_1600 = 'videomae_vit-base-p16_64xb32-amp-coslr-1600e_k400-16x4x1.py'
SSV2_2400 = 'videomae_vit-base-p16_64xb32-amp-coslr-2400e_ssv2-16x2x1.py'
FT_K400 = 'benchmarks/cls/vit-base-p16_64xb6-coslr-75e_k400-16x4x1.py'
FT_SSV2 = 'benchmarks/cls/vit-base-p16_64xb6-coslr-30e_ssv2-16x2x1.py'


def load(name: str) -> Config:
    return Config.fromfile(str(CONFIG_DIR / name))


def _build_model(cfg: Config):
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(cfg.model)


@pytest.mark.parametrize(
    'path', ALL_CONFIGS, ids=[p.stem for p in ALL_CONFIGS]
)
def test_every_config_loads_and_builds(path):
    cfg = Config.fromfile(str(path))
    model = _build_model(cfg)
    assert model.backbone.patch_embed.proj.weight.dim() == 5


@pytest.mark.parametrize(
    'name, interval, epochs',
    [(K400_1600, 4, 1600), (SSV2_2400, 2, 2400)],
)
def test_pretraining_recipe(name, interval, epochs):
    cfg = load(name)
    pipeline = cfg.train_dataloader.dataset.pipeline
    sampling = pipeline[1]
    assert (sampling.clip_len, sampling.frame_interval) == (16, interval)
    mask_step = next(t for t in pipeline if t.type == 'GenerateMask')
    assert mask_step.mask_generator.mask_ratio == 0.9
    assert tuple(mask_step.grid_size) == (8, 14, 14)
    # lr, warm-up start and floor all scale with 2048 / 256.
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(1.2e-3)
    assert cfg.optim_wrapper.optimizer.betas == (0.9, 0.95)
    warmup, cosine = cfg.param_scheduler
    assert warmup.start_factor * 1.2e-3 == pytest.approx(8e-6)
    assert warmup.end == 40 and cosine.end == epochs
    assert cosine.eta_min == pytest.approx(8e-5)
    assert cfg.train_dataloader.batch_size * 64 == 2048
    assert cfg.model.neck.decoder_num_layers == 4
    assert cfg.model.neck.decoder_embed_dims == 384


def test_vit_b_pretraining_shapes_match_the_paper():
    """[N, 160, 768] visible tokens and [N, 1408, 1536] predictions."""
    model = _build_model(load(K400_1600)).eval()
    videos = torch.randn(1, 3, 16, 224, 224)
    with torch.no_grad():
        latent, mask = model.backbone(videos)
        pred = model.neck(latent, mask)
    assert latent.shape == (1, 160, 768)
    assert pred.shape == (1, 1408, 1536)


def test_finetune_recipe_and_layer_decay():
    cfg = load(FT_K400)
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(7.5e-4)
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.75
    sampling = cfg.test_dataloader.dataset.pipeline[1]
    assert (sampling.num_clips, sampling.frame_interval) == (5, 4)
    assert cfg.test_dataloader.dataset.pipeline[4].type == 'mmaction.ThreeCrop'
    repeat = cfg.train_dataloader.dataset.pipeline[3]
    assert repeat.type == 'RepeatAugment' and repeat.num_repeats == 2
    cfg.model.backbone.init_cfg = None
    model = _build_model(cfg)
    with DefaultScope.overwrite_default_scope('mmmim'):
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    scales = {}
    for group in wrapper.optimizer.param_groups:
        for param in group['params']:
            scales[id(param)] = group['lr'] / 7.5e-4
    named = dict(model.named_parameters())
    # 0.75 ** (num_layers + 1 - layer_id): 13 for the cube embedding,
    # 12 - i for block i, 0 for fc_norm and the head.
    expect = {
        'backbone.patch_embed.proj.weight': 0.75**13,
        'backbone.blocks.0.attn.qkv.weight': 0.75**12,
        'backbone.blocks.11.mlp.fc2.weight': 0.75**1,
        'backbone.fc_norm.weight': 1.0,
        'head.fc.weight': 1.0,
    }
    for name, scale in expect.items():
        assert scales[id(named[name])] == pytest.approx(scale), name


def test_ssv2_finetune_samples_uniformly_without_flip():
    cfg = load(FT_SSV2)
    train = cfg.train_dataloader.dataset.pipeline
    assert train[1].type == 'mmaction.UniformSample'
    assert all(t.type != 'mmaction.Flip' for t in train[3].transforms)
    assert cfg.test_dataloader.dataset.pipeline[1].num_clips == 2
    assert cfg.model.head.num_classes == 174
    assert cfg.param_scheduler[1].end == 30
